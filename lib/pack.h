/* pack.h: writing a model file so that it is never seen half-written.
 *
 * The bytes go to a temporary file beside the target, .NAME.tmp.PID, which
 * is renamed over it only by pack_commit(); pack_abort() (or a signal
 * handler unlinking pack_temp_path()) leaves the target as it was. A run
 * killed outright leaves its temporary file; the next pack_open() of the
 * same target removes those whose process is gone. The container follows the
 * target's name: NAME.zst is one zstd frame; NAME.tar, .tar.gz, .tgz,
 * .tar.xz, .tar.zst or .zip an archive holding one member NAME.gguf;
 * anything else plain GGUF. "-" writes plain GGUF to stdout; an existing
 * device or FIFO is written into directly; a symbolic link's target is
 * replaced, not the link. */
#ifndef CHORD_PACK_H
#define CHORD_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum pack_kind { PACK_PLAIN, PACK_ZSTD, PACK_TAR, PACK_ZIP };

struct pack;

/* The container a target name asks for. */
enum pack_kind pack_kind_of(const char *path);
/* Open path for writing size bytes (the exact total; archives record it up
 * front). level: the zstd or deflate level, 0 for the default. */
struct pack *pack_open(const char *path, uint64_t size, int level,
	struct cerr *e);
/* Write n bytes (the shape of gguf_out.put). */
int pack_put(void *p, const void *buf, size_t n, struct cerr *e);
/* Finish the container and sync it under its temporary name, for files
 * that must appear together (shards): commit each once all are finished.
 * On error p is aborted (freed). */
int pack_finish(struct pack *p, struct cerr *e);
/* Finish (if not yet), sync and rename into place; frees p, or aborts it
 * on error. */
int pack_commit(struct pack *p, struct cerr *e);
/* Remove the temporary file; frees p. */
void pack_abort(struct pack *p);
/* The temporary file's path (NULL for stdout), for signal handlers. */
const char *pack_temp_path(const struct pack *p);

#endif
