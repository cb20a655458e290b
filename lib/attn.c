/* attn.c: causal attention over the fp16 KV cache in ggml's summation order
 * (see attn.h). Every step below mirrors one of ggml's: which values are
 * rounded to fp16, which sums are fused multiply-adds and in which lanes,
 * where a sum is widened to double. Loops marked simd are lane-parallel,
 * so vectorising them does not change a bit. */
#include <math.h>
#include <string.h>

#include "attn.h"
#include "fdot.h"
#include "quant.h"

float
expf_ggml(float x)
{
	const float r = 0x1.8p23f;
	float z = fmaf(x, 0x1.715476p+0f, r);
	float n = z - r;
	float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
	float u = b * b;
	float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
	    fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
	    fmaf(0x1.ffffecp-1f, b, 1.0f));

	if (n >= -125.0f && n <= 127.0f) {
		/* 2^n is a normal float and j * 2^n one too: the product is
		 * exact, as _mm512_scalef_ps's is, and needs no ldexpf */
		uint32_t bits = (uint32_t)((int)n + 127) << 23;
		float p;

		memcpy(&p, &bits, sizeof p);
		return j * p;
	}
	if (fabsf(n) > 192.0f)
		return n <= 0.0f ? 0.0f : INFINITY;
	if (n != n)
		return n;
	return ldexpf(j, (int)n);
}

static int portable;

void
attn_force_portable(int on)
{
	portable = on;
}

#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>

/* fdot_vec of a K row in fp16 with q, hd a multiple of 64: ggml's 16-lane
 * register r is a[2r] (lanes 0-7) and a[2r + 1] (lanes 8-15). */
static inline float
dot_k16(const uint16_t *k, const float *q, int hd)
{
	__m256 a[8], lo, hi;
	__m128 x;

	for (int j = 0; j < 8; j++)
		a[j] = _mm256_setzero_ps();
	for (int i = 0; i < hd; i += 64)
		for (int j = 0; j < 8; j++)
			a[j] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(
			    (const __m128i *)(k + i + 8 * j))),
			    _mm256_loadu_ps(q + i + 8 * j), a[j]);
	lo = _mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6]));
	hi = _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7]));
	lo = _mm256_add_ps(hi, lo);
	x = _mm_add_ps(_mm256_extractf128_ps(lo, 1), _mm256_castps256_ps128(lo));
	x = _mm_add_ps(x, _mm_movehl_ps(x, x));
	return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
}

static inline __m256
round16x8(__m256 v)
{
	return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}

/* attn_row for hd a multiple of 64, the same operations in registers */
static void
attn_row_avx2(const float *qh, const uint16_t *k, const uint16_t *v,
	size_t stride, const uint16_t *kl, const uint16_t *vl, int hd,
	int n_kv, float scale, float *out)
{
	float acc[ATTN_MAX_HD], M = -INFINITY, S = 0.0f, inv;

	memset(acc, 0, (size_t)hd * sizeof *acc);
	for (int p = 0; p < n_kv; p++) {
		int last = p == n_kv - 1 && kl;
		const uint16_t *vp = last ? vl : v + (size_t)p * stride;
		float s = dot_k16(last ? kl : k + (size_t)p * stride, qh, hd) *
		    scale;
		float ms = 1.0f, vs = 1.0f;

		if (s > M) {
			float old = M;

			M = s;
			ms = expf(old - M);
			for (int d = 0; d < hd; d += 8)
				_mm256_storeu_ps(acc + d, round16x8(_mm256_mul_ps(
				    _mm256_loadu_ps(acc + d), _mm256_set1_ps(ms))));
		} else {
			vs = expf(s - M);
		}
		for (int d = 0; d < hd; d += 8)
			_mm256_storeu_ps(acc + d, round16x8(_mm256_fmadd_ps(
			    _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)
			    (vp + d))), _mm256_set1_ps(vs),
			    _mm256_loadu_ps(acc + d))));
		S = fmaf(S, ms, vs);
	}
	inv = S == 0.0f ? 0.0f : 1.0f / S;
	for (int d = 0; d < hd; d++)
		out[d] = acc[d] * inv;
}
#endif

void
attn_row(const float *q, const uint16_t *k, const uint16_t *v, size_t stride,
	int hd, int n_kv, float scale, float *out)
{
	attn_row_last(q, k, v, stride, NULL, NULL, hd, n_kv, scale, out);
}

void
attn_row_last(const float *q, const uint16_t *k, const uint16_t *v,
	size_t stride, const uint16_t *kl, const uint16_t *vl, int hd, int n_kv,
	float scale, float *out)
{
	float qh[ATTN_MAX_HD], kv[ATTN_MAX_HD], acc[ATTN_MAX_HD];
	float M = -INFINITY, S = 0.0f, inv;

	memcpy(qh, q, (size_t)hd * sizeof *qh);
	f32_row_round16(qh, (size_t)hd);        /* q meets K as fp16 */
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
	if (!portable && hd % 64 == 0) {
		attn_row_avx2(qh, k, v, stride, kl, vl, hd, n_kv, scale, out);
		return;
	}
#endif
	memset(acc, 0, (size_t)hd * sizeof *acc);
	for (int p = 0; p < n_kv; p++) {
		int last = p == n_kv - 1 && kl;
		float s, ms = 1.0f, vs = 1.0f;

		fp16_row_to_f32(last ? kl : k + (size_t)p * stride, kv,
		    (size_t)hd);
		s = fdot_vec(kv, qh, hd) * scale;
		if (s > M) {            /* a new maximum rescales the sum */
			float old = M;

			M = s;
			ms = expf(old - M);
			#pragma omp simd
			for (int d = 0; d < hd; d++)
				acc[d] *= ms;
			f32_row_round16(acc, (size_t)hd);
		} else {
			vs = expf(s - M);
		}
		fp16_row_to_f32(last ? vl : v + (size_t)p * stride, kv,
		    (size_t)hd);
		#pragma omp simd
		for (int d = 0; d < hd; d++)
			acc[d] = fmaf(kv[d], vs, acc[d]);
		f32_row_round16(acc, (size_t)hd);       /* an fp16 accumulator */
		S = fmaf(S, ms, vs);
	}
	inv = S == 0.0f ? 0.0f : 1.0f / S;
	for (int d = 0; d < hd; d++)
		out[d] = acc[d] * inv;
}

size_t
attn_tiles_size(int hd, int n_kv)
{
	size_t tiles = ((size_t)n_kv + ATTN_TILE - 1) / ATTN_TILE;

	return tiles * ATTN_TILE * (size_t)hd;
}

void
attn_tiles_load(const uint16_t *k, const uint16_t *v, size_t stride, int hd,
	int n_kv, float *kt, float *v32)
{
	size_t n = attn_tiles_size(hd, n_kv);
	float row[ATTN_MAX_HD];

	memset(kt, 0, n * sizeof *kt);
	memset(v32, 0, n * sizeof *v32);
	for (int p = 0; p < n_kv; p++) {
		float *tile = kt + (size_t)(p / ATTN_TILE) * ATTN_TILE * hd;

		fp16_row_to_f32(k + (size_t)p * stride, row, (size_t)hd);
		for (int d = 0; d < hd; d++)
			tile[(size_t)d * ATTN_TILE + p % ATTN_TILE] = row[d];
		fp16_row_to_f32(v + (size_t)p * stride, v32 + (size_t)p * hd,
		    (size_t)hd);
	}
}

void
attn_row_tiled(const float *q, const float *kt, const float *v32, int hd,
	int n_kv, float scale, float *out)
{
	float kq[ATTN_TILE], acc[ATTN_MAX_HD];
	float M = -INFINITY, S = 0.0f, inv;

	memset(acc, 0, (size_t)hd * sizeof *acc);
	for (int t0 = 0; t0 < n_kv; t0 += ATTN_TILE) {
		const float *tile = kt + (size_t)t0 * hd;
		int nk = n_kv - t0 < ATTN_TILE ? n_kv - t0 : ATTN_TILE;
		float mx = -INFINITY, mnew;
		double sum = 0.0;

		/* scores: q (in float) against the tile, one fused chain each */
		memset(kq, 0, sizeof kq);
		for (int d = 0; d < hd; d++) {
			const float a = q[d], *kd = tile + (size_t)d * ATTN_TILE;

			#pragma omp simd
			for (int j = 0; j < ATTN_TILE; j++)
				kq[j] = fmaf(a, kd[j], kq[j]);
		}
		for (int j = 0; j < ATTN_TILE; j++)
			kq[j] = j < nk ? kq[j] * scale : -INFINITY;
		for (int j = 0; j < ATTN_TILE; j++)
			mx = mx > kq[j] ? mx : kq[j];
		mnew = fmaxf(M, mx);
		if (mnew > M) {
			float ms = expf(M - mnew);

			for (int d = 0; d < hd; d++)
				acc[d] *= ms;
			S *= ms;
		}
		M = mnew;
		for (int j = 0; j < ATTN_TILE; j++)
			kq[j] = expf_ggml(kq[j] - M);
		for (int g = 0; g < ATTN_TILE; g += 16)
			sum += (double)fdot_hsum16(kq + g);
		S = (float)((double)S + sum);
		/* acc += weights . V, one fused chain per output */
		for (int j = 0; j < nk; j++) {
			const float w = kq[j], *vj = v32 + (size_t)(t0 + j) * hd;

			#pragma omp simd
			for (int d = 0; d < hd; d++)
				acc[d] = fmaf(w, vj[d], acc[d]);
		}
	}
	inv = S == 0.0f ? 0.0f : 1.0f / S;
	for (int d = 0; d < hd; d++)
		out[d] = acc[d] * inv;
}

#if defined(__AVX512F__)
#include <immintrin.h>

/* expf_ggml on 16 lanes, the same operations in the same order;
 * _mm512_scalef_ps rounds j * 2^n once, as ldexpf does, and is exact where
 * expf_ggml multiplies by a power of two */
static inline __m512
expf_ggml16(__m512 x)
{
	const __m512 r = _mm512_set1_ps(0x1.8p23f);
	__m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
	__m512 n = _mm512_sub_ps(z, r);
	__m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
	    _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
	__m512 u = _mm512_mul_ps(b, b);
	__m512 j = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_fmadd_ps(
	    _mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)),
	    u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b,
	    _mm512_set1_ps(0x1.fffdb6p-2f))), u,
	    _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b,
	    _mm512_set1_ps(1.0f)));
	__m512 e = _mm512_scalef_ps(j, n);
	__mmask16 big = _mm512_cmp_ps_mask(_mm512_abs_ps(n),
	    _mm512_set1_ps(192.0f), _CMP_GT_OQ);
	__mmask16 neg = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
	__mmask16 nan = _mm512_cmp_ps_mask(n, n, _CMP_UNORD_Q);

	/* far out of range: 0 or infinity; not a number: n */
	e = _mm512_mask_blend_ps(big, e, _mm512_mask_blend_ps(neg,
	    _mm512_set1_ps(INFINITY), _mm512_setzero_ps()));
	return _mm512_mask_blend_ps(nan, e, n);
}

/* fdot_hsum16 of a register: lanes 8-15 onto 0-7, 4-7 onto 0-3, then
 * (0 + 2) + (1 + 3) */
static inline float
hsum16(__m512 v)
{
	__m256 h = _mm256_add_ps(_mm256_castpd_ps(_mm512_extractf64x4_pd(
	    _mm512_castps_pd(v), 1)), _mm512_castps512_ps256(v));
	__m128 x = _mm_add_ps(_mm256_extractf128_ps(h, 1),
	    _mm256_castps256_ps128(h));

	x = _mm_add_ps(x, _mm_movehl_ps(x, x));
	return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
}

/* The mask of lanes [16c, 16c + 16) of a tile below nk. */
static inline __mmask16
lanes_below(int nk, int c)
{
	int m = nk - 16 * c;

	return m >= 16 ? 0xffff : m <= 0 ? 0 : (__mmask16)((1u << m) - 1);
}

/* attn_rows_tiled for R rows (a constant once inlined), hd a multiple of
 * 64: attn_row_tiled's steps with each tile's K and V loaded once for
 * all R rows, scores and accumulators in registers */
static inline __attribute__((always_inline)) void
rows_avx512(const float *q, const int R, const float *kt, const float *v32,
	int hd, int n_kv, float scale, float *out)
{
	const int C = R <= 4 ? 4 : 2;   /* registers a row per step */
	float acc[ATTN_ROWS][ATTN_MAX_HD], w[ATTN_ROWS][ATTN_TILE];
	float M[ATTN_ROWS], S[ATTN_ROWS], ms[ATTN_ROWS];

	for (int r = 0; r < R; r++) {
		M[r] = -INFINITY;
		S[r] = 0.0f;
		memset(acc[r], 0, (size_t)hd * sizeof **acc);
	}
	for (int t0 = 0; t0 < n_kv; t0 += ATTN_TILE) {
		const float *tile = kt + (size_t)t0 * hd;
		int nk = n_kv - t0 < ATTN_TILE ? n_kv - t0 : ATTN_TILE;

		/* scores: one fused chain over d each, 16 * C lanes at a time
		 * (lanes past nk are masked below, and not computed) */
		for (int c0 = 0; c0 < 4 && 16 * c0 < nk; c0 += C) {
			__m512 a[ATTN_ROWS][4], k[4];

			#pragma GCC unroll 8
			for (int r = 0; r < R; r++)
				#pragma GCC unroll 4
				for (int c = 0; c < C; c++)
					a[r][c] = _mm512_setzero_ps();
			for (int d = 0; d < hd; d++) {
				const float *kd = tile + (size_t)d * ATTN_TILE +
				    16 * c0;

				#pragma GCC unroll 4
				for (int c = 0; c < C; c++)
					k[c] = _mm512_loadu_ps(kd + 16 * c);
				#pragma GCC unroll 8
				for (int r = 0; r < R; r++) {
					__m512 qd = _mm512_set1_ps(q[r * hd + d]);

					#pragma GCC unroll 4
					for (int c = 0; c < C; c++)
						a[r][c] = _mm512_fmadd_ps(qd, k[c],
						    a[r][c]);
				}
			}
			#pragma GCC unroll 8
			for (int r = 0; r < R; r++)
				#pragma GCC unroll 4
				for (int c = 0; c < C; c++)
					_mm512_storeu_ps(w[r] + 16 * (c0 + c),
					    a[r][c]);
		}
		/* scaled and masked; a new maximum rescales; the weights */
		for (int r = 0; r < R; r++) {
			__m512 s[4], m;
			float mx, mnew;
			double sum = 0.0;

			for (int c = 0; c < 4; c++)
				s[c] = _mm512_mask_mul_ps(_mm512_set1_ps(-INFINITY),
				    lanes_below(nk, c), _mm512_maskz_loadu_ps(
				    lanes_below(nk, c), w[r] + 16 * c),
				    _mm512_set1_ps(scale));
			m = _mm512_max_ps(_mm512_max_ps(s[0], s[1]),
			    _mm512_max_ps(s[2], s[3]));
			mx = _mm512_reduce_max_ps(m);
			mnew = fmaxf(M[r], mx);
			ms[r] = 1.0f;   /* acc * 1 is acc, to the bit */
			if (mnew > M[r]) {
				ms[r] = expf(M[r] - mnew);
				S[r] *= ms[r];
			}
			M[r] = mnew;
			for (int c = 0; c < 4; c++) {
				__m512 e = expf_ggml16(_mm512_sub_ps(s[c],
				    _mm512_set1_ps(mnew)));

				_mm512_storeu_ps(w[r] + 16 * c, e);
				sum += (double)hsum16(e);
			}
			S[r] = (float)((double)S[r] + sum);
		}
		/* acc = acc * ms, then += weights . V, one fused chain per
		 * output, 16 * C outputs of every row at a time */
		for (int d0 = 0; d0 < hd; d0 += 16 * C) {
			__m512 x[ATTN_ROWS][4];

			#pragma GCC unroll 8
			for (int r = 0; r < R; r++)
				#pragma GCC unroll 4
				for (int c = 0; c < C; c++)
					x[r][c] = _mm512_mul_ps(_mm512_loadu_ps(
					    acc[r] + d0 + 16 * c),
					    _mm512_set1_ps(ms[r]));
			for (int j = 0; j < nk; j++) {
				const float *vj = v32 + (size_t)(t0 + j) * hd + d0;
				__m512 v[4];

				#pragma GCC unroll 4
				for (int c = 0; c < C; c++)
					v[c] = _mm512_loadu_ps(vj + 16 * c);
				#pragma GCC unroll 8
				for (int r = 0; r < R; r++) {
					__m512 wr = _mm512_set1_ps(w[r][j]);

					#pragma GCC unroll 4
					for (int c = 0; c < C; c++)
						x[r][c] = _mm512_fmadd_ps(wr, v[c],
						    x[r][c]);
				}
			}
			#pragma GCC unroll 8
			for (int r = 0; r < R; r++)
				#pragma GCC unroll 4
				for (int c = 0; c < C; c++)
					_mm512_storeu_ps(acc[r] + d0 + 16 * c,
					    x[r][c]);
		}
	}
	for (int r = 0; r < R; r++) {
		float inv = S[r] == 0.0f ? 0.0f : 1.0f / S[r];

		for (int d = 0; d < hd; d++)
			out[r * hd + d] = acc[r][d] * inv;
	}
}

/* at most ATTN_ROWS rows, by a kernel made for their number */
static void
rows_avx512_n(const float *q, int nr, const float *kt, const float *v32,
	int hd, int n_kv, float scale, float *out)
{
	switch (nr) {
#define ROWS(n) case n: \
		rows_avx512(q, n, kt, v32, hd, n_kv, scale, out); break
	ROWS(1); ROWS(2); ROWS(3); ROWS(4);
	ROWS(5); ROWS(6); ROWS(7); ROWS(8);
#undef ROWS
	}
}
#endif

void
expf_ggml_row(const float *x, float *y, size_t n)
{
	size_t i = 0;

#if defined(__AVX512F__)
	if (!portable)
		for (; i + 16 <= n; i += 16)
			_mm512_storeu_ps(y + i, expf_ggml16(_mm512_loadu_ps(x + i)));
#endif
	for (; i < n; i++)
		y[i] = expf_ggml(x[i]);
}

void
attn_rows_tiled(const float *q, int nr, const float *kt, const float *v32,
	int hd, int n_kv, float scale, float *out)
{
#if defined(__AVX512F__)
	if (!portable && hd % 64 == 0) {
		for (int r; nr > 0; nr -= r) {
			r = nr < ATTN_ROWS ? nr : ATTN_ROWS;
			rows_avx512_n(q, r, kt, v32, hd, n_kv, scale, out);
			q += (size_t)r * hd;
			out += (size_t)r * hd;
		}
		return;
	}
#endif
	for (int r = 0; r < nr; r++)
		attn_row_tiled(q + (size_t)r * hd, kt, v32, hd, n_kv, scale,
		    out + (size_t)r * hd);
}
