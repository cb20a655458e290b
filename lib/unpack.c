/* unpack.c: decoding compressed or archived models (see unpack.h).
 *
 * A .gguf.zst goes through libzstd; anything else libarchive recognises
 * (tar, zip, 7z or cpio, possibly compressed, or a lone .gguf.gz/.xz/.bz2)
 * through libarchive. The decoded model lives in anonymous memory that grows
 * as data arrives: sizes claimed by the container are only hints. What is
 * decoded is watched as it comes: the first four bytes must be "GGUF", and
 * once the GGUF header is complete, no more may follow than it declares
 * (gguf_declared_size), so a bomb (a small file that decodes to gigabytes)
 * ends in an error after at most its header's claim, never after decoding
 * it all.
 *
 * Both libraries are loaded with dlopen when a file needs one, not linked:
 * libarchive alone pulls in some fifteen more (libxml2, ICU, libcrypto...),
 * whose loading and relocation cost every start of every tool, plain .gguf
 * files included, about 2 ms. A machine without them reads plain files and
 * says which library a compressed one needs. */
#define _GNU_SOURCE             /* mremap */
#include <archive.h>            /* the types only: the calls go through */
#include <archive_entry.h>      /* the tables below */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "gguf.h"
#include "unpack.h"

#define ZSTD_SO "libzstd.so.1"
#define ARCHIVE_SO "libarchive.so.13"

/* The libzstd calls we make, loaded by zstd_load. */
static struct {
	ZSTD_DCtx *(*createDCtx)(void);
	size_t (*freeDCtx)(ZSTD_DCtx *);
	size_t (*decompressStream)(ZSTD_DCtx *, ZSTD_outBuffer *,
	    ZSTD_inBuffer *);
	unsigned (*isError)(size_t);
	const char *(*getErrorName)(size_t);
} zs;

/* The libarchive calls we make, loaded by arc_load. */
static struct {
	struct archive *(*read_new)(void);
	int (*read_support_filter_all)(struct archive *);
	int (*read_support_format_tar)(struct archive *);
	int (*read_support_format_zip)(struct archive *);
	int (*read_support_format_7zip)(struct archive *);
	int (*read_support_format_cpio)(struct archive *);
	int (*read_support_format_raw)(struct archive *);
	int (*read_open_filename)(struct archive *, const char *, size_t);
	int (*read_next_header)(struct archive *, struct archive_entry **);
	la_ssize_t (*read_data)(struct archive *, void *, size_t);
	int (*read_free)(struct archive *);
	const char *(*error_string)(struct archive *);
	int (*format)(struct archive *);
	int (*filter_count)(struct archive *);
	const char *(*entry_pathname)(struct archive_entry *);
	__LA_MODE_T (*entry_filetype)(struct archive_entry *);
} ar;

struct sym {
	const char *name;
	void **slot;    /* POSIX: a function pointer fits a void * */
};

/* Open library so and fill n slots; 0, or -1 with e saying what is
 * missing. Once loaded, a library stays (*h is kept). */
static int
load_syms(void **h, const char *so, const struct sym *v, size_t n,
	const char *path, const char *why, struct cerr *e)
{
	void *lib;
	const char *err;

	if (*h)
		return 0;
	if (!(lib = dlopen(so, RTLD_NOW | RTLD_LOCAL))) {
		err = dlerror();
		return cerr_set(e, "%s: %s needs %s, which cannot be loaded "
		    "(%s)", path, why, so, err ? err : "dlopen failed");
	}
	for (size_t i = 0; i < n; i++)
		if (!(*v[i].slot = dlsym(lib, v[i].name))) {
			dlclose(lib);
			return cerr_set(e, "%s: %s needs %s, which has no %s",
			    path, why, so, v[i].name);
		}
	*h = lib;
	return 0;
}

static int
zstd_load(const char *path, struct cerr *e)
{
	static void *h;
	const struct sym v[] = {
		{ "ZSTD_createDCtx", (void **)&zs.createDCtx },
		{ "ZSTD_freeDCtx", (void **)&zs.freeDCtx },
		{ "ZSTD_decompressStream", (void **)&zs.decompressStream },
		{ "ZSTD_isError", (void **)&zs.isError },
		{ "ZSTD_getErrorName", (void **)&zs.getErrorName },
	};

	return load_syms(&h, ZSTD_SO, v, sizeof v / sizeof *v, path,
	    "a zstd-compressed model", e);
}

static int
arc_load(const char *path, struct cerr *e)
{
	static void *h;
	const struct sym v[] = {
		{ "archive_read_new", (void **)&ar.read_new },
		{ "archive_read_support_filter_all",
		    (void **)&ar.read_support_filter_all },
		{ "archive_read_support_format_tar",
		    (void **)&ar.read_support_format_tar },
		{ "archive_read_support_format_zip",
		    (void **)&ar.read_support_format_zip },
		{ "archive_read_support_format_7zip",
		    (void **)&ar.read_support_format_7zip },
		{ "archive_read_support_format_cpio",
		    (void **)&ar.read_support_format_cpio },
		{ "archive_read_support_format_raw",
		    (void **)&ar.read_support_format_raw },
		{ "archive_read_open_filename", (void **)&ar.read_open_filename },
		{ "archive_read_next_header", (void **)&ar.read_next_header },
		{ "archive_read_data", (void **)&ar.read_data },
		{ "archive_read_free", (void **)&ar.read_free },
		{ "archive_error_string", (void **)&ar.error_string },
		{ "archive_format", (void **)&ar.format },
		{ "archive_filter_count", (void **)&ar.filter_count },
		{ "archive_entry_pathname", (void **)&ar.entry_pathname },
		{ "archive_entry_filetype", (void **)&ar.entry_filetype },
	};

	return load_syms(&h, ARCHIVE_SO, v, sizeof v / sizeof *v, path,
	    "not a GGUF file; reading it as an archive", e);
}

#define CHUNK (1u << 20)
/* A GGUF header (metadata, vocabulary, tensor table) larger than this is
 * refused: real ones take a few MB, the largest vocabularies some 20 MB. */
#define MAX_HEADER (UINT64_C(64) << 20)

/* Anonymous memory that grows by doubling, and what we know of the model
 * being decoded into it. */
struct grow {
	uint8_t *p;
	uint64_t n, cap, limit;
	const char *path;
	uint64_t declared;      /* the size its header declares, 0: not known */
	uint64_t next_try;      /* read the header again at this many bytes */
	int not_gguf;           /* it does not start with "GGUF" */
};

/* Called after each piece decoded: stop at once when the data cannot be a
 * model, or is longer than its header declares. The header is read again
 * each time the data doubles, so a big one costs linear time. */
static int
watch(struct grow *g, struct cerr *e)
{
	int r;

	if (g->n < 4)
		return 0;
	if (memcmp(g->p, "GGUF", 4) != 0) {
		g->not_gguf = 1;
		return cerr_set(e, "%s: not a GGUF file (bad magic, at byte 0)",
		    g->path);
	}
	if (!g->declared && (g->n >= g->next_try || g->n > MAX_HEADER)) {
		r = gguf_declared_size(g->p, g->n, g->path, &g->declared, e);
		if (r < 0)
			return -1;
		if (r == 0 && g->n > MAX_HEADER)
			return cerr_set(e, "%s: GGUF header longer than %"
			    PRIu64 " MiB", g->path, MAX_HEADER >> 20);
		g->next_try = g->n * 2;
	}
	if (g->declared && g->n > g->declared)
		return cerr_set(e, "%s: decompressed data longer than its GGUF "
		    "header declares", g->path);
	return 0;
}

static uint64_t
mem_limit(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || psz <= 0)
		return UINT64_C(1) << 40;
	return (uint64_t)pages * (uint64_t)psz;
}

/* Make room for `want` more bytes. */
static int
grow_room(struct grow *g, uint64_t want, struct cerr *e)
{
	uint64_t cap = g->cap ? g->cap : 64 * CHUNK;
	void *p;

	if (want > g->limit || g->n > g->limit - want)
		return cerr_set(e, "%s: decoded model is larger than this "
		    "machine's memory", g->path);
	if (g->n + want <= g->cap)
		return 0;
	while (cap < g->n + want)
		cap *= 2;
	if (cap > g->limit)
		cap = g->limit;
	p = g->p ? mremap(g->p, (size_t)g->cap, (size_t)cap, MREMAP_MAYMOVE) :
	    mmap(NULL, (size_t)cap, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return cerr_set(e, "%s: out of memory", g->path);
	g->p = p;
	g->cap = cap;
	return 0;
}

/* Hand the buffer over trimmed to its size (unpack_free unmaps that). */
static int
grow_finish(struct grow *g, void **buf, uint64_t *size, struct cerr *e)
{
	void *p;

	if (g->n == 0) {
		unpack_free(g->p, g->cap);
		return cerr_set(e, "%s: the container holds an empty model",
		    g->path);
	}
	p = mremap(g->p, (size_t)g->cap, (size_t)g->n, 0);
	if (p == MAP_FAILED)
		p = g->p;       /* shrinking in place cannot move; keep it */
	else
		g->cap = g->n;
	*buf = p;
	*size = g->n;
	return 1;
}

/* One decoding step into fresh room; returns the decoder's hint (0: a
 * frame ended) or -1 with e filled. *made gets the bytes produced. */
static long long
zstd_step(ZSTD_DCtx *dc, ZSTD_inBuffer *ib, struct grow *g, size_t *made,
	struct cerr *e)
{
	ZSTD_outBuffer ob;
	size_t r;

	if (grow_room(g, CHUNK, e) < 0)
		return -1;
	ob = (ZSTD_outBuffer){ g->p + g->n, CHUNK, 0 };
	r = zs.decompressStream(dc, &ob, ib);
	if (zs.isError(r))
		return cerr_set(e, "%s: zstd: %s", g->path, zs.getErrorName(r));
	g->n += ob.pos;
	*made = ob.pos;
	if (watch(g, e) < 0)
		return -1;
	return (long long)r;
}

static int
zstd_frames(int fd, ZSTD_DCtx *dc, struct grow *g, struct cerr *e)
{
	static uint8_t in[CHUNK];
	long long last = 0;
	size_t made;
	ssize_t k;

	while ((k = read(fd, in, sizeof in)) != 0) {
		ZSTD_inBuffer ib = { in, 0, 0 };

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return cerr_set(e, "%s: %s", g->path, strerror(errno));
		ib.size = (size_t)k;
		while (ib.pos < ib.size)
			if ((last = zstd_step(dc, &ib, g, &made, e)) < 0)
				return -1;
	}
	/* Flush what the decoder still holds; no progress means the input
	 * ended inside a frame. */
	while (last != 0) {
		ZSTD_inBuffer ib = { in, 0, 0 };

		if ((last = zstd_step(dc, &ib, g, &made, e)) < 0)
			return -1;
		if (last != 0 && made == 0)
			return cerr_set(e, "%s: zstd: truncated stream", g->path);
	}
	return 0;
}

static int
read_zstd(int fd, struct grow *g, struct cerr *e)
{
	ZSTD_DCtx *dc = zs.createDCtx();
	int r;

	if (!dc)
		return cerr_set(e, "%s: out of memory", g->path);
	r = zstd_frames(fd, dc, g, e);
	zs.freeDCtx(dc);
	return r;
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n >= k && strcmp(s + n - k, suf) == 0;
}

static int
arc_fail(struct archive *a, const char *path, struct cerr *e)
{
	const char *msg = ar.error_string(a);

	cerr_set(e, "%s: %s", path, msg ? msg : "archive error");
	ar.read_free(a);
	return -1;
}

static int
read_entry(struct archive *a, struct grow *g, struct cerr *e)
{
	for (;;) {
		la_ssize_t k;

		if (grow_room(g, CHUNK, e) < 0)
			return -1;
		k = ar.read_data(a, g->p + g->n, CHUNK);
		if (k == 0)
			return 0;
		if (k < 0) {
			const char *msg = ar.error_string(a);

			return cerr_set(e, "%s: %s", g->path,
			    msg ? msg : "archive error");
		}
		g->n += (uint64_t)k;
		if (watch(g, e) < 0)
			return -1;
	}
}

/* An archive with exactly one .gguf member, or a single compressed file.
 * Returns 0 when libarchive does not recognise the file. */
static int
read_archive(const char *path, struct grow *g, struct cerr *e)
{
	struct archive *a = ar.read_new();
	struct archive_entry *ent;
	int found = 0, r, raw;

	if (!a)
		return cerr_set(e, "%s: out of memory", path);
	ar.read_support_filter_all(a);
	/* Not format_all: its text formats (mtree) claim any text file. */
	ar.read_support_format_tar(a);
	ar.read_support_format_zip(a);
	ar.read_support_format_7zip(a);
	ar.read_support_format_cpio(a);
	ar.read_support_format_raw(a);
	if (ar.read_open_filename(a, path, CHUNK) != ARCHIVE_OK)
		return arc_fail(a, path, e);
	while ((r = ar.read_next_header(a, &ent)) == ARCHIVE_OK ||
	    r == ARCHIVE_WARN) {
		const char *name = ar.entry_pathname(ent);

		raw = ar.format(a) == ARCHIVE_FORMAT_RAW;
		if (raw && ar.filter_count(a) <= 1) {
			ar.read_free(a);   /* not compressed: not ours */
			return 0;
		}
		if (!raw && (ar.entry_filetype(ent) != AE_IFREG || !name ||
		    !has_suffix(name, ".gguf")))
			continue;
		if (found++) {
			ar.read_free(a);
			return cerr_set(e, "%s: the archive holds more than one "
			    ".gguf member", path);
		}
		if (read_entry(a, g, e) < 0) {
			ar.read_free(a);
			return -1;
		}
		if (raw)
			break;
	}
	if (r == ARCHIVE_FATAL && !found) {
		/* Not an archive at all, or a damaged one: tell them apart
		 * by whether a format was recognised. */
		if (ar.format(a) == 0) {
			ar.read_free(a);
			return 0;
		}
		return arc_fail(a, path, e);
	}
	if (r == ARCHIVE_FATAL)
		return arc_fail(a, path, e);
	ar.read_free(a);
	if (!found)
		return cerr_set(e, "%s: the archive holds no .gguf member",
		    path);
	return 1;
}

int
unpack_model(const char *path, void **buf, uint64_t *size, struct cerr *e)
{
	static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	struct grow g = { NULL, 0, 0, mem_limit(), path, 0, 0, 0 };
	uint8_t magic[4];
	int fd = open(path, O_RDONLY), r;

	if (fd < 0)
		return cerr_set(e, "%s: %s", path, strerror(errno));
	if (pread(fd, magic, 4, 0) == 4 && memcmp(magic, zstd_magic, 4) == 0) {
		if (zstd_load(path, e) < 0) {
			close(fd);
			return -1;
		}
		r = read_zstd(fd, &g, e);
		close(fd);
		if (r < 0 && !g.not_gguf) {
			unpack_free(g.p, g.cap);
			return -1;
		}
		if (r == 0 && g.n >= 4)
			return grow_finish(&g, buf, size, e);
		/* Not a model inside: a .tar.zst, which libarchive reads. */
		unpack_free(g.p, g.cap);
		g = (struct grow){ NULL, 0, 0, mem_limit(), path, 0, 0, 0 };
	} else {
		close(fd);
	}
	if (arc_load(path, e) < 0)
		return -1;
	r = read_archive(path, &g, e);
	if (r <= 0) {
		unpack_free(g.p, g.cap);
		return r;
	}
	return grow_finish(&g, buf, size, e);
}

void
unpack_free(void *buf, uint64_t size)
{
	if (buf && size)
		munmap(buf, (size_t)size);
}
