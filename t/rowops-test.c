/* rowops-test: lib/rowops.c's vector paths against its scalar ones, bit
 * for bit.
 *   rowops-test gelu [all]   geglu against gelu() on every 61st float bit
 *                            pattern (all: every one) and the specials
 *   rowops-test norm         rmsnorm_rows against rmsnorm row by row, on
 *                            rows of mixed magnitudes, in place and not
 *   rowops-test silu         swiglu against silu() */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "rowops.h"

static uint32_t rng = 2463534242u;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* a float in (-1, 1) times 2^e, e in [-lo, hi) */
static float
frand(int lo, int hi)
{
	float f = (float)(rnd() >> 8) / 8388608.0f - 1.0f;

	return ldexpf(f, (int)(rnd() % (uint32_t)(lo + hi)) - lo);
}

static int
gelu_same(uint32_t step)
{
	static const float special[] = { 0.0f, -0.0f, INFINITY, -INFINITY,
	    NAN, -NAN, 10.0f, -10.0f, 9.999999f, -9.999999f, 10.000001f,
	    -10.000001f, 65504.0f, 65520.0f, -65520.0f, 0x1p-25f, 0x1p-24f };
	static float d[4096], x[4096], y[4096];
	uint64_t count = 0, differ = 0;
	size_t n = sizeof special / sizeof *special;

	gelu_init();
	memcpy(d, special, sizeof special);
	for (uint64_t i = 0; i <= UINT32_MAX; i += step) {
		uint32_t bits = (uint32_t)i;

		memcpy(d + n++, &bits, sizeof bits);
		if (n < 4096 && i + step <= UINT32_MAX)
			continue;
		for (size_t j = 0; j < n; j++)
			x[j] = frand(4, 4);
		for (size_t j = 0; j < n; j++)
			y[j] = gelu(d[j]) * x[j];
		geglu(d, x, 1, (int)n, (int)n, 0, (long)n);
		for (size_t j = 0; j < n; j++)
			differ += memcmp(d + j, y + j, sizeof *y) != 0;
		count += n;
		n = 0;
	}
	printf("geglu: %llu of %llu inputs bit-identical\n",
	    (unsigned long long)(count - differ), (unsigned long long)count);
	return differ != 0;
}

static int
silu_same(void)
{
	enum { N = 1 << 16 };
	static float d[N], x[N], y[N];
	size_t differ = 0;

	for (int j = 0; j < N; j++) {
		d[j] = frand(20, 8);
		x[j] = frand(4, 4);
		y[j] = silu(d[j]) * x[j];
	}
	/* 64 rows of 1024, columns 5 to 1000 */
	swiglu(d, x, 64, 1024, 1024, 5, 1000);
	for (int j = 0; j < N; j++)
		if (j % 1024 >= 5 && j % 1024 < 1000)
			differ += memcmp(d + j, y + j, sizeof *y) != 0;
	printf("swiglu: %s\n", differ ? "differs" : "silu's bits");
	return differ != 0;
}

static int
norm_same(void)
{
	static const int ns[] = { 1, 7, 64, 256, 576, 640, 1536 };
	int cases = 0, same = 0;

	for (size_t k = 0; k < sizeof ns / sizeof *ns; k++)
		for (int rows = 1; rows <= 21; rows += 4)
			for (int inplace = 0; inplace < 2; inplace++) {
				int n = ns[k], xs = n + 3;
				size_t sz = (size_t)rows * xs;
				float *x = malloc(sz * sizeof *x);
				float *a = malloc(sz * sizeof *a);
				float *b = malloc(sz * sizeof *b);
				float *w = malloc((size_t)n * sizeof *w);

				for (size_t i = 0; i < sz; i++)
					x[i] = frand(40, 40);
				for (int i = 0; i < n; i++)
					w[i] = frand(2, 2);
				memcpy(a, x, sz * sizeof *x);
				memcpy(b, x, sz * sizeof *x);
				for (int r = 0; r < rows; r++)
					rmsnorm(a + (size_t)r * xs, x +
					    (size_t)r * xs, w, n, 1e-6f);
				if (inplace)
					rmsnorm_rows(b, xs, b, xs, w, rows, n,
					    1e-6f);
				else
					rmsnorm_rows(b, xs, x, xs, w, rows, n,
					    1e-6f);
				cases++;
				same += memcmp(a, b, sz * sizeof *a) == 0;
				free(x);
				free(a);
				free(b);
				free(w);
			}
	printf("rmsnorm_rows: %d of %d cases bit-identical\n", same, cases);
	return same != cases;
}

int
main(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "gelu") == 0)
		return gelu_same(argc >= 3 && strcmp(argv[2], "all") == 0 ?
		    1 : 61);
	if (argc >= 2 && strcmp(argv[1], "norm") == 0)
		return norm_same();
	if (argc >= 2 && strcmp(argv[1], "silu") == 0)
		return silu_same();
	fprintf(stderr, "usage: rowops-test gelu [all] | norm | silu\n");
	return 2;
}
