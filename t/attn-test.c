/* attn-test: both attention kernels against attention computed in double,
 * on random fp16 K and V, for head sizes on and off the 64-lane step and
 * lengths around the tile size, the SIMD one-row kernel against the
 * portable one (bit for bit); ggml's expf against the C library's.
 * Prints one line per case and exits 1 if any is off.
 *
 * attn-test rows: the tiled kernel for several query rows at once against
 * the one-row tiled kernel, bit for bit, by head size.
 * attn-test expf [all]: the vectorised expf_ggml_row against expf_ggml,
 * bit for bit, on every 61st float bit pattern and the special values (all:
 * on every one of the 2^32). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn.h"
#include "quant.h"

static uint32_t rng = 2024;

static float
frand(float span)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return ((float)(rng % 20001) / 10000.0f - 1.0f) * span;
}

/* softmax(q . k * scale) . v in double, q rounded as the kernel rounds it */
static void
reference(const float *q, const uint16_t *k, const uint16_t *v, size_t stride,
	int hd, int n, float scale, double *out)
{
	double *s = malloc((size_t)n * sizeof *s), mx = -INFINITY, sum = 0;

	for (int p = 0; p < n; p++) {
		double d = 0;

		for (int i = 0; i < hd; i++)
			d += (double)q[i] * fp16_to_f32(k[p * stride + i]);
		s[p] = d * scale;
		mx = s[p] > mx ? s[p] : mx;
	}
	for (int p = 0; p < n; p++)
		sum += s[p] = exp(s[p] - mx);
	for (int i = 0; i < hd; i++) {
		out[i] = 0;
		for (int p = 0; p < n; p++)
			out[i] += s[p] / sum * fp16_to_f32(v[p * stride + i]);
	}
	free(s);
}

static int
check(int hd, int n)
{
	size_t stride = (size_t)hd * 3;         /* three kv heads, the first used */
	uint16_t *k = malloc((size_t)n * stride * 2), *v = malloc((size_t)n * stride * 2);
	float *kt = malloc(attn_tiles_size(hd, n) * sizeof *kt);
	float *v32 = malloc(attn_tiles_size(hd, n) * sizeof *v32);
	float q[ATTN_MAX_HD], a[ATTN_MAX_HD], b[ATTN_MAX_HD], c[ATTN_MAX_HD];
	double ref[ATTN_MAX_HD], ea = 0, eb = 0;
	float scale = 1.0f / sqrtf((float)hd);
	int bad;

	for (size_t i = 0; i < (size_t)n * stride; i++) {
		k[i] = f32_to_fp16(frand(3.0f));
		v[i] = f32_to_fp16(frand(1.0f));
	}
	for (int i = 0; i < hd; i++)
		q[i] = fp16_to_f32(f32_to_fp16(frand(3.0f)));
	attn_tiles_load(k, v, stride, hd, n, kt, v32);
	attn_row(q, k, v, stride, hd, n, scale, a);
	attn_row_tiled(q, kt, v32, hd, n, scale, b);
	attn_force_portable(1);
	attn_row(q, k, v, stride, hd, n, scale, c);
	attn_force_portable(0);
	reference(q, k, v, stride, hd, n, scale, ref);
	for (int i = 0; i < hd; i++) {
		ea = fmax(ea, fabs(a[i] - ref[i]));
		eb = fmax(eb, fabs(b[i] - ref[i]));
	}
	/* the one-row kernel accumulates in fp16: a few of its ulps (2^-11) */
	bad = !(ea < 4e-3) || !(eb < 1e-5) ||
	    memcmp(a, c, (size_t)hd * sizeof *a) != 0;
	printf("head %d, %d positions: one-row error %.1e, tiled error %.1e, "
	    "portable %s%s\n", hd, n, ea, eb,
	    memcmp(a, c, (size_t)hd * sizeof *a) ? "differs" : "the same",
	    bad ? "  FAIL" : "");
	free(k);
	free(v);
	free(kt);
	free(v32);
	return bad;
}

/* attn_rows_tiled against attn_row_tiled row by row, on nr rows of q with
 * values up to span (large spans put exp far into underflow), bit for bit */
static int
rows_same(int hd, int nr, int n, float span)
{
	size_t stride = (size_t)hd;
	size_t tsz = attn_tiles_size(hd, n), m = (size_t)nr * hd;
	uint16_t *k = malloc((size_t)n * stride * 2), *v = malloc((size_t)n * stride * 2);
	float *kt = malloc(tsz * sizeof *kt), *v32 = malloc(tsz * sizeof *v32);
	float *q = malloc(m * sizeof *q), *a = malloc(m * sizeof *a);
	float *b = malloc(m * sizeof *b), scale = 1.0f / sqrtf((float)hd);
	int same;

	for (size_t i = 0; i < (size_t)n * stride; i++) {
		k[i] = f32_to_fp16(frand(3.0f));
		v[i] = f32_to_fp16(frand(1.0f));
	}
	for (size_t i = 0; i < m; i++)
		q[i] = frand(span);
	attn_tiles_load(k, v, stride, hd, n, kt, v32);
	attn_rows_tiled(q, nr, kt, v32, hd, n, scale, a);
	for (int r = 0; r < nr; r++)
		attn_row_tiled(q + (size_t)r * hd, kt, v32, hd, n, scale,
		    b + (size_t)r * hd);
	same = memcmp(a, b, m * sizeof *a) == 0;
	if (!same)
		printf("head %d, %d rows, %d positions, span %g: differs\n", hd,
		    nr, n, span);
	free(k);
	free(v);
	free(kt);
	free(v32);
	free(q);
	free(a);
	free(b);
	return same;
}

static int
rows(void)
{
	static const int hds[] = { 64, 128, 256, 80 };
	static const int nrs[] = { 1, 2, 3, 4, 5, 7, 8, 12 };
	static const int lens[] = { 1, 2, 63, 64, 65, 200, 513 };
	static const float spans[] = { 1.0f, 30.0f };
	int bad = 0;

	for (size_t h = 0; h < sizeof hds / sizeof *hds; h++) {
		int cases = 0, same = 0;

		for (size_t r = 0; r < sizeof nrs / sizeof *nrs; r++)
			for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
				for (size_t s = 0; s < 2; s++) {
					cases++;
					same += rows_same(hds[h], nrs[r],
					    lens[l], spans[s]);
				}
		printf("head %d: %d of %d cases bit-identical\n", hds[h], same,
		    cases);
		bad |= same != cases;
	}
	return bad;
}

/* attn_row_last, the last position's rows apart (the cache's row spoilt),
 * against attn_row with them in the cache, bit for bit, SIMD and portable */
static int
last_same(int hd, int n, int portable)
{
	size_t stride = (size_t)hd * 3, at = (size_t)(n - 1) * stride;
	uint16_t *k = malloc((size_t)n * stride * 2);
	uint16_t *v = malloc((size_t)n * stride * 2);
	uint16_t kl[ATTN_MAX_HD], vl[ATTN_MAX_HD];
	float q[ATTN_MAX_HD], a[ATTN_MAX_HD], b[ATTN_MAX_HD];
	float scale = 1.0f / sqrtf((float)hd);
	int same;

	for (size_t i = 0; i < (size_t)n * stride; i++) {
		k[i] = f32_to_fp16(frand(3.0f));
		v[i] = f32_to_fp16(frand(1.0f));
	}
	for (int i = 0; i < hd; i++)
		q[i] = frand(3.0f);
	attn_force_portable(portable);
	attn_row(q, k, v, stride, hd, n, scale, a);
	memcpy(kl, k + at, (size_t)hd * 2);
	memcpy(vl, v + at, (size_t)hd * 2);
	for (int i = 0; i < hd; i++) {
		k[at + i] = f32_to_fp16(frand(3.0f));
		v[at + i] = f32_to_fp16(frand(1.0f));
	}
	attn_row_last(q, k, v, stride, kl, vl, hd, n, scale, b);
	attn_force_portable(0);
	same = memcmp(a, b, (size_t)hd * sizeof *a) == 0;
	if (!same)
		printf("head %d, %d positions%s: differs\n", hd, n,
		    portable ? ", portable" : "");
	free(k);
	free(v);
	return same;
}

static int
last(void)
{
	static const int hds[] = { 64, 128, 256, 80 };
	static const int lens[] = { 1, 2, 3, 64, 65, 200 };
	int cases = 0, same = 0;

	for (size_t h = 0; h < sizeof hds / sizeof *hds; h++)
		for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
			for (int p = 0; p < 2; p++) {
				cases++;
				same += last_same(hds[h], lens[l], p);
			}
	printf("last row apart: %d of %d cases bit-identical\n", same, cases);
	return same != cases;
}

/* expf_ggml_row against expf_ggml on the bit patterns i * step, i < 2^32 /
 * step, and the special values, 4096 at a time */
static int
expf_same(uint32_t step)
{
	static const float special[] = { 0.0f, -0.0f, INFINITY, -INFINITY,
	    NAN, -NAN, 88.72f, 88.73f, -87.33f, -87.34f, -103.97f, -103.98f,
	    -133.0f, -134.0f, 0x1p-149f, -0x1p-149f, 0x1.fffffep127f };
	static float x[4096], y[4096], z[4096];
	uint64_t count = 0, differ = 0;
	size_t n = sizeof special / sizeof *special;

	memcpy(x, special, sizeof special);
	for (uint64_t i = 0; i <= UINT32_MAX; i += step) {
		uint32_t bits = (uint32_t)i;

		memcpy(x + n++, &bits, sizeof bits);
		if (n < 4096 && i + step <= UINT32_MAX)
			continue;
		expf_ggml_row(x, y, n);
		for (size_t j = 0; j < n; j++)
			z[j] = expf_ggml(x[j]);
		for (size_t j = 0; j < n; j++)
			differ += memcmp(y + j, z + j, sizeof *y) != 0;
		count += n;
		n = 0;
	}
	printf("expf_ggml_row: %llu of %llu inputs bit-identical\n",
	    (unsigned long long)(count - differ), (unsigned long long)count);
	return differ != 0;
}

int
main(int argc, char *argv[])
{
	static const int hds[] = { 64, 80, 128 };
	static const int lens[] = { 1, 2, 63, 64, 65, 200 };
	int bad = 0;
	double worst = 0;

	if (argc >= 2 && strcmp(argv[1], "rows") == 0)
		return rows();
	if (argc >= 2 && strcmp(argv[1], "last") == 0)
		return last();
	if (argc >= 2 && strcmp(argv[1], "expf") == 0)
		return expf_same(argc >= 3 && strcmp(argv[2], "all") == 0 ?
		    1 : 61);
	for (size_t h = 0; h < sizeof hds / sizeof *hds; h++)
		for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
			bad |= check(hds[h], lens[l]);
	for (float x = -87.0f; x <= 88.0f; x += 0.001f) {
		double e = fabs(expf_ggml(x) - exp(x)) / exp(x);

		worst = e > worst ? e : worst;
	}
	bad |= !(worst < 4e-7) || expf_ggml(-INFINITY) != 0.0f ||
	    expf_ggml(-200.0f) != 0.0f || !isinf(expf_ggml(200.0f));
	printf("expf_ggml: worst relative error %.1e on [-87, 88]%s\n", worst,
	    bad ? "  FAIL" : "");
	return bad;
}
