/* quant-test: chord's reference quantizers on raw float32 values, for
 * t/quant.bats (compared with the gguf package and llama.cpp).
 *
 *   quant-test TYPE < f32 > blocks */
#include <stdio.h>
#include <stdlib.h>

#include "quant.h"
#include "tool.h"

int
main(int argc, char **argv)
{
	size_t cap = 1 << 20, n = 0, k;
	float *x = malloc(cap * sizeof *x);
	const struct qtype *q;
	int type;
	void *y;

	tool_init(argv[0]);
	if (argc != 2)
		usage_die("usage: quant-test TYPE < f32", "one TYPE expected");
	if ((type = qtype_by_name(argv[1])) < 0 || !(q = qtype_get((uint32_t)type)) ||
	    !q->from_f32)
		die("%s: no quantizer", argv[1]);
	while (x && (k = fread(x + n, sizeof *x, cap - n, stdin)) > 0)
		if ((n += k) == cap)
			x = realloc(x, (cap *= 2) * sizeof *x);
	if (!x)
		die("out of memory");
	if (n % (size_t)q->blck)
		die("stdin: not whole %s blocks", q->name);
	if (!(y = malloc(n / (size_t)q->blck * (size_t)q->size + 1)))
		die("out of memory");
	q->from_f32(x, y, (int64_t)n);
	fwrite(y, (size_t)q->size, n / (size_t)q->blck, stdout);
	stdout_close();
	return 0;
}
