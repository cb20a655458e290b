/* pretok-test: a BPE pre-tokenizer alone. Reads all of stdin, prints the
 * byte length of each word it splits into, one per line; with -0, stdin is
 * texts ended by NUL bytes and each gets one line of lengths.
 *
 *   pretok-test [-0] PRE < text   (PRE: a tokenizer.ggml.pre name) */
#include <stdio.h>
#include <string.h>

#include "tok_kind.h"
#include "tool.h"

static char buf[1 << 24];

int
main(int argc, char **argv)
{
	struct ids out = { 0 };
	struct cerr e;
	size_t n;
	int nul = argc == 3 && !strcmp(argv[1], "-0");

	tool_init(argv[0]);
	if (argc != 2 + nul)
		usage_die("usage: pretok-test [-0] PRE", NULL);
	n = fread(buf, 1, sizeof buf, stdin);
	for (size_t at = 0; at < n || (!nul && at == 0);) {
		const char *z = nul ? memchr(buf + at, 0, n - at) : NULL;
		size_t len = z ? (size_t)(z - buf) - at : n - at;

		out.n = 0;
		if (bpe_pretokenize(argv[1 + nul], buf + at, len, &out, &e) < 0)
			die_err(&e);
		for (size_t i = 0; i < out.n; i++)
			printf(nul ? "%s%d" : "%s%d\n", nul && i ? " " : "",
			    out.v[i]);
		if (nul)
			putchar('\n');
		at += len + 1;
	}
	ids_free(&out);
	stdout_close();
	return 0;
}
