/* unpack.h: models given as .gguf.zst or inside an archive (tar, zip...).
 *
 * gguf_open() calls unpack_model() when a file does not start with "GGUF":
 * a zstd frame or an archive holding one .gguf member is decoded into memory
 * that the returned buffer owns (free with unpack_free). */
#ifndef CHORD_UNPACK_H
#define CHORD_UNPACK_H

#include <stdint.h>

#include "err.h"

/* Returns 1 and sets *buf, *size when path was a container it decoded; 0 when
 * it is not a known container (the caller reports a bad magic); -1 on error. */
int unpack_model(const char *path, void **buf, uint64_t *size, struct cerr *e);
void unpack_free(void *buf, uint64_t size);

#endif
