/* tok_ugm.c: T5's Unigram (tokenizer.ggml.model = t5). */
#include <stdlib.h>

#include "tok_kind.h"

struct ugm {
	const struct vocab *v;
};

struct ugm *
ugm_open(const struct gguf *g, const struct vocab *v, struct cerr *e)
{
	cerr_set(e, "%s: tokenizer t5 not supported", g->path);
	(void)v;
	return NULL;
}

void
ugm_close(struct ugm *u)
{
	free(u);
}

int
ugm_encode(const struct ugm *u, const char *s, size_t n, struct ids *out,
	struct cerr *e)
{
	(void)u, (void)s, (void)n, (void)out;
	return cerr_set(e, "tokenizer t5 not supported");
}
