/* pretok-test: a BPE pre-tokenizer alone. Reads all of stdin, prints the
 * byte length of each word it splits into, one per line.
 *
 *   pretok-test PRE < text        (PRE: gpt2, smollm, llama3, qwen2, ...) */
#include <stdio.h>
#include <stdlib.h>

#include "tok_kind.h"
#include "tool.h"

int
main(int argc, char **argv)
{
	static char buf[1 << 20];
	struct ids out = { 0 };
	struct cerr e;
	size_t n;

	tool_init(argv[0]);
	if (argc != 2)
		usage_die("usage: pretok-test PRE", NULL);
	n = fread(buf, 1, sizeof buf, stdin);
	if (bpe_pretokenize(argv[1], buf, n, &out, &e) < 0)
		die_err(&e);
	for (size_t i = 0; i < out.n; i++)
		printf("%d\n", out.v[i]);
	ids_free(&out);
	stdout_close();
	return 0;
}
