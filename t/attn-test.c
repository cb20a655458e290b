/* attn-test: both attention kernels against attention computed in double,
 * on random fp16 K and V, for head sizes on and off the 64-lane step and
 * lengths around the tile size, the SIMD one-row kernel against the
 * portable one (bit for bit); ggml's expf against the C library's.
 * Prints one line per case and exits 1 if any is off. */
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

int
main(void)
{
	static const int hds[] = { 64, 80, 128 };
	static const int lens[] = { 1, 2, 63, 64, 65, 200 };
	int bad = 0;
	double worst = 0;

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
