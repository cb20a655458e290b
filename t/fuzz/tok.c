/* tok.c (fuzz): the input as text through both test vocabularies, SmolLM2's
 * BPE and Gemma 3's SPM: encoded with and without special tokens parsed,
 * then every id decoded with and without special pieces. */
#include "fuzz.h"

static struct fuzz_model models[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_model_open(&models[0], "SmolLM2-135M-Instruct.Q4_1.gguf");
	fuzz_model_open(&models[1], "gemma-3-270m-q4_k_m.gguf");
	return 0;
}

static void
run(struct tok *t, const char *text, size_t len, int add, int parse)
{
	struct ids ids = { 0 };
	struct cerr e;
	char buf[512];

	if (tok_encode(t, text, len, add, parse, &ids, &e) == 0)
		for (size_t i = 0; i < ids.n; i++)
			for (int special = 0; special < 2; special++) {
				int n = tok_piece(t, ids.v[i], special, buf,
				    sizeof buf);

				if (n < 0 || n > (int)sizeof buf)
					abort();  /* an id the encoder made */
			}
	ids_free(&ids);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int k = 0; k < 2; k++)
		for (int parse = 0; parse < 2; parse++)
			run(models[k].t, (const char *)data, size, parse, parse);
	return 0;
}
