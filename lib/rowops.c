/* rowops.c: the row-wise float steps of the forward pass, RMSNorm and
 * the gated activations, with ggml's floats: what fwd_cpu.c runs between
 * its matmuls. The vector paths compute the scalar ones' bits (tested
 * by t/rowops-test.c). */
#include <math.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "attn.h"
#include "quant.h"
#include "rowops.h"

/* ggml's GELU table: the tanh approximation at every fp16 value, rounded
 * to fp16 (GGML_GELU_FP16), as GCC evaluates ggml_gelu_f32. One entry
 * more, so that a 32-bit gather at the last one stays inside. */
static uint16_t gelu_tab[(1 << 16) + 2];

void
gelu_init(void)
{
	static int done;
	const float a = 0.044715f, s = 0.79788456080286535587989211986876f;

	if (done)
		return;
	for (int i = 0; i < 1 << 16; i++) {
		float x = fp16_to_f32((uint16_t)i);

		gelu_tab[i] = f32_to_fp16(0.5f * x * (1.0f + tanhf(s * x *
		    fmaf(a * x, x, 1.0f))));
	}
	done = 1;
}

/* out = x * scale * w, scale from ss, the sum of squares of n values */
static void
rms_apply(float *out, const float *x, const float *w, int n, double ss,
	float eps)
{
	float scale = 1.0f / sqrtf((float)(ss / n) + eps);

	/* out may be x: each value reads and writes its own place */
	#pragma omp simd
	for (int i = 0; i < n; i++)
		out[i] = x[i] * scale * w[i];
}

/* out = x / rms(x) * w, the sum of squares in double as ggml has it
 * (out may be x). */
void
rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
	double ss = 0.0;

	for (int i = 0; i < n; i++)
		ss += (double)(x[i] * x[i]);
	rms_apply(out, x, w, n, ss, eps);
}

/* rmsnorm of rows rows of n values, row r at x + r * xs (out + r * os).
 * Each row's sum is the same chain of double additions; eight rows' chains
 * go side by side, so that the adder is not waiting on one of them. */
void
rmsnorm_rows(float *out, int os, const float *x, int xs, const float *w,
	int rows, int n, float eps)
{
	int r = 0;

	for (; r + 8 <= rows; r += 8) {
		const float *p[8];
		double ss[8] = { 0 };

		for (int k = 0; k < 8; k++)
			p[k] = x + (size_t)(r + k) * xs;
		for (int i = 0; i < n; i++) {
			#pragma GCC unroll 8
			for (int k = 0; k < 8; k++)
				ss[k] += (double)(p[k][i] * p[k][i]);
		}
		for (int k = 0; k < 8; k++)
			rms_apply(out + (size_t)(r + k) * os, p[k], w, n, ss[k],
			    eps);
	}
	for (; r < rows; r++)
		rmsnorm(out + (size_t)r * os, x + (size_t)r * xs, w, n, eps);
}

float
silu(float x)
{
	return x / (1.0f + expf_ggml(-x));
}

/* dst = silu(dst) * src over columns [lo, hi) of n rows: silu()'s
 * operations, its expf a vector at a time (expf_ggml_row gives
 * expf_ggml's floats). */
void
swiglu(float *d, const float *x, int n, int w, int ws, long lo, long hi)
{
	enum { CHUNK = 256 };
	float e[CHUNK];

	for (int t = 0; t < n; t++) {
		float *dt = d + (size_t)t * w;
		const float *xt = x + (size_t)t * ws;

		for (long i0 = lo; i0 < hi; i0 += CHUNK) {
			long len = hi - i0 < CHUNK ? hi - i0 : CHUNK;

			#pragma omp simd
			for (long j = 0; j < len; j++)
				e[j] = -dt[i0 + j];
			expf_ggml_row(e, e, (size_t)len);
			#pragma omp simd
			for (long j = 0; j < len; j++)
				dt[i0 + j] = dt[i0 + j] / (1.0f + e[j]) *
				    xt[i0 + j];
		}
	}
}

/* GELU from the table, as ggml_vec_geglu_f32 (saturated past +-10). */
float
gelu(float x)
{
	if (x <= -10.0f)
		return 0.0f;
	if (x >= 10.0f)
		return x;
	return fp16_to_f32(gelu_tab[f32_to_fp16(x)]);
}

/* dst = gelu(dst) * src over columns [lo, hi) of n rows: gelu()'s
 * operations, sixteen at a time where AVX-512 is built (its fp16
 * conversions round as f32_to_fp16 and fp16_to_f32 do). */
void
geglu(float *d, const float *x, int n, int w, int ws, long lo, long hi)
{
	for (int t = 0; t < n; t++) {
		float *dt = d + (size_t)t * w;
		const float *xt = x + (size_t)t * ws;
		long i = lo;

#ifdef __AVX512F__
		for (; i + 16 <= hi; i += 16) {
			__m512 v = _mm512_loadu_ps(dt + i), g;
			__m512i h = _mm512_cvtepu16_epi32(_mm512_cvtps_ph(v,
			    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
			__m512i e = _mm512_i32gather_epi32(h, gelu_tab, 2);
			__mmask16 big = _mm512_cmp_ps_mask(v,
			    _mm512_set1_ps(10.0f), _CMP_GE_OQ);
			__mmask16 small = _mm512_cmp_ps_mask(v,
			    _mm512_set1_ps(-10.0f), _CMP_LE_OQ);

			g = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(e));
			g = _mm512_mask_mov_ps(g, big, v);
			g = _mm512_mask_mov_ps(g, small, _mm512_setzero_ps());
			_mm512_storeu_ps(dt + i, _mm512_mul_ps(g,
			    _mm512_loadu_ps(xt + i)));
		}
#endif
		for (; i < hi; i++)
			dt[i] = gelu(dt[i]) * xt[i];
	}
}
