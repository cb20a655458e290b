/* pack.c: writing model files atomically, plain, zstd or archived (pack.h). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "pack.h"

struct pack {
	enum pack_kind kind;
	char *path;             /* the target */
	char *tmp;              /* NULL when writing to stdout */
	int fd;
	int direct;             /* writing into a device or FIFO, no rename */
	int finished;           /* complete and synced, not yet renamed */
	uint64_t size, done;
	ZSTD_CCtx *zc;
	struct archive *a;
	uint8_t *zbuf;
	size_t zcap;
};

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n >= k && strcmp(s + n - k, suf) == 0;
}

static const char *const tar_names[] = { ".tar", ".tar.gz", ".tgz", ".tar.xz",
	".tar.zst", NULL };

enum pack_kind
pack_kind_of(const char *path)
{
	for (int i = 0; tar_names[i]; i++)
		if (has_suffix(path, tar_names[i]))
			return PACK_TAR;
	if (has_suffix(path, ".zip"))
		return PACK_ZIP;
	if (has_suffix(path, ".zst"))
		return PACK_ZSTD;
	return PACK_PLAIN;
}

/* The archive member: the target's base name, container suffix replaced by
 * .gguf ("m.tar.zst" holds "m.gguf"). */
static char *
member_name(const char *path)
{
	char *copy = strdup(path), *base, *name;
	size_t n;

	if (!copy)
		return NULL;
	base = basename(copy);
	n = strlen(base);
	for (int i = 0; tar_names[i]; i++)
		if (has_suffix(base, tar_names[i])) {
			n -= strlen(tar_names[i]);
			break;
		}
	if (has_suffix(base, ".zip"))
		n -= 4;
	if (n >= 5 && strncmp(base + n - 5, ".gguf", 5) == 0)
		n -= 5;
	if ((name = malloc(n + 6)))
		snprintf(name, n + 6, "%.*s.gguf", (int)n, base);
	free(copy);
	return name;
}

static void
pack_free(struct pack *p)
{
	if (p->zc)
		ZSTD_freeCCtx(p->zc);
	if (p->a)
		archive_write_free(p->a);
	free(p->zbuf);
	free(p->path);
	free(p->tmp);
	free(p);
}

static int
write_all(struct pack *p, const void *buf, size_t n, struct cerr *e)
{
	const uint8_t *s = buf;

	while (n > 0) {
		ssize_t k = write(p->fd, s, n > (1u << 30) ? (1u << 30) : n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return cerr_set(e, "%s: %s", p->tmp ? p->tmp : p->direct ?
			    p->path : "stdout", strerror(errno));
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
arc_err(struct pack *p, struct cerr *e)
{
	const char *msg = archive_error_string(p->a);

	return cerr_set(e, "%s: %s", p->path, msg ? msg : "archive error");
}

static int
open_archive(struct pack *p, int level, struct cerr *e)
{
	struct archive_entry *ent;
	char *member = member_name(p->path), opt[32];
	int r = 0;

	if (!member || !(p->a = archive_write_new())) {
		free(member);
		return cerr_set(e, "out of memory");
	}
	if (p->kind == PACK_ZIP) {
		r = archive_write_set_format_zip(p->a);
		if (r == ARCHIVE_OK && level > 0) {
			snprintf(opt, sizeof opt, "%d", level > 9 ? 9 : level);
			r = archive_write_set_format_option(p->a, "zip",
			    "compression-level", opt);
		}
	} else {
		r = archive_write_set_format_pax_restricted(p->a);
		if (r == ARCHIVE_OK && (has_suffix(p->path, ".gz") ||
		    has_suffix(p->path, ".tgz")))
			r = archive_write_add_filter_gzip(p->a);
		else if (r == ARCHIVE_OK && has_suffix(p->path, ".xz"))
			r = archive_write_add_filter_xz(p->a);
		else if (r == ARCHIVE_OK && has_suffix(p->path, ".zst"))
			r = archive_write_add_filter_zstd(p->a);
	}
	if (r == ARCHIVE_OK)
		r = archive_write_open_fd(p->a, p->fd);
	if (r != ARCHIVE_OK) {
		free(member);
		return arc_err(p, e);
	}
	if (!(ent = archive_entry_new())) {
		free(member);
		return cerr_set(e, "out of memory");
	}
	archive_entry_set_pathname(ent, member);
	archive_entry_set_size(ent, (la_int64_t)p->size);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_mtime(ent, time(NULL), 0);
	r = archive_write_header(p->a, ent);
	archive_entry_free(ent);
	free(member);
	return r == ARCHIVE_OK ? 0 : arc_err(p, e);
}

static int
open_zstd(struct pack *p, int level, struct cerr *e)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	p->zcap = ZSTD_CStreamOutSize();
	if (!(p->zc = ZSTD_createCCtx()) || !(p->zbuf = malloc(p->zcap)))
		return cerr_set(e, "out of memory");
	ZSTD_CCtx_setParameter(p->zc, ZSTD_c_compressionLevel,
	    level > 0 ? level : ZSTD_CLEVEL_DEFAULT);
	ZSTD_CCtx_setParameter(p->zc, ZSTD_c_checksumFlag, 1);
	/* Threads where libzstd has them; without, this is a no-op error. */
	ZSTD_CCtx_setParameter(p->zc, ZSTD_c_nbWorkers, cpus > 1 ? (int)cpus : 0);
	ZSTD_CCtx_setPledgedSrcSize(p->zc, p->size);
	return 0;
}

/* Remove DIR/.BASE.tmp.PID files that runs killed outright (SIGKILL, a
 * crash, a power cut) left behind: those of processes that are gone. */
static void
remove_stale(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	size_t n = strlen(base);

	if (!d)
		return;
	while ((ent = readdir(d))) {
		const char *s = ent->d_name, *pid;
		char path[4096];
		long long v = 0;

		if (s[0] != '.' || strncmp(s + 1, base, n) != 0 ||
		    strncmp(s + 1 + n, ".tmp.", 5) != 0)
			continue;
		pid = s + 1 + n + 5;
		if (!*pid || strspn(pid, "0123456789") != strlen(pid) ||
		    strlen(pid) > 9)
			continue;
		for (const char *c = pid; *c; c++)
			v = v * 10 + (*c - '0');
		if (v <= 0 || v == (long long)getpid() ||
		    kill((pid_t)v, 0) == 0 || errno != ESRCH)
			continue;       /* alive, or not ours to judge */
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, s) <
		    sizeof path)
			unlink(path);
	}
	closedir(d);
}

/* A temporary file in the target's directory (rename needs the same file
 * system), named .BASE.tmp.PID so that a later run can tell a dead run's
 * leftovers, with the permissions a new file would get. */
static int
open_temp(struct pack *p, struct cerr *e)
{
	char *copy = strdup(p->path), *dir, *base;
	size_t n;
	mode_t um;

	if (!copy)
		return cerr_set(e, "out of memory");
	base = strrchr(p->path, '/') ? strrchr(p->path, '/') + 1 : p->path;
	dir = dirname(copy);
	n = strlen(dir) + strlen(base) + 32;
	if (!(p->tmp = malloc(n))) {
		free(copy);
		return cerr_set(e, "out of memory");
	}
	snprintf(p->tmp, n, "%s/.%s.tmp.%ld", dir, base, (long)getpid());
	remove_stale(dir, base);
	free(copy);
	um = umask(0);
	umask(um);
	/* One of ours by that name is a dead process's whose PID we got. */
	if ((p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666 & ~um)) < 0 &&
	    errno == EEXIST && unlink(p->tmp) == 0)
		p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666 & ~um);
	if (p->fd < 0) {
		cerr_set(e, "%s: %s", p->path, strerror(errno));
		free(p->tmp);
		p->tmp = NULL;
		return -1;
	}
	return 0;
}

struct pack *
pack_open(const char *path, uint64_t size, int level, struct cerr *e)
{
	struct pack *p = calloc(1, sizeof *p);
	struct stat st;

	if (!p || !(p->path = strdup(path))) {
		free(p);
		cerr_set(e, "out of memory");
		return NULL;
	}
	p->size = size;
	p->fd = -1;
	if (strcmp(path, "-") == 0) {
		p->kind = PACK_PLAIN;
		p->fd = STDOUT_FILENO;
		return p;
	}
	p->kind = pack_kind_of(path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A device or a FIFO: write into it, as cp would. */
		if ((p->fd = open(path, O_WRONLY)) < 0) {
			cerr_set(e, "%s: %s", path, strerror(errno));
			pack_free(p);
			return NULL;
		}
		p->direct = 1;
	} else if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		/* Replace the file the link names, not the link. */
		char *real = realpath(path, NULL);

		if (!real) {
			cerr_set(e, "%s: %s", path, strerror(errno));
			pack_free(p);
			return NULL;
		}
		free(p->path);
		p->path = real;
	}
	if (!p->direct && open_temp(p, e) < 0) {
		pack_free(p);
		return NULL;
	}
	if ((p->kind == PACK_ZSTD && open_zstd(p, level, e) < 0) ||
	    ((p->kind == PACK_TAR || p->kind == PACK_ZIP) &&
	    open_archive(p, level, e) < 0)) {
		pack_abort(p);
		return NULL;
	}
	return p;
}

static int
zstd_put(struct pack *p, const void *buf, size_t n, ZSTD_EndDirective end,
	struct cerr *e)
{
	ZSTD_inBuffer ib = { buf, n, 0 };
	size_t left;

	do {
		ZSTD_outBuffer ob = { p->zbuf, p->zcap, 0 };

		left = ZSTD_compressStream2(p->zc, &ob, &ib, end);
		if (ZSTD_isError(left))
			return cerr_set(e, "%s: zstd: %s", p->path,
			    ZSTD_getErrorName(left));
		if (write_all(p, p->zbuf, ob.pos, e) < 0)
			return -1;
	} while (end == ZSTD_e_end ? left != 0 : ib.pos < ib.size);
	return 0;
}

int
pack_put(void *vp, const void *buf, size_t n, struct cerr *e)
{
	struct pack *p = vp;
	const uint8_t *s = buf;

	p->done += n;
	switch (p->kind) {
	case PACK_ZSTD:
		return zstd_put(p, buf, n, ZSTD_e_continue, e);
	case PACK_TAR: case PACK_ZIP:
		while (n > 0) {
			la_ssize_t k = archive_write_data(p->a, s, n);

			if (k <= 0)
				return arc_err(p, e);
			s += k;
			n -= (size_t)k;
		}
		return 0;
	default:
		return write_all(p, buf, n, e);
	}
}

/* Everything but the rename. */
static int
finish(struct pack *p, struct cerr *e)
{
	if (p->done != p->size)
		return cerr_set(e, "%s: wrote %llu bytes of %llu", p->path,
		    (unsigned long long)p->done, (unsigned long long)p->size);
	if (p->kind == PACK_ZSTD && zstd_put(p, NULL, 0, ZSTD_e_end, e) < 0)
		return -1;
	if (p->a && (archive_write_close(p->a) != ARCHIVE_OK))
		return arc_err(p, e);
	if (p->direct && close(p->fd) < 0) {
		p->fd = -1;
		return cerr_set(e, "%s: %s", p->path, strerror(errno));
	}
	if (p->tmp && (fsync(p->fd) < 0 || close(p->fd) < 0)) {
		p->fd = -1;
		return cerr_set(e, "%s: %s", p->tmp, strerror(errno));
	}
	if (p->tmp || p->direct)
		p->fd = -1;
	/* What the container needed is no longer: keep only the names. */
	if (p->zc)
		ZSTD_freeCCtx(p->zc);
	if (p->a)
		archive_write_free(p->a);
	free(p->zbuf);
	p->zc = NULL;
	p->a = NULL;
	p->zbuf = NULL;
	p->finished = 1;
	return 0;
}

int
pack_finish(struct pack *p, struct cerr *e)
{
	if (p->finished)
		return 0;
	if (finish(p, e) < 0) {
		pack_abort(p);
		return -1;
	}
	return 0;
}

int
pack_commit(struct pack *p, struct cerr *e)
{
	if (pack_finish(p, e) < 0)
		return -1;
	if (p->tmp && rename(p->tmp, p->path) < 0) {
		cerr_set(e, "%s: %s", p->path, strerror(errno));
		pack_abort(p);
		return -1;
	}
	free(p->tmp);
	p->tmp = NULL;
	pack_free(p);
	return 0;
}

void
pack_abort(struct pack *p)
{
	if (!p)
		return;
	if (p->a) {             /* before the fd closes: it writes on free */
		archive_write_free(p->a);
		p->a = NULL;
	}
	if (p->tmp || p->direct) {
		if (p->fd >= 0)
			close(p->fd);
		if (p->tmp)
			unlink(p->tmp);
	}
	pack_free(p);
}

const char *
pack_temp_path(const struct pack *p)
{
	return p ? p->tmp : NULL;
}
