/* cache.h: the weight cache, a model's converted image kept in shared memory
 * so that the next process attaches instead of loading (DESIGN.md, "Weight
 * cache").
 *
 * A segment is named chord-UID-KEY (KEY: 16 hex digits) and lives in POSIX
 * shared memory (shm_open), or, when cache_opts.dir is set, is a plain file
 * in that directory (tests use this: a small tmpfs, a private directory).
 * KEY is the XXH3 of the model's identity (realpath, st_dev, st_ino,
 * st_size, st_mtime with nanoseconds, XXH3 of its first 64 KiB) and of the
 * layout (backend, CACHE_LAYOUT_VERSION, the CPU features of the build).
 *
 * Layout of a segment (all of it mode 0600, owned by us):
 *   the image (for the CPU backend: the decoded GGUF file, byte for byte),
 *   zero padding to 64 bytes, the repacked copies of its matrices and
 *   their index (packs.h), zero padding to 64 bytes, then struct
 *   cache_trailer, whose `ready` word is written last, after everything
 *   before it was written and synced. The trailer also keeps what the
 *   streams carry of the vocabulary (vocab.h's vocab_facts), read once at
 *   build, so that an attach need not load the vocabulary for it.
 *
 * Building: the name is created with O_EXCL and flock()ed at once; the
 * builder holds that lock until the segment is ready. A reader that finds a
 * segment not ready waits for the lock (at most wait_s seconds); getting it
 * while the segment is still not ready means the builder died: the reader
 * unlinks it and builds anew. Space comes from posix_fallocate, so a full
 * tmpfs is ENOSPC, never a SIGBUS. A segment that is not ours is refused and
 * never touched; one of ours that is damaged (wrong size, bad trailer, wrong
 * mode) is rebuilt. Readers map it read-only and hold no lock. After a
 * build, our ready segments whose model changed or is gone are removed. */
#ifndef CHORD_CACHE_H
#define CHORD_CACHE_H

#include <stdint.h>
#include <time.h>

#include "err.h"
#include "packs.h"
#include "vocab.h"

/* Bump when what a segment holds for a backend changes. */
#define CACHE_LAYOUT_VERSION 4
#define CACHE_MAGIC "CHORDSHM"
#define CACHE_READY UINT64_C(0x5245414459214f4b)        /* "KO!YDAER" */
#define CACHE_NAME_MAX 64

struct cache_trailer {
	char magic[8];          /* CACHE_MAGIC */
	uint64_t key;           /* the key in the name */
	uint64_t image_size;    /* bytes of image before the padding */
	uint64_t image_hash;    /* XXH3 of the image */
	int64_t created;        /* time(NULL) when built */
	char layout[64];        /* "cpu/1/avx2,fma,f16c", NUL-terminated */
	char model[4096];       /* realpath of the model, NUL-terminated */
	uint64_t packs_off;     /* the repacked copies: pad64(image_size) */
	uint64_t packs_size;    /* their bytes (64-byte aligned) */
	uint64_t index_off;     /* struct pack_entry [n_index] */
	uint64_t n_index;
	struct vocab_facts vocab; /* of the image, when has_vocab */
	uint64_t has_vocab;     /* 1: vocab_load took the image; 0: it
	                         * failed, and a reader loads it to say why */
	uint64_t ready;         /* CACHE_READY, written last */
};

struct cache_opts {
	const char *dir;        /* segments are files here; NULL: shm_open */
	unsigned delay_us;      /* test hook: sleep this long per MiB built */
	int wait_s;             /* how long to wait for a live builder */
};

/* An attached segment. */
struct cache_seg {
	char name[CACHE_NAME_MAX];      /* chord-UID-KEY */
	const uint8_t *image;           /* the image, read-only */
	uint64_t image_size;
	struct packs packs;             /* the repacked matrices */
	const struct vocab_facts *vocab; /* the trailer's, or NULL */
	void *map;                      /* the whole mapping */
	uint64_t map_size;
	int built;                      /* 1: this process built it */
	int rebuilt;                    /* it replaced a dead or damaged one */
};

/* A segment as listed. */
struct cache_info {
	char name[CACHE_NAME_MAX];
	char model[4096];
	char layout[64];
	uint64_t size;          /* bytes of the segment */
	int64_t created;
	int ours;               /* owned by us */
	int ready;              /* ours, mode 0600, trailer whole and ready;
	                         * 0: being built, dead builder or damaged */
	int stale;              /* the model changed or is gone */
	int attached;           /* processes mapping it */
};

/* Options from the environment: $CHORD_SHM_DIR, the test hook
 * $CHORD_CACHE_TEST_DELAY_US, and $CHORD_CACHE_WAIT_S (default 60). */
void cache_opts_env(struct cache_opts *o);
/* Is the cache off for this run ($CHORD_CACHE=0)? */
int cache_disabled_env(void);

/* Attach the segment of model `path`, building it first if needed. */
int cache_attach(const char *path, const struct cache_opts *o,
	struct cache_seg *s, struct cerr *e);
void cache_detach(struct cache_seg *s);
/* Hash the attached image again and compare with its trailer's. */
int cache_verify(const struct cache_seg *s, struct cerr *e);

/* Our segments (name prefix chord-UID-), sorted by name; *out is
 * malloc'd. Returns the count or -1. */
int cache_list(const struct cache_opts *o, struct cache_info **out,
	struct cerr *e);
/* Remove a segment by name (one of ours: chord-UID-...). Processes that
 * have it mapped keep their mapping. */
int cache_remove(const struct cache_opts *o, const char *name,
	struct cerr *e);

#endif
