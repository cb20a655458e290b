/* llama-logits: the reference logits for contrib/golden.py, through
 * llama.cpp's C API (built by contrib/llama-ref; not part of chord).
 *
 *   llama-logits MODEL N_CTX N_GREEDY THREADS < ids > out.f32
 *
 * Each input line is one prompt's token ids. For each, the context is
 * cleared, the prompt evaluated as one batch, and written to stdout: the
 * n_vocab float32 logits of the last position, then N_GREEDY generated ids
 * (int32), each the argmax of the previous position's logits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static int
argmax(const float *x, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

int
main(int argc, char **argv)
{
	struct llama_model_params mp = llama_model_default_params();
	struct llama_context_params cp = llama_context_default_params();
	static char line[1 << 20];
	llama_token ids[8192];

	if (argc != 5) {
		fprintf(stderr, "usage: llama-logits MODEL N_CTX N_GREEDY THREADS\n");
		return 2;
	}
	llama_backend_init();
	struct llama_model *model = llama_model_load_from_file(argv[1], mp);
	if (!model)
		return 1;
	int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
	int n_greedy = (int)strtol(argv[3], NULL, 10);
	cp.n_ctx = cp.n_batch = cp.n_ubatch = (uint32_t)strtol(argv[2], NULL, 10);
	cp.n_threads = cp.n_threads_batch = (int)strtol(argv[4], NULL, 10);
	while (fgets(line, sizeof line, stdin)) {
		struct llama_context *ctx = llama_init_from_model(model, cp);
		int n = 0;
		char *p = line, *end;

		for (long v; (v = strtol(p, &end, 10)), end != p; p = end)
			ids[n++] = (llama_token)v;
		if (!ctx || llama_decode(ctx, llama_batch_get_one(ids, n)) != 0)
			return 1;
		const float *lg = llama_get_logits_ith(ctx, -1);
		fwrite(lg, sizeof(float), (size_t)n_vocab, stdout);
		for (int k = 0; k < n_greedy; k++) {
			llama_token t = argmax(llama_get_logits_ith(ctx, -1), n_vocab);

			fwrite(&t, sizeof t, 1, stdout);
			if (llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0)
				return 1;
		}
		llama_free(ctx);
	}
	llama_model_free(model);
	return 0;
}
