/* pack-test: the repacked layouts (matmul_pack.c) give the file-layout
 * kernels' results bit for bit: SIMD on the packed copy, the packed
 * reference, and the row kernels of matmul.c, for Q4_1, Q5_0 and Q8_0 at batch
 * sizes around the kernels' steps (sets of eight, then four, then single
 * rows, in passes of 32), with rows past the last whole group.
 * Prints one line per type; exits 1 on any difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matmul.h"
#include "quant.h"
#include "tool.h"

enum { COLS = 320, ROWS = 3 * PACK_ROWS + 5 };

static uint32_t rng = 777;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static float
frand(void)
{
	return (float)(rnd() % 20001) / 10000.0f - 1.0f;
}

static int
test(uint32_t type)
{
	static const int ns[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 33, 37,
	    70 };
	const struct qtype *q = qtype_get(type);
	size_t rb = COLS / 32 * (size_t)q->size, size;
	uint8_t *w = malloc(rb * ROWS), *pk;
	struct mat m = { w, type, ROWS, COLS, rb, 0, 0 };
	int bad = 0;

	for (size_t i = 0; i < rb * ROWS; i++)
		w[i] = (uint8_t)rnd();
	for (size_t b = 0; b < rb * ROWS / (size_t)q->size; b++) {
		uint16_t d = f32_to_fp16(frand() * 0.05f), mn = f32_to_fp16(frand());

		memcpy(w + b * q->size, &d, 2);
		if (type == GGML_Q4_1)
			memcpy(w + b * q->size + 2, &mn, 2);
	}
	if (!(size = pack_size(&m))) {
		printf("%s: no packed layout on this build\n", q->name);
		free(w);
		return 0;
	}
	pk = aligned_alloc(64, (size + 63) / 64 * 64);
	pack_mat(&m, pk);
	for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
		int n = ns[k];
		float *x = malloc(sizeof(float) * (size_t)n * COLS);
		float *y[3];
		struct qblk *qa = malloc(sizeof *qa * (size_t)n * COLS / 32);

		for (int i = 0; i < 3; i++)
			y[i] = calloc((size_t)n * ROWS, sizeof(float));
		for (int i = 0; i < n * COLS; i++)
			x[i] = frand() * (i % 31 == 0 ? 8.0f : 1.0f);
		quantize_act(x, n, COLS, qa);
		matmul_rows(&m, NULL, qa, n, y[0], ROWS, 0, ROWS);
		matmul_rows(&m, pk, qa, n, y[1], ROWS, 0, ROWS);
		matmul_packed_ref(&m, pk, qa, n, y[2], ROWS);
		for (int t = 0; t < n; t++)
			for (int r = 0; r < ROWS; r++) {
				float a = y[0][t * ROWS + r];

				if (memcmp(&a, &y[1][t * ROWS + r], 4) ||
				    (r < ROWS / PACK_ROWS * PACK_ROWS &&
				    memcmp(&a, &y[2][t * ROWS + r], 4))) {
					if (!bad)
						printf("%s: n %d row %d token %d: "
						    "%.9g %.9g %.9g\n", q->name, n, r,
						    t, a, y[1][t * ROWS + r],
						    y[2][t * ROWS + r]);
					bad = 1;
				}
			}
		for (int i = 0; i < 3; i++)
			free(y[i]);
		free(x);
		free(qa);
	}
	printf("%s: packed %s\n", q->name, bad ? "DIFFERS" : "identical");
	free(pk);
	free(w);
	return bad;
}

int
main(int argc, char **argv)
{
	(void)argc;
	tool_init(argv[0]);
	return test(GGML_Q4_1) | test(GGML_Q5_0) | test(GGML_Q8_0);
}
