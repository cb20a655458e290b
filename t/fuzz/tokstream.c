/* tokstream.c (fuzz): the token stream reader (stream.h) on the input as a
 * file, once trusting it and once checking it against a vocabulary. */
#include "fuzz.h"
#include "stream.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void
readall(const uint8_t *data, size_t size, uint64_t vocab, uint32_t n_vocab)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct tokstream ts;
	struct cerr e;
	int r;

	if (!f)
		return;
	tokstream_init(&ts, f, "fuzz");
	ts.expect_vocab = vocab;
	ts.expect_n_vocab = n_vocab;
	while ((r = tokstream_next(&ts, &e)) == 1)
		for (size_t i = 0; i < ts.n; i++)
			if (n_vocab && (ts.ids[i] < 0 ||
			    (uint32_t)ts.ids[i] >= n_vocab))
				abort();        /* the reader let it through */
	tokstream_free(&ts);
	fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;       /* fmemopen wants a buffer */
	readall(data, size, 0, 0);
	readall(data, size, 0x0123456789abcdefull, 49152);
	return 0;
}
