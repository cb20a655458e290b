/* llama-quant: llama.cpp's own quantizer (ggml_quantize_chunk without an
 * importance matrix, as llama-quantize calls it) on raw float32 rows, for
 * checking chord's quantizers bit for bit (contrib/make-golden).
 *
 *   llama-quant TYPE ROWLEN < f32 > blocks */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"

int
main(int argc, char **argv)
{
	size_t cap = 1 << 20, n = 0, k;
	float *x = malloc(cap * sizeof *x);
	long rowlen;
	int type = -1;

	if (argc != 3 || (rowlen = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: llama-quant TYPE ROWLEN < f32\n");
		return 2;
	}
	for (int t = 0; t < GGML_TYPE_COUNT; t++) {
		const char *name = ggml_type_name((enum ggml_type)t);

		if (name && strcasecmp(name, argv[1]) == 0)
			type = t;
	}
	if (type < 0) {
		fprintf(stderr, "llama-quant: %s: unknown type\n", argv[1]);
		return 1;
	}
	while (x && (k = fread(x + n, sizeof *x, cap - n, stdin)) > 0)
		if ((n += k) == cap)
			x = realloc(x, (cap *= 2) * sizeof *x);
	if (!x || n % (size_t)rowlen) {
		fprintf(stderr, "llama-quant: input is not whole rows\n");
		return 1;
	}
	size_t rows = n / (size_t)rowlen;
	size_t size = rows * ggml_row_size((enum ggml_type)type, rowlen);
	void *y = malloc(size);

	ggml_quantize_init((enum ggml_type)type);
	ggml_quantize_chunk((enum ggml_type)type, x, y, 0, (int64_t)rows,
	    rowlen, NULL);
	fwrite(y, 1, size, stdout);
	return fflush(stdout) != 0;
}
