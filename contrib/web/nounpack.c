/* nounpack.c: lib/unpack.h for the browser build, which has no libarchive
 * or zstd: a compressed or archived model is "not supported"; the page
 * takes plain .gguf files. */
#include <string.h>

#include "unpack.h"

int
unpack_model(const char *path, void **buf, uint64_t *size, struct cerr *e)
{
	(void)buf;
	(void)size;
	cerr_set(e, "%s: not a GGUF file (compressed models are not "
	    "supported in the browser)", path);
	return -1;
}

void
unpack_free(void *buf, uint64_t size)
{
	(void)buf;
	(void)size;
}
