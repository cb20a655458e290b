/* stream-test: drives lib/stream.c for t/stream.bats.
 *
 *   stream-test tok [VOCAB_HEX N_VOCAB]   token stream on stdin -> one line
 *                                         per batch: "n: id id ..."
 *   stream-test write N_VOCAB FRAMES      a logits stream on stdout: frame k
 *                                         has pos k, token k, logit[i] = i+k
 *   stream-test read                      logits stream on stdin -> summary */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "tool.h"

static const char usage_line[] =
	"usage: stream-test tok [VOCAB N_VOCAB] | write N_VOCAB FRAMES | read";

static int
tok(int argc, char **argv)
{
	struct tokstream ts;
	struct cerr e;
	int r;

	tokstream_init(&ts, stdin, "stdin");
	if (argc == 4) {
		ts.expect_vocab = strtoull(argv[2], NULL, 16);
		ts.expect_n_vocab = (uint32_t)opt_ll(usage_line, "N_VOCAB",
		    argv[3], 1, INT32_MAX);
	}
	while ((r = tokstream_next(&ts, &e)) == 1) {
		printf("%zu:", ts.n);
		for (size_t i = 0; i < ts.n; i++)
			printf(" %" PRId32, ts.ids[i]);
		putchar('\n');
	}
	tokstream_free(&ts);
	if (r < 0)
		die_err(&e);
	return 0;
}

static int
writer(int argc, char **argv)
{
	struct logits_hdr h = { .version = LOGITS_VERSION, .vocab = 0x1234abcd,
	    .bos = 1, .eos = 2, .eot = -1, .n_eog = 1, .eog = { 2 } };
	struct cerr e;
	long long frames;
	float *x;

	if (argc != 4)
		usage_die(usage_line, NULL);
	h.n_vocab = (uint32_t)opt_ll(usage_line, "N_VOCAB", argv[2], 1, 1 << 20);
	frames = opt_ll(usage_line, "FRAMES", argv[3], 0, 1000);
	if (!(x = malloc(h.n_vocab * sizeof *x)))
		die("out of memory");
	if (logits_write_header(stdout, &h, &e) < 0)
		die_err(&e);
	for (long long k = 0; k < frames; k++) {
		int32_t id = (int32_t)k;

		for (uint32_t i = 0; i < h.n_vocab; i++)
			x[i] = (float)(i + k);
		if (logits_write_frame(stdout, &h, (uint32_t)k, id,
		    LOGITS_F_LAST, &id, 1, x, &e) < 0)
			die_err(&e);
	}
	free(x);
	stdout_close();
	return 0;
}

static int
reader(void)
{
	struct logits_hdr h;
	struct logits_frame fr = { 0 };
	struct cerr e;
	int r;

	if (logits_read_header(stdin, "stdin", &h, &e) < 0)
		die_err(&e);
	printf("n_vocab=%" PRIu32 " vocab=%016" PRIx64 " bos=%" PRId32
	    " eos=%" PRId32 " n_eog=%" PRIu32 "\n", h.n_vocab, h.vocab, h.bos,
	    h.eos, h.n_eog);
	while ((r = logits_read_frame(stdin, "stdin", &h, &fr, &e)) == 1)
		printf("pos=%" PRIu32 " token=%" PRId32 " n_new=%" PRIu32
		    " first=%g last=%g\n", fr.pos, fr.token, fr.n_new,
		    fr.logits[0], fr.logits[h.n_vocab - 1]);
	logits_frame_free(&fr);
	if (r < 0)
		die_err(&e);
	return 0;
}

int
main(int argc, char **argv)
{
	tool_init(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);       /* keep order with stderr */
	if (argc >= 2 && strcmp(argv[1], "tok") == 0 && (argc == 2 || argc == 4))
		return tok(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "write") == 0)
		return writer(argc, argv);
	if (argc == 2 && strcmp(argv[1], "read") == 0)
		return reader();
	usage_die(usage_line, NULL);
}
