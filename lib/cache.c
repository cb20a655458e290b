/* cache.c: the weight cache in shared memory (see cache.h).
 *
 * The states a name can be in, and who may move it on:
 *   absent      -> anyone: create with O_EXCL, flock, build      -> building
 *   building    -> its builder (lock held): fallocate, copy, sync, ready
 *   ready       -> readers map it read-only; `chord-cache rm` unlinks it
 *   dead        -> (not ready, lock free) whoever gets the lock unlinks it
 *   damaged     -> (ours, wrong size or trailer) likewise, under the lock
 *   not ours    -> refused, never unlinked
 * A creator gets its lock a moment after O_EXCL; a reader may win that race
 * and unlink the fresh name as dead. The creator then finds, once it holds
 * its lock, that the name no longer leads to its file, and starts over. */
#define _GNU_SOURCE             /* O_NOFOLLOW, flock */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache.h"
#include "gguf.h"

#define SHM_DIR "/dev/shm"      /* where Linux keeps shm_open's names */
/* A huge page, one page-middle-directory entry's worth (x86-64, arm64 with
 * 4 KiB pages). */
#define HUGE (UINT64_C(2) << 20)
#if defined(__linux__) && !defined(MADV_COLLAPSE)
#define MADV_COLLAPSE 25        /* Linux 6.1; glibc 2.36's headers lack it */
#endif
#define HEAD_HASH (64 * 1024)   /* bytes of the model hashed into the key */
#define STEP (UINT64_C(1) << 20)
/* Smaller models are mapped as they are: attaching saves nothing. */
#define MIN_SIZE (UINT64_C(1) << 20)

/* The CPU features this build's kernels use. */
static const char *
cpu_features(void)
{
	return ""
#ifdef __AVX512F__
	    "avx512f,"
#endif
#ifdef __AVX512VNNI__
	    "avx512vnni,"
#endif
#ifdef __AVX2__
	    "avx2,"
#endif
#ifdef __FMA__
	    "fma,"
#endif
#ifdef __F16C__
	    "f16c,"
#endif
#ifdef __ARM_NEON
	    "neon,"
#endif
	    "-";
}

void
cache_opts_env(struct cache_opts *o)
{
	const char *s;
	char *end;
	unsigned long v;

	*o = (struct cache_opts){ .wait_s = 60 };
	if ((s = getenv("CHORD_SHM_DIR")) && *s)
		o->dir = s;
	/* Test hooks: slow the build so that a kill lands mid-way; wait
	 * less than a minute for a builder. */
	if ((s = getenv("CHORD_CACHE_TEST_DELAY_US")) && *s) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (!errno && !*end && v <= 10000000)
			o->delay_us = (unsigned)v;
	}
	if ((s = getenv("CHORD_CACHE_WAIT_S")) && *s) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (!errno && !*end && v <= 3600)
			o->wait_s = (int)v;
	}
}

int
cache_disabled_env(void)
{
	const char *s = getenv("CHORD_CACHE");

	return s && strcmp(s, "0") == 0;
}

/* ---- names ---- */

static int
name_prefix(char *buf, size_t n)
{
	return snprintf(buf, n, "chord-%lu-", (unsigned long)geteuid());
}

/* Where the segment shows in the file system: messages, /proc/PID/maps. */
static void
seg_path(const struct cache_opts *o, const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", o->dir ? o->dir : SHM_DIR, name);
}

static int
seg_open(const struct cache_opts *o, const char *name, int flags)
{
	char p[PATH_MAX];

	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (!o->dir) {
		snprintf(p, sizeof p, "/%s", name);
		return shm_open(p, flags, 0600);
	}
	seg_path(o, name, p, sizeof p);
	return open(p, flags, 0600);
}

static int
seg_unlink(const struct cache_opts *o, const char *name)
{
	char p[PATH_MAX];

	if (!o->dir) {
		snprintf(p, sizeof p, "/%s", name);
		return shm_unlink(p);
	}
	seg_path(o, name, p, sizeof p);
	return unlink(p);
}

/* Does the name still lead to the file fd has open? */
static int
seg_same(const struct cache_opts *o, const char *name, int fd)
{
	struct stat a, b;
	char p[PATH_MAX];

	seg_path(o, name, p, sizeof p);
	return fstat(fd, &a) == 0 && lstat(p, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int
seg_fail(const struct cache_opts *o, const char *name, const char *what,
	int err, struct cerr *e)
{
	char p[PATH_MAX];

	seg_path(o, name, p, sizeof p);
	if (err)
		return cerr_set(e, "cache: %s: %s%s%s", p, what, *what ? ": " :
		    "", strerror(err));
	return cerr_set(e, "cache: %s: %s", p, what);
}

/* ---- the key ---- */

struct ident {
	char real[PATH_MAX];
	char layout[64];
	uint64_t key;
	uint64_t size;
};

/* Returns 1 with id filled, 0 when the model is not for the cache (not a
 * regular file, too small, unreadable: gguf_open says why). */
static int
model_ident(const char *path, struct ident *id)
{
	struct {
		uint64_t dev, ino, size, sec, nsec, head;
	} f;
	XXH3_state_t *st;
	struct stat sb;
	void *head;
	int fd;

	if (!realpath(path, id->real) || (fd = open(id->real, O_RDONLY |
	    O_CLOEXEC)) < 0)
		return 0;
	/* The head is hashed where the page cache has it, mapped: read
	 * into a buffer, it was sixteen page faults and a copy a start. */
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size < MIN_SIZE || (head = mmap(NULL, HEAD_HASH,
	    PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return 0;
	}
	close(fd);
	memset(&f, 0, sizeof f);
	f.dev = (uint64_t)sb.st_dev;
	f.ino = (uint64_t)sb.st_ino;
	f.size = (uint64_t)sb.st_size;
	f.sec = (uint64_t)sb.st_mtim.tv_sec;
	f.nsec = (uint64_t)sb.st_mtim.tv_nsec;
	f.head = XXH3_64bits(head, HEAD_HASH);
	munmap(head, HEAD_HASH);
	snprintf(id->layout, sizeof id->layout, "cpu/%d/%s",
	    CACHE_LAYOUT_VERSION, cpu_features());
	if (!(st = XXH3_createState()))
		return 0;
	XXH3_64bits_reset(st);
	XXH3_64bits_update(st, id->real, strlen(id->real) + 1);
	XXH3_64bits_update(st, &f, sizeof f);
	XXH3_64bits_update(st, id->layout, strlen(id->layout) + 1);
	id->key = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	id->size = f.size;
	return 1;
}

/* ---- mapping ---- */

/* Map the n bytes of fd at an address that is a multiple of HUGE, so that
 * what the segment holds in huge pages (build() asks for them) maps in
 * 2 MiB entries: a process that attaches then makes and unmakes some
 * fifty page-table entries for a 100 MB model, not 24k, which took most
 * of a warm start (populate 3 ms, munmap at exit 2 ms). A reservation of
 * n + HUGE bytes, the segment mapped over it where aligned, the rest
 * given back. */
static void *
map_aligned(int fd, uint64_t n, int prot)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	size_t len = (size_t)((n + pg - 1) & ~(uint64_t)(pg - 1));
	uint8_t *r, *a;

	r = mmap(NULL, len + HUGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
	    MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return mmap(NULL, (size_t)n, prot, MAP_SHARED, fd, 0);
	a = (uint8_t *)(((uintptr_t)r + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	if (mmap(a, (size_t)n, prot, MAP_SHARED | MAP_FIXED, fd, 0) ==
	    MAP_FAILED) {
		munmap(r, len + HUGE);
		return MAP_FAILED;
	}
	if (a > r)
		munmap(r, (size_t)(a - r));
	if (r + len + HUGE > a + len)
		munmap(a + len, (size_t)(r + len + HUGE - (a + len)));
	return a;
}

/* Ask the kernel to hold the segment in huge pages: MADV_COLLAPSE (Linux
 * 6.1) copies each whole 2 MiB of a tmpfs file into one, whatever the
 * mount's huge= says (it is never on /dev/shm by default). The page cache
 * keeps them, so every later process maps them whole (map_aligned). Best
 * effort: a kernel without it, a file on disk (CHORD_SHM_DIR) or no free
 * 2 MiB of memory leaves the small pages, which work as before. */
static void
collapse(void *p, uint64_t n)
{
#ifdef MADV_COLLAPSE
	if (n >= HUGE)
		madvise(p, (size_t)(n & ~(HUGE - 1)), MADV_COLLAPSE);
#else
	(void)p;
	(void)n;
#endif
}

/* ---- checking a segment ---- */

static uint64_t
pad64(uint64_t x)
{
	return (x + 63) & ~UINT64_C(63);
}

/* Is the segment ours: owner, type and mode? -1 when another user's. */
static int
check_owner(const struct cache_opts *o, const char *name, const struct stat *sb,
	struct cerr *e)
{
	char what[128];

	if (sb->st_uid != geteuid()) {
		snprintf(what, sizeof what, "owned by uid %lu, not by us (uid "
		    "%lu): refusing it", (unsigned long)sb->st_uid,
		    (unsigned long)geteuid());
		return seg_fail(o, name, what, 0, e);
	}
	return S_ISREG(sb->st_mode) && (sb->st_mode & 07777) == 0600;
}

/* Are the trailer's offsets and index inside a segment of n bytes? */
static int
packs_sane(const uint8_t *base, uint64_t n, const struct cache_trailer *t)
{
	const struct pack_entry *e;
	uint64_t room = n - sizeof *t;

	if (t->packs_off != pad64(t->image_size) || t->packs_off > room ||
	    t->packs_size > room - t->packs_off ||
	    t->index_off != t->packs_off + t->packs_size ||
	    t->n_index > (room - t->index_off) / sizeof *e ||
	    t->index_off + pad64(t->n_index * sizeof *e) != room)
		return 0;
	e = (const void *)(base + t->index_off);
	for (uint64_t k = 0; k < t->n_index; k++)
		if (e[k].pack_off % 64 || e[k].pack_off > t->packs_size ||
		    e[k].size > t->packs_size - e[k].pack_off ||
		    e[k].data_off >= t->image_size || !e[k].row_bytes)
			return 0;
	return 1;
}

/* The trailer of a mapping of n bytes, if it is whole and ready for key
 * (key 0: any key). */
static const struct cache_trailer *
trailer_of(const void *base, uint64_t n, uint64_t key)
{
	const struct cache_trailer *t;

	/* a segment we wrote is a multiple of 8 bytes, so its trailer is
	 * aligned; any other size is damaged */
	if (n < sizeof *t || n % 8)
		return NULL;
	t = (const void *)((const uint8_t *)base + n - sizeof *t);
	if (memcmp(t->magic, CACHE_MAGIC, 8) != 0 || (key && t->key != key) ||
	    t->image_size > n - sizeof *t || !packs_sane(base, n, t) ||
	    (t->has_vocab != 0 && (t->has_vocab != 1 ||
	    !vocab_facts_sane(&t->vocab))) ||
	    __atomic_load_n(&t->ready, __ATOMIC_ACQUIRE) != CACHE_READY)
		return NULL;
	return t;
}

/* Map fd read-only and check it. 1: ready, s filled; 0: not ready or
 * damaged (ours); -1: not ours. */
static int
try_map(const struct cache_opts *o, const char *name, int fd, uint64_t key,
	struct cache_seg *s, struct cerr *e)
{
	const struct cache_trailer *t;
	struct stat sb;
	void *p;
	int r;

	if (fstat(fd, &sb) < 0)
		return seg_fail(o, name, "fstat", errno, e);
	if ((r = check_owner(o, name, &sb, e)) <= 0)
		return r;
	if ((uint64_t)sb.st_size < sizeof *t)
		return 0;
	p = map_aligned(fd, (uint64_t)sb.st_size, PROT_READ);
	if (p == MAP_FAILED)
		return seg_fail(o, name, "mmap", errno, e);
	if (!(t = trailer_of(p, (uint64_t)sb.st_size, key))) {
		munmap(p, (size_t)sb.st_size);
		return 0;
	}
	s->map = p;
	s->map_size = (uint64_t)sb.st_size;
	s->image = p;
	s->image_size = t->image_size;
	s->packs.image = p;
	s->packs.area = (const uint8_t *)p + t->packs_off;
	s->packs.e = (const void *)((const uint8_t *)p + t->index_off);
	s->packs.n = t->n_index;
	s->vocab = t->has_vocab ? &t->vocab : NULL;
	return 1;
}

/* ---- building ---- */

static int
build(const struct cache_opts *o, const char *name, int fd,
	const char *path, const struct ident *id, struct cerr *e)
{
	struct cache_trailer *t;
	struct pack_entry *pe = NULL;
	struct vocab_facts facts;
	struct vocab v;
	struct cerr ve;
	struct gguf *g;
	uint64_t total, packs, n_pe, index;
	uint8_t *p;
	int err, has_vocab;

	/* gguf_open decodes a .zst or an archive (bounded by what its
	 * header declares) and validates the image. */
	if (!(g = gguf_open(path, e)))
		return -1;
	packs = packs_layout(g, NULL, &n_pe);
	if (n_pe && !(pe = calloc(n_pe, sizeof *pe))) {
		gguf_close(g);
		return cerr_set(e, "out of memory");
	}
	packs_layout(g, pe, &n_pe);
	index = pad64(g->size) + packs;
	total = index + pad64(n_pe * sizeof *pe) + sizeof *t;
	if ((err = posix_fallocate(fd, 0, (off_t)total)) != 0) {
		gguf_close(g);
		free(pe);
		return seg_fail(o, name, "cannot make room", err, e);
	}
	p = map_aligned(fd, total, PROT_READ | PROT_WRITE);
	if (p == MAP_FAILED) {
		gguf_close(g);
		free(pe);
		return seg_fail(o, name, "mmap", errno, e);
	}
	for (uint64_t off = 0; off < g->size; off += STEP) {
		uint64_t n = g->size - off < STEP ? g->size - off : STEP;

		memcpy(p + off, g->base + off, (size_t)n);
		if (o->delay_us)
			usleep(o->delay_us);
	}
	/* the copies from the image in the segment, so their offsets hold */
	{
		struct gguf *gs = gguf_open_mem(p, g->size, path, e);

		if (!gs) {
			munmap(p, (size_t)total);
			gguf_close(g);
			free(pe);
			return -1;
		}
		packs_fill(gs, pe, n_pe, p + pad64(g->size));
		has_vocab = vocab_load(&v, gs, &ve) == 0;
		if (has_vocab) {
			vocab_facts_of(&v, &facts);
			vocab_free(&v);
		}
		gguf_close(gs);
	}
	if (n_pe)
		memcpy(p + index, pe, n_pe * sizeof *pe);
	free(pe);
	t = (struct cache_trailer *)(p + total - sizeof *t);
	memcpy(t->magic, CACHE_MAGIC, 8);
	t->key = id->key;
	t->image_size = g->size;
	t->image_hash = XXH3_64bits(p, (size_t)g->size);
	t->created = (int64_t)time(NULL);
	snprintf(t->layout, sizeof t->layout, "%s", id->layout);
	snprintf(t->model, sizeof t->model, "%s", id->real);
	t->packs_off = pad64(g->size);
	t->packs_size = packs;
	t->index_off = index;
	t->n_index = n_pe;
	if (has_vocab)
		t->vocab = facts;
	t->has_vocab = (uint64_t)has_vocab;
	gguf_close(g);
	collapse(p, total);
	/* Everything before the flag is in place before the flag. */
	if (msync(p, (size_t)total, MS_SYNC) < 0) {
		err = errno;
		munmap(p, (size_t)total);
		return seg_fail(o, name, "msync", err, e);
	}
	__atomic_store_n(&t->ready, CACHE_READY, __ATOMIC_RELEASE);
	msync(p, (size_t)total, MS_SYNC);
	munmap(p, (size_t)total);
	return 0;
}

/* Create the name, lock it and build. 1: built; 0: lost a race, try
 * again; -1: error (the name is removed). */
static int
create_and_build(const struct cache_opts *o, const char *name,
	const char *path, const struct ident *id, struct cerr *e)
{
	int fd = seg_open(o, name, O_RDWR | O_CREAT | O_EXCL);

	if (fd < 0)
		return errno == EEXIST ? 0 : seg_fail(o, name, "", errno, e);
	/* fchmod: the umask may have cleared bits of 0600, never added. */
	if (flock(fd, LOCK_EX) < 0 || fchmod(fd, 0600) < 0) {
		seg_fail(o, name, "lock", errno, e);
		goto fail;
	}
	if (!seg_same(o, name, fd)) {   /* taken for a dead one: again */
		close(fd);
		return 0;
	}
	if (build(o, name, fd, path, id, e) < 0)
		goto fail;
	close(fd);      /* and the lock with it */
	return 1;
fail:
	if (seg_same(o, name, fd))
		seg_unlink(o, name);
	close(fd);
	return -1;
}

/* A segment that exists but is not ready (or damaged): wait for its
 * builder, or remove it when there is none. 1: it became ready (s
 * filled); 0: gone, build it; -1: error. */
static int
settle(const struct cache_opts *o, const char *name, int fd, uint64_t key,
	struct cache_seg *s, int *rebuilt, struct cerr *e)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	time_t until = time(NULL) + o->wait_s;
	int r;

	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return seg_fail(o, name, "lock", errno, e);
		if (time(NULL) >= until) {
			char what[96];

			snprintf(what, sizeof what, "still being built by "
			    "another process after %d s", o->wait_s);
			return seg_fail(o, name, what, 0, e);
		}
		nanosleep(&nap, NULL);
	}
	/* The builder may have finished while we looked. */
	if ((r = try_map(o, name, fd, key, s, e)) != 0)
		return r;
	if (seg_same(o, name, fd)) {
		if (seg_unlink(o, name) < 0 && errno != ENOENT)
			return seg_fail(o, name, "unlink", errno, e);
		*rebuilt = 1;
	}
	return 0;
}

static void info_of(const struct cache_opts *o, const char *name,
	struct cache_info *ci, int procs);

/* Remove our ready segments whose model changed or is gone, after a
 * build, so that edited or deleted models do not pile up in memory. A
 * process that has one mapped keeps it. */
static void
drop_stale(const struct cache_opts *o, const char *keep)
{
	struct cache_info ci;
	struct dirent *de;
	char pre[64];
	size_t np = (size_t)name_prefix(pre, sizeof pre);
	DIR *d;

	if (!(d = opendir(o->dir ? o->dir : SHM_DIR)))
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, pre, np) != 0 ||
		    strlen(de->d_name) >= CACHE_NAME_MAX ||
		    strcmp(de->d_name, keep) == 0)
			continue;
		info_of(o, de->d_name, &ci, 0);
		if (ci.ready && ci.stale)
			seg_unlink(o, de->d_name);
	}
	closedir(d);
}

int
cache_attach(const char *path, const struct cache_opts *o,
	struct cache_seg *s, struct cerr *e)
{
	struct ident id;
	int fd, r, built = 0, rebuilt = 0;

	memset(s, 0, sizeof *s);
	if (!model_ident(path, &id))
		return 0;
	name_prefix(s->name, sizeof s->name);
	snprintf(s->name + strlen(s->name), sizeof s->name - strlen(s->name),
	    "%016" PRIx64, id.key);
	for (int tries = 0; tries < 100; tries++) {
		if ((fd = seg_open(o, s->name, O_RDONLY)) < 0) {
			if (errno != ENOENT)
				return seg_fail(o, s->name, "", errno, e);
			if ((r = create_and_build(o, s->name, path, &id, e)) < 0)
				return -1;
			built |= r;
			continue;
		}
		r = try_map(o, s->name, fd, id.key, s, e);
		if (r == 0)
			r = settle(o, s->name, fd, id.key, s, &rebuilt, e);
		close(fd);
		if (r < 0)
			return -1;
		if (r == 1) {
			if (built)
				drop_stale(o, s->name);
			s->built = built;
			s->rebuilt = rebuilt;
			return 1;
		}
	}
	return seg_fail(o, s->name, "keeps changing under us", 0, e);
}

void
cache_detach(struct cache_seg *s)
{
	if (s->map)
		munmap(s->map, (size_t)s->map_size);
	s->map = NULL;
	s->vocab = NULL;
}

int
cache_verify(const struct cache_seg *s, struct cerr *e)
{
	const struct cache_trailer *t = (const void *)((const uint8_t *)s->map +
	    s->map_size - sizeof *t);

	if (XXH3_64bits(s->image, (size_t)s->image_size) != t->image_hash)
		return cerr_set(e, "cache: %s: the image does not match its "
		    "hash", s->name);
	return 0;
}

/* ---- listing and removing ---- */

/* Processes that map path (not the ones mapping a removed file). */
static int
count_attached(const char *path)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char mp[64], line[PATH_MAX + 256];
	size_t n = strlen(path);
	int count = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		FILE *f;
		int hit = 0;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(mp, sizeof mp, "/proc/%.32s/maps", de->d_name);
		if (!(f = fopen(mp, "re")))
			continue;
		while (!hit && fgets(line, sizeof line, f)) {
			char *p = strchr(line, '/');

			hit = p && strncmp(p, path, n) == 0 && p[n] == '\n';
		}
		fclose(f);
		count += hit;
	}
	closedir(d);
	return count;
}

/* What ls shows of a segment; procs: count the processes attached. */
static void
info_of(const struct cache_opts *o, const char *name, struct cache_info *ci,
	int procs)
{
	const struct cache_trailer *t;
	char p[PATH_MAX];
	struct ident id;
	struct stat sb;
	void *m;
	int fd;

	memset(ci, 0, sizeof *ci);
	snprintf(ci->name, sizeof ci->name, "%.*s", CACHE_NAME_MAX - 1, name);
	if ((fd = seg_open(o, name, O_RDONLY)) < 0)
		return;
	if (fstat(fd, &sb) == 0) {
		ci->size = (uint64_t)sb.st_size;
		ci->created = (int64_t)sb.st_mtime;
	}
	ci->ours = fstat(fd, &sb) == 0 && sb.st_uid == geteuid();
	if (ci->ours && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size >= sizeof *t &&
	    (m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0)) !=
	    MAP_FAILED) {
		if ((t = trailer_of(m, (uint64_t)sb.st_size, 0))) {
			ci->ready = (sb.st_mode & 07777) == 0600;
			ci->created = t->created;
			memcpy(ci->model, t->model, sizeof ci->model);
			ci->model[sizeof ci->model - 1] = '\0';
			memcpy(ci->layout, t->layout, sizeof ci->layout);
			ci->layout[sizeof ci->layout - 1] = '\0';
			ci->stale = !model_ident(ci->model, &id) ||
			    id.key != t->key;
		}
		munmap(m, (size_t)sb.st_size);
	}
	close(fd);
	/* /proc/PID/maps shows the path with its links resolved */
	if (!procs || !realpath(o->dir ? o->dir : SHM_DIR, p))
		return;
	snprintf(p + strlen(p), sizeof p - strlen(p), "/%s", name);
	ci->attached = count_attached(p);
}

static int
info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cache_info *)a)->name,
	    ((const struct cache_info *)b)->name);
}

int
cache_list(const struct cache_opts *o, struct cache_info **out,
	struct cerr *e)
{
	const char *dir = o->dir ? o->dir : SHM_DIR;
	struct cache_info *v = NULL, *nv;
	struct dirent *de;
	char pre[64];
	size_t np = (size_t)name_prefix(pre, sizeof pre);
	int n = 0, cap = 0;
	DIR *d;

	if (!(d = opendir(dir)))
		return cerr_set(e, "cache: %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, pre, np) != 0 ||
		    strlen(de->d_name) >= CACHE_NAME_MAX)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if (!(nv = realloc(v, (size_t)cap * sizeof *v))) {
				free(v);
				closedir(d);
				return cerr_set(e, "cache: out of memory");
			}
			v = nv;
		}
		info_of(o, de->d_name, &v[n++], 1);
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof *v, info_cmp);
	*out = v;
	return n;
}

int
cache_remove(const struct cache_opts *o, const char *name, struct cerr *e)
{
	char pre[64];
	size_t np = (size_t)name_prefix(pre, sizeof pre);
	struct stat sb;
	int fd, r;

	if (strncmp(name, pre, np) != 0 || strchr(name, '/') ||
	    strlen(name) >= CACHE_NAME_MAX)
		return cerr_set(e, "cache: %s: not a name of our segments "
		    "(%s...)", name, pre);
	if ((fd = seg_open(o, name, O_RDONLY)) < 0)
		return seg_fail(o, name, "", errno, e);
	r = fstat(fd, &sb) < 0 ? seg_fail(o, name, "fstat", errno, e) :
	    check_owner(o, name, &sb, e);
	close(fd);
	if (r < 0)
		return -1;
	if (seg_unlink(o, name) < 0)
		return seg_fail(o, name, "", errno, e);
	return 0;
}
