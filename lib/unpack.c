/* unpack.c: decoding compressed or archived models (see unpack.h). */
#include <stdlib.h>

#include "unpack.h"

int
unpack_model(const char *path, void **buf, uint64_t *size, struct cerr *e)
{
	(void)path; (void)buf; (void)size; (void)e;
	return 0;       /* no containers yet: gguf-repack's issue adds them */
}

void
unpack_free(void *buf, uint64_t size)
{
	(void)size;
	free(buf);
}
