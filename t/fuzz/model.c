/* model.c (fuzz): the input as a model file, loaded the way chord-fwd does:
 * gguf_open, model_load, vocab_load, tok_open, then one token through the
 * plan on the CPU backend and a few words through the tokenizer. */
#include <string.h>

#include "fuzz.h"
#include "fwd.h"
#include "model.h"
#include "plan.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

/* What a tool does with a model it could open. */
static void
use(const struct model *m, struct tok *t, const struct vocab *v)
{
	static const char text[] = "Hello <|im_end|> abc\n<s> world 12";
	struct ids ids = { 0 };
	struct fwd_opts o = { .n_ctx = 8 };
	struct plan p;
	struct fwd *f;
	struct cerr e;
	char buf[256];

	if (tok_encode(t, text, sizeof text - 1, 1, 1, &ids, &e) == 0)
		for (size_t i = 0; i < ids.n; i++)
			if (tok_piece(t, ids.v[i], 1, buf, sizeof buf) < 0)
				abort();        /* an id the encoder made */
	for (uint32_t i = 0; i < v->n && i < 4096; i++)
		if (tok_piece(t, (int32_t)i, i & 1, buf, sizeof buf) >
		    (int)sizeof buf)
			abort();
	ids_free(&ids);
	if (plan_build(&p, m, o.n_ctx, &e) < 0)
		return;
	if ((f = fwd_open(&p, &o, &e))) {
		fwd_eval(f, (const int32_t[]){ 0 }, 1, 0, &e);
		fwd_close(f);
	}
	plan_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_file(data, size, path, sizeof path);
	struct gguf *g;
	struct model m;
	struct vocab v;
	struct tok *t;
	struct cerr e;

	if ((g = gguf_open(path, &e))) {
		if (model_load(&m, g, &e) == 0) {
			if (vocab_load(&v, g, &e) == 0) {
				if ((t = tok_open(g, &v, &e))) {
					use(&m, t, &v);
					tok_close(t);
				}
				vocab_free(&v);
			}
			model_free(&m);
		}
		gguf_close(g);
	}
	close(fd);
	return 0;
}
