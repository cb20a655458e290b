/* matmul_k.c: K-quant weights times activations quantized to Q8_K, as
 * llama.cpp multiplies them: integer sums per sub-block, scaled once per
 * sub-block and super-block in float.
 *
 * Q8_K: float d, i8 q[256], i16 bsums[16] (sums of 16 values), x ~ d * q,
 * with d = max / -127 (quantize_row_q8_K_ref). Every K block is first
 * decoded to its 256 integer levels and per-group integer scales (and mins);
 * the dot product of the levels with the activations is the one hot loop,
 * vectorised with AVX2 where the build has it. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef __AVX2__
#include <immintrin.h>
#endif
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#define KQ_SIMD 1           /* the fast kernels, 512 bits wide */
#define KQ_FAST 1
#elif defined(__AVX2__) && defined(__FMA__)
#define KQ_FAST 1           /* the fast kernels, 256 bits wide */
#endif

#include "blocks.h"
#include "matmul.h"
#include "quant.h"

static int force_scalar_k;

void
matmul_k_force_scalar(int on)
{
	force_scalar_k = on;
}

#ifdef __AVX2__
/* Bytes of v shifted right by n (0..7) and masked: a 16-bit shift is safe
 * because the mask keeps only bits that came from the same byte. */
static inline __m256i
bits(__m256i v, int n, int mask)
{
	return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(n)),
	    _mm256_set1_epi8((char)mask));
}
#endif

#ifdef KQ_SIMD
/* One block of quantize_act_k in AVX-512, where its largest magnitude is
 * finite and not 0 and its inverse finite (else 0: the caller's loop does
 * it): the same max (the
 * first value of the largest magnitude), the products rounded to nearest
 * even (rintf's mode) and saturated to [-128, 127] as the clamp does, NaN
 * to 0. */
static int
quantize_block_k(const float *xb, struct q8k *a)
{
	__m512 vmax = _mm512_setzero_ps(), m;
	float amax, max = 0, iscale;

	/* max(x, acc) keeps acc where x is NaN, as the scalar > skips it */
	for (int j = 0; j < QK_K; j += 16)
		vmax = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(xb + j)), vmax);
	amax = _mm512_reduce_max_ps(vmax);
	if (!(amax > 0) || !isfinite(amax))
		return 0;
	m = _mm512_set1_ps(amax);
	for (int j = 0; j < QK_K; j += 16) {
		__mmask16 eq = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(
		    xb + j)), m, _CMP_EQ_OQ);

		if (eq) {
			max = xb[j + __builtin_ctz(eq)];
			break;
		}
	}
	iscale = -127.f / max;
	if (!isfinite(iscale))      /* max subnormal: the scalar loop's zeros */
		return 0;
	for (int g = 0; g < 16; g++) {
		__m512 v = _mm512_mul_ps(_mm512_set1_ps(iscale),
		    _mm512_loadu_ps(xb + 16 * g));
		__m512i q = _mm512_maskz_cvtps_epi32(_mm512_cmp_ps_mask(v, v,
		    _CMP_ORD_Q), v);

		_mm_storeu_si128((__m128i *)(a->q + 16 * g),
		    _mm512_cvtsepi32_epi8(q));
		/* the bytes' sum, as the scalar loop adds the clamped values */
		a->bsums[g] = (int16_t)_mm512_reduce_add_epi32(
		    _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(a->q +
		    16 * g))));
	}
	a->d = 1 / iscale;
	return 1;
}
#endif

void
quantize_act_k(const float *x, int n, int cols, struct q8k *qa)
{
	for (int64_t b = 0; b < (int64_t)n * (cols / QK_K); b++) {
		const float *xb = x + b * QK_K;
		struct q8k *a = &qa[b];
		float amax = 0, max = 0, iscale;

#ifdef KQ_SIMD
		if (!force_scalar_k && quantize_block_k(xb, a))
			continue;
#endif
		for (int j = 0; j < QK_K; j++)
			if (fabsf(xb[j]) > amax) {
				amax = fabsf(xb[j]);
				max = xb[j];
			}
		if (amax == 0) {
			memset(a, 0, sizeof *a);
			continue;
		}
		iscale = -127.f / max;
		for (int j = 0; j < QK_K; j++) {
			float v = iscale * xb[j];
			int q = isfinite(v) ? (int)rintf(v) : 0;

			a->q[j] = (int8_t)(q > 127 ? 127 : q < -128 ? -128 : q);
		}
		for (int g = 0; g < 16; g++) {
			int s = 0;

			for (int j = 0; j < 16; j++)
				s += a->q[16 * g + j];
			a->bsums[g] = (int16_t)s;
		}
		a->d = 1 / iscale;
	}
}

/* A K block decoded: x[p] = d * scale[p/G] * q[p] - dmin * min[p/G]. */
struct kdec {
	int8_t q[QK_K];
	int scale[16], min[16];
	int group;              /* G: 16 or 32 */
	float d, dmin;
};

/* The decoders walk each layout the way its dequantizer does (straight
 * loops the compiler vectorises); t/kernel-test holds them to it. */
static void
decode_q2_k(const void *blk, struct kdec *k)
{
	const struct block_q2_K *b = blk;
	const uint8_t *q = b->qs;
	int8_t *y = k->q;

	k->group = 16;
	k->d = fp16_to_f32(b->d);
	k->dmin = fp16_to_f32(b->dmin);
	for (int g = 0; g < 16; g++) {
		k->scale[g] = b->scales[g] & 15;
		k->min[g] = b->scales[g] >> 4;
	}
#ifdef __AVX2__
	if (!force_scalar_k) {
		for (int h = 0; h < 2; h++, q += 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)q);

			for (int shift = 0; shift < 8; shift += 2, y += 32)
				_mm256_storeu_si256((__m256i *)y, bits(v, shift, 3));
		}
		return;
	}
#endif
	for (int h = 0; h < 2; h++, q += 32)
		for (int shift = 0; shift < 8; shift += 2, y += 32)
			for (int l = 0; l < 32; l++)
				y[l] = (int8_t)(q[l] >> shift & 3);
}

static void
decode_q3_k(const void *blk, struct kdec *k)
{
	const struct block_q3_K *b = blk;
	const uint8_t *hm = b->hmask, *q = b->qs, *s = b->scales;
	int8_t *y = k->q;
	int bit = 0;

	k->group = 16;
	k->d = fp16_to_f32(b->d);
	k->dmin = 0;
	for (int g = 0; g < 16; g++) {
		int lo = g < 8 ? s[g] & 15 : s[g - 8] >> 4;
		int hi = s[8 + g % 4] >> (2 * (g / 4)) & 3;

		k->scale[g] = (lo | hi << 4) - 32;
		k->min[g] = 0;
	}
#ifdef __AVX2__
	if (!force_scalar_k) {
		__m256i hb = _mm256_loadu_si256((const __m256i *)hm);

		for (int h = 0; h < 2; h++, q += 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)q);

			for (int shift = 0; shift < 8; shift += 2, y += 32, bit++)
				_mm256_storeu_si256((__m256i *)y, _mm256_sub_epi8(
				    _mm256_or_si256(bits(v, shift, 3),
				    _mm256_slli_epi16(bits(hb, bit, 1), 2)),
				    _mm256_set1_epi8(4)));
		}
		return;
	}
#endif
	for (int h = 0; h < 2; h++, q += 32)
		for (int shift = 0; shift < 8; shift += 2, y += 32, bit++)
			for (int l = 0; l < 32; l++)
				y[l] = (int8_t)((q[l] >> shift & 3) -
				    ((hm[l] >> bit & 1) ? 0 : 4));
}

/* Scale and min j of Q4_K/Q5_K: 6 bits each in 12 bytes. */
static void
scale_min(const uint8_t *s, int j, int *sc, int *m)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*m = s[j + 4] & 63;
	} else {
		*sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
		*m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
	}
}

static void
decode_q4_k(const void *blk, struct kdec *k)
{
	const struct block_q4_K *b = blk;
	const uint8_t *q = b->qs;
	int8_t *y = k->q;

	k->group = 32;
	k->d = fp16_to_f32(b->d);
	k->dmin = fp16_to_f32(b->dmin);
	for (int g = 0; g < 8; g++)
		scale_min(b->scales, g, &k->scale[g], &k->min[g]);
#ifdef __AVX2__
	if (!force_scalar_k) {
		for (int c = 0; c < 4; c++, q += 32, y += 64) {
			__m256i v = _mm256_loadu_si256((const __m256i *)q);

			_mm256_storeu_si256((__m256i *)y, bits(v, 0, 15));
			_mm256_storeu_si256((__m256i *)(y + 32), bits(v, 4, 15));
		}
		return;
	}
#endif
	for (int c = 0; c < 4; c++, q += 32, y += 64)
		for (int l = 0; l < 32; l++) {
			y[l] = (int8_t)(q[l] & 15);
			y[l + 32] = (int8_t)(q[l] >> 4);
		}
}

static void
decode_q5_k(const void *blk, struct kdec *k)
{
	const struct block_q5_K *b = blk;
	const uint8_t *qh = b->qh, *q = b->qs;
	int8_t *y = k->q;

	k->group = 32;
	k->d = fp16_to_f32(b->d);
	k->dmin = fp16_to_f32(b->dmin);
	for (int g = 0; g < 8; g++)
		scale_min(b->scales, g, &k->scale[g], &k->min[g]);
#ifdef __AVX2__
	if (!force_scalar_k) {
		__m256i hb = _mm256_loadu_si256((const __m256i *)qh);

		for (int c = 0; c < 4; c++, q += 32, y += 64) {
			__m256i v = _mm256_loadu_si256((const __m256i *)q);

			_mm256_storeu_si256((__m256i *)y, _mm256_or_si256(
			    bits(v, 0, 15), _mm256_slli_epi16(bits(hb, 2 * c, 1), 4)));
			_mm256_storeu_si256((__m256i *)(y + 32), _mm256_or_si256(
			    bits(v, 4, 15), _mm256_slli_epi16(bits(hb, 2 * c + 1,
			    1), 4)));
		}
		return;
	}
#endif
	for (int c = 0; c < 4; c++, q += 32, y += 64)
		for (int l = 0; l < 32; l++) {
			y[l] = (int8_t)((q[l] & 15) | (qh[l] >> (2 * c) & 1) << 4);
			y[l + 32] = (int8_t)((q[l] >> 4) |
			    (qh[l] >> (2 * c + 1) & 1) << 4);
		}
}

static void
decode_q6_k(const void *blk, struct kdec *k)
{
	const struct block_q6_K *b = blk;
	const uint8_t *ql = b->ql, *qh = b->qh;
	int8_t *y = k->q;

	k->group = 16;
	k->d = fp16_to_f32(b->d);
	k->dmin = 0;
	for (int g = 0; g < 16; g++) {
		k->scale[g] = b->scales[g];
		k->min[g] = 0;
	}
#ifdef __AVX2__
	if (!force_scalar_k) {
		const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
		const __m256i off = _mm256_set1_epi8(32);

		for (int h = 0; h < 2; h++, ql += 64, qh += 32, y += 128) {
			__m256i lo1 = _mm256_loadu_si256((const __m256i *)ql);
			__m256i lo2 = _mm256_loadu_si256((const __m256i *)(ql + 32));
			__m256i hb = _mm256_loadu_si256((const __m256i *)qh);
			__m256i v[4];

			/* 16-bit shifts are safe: every result is masked per
			 * byte before use */
			v[0] = _mm256_or_si256(_mm256_and_si256(lo1, m4),
			    _mm256_slli_epi16(_mm256_and_si256(hb, m2), 4));
			v[1] = _mm256_or_si256(_mm256_and_si256(lo2, m4),
			    _mm256_slli_epi16(_mm256_and_si256(
			    _mm256_srli_epi16(hb, 2), m2), 4));
			v[2] = _mm256_or_si256(_mm256_and_si256(
			    _mm256_srli_epi16(lo1, 4), m4), _mm256_slli_epi16(
			    _mm256_and_si256(_mm256_srli_epi16(hb, 4), m2), 4));
			v[3] = _mm256_or_si256(_mm256_and_si256(
			    _mm256_srli_epi16(lo2, 4), m4), _mm256_slli_epi16(
			    _mm256_and_si256(_mm256_srli_epi16(hb, 6), m2), 4));
			for (int i = 0; i < 4; i++)
				_mm256_storeu_si256((__m256i *)(y + 32 * i),
				    _mm256_sub_epi8(v[i], off));
		}
		return;
	}
#endif
	for (int h = 0; h < 2; h++, ql += 64, qh += 32, y += 128)
		for (int l = 0; l < 32; l++) {
			y[l] = (int8_t)(((ql[l] & 15) | (qh[l] & 3) << 4) - 32);
			y[l + 32] = (int8_t)(((ql[l + 32] & 15) |
			    (qh[l] >> 2 & 3) << 4) - 32);
			y[l + 64] = (int8_t)((ql[l] >> 4 | (qh[l] >> 4 & 3) << 4) - 32);
			y[l + 96] = (int8_t)((ql[l + 32] >> 4 |
			    (qh[l] >> 6 & 3) << 4) - 32);
		}
}

/* Sum of a[i] * b[i] over n (16 or 32) signed bytes. */
static int
idot(const int8_t *a, const int8_t *b, int n)
{
	int s = 0;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

#ifdef __AVX2__
/* The 16 per-group sums of w[i] * a[i] for 256 values, groups of 16. */
static void
idot16_avx2(const int8_t *w, const int8_t *a, int *out)
{
	const __m256i ones = _mm256_set1_epi16(1);

	for (int i = 0; i < QK_K; i += 32) {
		__m256i wv = _mm256_loadu_si256((const __m256i *)(w + i));
		__m256i av = _mm256_loadu_si256((const __m256i *)(a + i));
		__m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv),
		    _mm256_sign_epi8(av, wv));
		__m256i s = _mm256_madd_epi16(p, ones);  /* 8 x i32 */
		__m128i lo = _mm256_castsi256_si128(s);
		__m128i hi = _mm256_extracti128_si256(s, 1);

		lo = _mm_hadd_epi32(lo, lo);
		lo = _mm_hadd_epi32(lo, lo);
		hi = _mm_hadd_epi32(hi, hi);
		hi = _mm_hadd_epi32(hi, hi);
		out[i / 16] = _mm_cvtsi128_si32(lo);
		out[i / 16 + 1] = _mm_cvtsi128_si32(hi);
	}
}
#endif

static void
group_sums(const struct kdec *k, const struct q8k *a, int *sums)
{
#ifdef __AVX2__
	if (!force_scalar_k) {
		int s16[16];

		idot16_avx2(k->q, a->q, s16);
		if (k->group == 16) {
			memcpy(sums, s16, sizeof s16);
		} else {
			for (int g = 0; g < 8; g++)
				sums[g] = s16[2 * g] + s16[2 * g + 1];
		}
		return;
	}
#endif
	for (int g = 0; g < QK_K / k->group; g++)
		sums[g] = idot(k->q + g * k->group, a->q + g * k->group,
		    k->group);
}

/* Decode one block of a K type into k. */
typedef void (*decode_fn)(const void *, struct kdec *);

/* The decoder of a type, and in *size its block's bytes. */
static decode_fn
decoder(uint32_t type, int *size)
{
	switch (type) {
	case GGML_Q2_K: *size = sizeof(struct block_q2_K); return decode_q2_k;
	case GGML_Q3_K: *size = sizeof(struct block_q3_K); return decode_q3_k;
	case GGML_Q4_K: *size = sizeof(struct block_q4_K); return decode_q4_k;
	case GGML_Q5_K: *size = sizeof(struct block_q5_K); return decode_q5_k;
	case GGML_Q6_K: *size = sizeof(struct block_q6_K); return decode_q6_k;
	default: return NULL;
	}
}

int
matmul_k_supported(uint32_t type)
{
	int size;

	return decoder(type, &size) != NULL;
}

/* One super-block, decoded once, against every token's activations. */
static void
dot_block(const struct kdec *k, const struct q8k *a, int nb, int n,
	float *acc)
{
	int ng = QK_K / k->group;

	for (int t = 0; t < n; t++, a += nb) {
		int sums[16], isum = 0, imin = 0;

		group_sums(k, a, sums);
		for (int g = 0; g < ng; g++) {
			isum += k->scale[g] * sums[g];
			imin += k->min[g] * (k->group == 16 ? a->bsums[g] :
			    a->bsums[2 * g] + a->bsums[2 * g + 1]);
		}
		acc[t] += k->d * a->d * (float)isum -
		    k->dmin * a->d * (float)imin;
	}
}

/* Q3_K, Q5_K and Q6_K in ggml's eight lanes, so that the float rounding is
 * llama.cpp's: lane j holds, over the block, scale * q * a for the
 * positions p with p % 32 in 4j..4j+3 (Q6_K: with q + 32, less
 * 32 * scale * bsum for the groups 2j and 2j+1, as ggml folds the offset);
 * each block adds d * lane to the lane's sum in one fused multiply-add,
 * Q5_K's minimums go to a separate running sum, and the lanes are added
 * pairwise at the end. */
static void
k_lanes(const struct kdec *k, const struct q8k *a, int q6, int lane[8])
{
	int off = q6 ? 32 : 0;

#ifdef __AVX2__
	if (!force_scalar_k) {
		__m256i sum = _mm256_setzero_si256();

		for (int c = 0; c < 8; c++) {
			__m256i w = _mm256_add_epi8(_mm256_loadu_si256(
			    (const __m256i *)(k->q + 32 * c)), _mm256_set1_epi8(
			    (char)off));
			__m256i x = _mm256_loadu_si256((const __m256i *)(a->q + 32 * c));
			int lo = k->group == 16 ? k->scale[2 * c] : k->scale[c];
			int hi = k->group == 16 ? k->scale[2 * c + 1] : k->scale[c];
			__m256i sc = _mm256_set_m128i(_mm_set1_epi16((short)hi),
			    _mm_set1_epi16((short)lo));
			/* u8 x s8 products; a signed q moves its sign onto a */
			__m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w),
			    _mm256_sign_epi8(x, w));

			sum = _mm256_add_epi32(sum, _mm256_madd_epi16(sc, p));
		}
		_mm256_storeu_si256((__m256i *)lane, sum);
	} else
#endif
	for (int j = 0; j < 8; j++) {
		int s = 0;

		for (int c = 0; c < 8; c++)
			for (int i = 4 * j; i < 4 * j + 4; i++) {
				int p = 32 * c + i;

				s += k->scale[p / k->group] * (k->q[p] + off) *
				    a->q[p];
			}
		lane[j] = s;
	}
	if (q6)
		for (int j = 0; j < 8; j++)
			lane[j] -= 32 * (a->bsums[2 * j] * k->scale[2 * j] +
			    a->bsums[2 * j + 1] * k->scale[2 * j + 1]);
}

/* ggml's hsum_float_8: halves added, then pairs, then the last two. */
static float
hsum8(const float *v)
{
	float r0 = v[0] + v[4], r1 = v[1] + v[5], r2 = v[2] + v[6];
	float r3 = v[3] + v[7];

	return (r0 + r2) + (r1 + r3);
}

/* Rows [r0, r1) of a Q3_K, Q5_K or Q6_K matrix in the lanes' order. */
static void
lanes_rows(const struct mat *w, const struct q8k *qa, int n, float *y,
	int y_stride, decode_fn dec, int size, int64_t r0, int64_t r1)
{
	int nb = (int)(w->cols / QK_K), q6 = w->type == GGML_Q6_K;
	float acc[MATMUL_K_MAX_N][8], mins[MATMUL_K_MAX_N];

	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *wr = (const uint8_t *)w->data + r * w->row_bytes;

		for (int t0 = 0; t0 < n; t0 += MATMUL_K_MAX_N) {
			int m = n - t0 < MATMUL_K_MAX_N ? n - t0 : MATMUL_K_MAX_N;

			memset(acc, 0, sizeof acc);
			memset(mins, 0, sizeof mins);
			for (int i = 0; i < nb; i++) {
				struct kdec k;

				dec(wr + (size_t)i * (size_t)size, &k);
				for (int t = 0; t < m; t++) {
					const struct q8k *a = qa +
					    (size_t)(t0 + t) * nb + i;
					float d = a->d * k.d;
					int lane[8], im = 0;

					k_lanes(&k, a, q6, lane);
					for (int j = 0; j < 8; j++)
						acc[t][j] = fmaf(d, (float)lane[j],
						    acc[t][j]);
					if (k.dmin == 0)
						continue;
					for (int g = 0; g < 8; g++)
						im += k.min[g] * (a->bsums[2 * g] +
						    a->bsums[2 * g + 1]);
					mins[t] += -a->d * k.dmin * (float)im;
				}
			}
			for (int t = 0; t < m; t++)
				y[(size_t)(t0 + t) * y_stride + r] = hsum8(acc[t]) +
				    mins[t];
		}
	}
}

/* One block as ggml's tiled K kernel (its AVX-512 VNNI build) sums it for
 * batches of TILED_MIN rows or more: exact integer sums per block, scaled
 * once, (float)s1 * d - dmin * (float)s2 with the subtraction fused; the
 * caller adds it times the activations' d in one fused multiply-add (GCC
 * fuses ggml's add of a product). */
/* The 16 integer dot products of 16 weight levels with 16 activations
 * that make up a block (sums of 32 are two of them added). Integer sums
 * are exact in any order, so the SIMD path gives the portable one's. */
static void
group_dots(const int8_t *w, const int8_t *a, int32_t out[16])
{
#ifdef __AVX2__
	if (!force_scalar_k) {
		for (int g = 0; g < 16; g += 2) {
			__m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(
			    (const __m128i *)(w + 16 * g)));
			__m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(
			    (const __m128i *)(a + 16 * g)));
			__m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(
			    (const __m128i *)(w + 16 * g + 16)));
			__m256i a1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(
			    (const __m128i *)(a + 16 * g + 16)));
			/* lanes of group g in p0, of g+1 in p1 */
			__m256i p0 = _mm256_madd_epi16(w0, a0);
			__m256i p1 = _mm256_madd_epi16(w1, a1);
			__m256i h = _mm256_hadd_epi32(p0, p1);
			__m128i s = _mm_add_epi32(_mm256_castsi256_si128(h),
			    _mm256_extracti128_si256(h, 1));

			s = _mm_hadd_epi32(s, s);
			out[g] = _mm_cvtsi128_si32(s);
			out[g + 1] = _mm_extract_epi32(s, 1);
		}
		return;
	}
#endif
	for (int g = 0; g < 16; g++) {
		int32_t sum = 0;

		for (int j = 0; j < 16; j++)
			sum += w[16 * g + j] * a[16 * g + j];
		out[g] = sum;
	}
}

static float
tiled_block(const struct kdec *k, const struct q8k *a)
{
	int32_t s1 = 0, s2 = 0, dots[16];
	int per = k->group / 16, groups = QK_K / k->group;
	float r;

	group_dots(k->q, a->q, dots);
	for (int g = 0; g < groups; g++) {
		int32_t isum = 0, bsum = 0;

		for (int j = g * per; j < (g + 1) * per; j++) {
			isum += dots[j];
			bsum += a->bsums[j];
		}
		s1 += k->scale[g] * isum;
		s2 += k->min[g] * bsum;
	}
	r = (float)s1 * k->d;
	if (k->dmin != 0.0f)
		r = fmaf(-k->dmin, (float)s2, r);
	return r;
}

/* Q4_K and Q2_K rows as ggml's repacked kernels sum them (llama.cpp
 * repacks Q4_K matrices of a multiple of 8 rows on AVX2 machines, Q2_K ones
 * on AVX-512 machines, but not one also used as the embedding): exact
 * integer sums of scales times dots and of mins times activation sums over
 * step groups at a time, each chained into its own fused multiply-add, the
 * two chains subtracted at the end. Q4_K's one-row kernel (gemv) adds once
 * per block; the four-row ones (gemm, AVX-512) once per 64 values (Q4_K)
 * or 128 (Q2_K). */
static float
repacked_k_row(const struct kdec *k, const struct q8k *a, int nb, int step)
{
	float acc = 0.0f, accmin = 0.0f;

	for (int i = 0; i < nb; i++) {
		int per = k[i].group / 16, groups = QK_K / k[i].group;
		float dd = k[i].d * a[i].d, dm = k[i].dmin * a[i].d;
		int32_t dots[16];

		group_dots(k[i].q, a[i].q, dots);
		for (int g0 = 0; g0 < groups; g0 += step) {
			int32_t s1 = 0, s2 = 0;

			for (int g = g0; g < g0 + step; g++) {
				int32_t isum = 0, bsum = 0;

				for (int j = g * per; j < (g + 1) * per; j++) {
					isum += dots[j];
					bsum += a[i].bsums[j];
				}
				s1 += k[i].scale[g] * isum;
				s2 += k[i].min[g] * bsum;
			}
			acc = fmaf((float)s1, dd, acc);
			accmin = fmaf((float)s2, dm, accmin);
		}
	}
	return acc - accmin;
}

/* One weight row (its blocks decoded) against activation row t of n. */
typedef float (*krow_fn)(const struct kdec *k, const struct q8k *a, int nb,
	int t, int n);

/* The repacked kernels: rows in fours through gemm, the rest through gemv
 * (Q4_K's gemv sums by blocks; Q2_K's is the plain kernel, left to the
 * caller). */
static float
row_repacked(const struct kdec *k, const struct q8k *a, int nb, int t, int n)
{
	int step = t >= n - n % 4 || k->group == 16 ? 8 : 2;

	return repacked_k_row(k, a, nb, step);
}

/* Activation rows 0..m-1 of n against weight rows [r0, r1), each weight
 * row's blocks decoded once. */
static int
decoded_rows(const struct mat *w, const struct q8k *qa, int m, int n,
	float *y, int y_stride, decode_fn dec, int size, krow_fn row,
	int64_t r0, int64_t r1)
{
	int nb = (int)(w->cols / QK_K);
	struct kdec *k = malloc((size_t)nb * sizeof *k);

	if (!k)
		return -1;
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *wr = (const uint8_t *)w->data + r * w->row_bytes;

		for (int i = 0; i < nb; i++)
			dec(wr + (size_t)i * (size_t)size, &k[i]);
		for (int t = 0; t < m; t++)
			y[(size_t)t * y_stride + r] = row(k, qa + (size_t)t * nb,
			    nb, t, n);
	}
	free(k);
	return 0;
}

enum { TILED_MIN = 8 };         /* ggml_tiled_min_batch */

/* Q3_K, Q5_K, Q6_K rows against TILED_MIN activation rows or more, in the
 * tiled kernel's order (ggml repacks Q2_K and Q4_K instead). */
static float
row_tiled(const struct kdec *k, const struct q8k *a, int nb, int t, int n)
{
	float acc = 0.0f;

	(void)t;
	(void)n;
	for (int i = 0; i < nb; i++)
		acc = fmaf(tiled_block(&k[i], &a[i]), a[i].d, acc);
	return acc;
}

/* Rows [r0, r1) of Q2_K or Q4_K (unrepacked) block by block, as
 * ggml's plain kernels sum them. */
static void
block_rows(const struct mat *w, const struct q8k *qa, int n, float *y,
	int y_stride, decode_fn dec, int size, int64_t r0, int64_t r1)
{
	int nb = (int)(w->cols / QK_K);
	float acc[MATMUL_K_MAX_N];

	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *wr = (const uint8_t *)w->data + r * w->row_bytes;

		for (int t0 = 0; t0 < n; t0 += MATMUL_K_MAX_N) {
			int m = n - t0 < MATMUL_K_MAX_N ? n - t0 : MATMUL_K_MAX_N;

			memset(acc, 0, (size_t)m * sizeof *acc);
			for (int i = 0; i < nb; i++) {
				struct kdec k;

				dec(wr + (size_t)i * (size_t)size, &k);
				dot_block(&k, qa + (size_t)t0 * nb + i, nb, m, acc);
			}
			for (int t = 0; t < m; t++)
				y[(size_t)(t0 + t) * y_stride + r] = acc[t];
		}
	}
}

/* Rows [r0, r1) through the decoded blocks (struct kdec): the reference
 * order of every type, which the fast kernels below keep. */
static int
ref_rows(const struct mat *w, const struct q8k *qa, int n, float *y,
	int y_stride, int64_t r0, int64_t r1)
{
	int size = 0;
	decode_fn dec = decoder(w->type, &size);
	int lanes = w->type == GGML_Q3_K || w->type == GGML_Q5_K ||
	    w->type == GGML_Q6_K;

	if (!dec)
		return -1;
	if (w->type == GGML_Q4_K && w->repacked)
		return decoded_rows(w, qa, n, n, y, y_stride, dec, size,
		    row_repacked, r0, r1);
	if (w->type == GGML_Q2_K && w->repacked && n >= 4) {
		int gemm = n - n % 4;

		if (decoded_rows(w, qa, gemm, n, y, y_stride, dec, size,
		    row_repacked, r0, r1) < 0)
			return -1;
		if (gemm == n)
			return 0;
		qa += (size_t)gemm * (size_t)(w->cols / QK_K);
		y += (size_t)gemm * (size_t)y_stride;
		n -= gemm;
	}
	if (lanes && n >= TILED_MIN)
		return decoded_rows(w, qa, n, n, y, y_stride, dec, size,
		    row_tiled, r0, r1);
	if (lanes)
		lanes_rows(w, qa, n, y, y_stride, dec, size, r0, r1);
	else
		block_rows(w, qa, n, y, y_stride, dec, size, r0, r1);
	return 0;
}

#ifdef KQ_FAST
/* The fast kernels (AVX-512 BW + VNNI, or AVX2 + FMA): weight blocks
 * unpacked straight into registers, each decoded block used by every
 * activation row. The integer sums are exact, so they are taken in
 * whatever order suits the registers; every float step is the
 * reference's, in its order:
 *   Q4_K repacked: per block, fmaf((float)s1, d * a.d, acc) and
 *     fmaf((float)s2, dmin * a.d, accmin), once (gemv rows) or per 64
 *     values (gemm rows: the first n - n % 4 of n >= 4), acc - accmin last;
 *   Q4_K plain: acc += d * a.d * (float)s1 - dmin * a.d * (float)s2;
 *   Q6_K, n < 8: eight lanes fused-added per block, hsum8 last;
 *   Q6_K, n >= 8: acc = fmaf((float)s1 * d, a.d, acc).
 * s1 is the sum of scale times level times activation, s2 of min times
 * activation sums. */

static inline float
half(uint16_t h)
{
#ifdef __F16C__
	return _cvtsh_ss(h);
#else
	return fp16_to_f32(h);
#endif
}

/* Scales and mins of a Q4_K/Q5_K block, bytes 0-7 and 8-15 (scale_min for
 * the 16 at once: the high 2 bits of scales and mins 4-7 sit in the top
 * of bytes 0-7). */
static inline __m128i
q4k_scales(const uint8_t *s)
{
	/* 16 bytes: the 12 and 4 of qs (a block holds them), not used */
	__m128i v = _mm_loadu_si128((const __m128i *)s), a, b, lo, hi;

	a = _mm_shuffle_epi32(v, 0x98);         /* u0 u2 u1 u2 */
	b = _mm_shuffle_epi32(v, 0x50);         /* u0 u0 u1 u1 */
	/* sc 0-3, low bits of sc 4-7, m 0-3, low bits of m 4-7 */
	lo = _mm_and_si128(_mm_srlv_epi32(a, _mm_setr_epi32(0, 0, 0, 4)),
	    _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
	/* bits 6-7 of bytes 0-3 (sc) and 4-7 (m) up to bits 4-5 */
	hi = _mm_and_si128(_mm_srli_epi32(b, 2), _mm_setr_epi32(0, 0x30303030,
	    0, 0x30303030));
	return _mm_or_si128(lo, hi);
}

#ifdef KQ_SIMD
typedef __m512i kvec;

/* The four i32 sums of four vectors, in order. */
static inline __m128i
hsum4_kvec(__m512i a, __m512i b, __m512i c, __m512i d)
{
	__m512i ab = _mm512_add_epi32(_mm512_shuffle_i64x2(a, b, 0x44),
	    _mm512_shuffle_i64x2(a, b, 0xee));
	__m512i cd = _mm512_add_epi32(_mm512_shuffle_i64x2(c, d, 0x44),
	    _mm512_shuffle_i64x2(c, d, 0xee));
	/* 128-bit lane k: partial sums of the k-th vector */
	__m512i x = _mm512_add_epi32(_mm512_shuffle_i64x2(ab, cd, 0x88),
	    _mm512_shuffle_i64x2(ab, cd, 0xdd));

	x = _mm512_add_epi32(x, _mm512_shuffle_epi32(x, _MM_PERM_BADC));
	x = _mm512_add_epi32(x, _mm512_shuffle_epi32(x, _MM_PERM_CDAB));
	return _mm512_castsi512_si128(_mm512_permutexvar_epi32(
	    _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
	    x));
}

/* A Q4_K block unpacked: w[c] the levels of values 64c..64c+63, sc[c]
 * their scales as 16-bit words (groups 2c and 2c+1), mins the 8 mins as
 * words. */
struct q4k_regs {
	__m512i w[4], sc[4];
	__m128i mins;
	float d, dmin;
};

static inline void
q4k_unpack(const struct block_q4_K *b, struct q4k_regs *k)
{
	const __m512i shift = _mm512_inserti64x4(_mm512_setzero_si512(),
	    _mm256_set1_epi16(4), 1);
	const __m512i m4 = _mm512_set1_epi8(15);
	__m128i s = q4k_scales((const uint8_t *)b +
	    offsetof(struct block_q4_K, scales));
	__m512i s4 = _mm512_broadcast_i32x4(s);

	k->d = half(b->d);
	k->dmin = half(b->dmin);
	k->mins = _mm_cvtepu8_epi16(_mm_srli_si128(s, 8));
	for (int c = 0; c < 4; c++) {
		__m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256(
		    (const __m256i *)(b->qs + 32 * c)));
		/* word g of a 128-bit lane: byte g, zero extended */
		__m512i idx = _mm512_inserti64x4(_mm512_set1_epi16(
		    (short)(0x8000 | 2 * c)), _mm256_set1_epi16(
		    (short)(0x8000 | (2 * c + 1))), 1);

		/* a 16-bit shift is safe: the mask keeps one byte's bits */
		k->w[c] = _mm512_and_si512(_mm512_srlv_epi16(v, shift), m4);
		k->sc[c] = _mm512_shuffle_epi8(s4, idx);
	}
}

/* Scale times level times activation over a block, in 16 partial sums. */
static inline __m512i
q4k_sum(const struct q4k_regs *k, const struct q8k *a)
{
	__m512i acc = _mm512_setzero_si512();

	for (int c = 0; c < 4; c++)
		acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(k->w[c],
		    _mm512_loadu_si512((const void *)(a->q + 64 * c))),
		    k->sc[c]);
	return acc;
}

/* A block's levels as bytes, in value order. */
static inline void
q4k_levels(const struct q4k_regs *k, uint8_t *out)
{
	for (int c = 0; c < 4; c++)
		_mm512_storeu_si512((void *)(out + 64 * c), k->w[c]);
}

/* A Q6_K block unpacked: w[c] the 6-bit levels (unsigned, q + 32) of
 * values 64c..64c+63, sc[c] their scales as words (groups 4c..4c+3, one a
 * 128-bit lane), sc16 the 16 scales as words. */
struct q6k_regs {
	__m512i w[4], sc[4];
	__m256i sc16;
	float d;
};

static inline void
q6k_unpack(const struct block_q6_K *b, struct q6k_regs *k)
{
	const __m512i m4 = _mm512_set1_epi8(15), m2 = _mm512_set1_epi8(0x30);
	/* high bits 0-1 (values 0-31 of a 128) and 2-3 (32-63) to bits 4-5;
	 * 4-5 (64-95) and 6-7 (96-127) the same */
	const __m512i up = _mm512_inserti64x4(_mm512_set1_epi16(4),
	    _mm256_set1_epi16(2), 1);
	const __m512i down = _mm512_inserti64x4(_mm512_setzero_si512(),
	    _mm256_set1_epi16(2), 1);
	const __m512i lane = _mm512_inserti64x4(_mm512_castsi256_si512(
	    _mm256_inserti128_si256(_mm256_setzero_si256(), _mm_set1_epi16(1),
	    1)), _mm256_inserti128_si256(_mm256_set1_epi16(2),
	    _mm_set1_epi16(3), 1), 1);
	__m512i h = _mm512_loadu_si512((const void *)b->qh);

	k->d = half(b->d);
	k->sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(
	    (const __m128i *)b->scales));
	for (int half = 0; half < 2; half++) {
		__m512i l = _mm512_loadu_si512((const void *)(b->ql + 64 * half));
		__m512i hh = half ? _mm512_shuffle_i64x2(h, h, 0xee) :
		    _mm512_shuffle_i64x2(h, h, 0x44);

		/* 16-bit shifts are safe: the masks keep one byte's bits */
		k->w[2 * half] = _mm512_or_si512(_mm512_and_si512(l, m4),
		    _mm512_and_si512(_mm512_sllv_epi16(hh, up), m2));
		k->w[2 * half + 1] = _mm512_or_si512(_mm512_and_si512(
		    _mm512_srli_epi16(l, 4), m4), _mm512_and_si512(
		    _mm512_srlv_epi16(hh, down), m2));
	}
	for (int c = 0; c < 4; c++)
		k->sc[c] = _mm512_permutexvar_epi16(_mm512_add_epi16(lane,
		    _mm512_set1_epi16((short)(4 * c))),
		    _mm512_castsi256_si512(k->sc16));
}

/* ggml's eight lanes of a Q6_K block (k_lanes): lane j over the values
 * with index % 32 in 4j..4j+3, less 32 times the scaled activation sums of
 * groups 2j and 2j+1. */
static inline __m256i
q6k_lanes(const struct q6k_regs *k, const struct q8k *a)
{
	__m512i acc = _mm512_setzero_si512();
	__m256i lanes, fold;

	for (int c = 0; c < 4; c++) {
		__m512i x = _mm512_loadu_si512((const void *)(a->q + 64 * c));

		acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(k->w[c], x),
		    k->sc[c]);
	}
	lanes = _mm256_add_epi32(_mm512_castsi512_si256(acc),
	    _mm512_extracti64x4_epi64(acc, 1));
	fold = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a->bsums),
	    k->sc16);
	return _mm256_sub_epi32(lanes, _mm256_slli_epi32(fold, 5));
}

static inline void
q6k_levels(const struct q6k_regs *k, uint8_t *out)
{
	for (int c = 0; c < 4; c++)
		_mm512_storeu_si512((void *)(out + 64 * c), k->w[c]);
}

#else
typedef __m256i kvec;

/* A Q4_K block unpacked: w[g] the levels of group g (32 values), sm its
 * scales (bytes 0-7) and mins (8-15), mins the mins as words. */
struct q4k_regs {
	__m256i w[8];
	uint8_t sm[16];
	__m128i mins;
	float d, dmin;
};

static inline void
q4k_unpack(const struct block_q4_K *b, struct q4k_regs *k)
{
	const __m256i m4 = _mm256_set1_epi8(15);
	__m128i s = q4k_scales((const uint8_t *)b +
	    offsetof(struct block_q4_K, scales));

	_mm_storeu_si128((__m128i *)k->sm, s);
	k->d = half(b->d);
	k->dmin = half(b->dmin);
	k->mins = _mm_cvtepu8_epi16(_mm_srli_si128(s, 8));
	for (int c = 0; c < 4; c++) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * c));

		/* a 16-bit shift is safe: the mask keeps one byte's bits */
		k->w[2 * c] = _mm256_and_si256(v, m4);
		k->w[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
	}
}

/* Scale times level times activation over a block, in 8 partial sums. */
static inline __m256i
q4k_sum(const struct q4k_regs *k, const struct q8k *a)
{
	__m256i acc = _mm256_setzero_si256();

	for (int g = 0; g < 8; g++)
		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(
		    _mm256_maddubs_epi16(k->w[g], _mm256_loadu_si256(
		    (const __m256i *)(a->q + 32 * g))),
		    _mm256_set1_epi16(k->sm[g])));
	return acc;
}

/* The four i32 sums of four vectors, in order. */
static inline __m128i
hsum4_kvec(__m256i a, __m256i b, __m256i c, __m256i d)
{
	__m256i x = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b),
	    _mm256_hadd_epi32(c, d));

	return _mm_add_epi32(_mm256_castsi256_si128(x),
	    _mm256_extracti128_si256(x, 1));
}

static inline void
q4k_levels(const struct q4k_regs *k, uint8_t *out)
{
	for (int g = 0; g < 8; g++)
		_mm256_storeu_si256((__m256i *)(out + 32 * g), k->w[g]);
}

/* A Q6_K block unpacked: u[c] the 6-bit levels (q + 32) of values
 * 32c..32c+31, sc the 16 scales, sc16 the same as words. */
struct q6k_regs {
	__m256i u[8];
	__m256i sc16;
	int8_t sc[16];
	float d;
};

static inline void
q6k_unpack(const struct block_q6_K *b, struct q6k_regs *k)
{
	const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
	const uint8_t *ql = b->ql, *qh = b->qh;

	k->d = half(b->d);
	memcpy(k->sc, b->scales, sizeof k->sc);
	k->sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(
	    (const __m128i *)b->scales));
	for (int h = 0; h < 2; h++, ql += 64, qh += 32) {
		__m256i lo1 = _mm256_loadu_si256((const __m256i *)ql);
		__m256i lo2 = _mm256_loadu_si256((const __m256i *)(ql + 32));
		__m256i hb = _mm256_loadu_si256((const __m256i *)qh);

		/* 16-bit shifts are safe: every result is masked per byte */
		k->u[4 * h] = _mm256_or_si256(_mm256_and_si256(lo1, m4),
		    _mm256_slli_epi16(_mm256_and_si256(hb, m2), 4));
		k->u[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(lo2, m4),
		    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2),
		    m2), 4));
		k->u[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(
		    _mm256_srli_epi16(lo1, 4), m4), _mm256_slli_epi16(
		    _mm256_and_si256(_mm256_srli_epi16(hb, 4), m2), 4));
		k->u[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(
		    _mm256_srli_epi16(lo2, 4), m4), _mm256_slli_epi16(
		    _mm256_and_si256(_mm256_srli_epi16(hb, 6), m2), 4));
	}
}

/* ggml's eight lanes of a Q6_K block (k_lanes). */
static inline __m256i
q6k_lanes(const struct q6k_regs *k, const struct q8k *a)
{
	__m256i acc = _mm256_setzero_si256();

	for (int c = 0; c < 8; c++) {
		__m256i sc = _mm256_set_m128i(_mm_set1_epi16(k->sc[2 * c + 1]),
		    _mm_set1_epi16(k->sc[2 * c]));

		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(sc,
		    _mm256_maddubs_epi16(k->u[c], _mm256_loadu_si256(
		    (const __m256i *)(a->q + 32 * c)))));
	}
	return _mm256_sub_epi32(acc, _mm256_slli_epi32(_mm256_madd_epi16(
	    _mm256_loadu_si256((const __m256i *)a->bsums), k->sc16), 5));
}

static inline void
q6k_levels(const struct q6k_regs *k, uint8_t *out)
{
	for (int c = 0; c < 8; c++)
		_mm256_storeu_si256((__m256i *)(out + 32 * c), k->u[c]);
}

#endif

/* Q4_K against n < 4 activation rows (every one in the gemv's order or
 * the plain kernel's), four weight rows a pass so that the sums of the
 * four end in one vector and the float steps run four rows wide. */
static int
q4k_rows(const struct mat *w, const struct q8k *qa, int n, float *y,
	int y_stride, int64_t r0, int64_t r1)
{
	int nb = (int)(w->cols / QK_K);

	for (int64_t r = r0; r < r1; r += 4) {
		int rows = r1 - r < 4 ? (int)(r1 - r) : 4;
		__m128 acc[3], accmin[3];
		float out[4];

		for (int t = 0; t < n; t++)
			acc[t] = accmin[t] = _mm_setzero_ps();
		for (int i = 0; i < nb; i++) {
			kvec s1[3][4];
			__m128i mins[4];
			float d[4] = { 0 }, dmin[4] = { 0 };

			for (int q = 0; q < 4; q++) {
				struct q4k_regs k;

				if (q >= rows) {
					for (int t = 0; t < n; t++)
						memset(&s1[t][q], 0, sizeof s1[t][q]);
					mins[q] = _mm_setzero_si128();
					continue;
				}
				q4k_unpack((const struct block_q4_K *)((const uint8_t *)
				    w->data + (r + q) * w->row_bytes) + i, &k);
				for (int t = 0; t < n; t++)
					s1[t][q] = q4k_sum(&k, qa + (size_t)t * nb + i);
				mins[q] = k.mins;
				d[q] = k.d;
				dmin[q] = k.dmin;
			}
			for (int t = 0; t < n; t++) {
				const struct q8k *a = qa + (size_t)t * nb + i;
				__m128i b = _mm_hadd_epi16(_mm_loadu_si128(
				    (const __m128i *)a->bsums), _mm_loadu_si128(
				    (const __m128i *)(a->bsums + 8)));
				__m128 f1 = _mm_cvtepi32_ps(hsum4_kvec(s1[t][0],
				    s1[t][1], s1[t][2], s1[t][3]));
				__m128 f2 = _mm_cvtepi32_ps(_mm_hadd_epi32(
				    _mm_hadd_epi32(_mm_madd_epi16(mins[0], b),
				    _mm_madd_epi16(mins[1], b)), _mm_hadd_epi32(
				    _mm_madd_epi16(mins[2], b),
				    _mm_madd_epi16(mins[3], b))));
				__m128 ad = _mm_set1_ps(a->d);
				__m128 dd = _mm_mul_ps(_mm_loadu_ps(d), ad);
				__m128 dm = _mm_mul_ps(_mm_loadu_ps(dmin), ad);

				if (w->repacked) {
					acc[t] = _mm_fmadd_ps(f1, dd, acc[t]);
					accmin[t] = _mm_fmadd_ps(f2, dm, accmin[t]);
				} else {
					acc[t] = _mm_add_ps(acc[t], _mm_sub_ps(
					    _mm_mul_ps(dd, f1), _mm_mul_ps(dm, f2)));
				}
			}
		}
		for (int t = 0; t < n; t++) {
			_mm_storeu_ps(out, w->repacked ? _mm_sub_ps(acc[t],
			    accmin[t]) : acc[t]);
			for (int q = 0; q < rows; q++)
				y[(size_t)t * y_stride + r + q] = out[q];
		}
	}
	return 0;
}

/* Q6_K against n < TILED_MIN activation rows, in ggml's eight lanes. */
static int
q6k_rows(const struct mat *w, const struct q8k *qa, int n, float *y,
	int y_stride, int64_t r0, int64_t r1)
{
	int nb = (int)(w->cols / QK_K);
	__m256 lanes[TILED_MIN];

	for (int64_t r = r0; r < r1; r++) {
		const struct block_q6_K *wr = (const void *)((const uint8_t *)
		    w->data + r * w->row_bytes);

		for (int t = 0; t < n; t++)
			lanes[t] = _mm256_setzero_ps();
		for (int i = 0; i < nb; i++) {
			struct q6k_regs k;

			q6k_unpack(&wr[i], &k);
			for (int t = 0; t < n; t++) {
				const struct q8k *a = qa + (size_t)t * nb + i;

				lanes[t] = _mm256_fmadd_ps(_mm256_set1_ps(a->d * k.d),
				    _mm256_cvtepi32_ps(q6k_lanes(&k, a)), lanes[t]);
			}
		}
		for (int t = 0; t < n; t++) {
			float v[8];

			/* the reference adds its zero sum of mins */
			_mm256_storeu_ps(v, lanes[t]);
			y[(size_t)t * y_stride + r] = hsum8(v) + 0.0f;
		}
	}
	return 0;
}

/* The prompt kernels: 16 activation rows at once, one a 32-bit lane, so
 * that every sum ends in its own lane and no horizontal adds are needed.
 * The activations are laid out once per call in tiles (struct xtile): the
 * bytes of each four values of 16 rows side by side, plus 128 (unsigned,
 * as vpdpbusd wants one side), and vpdpbusd multiplies them by four
 * weight levels broadcast from a word; the 128 is taken back by starting
 * each group's sum at -128 times the group's sum of levels. */
enum { TILE = 16 };

struct xtile {
	uint32_t x[64][TILE];           /* values 4j..4j+3 of row l, + 128 */
	float d[TILE];                  /* the rows' scales (0 past n) */
	uint32_t bpair[4][TILE];        /* Q4_K: activation sums of groups
	                                 * 2p and 2p+1 (32 values each), i16 */
};

/* The tiles of n activation rows: tile ti of block i at [ti * nb + i]. */
static struct xtile *
xtiles(const struct q8k *qa, int n, int nb)
{
	int ntile = (n + TILE - 1) / TILE;
	struct xtile *xt = aligned_alloc(64, (size_t)ntile * (size_t)nb *
	    sizeof *xt);

	if (!xt)
		return NULL;
	for (int ti = 0; ti < ntile; ti++)
	for (int i = 0; i < nb; i++) {
		struct xtile *x = &xt[(size_t)ti * nb + i];

		for (int l = 0; l < TILE; l++) {
			const struct q8k *a = qa + (size_t)(ti * TILE + l) * nb + i;
			int live = ti * TILE + l < n;

			x->d[l] = live ? a->d : 0.0f;
			for (int j = 0; j < 64; j++) {
				uint32_t v = 0;

				if (live)
					memcpy(&v, a->q + 4 * j, 4);
				x->x[j][l] = v ^ 0x80808080u;
			}
			for (int p = 0; p < 4; p++) {
				int lo = 0, hi = 0;

				if (live) {
					lo = a->bsums[4 * p] + a->bsums[4 * p + 1];
					hi = a->bsums[4 * p + 2] + a->bsums[4 * p + 3];
				}
				x->bpair[p][l] = (uint16_t)lo | (uint32_t)(uint16_t)hi
				    << 16;
			}
		}
	}
	return xt;
}

/* A weight block ready for the prompt kernels. */
struct kw {
	uint32_t q[64];                 /* levels, four a word (signed) */
	int32_t init[16];               /* -128 times each group's levels */
	int32_t sc[16];                 /* group scales */
	int32_t mpair[4];               /* Q4_K: mins 2p and 2p+1, i16 */
	float d, dmin;
};

/* A block's levels less off (bytes lv, overwritten) as prompt-kernel
 * words, each group's sum of them folded into init. */
#ifdef KQ_SIMD
/* The sums from vpsadbw: eight bytes a 64-bit lane (levels are below
 * 64, so no sum overflows). */
static void
kw_levels(uint8_t *lv, int group, int off, struct kw *k)
{
	const __m512i o = _mm512_set1_epi8((char)off);
	int per = group / 8;

	for (int c = 0; c < 4; c++) {
		__m512i v = _mm512_loadu_si512((const void *)(lv + 64 * c));
		uint64_t s8[8];

		_mm512_storeu_si512((void *)s8, _mm512_sad_epu8(v,
		    _mm512_setzero_si512()));
		_mm512_storeu_si512((void *)(k->q + 16 * c),
		    _mm512_sub_epi8(v, o));
		for (int m = 0; m < 8; m += per) {
			int32_t sum = 0;

			for (int u = m; u < m + per; u++)
				sum += (int32_t)s8[u];
			k->init[(64 * c + 8 * m) / group] = -128 * (sum -
			    off * group);
		}
	}
}
#else
static void
kw_levels(uint8_t *lv, int group, int off, struct kw *k)
{
	for (int g = 0; g < QK_K / group; g++) {
		int32_t sum = 0;

		for (int j = 0; j < group; j++)
			sum += lv[group * g + j];
		k->init[g] = -128 * (sum - off * group);
	}
	for (int j = 0; j < QK_K; j++)
		lv[j] = (uint8_t)(lv[j] - off);
	memcpy(k->q, lv, sizeof k->q);
}
#endif

static void
kw_q4k(const struct block_q4_K *b, struct kw *k)
{
	struct q4k_regs r;
	uint8_t lv[QK_K], sm[16];

	q4k_unpack(b, &r);
	q4k_levels(&r, lv);
	_mm_storeu_si128((__m128i *)sm, q4k_scales((const uint8_t *)b +
	    offsetof(struct block_q4_K, scales)));
	k->d = r.d;
	k->dmin = r.dmin;
	kw_levels(lv, 32, 0, k);
	for (int g = 0; g < 8; g++)
		k->sc[g] = sm[g];
	for (int p = 0; p < 4; p++)
		k->mpair[p] = sm[8 + 2 * p] | sm[8 + 2 * p + 1] << 16;
}

static void
kw_q6k(const struct block_q6_K *b, struct kw *k)
{
	struct q6k_regs r;
	uint8_t lv[QK_K];

	q6k_unpack(b, &r);
	q6k_levels(&r, lv);
	k->d = r.d;
	k->dmin = 0.0f;
	kw_levels(lv, 16, 32, k);
	for (int g = 0; g < 16; g++)
		k->sc[g] = b->scales[g];
}

#ifdef KQ_SIMD
/* Group g's exact dots for the tile's 16 rows (nq words of levels). */
#define DOTS(acc, k, g, x, nq, q0) do {					\
	(acc) = _mm512_set1_epi32((k)->init[g]);			\
	for (int j_ = 0; j_ < (nq); j_++)				\
		(acc) = _mm512_dpbusd_epi32((acc), _mm512_load_si512(	\
		    (const void *)(x)->x[(q0) + j_]),			\
		    _mm512_set1_epi32((int)(k)->q[(q0) + j_]));		\
} while (0)

/* Q4_K, R rows from r against the n activation rows from t0 of ntot (in
 * tiles xt): ggml's gemm order for activation rows below ntot - ntot % 4
 * (per 64 values), its gemv's past them (per block), or the plain
 * kernel's (plain: the matrix is not repacked). */
static inline __attribute__((always_inline)) void
q4k_gemm(const struct mat *w, const struct xtile *xt, int nb, int n,
	int t0, int ntot, float *acc, struct kw *kb, float *y, int y_stride,
	int64_t r, int R)
{
	int ntile = (n + TILE - 1) / TILE, plain = !w->repacked;
	int gemm = plain ? 0 : ntot - ntot % 4 - t0;

	memset(acc, 0, sizeof(float) * 2 * TILE * (size_t)(ntile * R));
	for (int i = 0; i < nb; i++) {
		for (int q = 0; q < R; q++)
			kw_q4k((const struct block_q4_K *)((const uint8_t *)
			    w->data + (r + q) * w->row_bytes) + i, &kb[q]);
		for (int ti = 0; ti < ntile; ti++) {
			const struct xtile *x = &xt[(size_t)ti * nb + i];
			int head = gemm - ti * TILE;
			__mmask16 hm = head <= 0 ? 0 : head >= TILE ? 0xffff :
			    (__mmask16)((1u << head) - 1);
			__m512 ad = _mm512_load_ps(x->d);

			for (int q = 0; q < R; q++) {
				const struct kw *k = &kb[q];
				float *aq = acc + 2 * TILE * ((size_t)ti * R + q);
				__m512 a1 = _mm512_loadu_ps(aq);
				__m512 a2 = _mm512_loadu_ps(aq + TILE);
				__m512 dd = _mm512_mul_ps(_mm512_set1_ps(k->d), ad);
				__m512 dm = _mm512_mul_ps(_mm512_set1_ps(k->dmin), ad);
				__m512i t1 = _mm512_setzero_si512();
				__m512i t2 = _mm512_setzero_si512();

				for (int p = 0; p < 4; p++) {
					__m512i g0, g1, s1, s2;

					DOTS(g0, k, 2 * p, x, 8, 16 * p);
					DOTS(g1, k, 2 * p + 1, x, 8, 16 * p + 8);
					s1 = _mm512_add_epi32(_mm512_mullo_epi32(g0,
					    _mm512_set1_epi32(k->sc[2 * p])),
					    _mm512_mullo_epi32(g1,
					    _mm512_set1_epi32(k->sc[2 * p + 1])));
					s2 = _mm512_dpwssd_epi32(_mm512_setzero_si512(),
					    _mm512_load_si512((const void *)
					    x->bpair[p]), _mm512_set1_epi32(
					    k->mpair[p]));
					a1 = _mm512_mask3_fmadd_ps(
					    _mm512_cvtepi32_ps(s1), dd, a1, hm);
					a2 = _mm512_mask3_fmadd_ps(
					    _mm512_cvtepi32_ps(s2), dm, a2, hm);
					t1 = _mm512_add_epi32(t1, s1);
					t2 = _mm512_add_epi32(t2, s2);
				}
				if (plain) {
					a1 = _mm512_add_ps(a1, _mm512_sub_ps(
					    _mm512_mul_ps(dd, _mm512_cvtepi32_ps(t1)),
					    _mm512_mul_ps(dm, _mm512_cvtepi32_ps(t2))));
				} else if (hm != 0xffff) {
					a1 = _mm512_mask3_fmadd_ps(
					    _mm512_cvtepi32_ps(t1), dd, a1,
					    (__mmask16)~hm);
					a2 = _mm512_mask3_fmadd_ps(
					    _mm512_cvtepi32_ps(t2), dm, a2,
					    (__mmask16)~hm);
				}
				_mm512_storeu_ps(aq, a1);
				_mm512_storeu_ps(aq + TILE, a2);
			}
		}
	}
	for (int ti = 0; ti < ntile; ti++)
	for (int q = 0; q < R; q++) {
		const float *aq = acc + 2 * TILE * ((size_t)ti * R + q);

		for (int l = 0; l < TILE && ti * TILE + l < n; l++)
			y[(size_t)(ti * TILE + l) * y_stride + r + q] = plain ?
			    aq[l] : aq[l] - aq[TILE + l];
	}
}

/* Q6_K, R rows from r against every tile, in the tiled kernel's order. */
static inline __attribute__((always_inline)) void
q6k_gemm(const struct mat *w, const struct xtile *xt, int nb, int n,
	float *acc, struct kw *kb, float *y, int y_stride, int64_t r, int R)
{
	int ntile = (n + TILE - 1) / TILE;

	memset(acc, 0, sizeof(float) * TILE * (size_t)(ntile * R));
	for (int i = 0; i < nb; i++) {
		for (int q = 0; q < R; q++)
			kw_q6k((const struct block_q6_K *)((const uint8_t *)
			    w->data + (r + q) * w->row_bytes) + i, &kb[q]);
		for (int ti = 0; ti < ntile; ti++) {
			const struct xtile *x = &xt[(size_t)ti * nb + i];
			__m512 ad = _mm512_load_ps(x->d);

			for (int q = 0; q < R; q++) {
				const struct kw *k = &kb[q];
				float *aq = acc + TILE * ((size_t)ti * R + q);
				__m512i s = _mm512_setzero_si512();

				for (int g = 0; g < 16; g++) {
					__m512i gs;

					DOTS(gs, k, g, x, 4, 4 * g);
					s = _mm512_add_epi32(s, _mm512_mullo_epi32(gs,
					    _mm512_set1_epi32(k->sc[g])));
				}
				_mm512_storeu_ps(aq, _mm512_fmadd_ps(_mm512_mul_ps(
				    _mm512_cvtepi32_ps(s), _mm512_set1_ps(k->d)), ad,
				    _mm512_loadu_ps(aq)));
			}
		}
	}
	for (int ti = 0; ti < ntile; ti++)
	for (int q = 0; q < R; q++)
		for (int l = 0; l < TILE && ti * TILE + l < n; l++)
			y[(size_t)(ti * TILE + l) * y_stride + r + q] =
			    acc[TILE * ((size_t)ti * R + q) + l];
}

#else
/* Group g's exact dots for the tile's 16 rows, as two halves of 8: no
 * vpdpbusd, so the byte products come in pairs of 16 bits, run of them
 * added before they are widened (no saturation: a pair is within
 * 2 * 255 * 15 = 7650 for Q4_K's levels, run 4, and 2 * 255 * 32 = 16320
 * for Q6_K's, run 2). */
#define DOTS(lo, hi, k, g, x, nq, q0, run) do {				\
	const __m256i one_ = _mm256_set1_epi16(1);			\
	(lo) = (hi) = _mm256_set1_epi32((k)->init[g]);			\
	for (int j_ = (q0); j_ < (q0) + (nq); j_ += (run)) {		\
		__m256i pl_ = _mm256_setzero_si256(), ph_ = pl_;	\
		for (int u_ = j_; u_ < j_ + (run); u_++) {		\
			__m256i w_ = _mm256_set1_epi32((int)(k)->q[u_]); \
			pl_ = _mm256_add_epi16(pl_, _mm256_maddubs_epi16( \
			    _mm256_load_si256((const __m256i *)		\
			    (x)->x[u_]), w_));				\
			ph_ = _mm256_add_epi16(ph_, _mm256_maddubs_epi16( \
			    _mm256_load_si256((const __m256i *)		\
			    ((x)->x[u_] + 8)), w_));			\
		}							\
		(lo) = _mm256_add_epi32((lo), _mm256_madd_epi16(pl_, one_)); \
		(hi) = _mm256_add_epi32((hi), _mm256_madd_epi16(ph_, one_)); \
	}								\
} while (0)

/* Lanes below m of half h, as a blend mask. */
static inline __m256
below(int m, int h)
{
	return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(m),
	    _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
	    _mm256_set1_epi32(8 * h))));
}

static inline __attribute__((always_inline)) void
q4k_gemm(const struct mat *w, const struct xtile *xt, int nb, int n,
	int t0, int ntot, float *acc, struct kw *kb, float *y, int y_stride,
	int64_t r, int R)
{
	int ntile = (n + TILE - 1) / TILE, plain = !w->repacked;
	int gemm = plain ? 0 : ntot - ntot % 4 - t0;

	memset(acc, 0, sizeof(float) * 2 * TILE * (size_t)(ntile * R));
	for (int i = 0; i < nb; i++) {
		for (int q = 0; q < R; q++)
			kw_q4k((const struct block_q4_K *)((const uint8_t *)
			    w->data + (r + q) * w->row_bytes) + i, &kb[q]);
		for (int ti = 0; ti < ntile; ti++) {
			const struct xtile *x = &xt[(size_t)ti * nb + i];

			for (int q = 0; q < R; q++) {
				const struct kw *k = &kb[q];
				float *aq = acc + 2 * TILE * ((size_t)ti * R + q);
				__m256 hm[2], a1[2], a2[2], dd[2], dm[2];
				__m256i t1[2], t2[2];

				for (int h = 0; h < 2; h++) {
					__m256 ad = _mm256_load_ps(x->d + 8 * h);

					hm[h] = below(gemm - ti * TILE, h);
					a1[h] = _mm256_loadu_ps(aq + 8 * h);
					a2[h] = _mm256_loadu_ps(aq + TILE + 8 * h);
					dd[h] = _mm256_mul_ps(_mm256_set1_ps(k->d), ad);
					dm[h] = _mm256_mul_ps(_mm256_set1_ps(k->dmin), ad);
					t1[h] = t2[h] = _mm256_setzero_si256();
				}
				for (int p = 0; p < 4; p++) {
					__m256i g0[2], g1[2];

					DOTS(g0[0], g0[1], k, 2 * p, x, 8, 16 * p, 4);
					DOTS(g1[0], g1[1], k, 2 * p + 1, x, 8,
					    16 * p + 8, 4);
					for (int h = 0; h < 2; h++) {
						__m256i s1 = _mm256_add_epi32(
						    _mm256_mullo_epi32(g0[h],
						    _mm256_set1_epi32(k->sc[2 * p])),
						    _mm256_mullo_epi32(g1[h],
						    _mm256_set1_epi32(k->sc[2 * p + 1])));
						__m256i s2 = _mm256_madd_epi16(
						    _mm256_load_si256((const __m256i *)
						    (x->bpair[p] + 8 * h)),
						    _mm256_set1_epi32(k->mpair[p]));

						a1[h] = _mm256_blendv_ps(a1[h],
						    _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1),
						    dd[h], a1[h]), hm[h]);
						a2[h] = _mm256_blendv_ps(a2[h],
						    _mm256_fmadd_ps(_mm256_cvtepi32_ps(s2),
						    dm[h], a2[h]), hm[h]);
						t1[h] = _mm256_add_epi32(t1[h], s1);
						t2[h] = _mm256_add_epi32(t2[h], s2);
					}
				}
				for (int h = 0; h < 2; h++) {
					__m256 f1 = _mm256_cvtepi32_ps(t1[h]);
					__m256 f2 = _mm256_cvtepi32_ps(t2[h]);

					if (plain) {
						a1[h] = _mm256_add_ps(a1[h], _mm256_sub_ps(
						    _mm256_mul_ps(dd[h], f1),
						    _mm256_mul_ps(dm[h], f2)));
					} else {
						a1[h] = _mm256_blendv_ps(_mm256_fmadd_ps(
						    f1, dd[h], a1[h]), a1[h], hm[h]);
						a2[h] = _mm256_blendv_ps(_mm256_fmadd_ps(
						    f2, dm[h], a2[h]), a2[h], hm[h]);
					}
					_mm256_storeu_ps(aq + 8 * h, a1[h]);
					_mm256_storeu_ps(aq + TILE + 8 * h, a2[h]);
				}
			}
		}
	}
	for (int ti = 0; ti < ntile; ti++)
	for (int q = 0; q < R; q++) {
		const float *aq = acc + 2 * TILE * ((size_t)ti * R + q);

		for (int l = 0; l < TILE && ti * TILE + l < n; l++)
			y[(size_t)(ti * TILE + l) * y_stride + r + q] = plain ?
			    aq[l] : aq[l] - aq[TILE + l];
	}
}

static inline __attribute__((always_inline)) void
q6k_gemm(const struct mat *w, const struct xtile *xt, int nb, int n,
	float *acc, struct kw *kb, float *y, int y_stride, int64_t r, int R)
{
	int ntile = (n + TILE - 1) / TILE;

	memset(acc, 0, sizeof(float) * TILE * (size_t)(ntile * R));
	for (int i = 0; i < nb; i++) {
		for (int q = 0; q < R; q++)
			kw_q6k((const struct block_q6_K *)((const uint8_t *)
			    w->data + (r + q) * w->row_bytes) + i, &kb[q]);
		for (int ti = 0; ti < ntile; ti++) {
			const struct xtile *x = &xt[(size_t)ti * nb + i];

			for (int q = 0; q < R; q++) {
				const struct kw *k = &kb[q];
				float *aq = acc + TILE * ((size_t)ti * R + q);
				__m256i s[2] = { _mm256_setzero_si256(),
				    _mm256_setzero_si256() };

				for (int g = 0; g < 16; g++) {
					__m256i gs[2];

					DOTS(gs[0], gs[1], k, g, x, 4, 4 * g, 2);
					for (int h = 0; h < 2; h++)
						s[h] = _mm256_add_epi32(s[h],
						    _mm256_mullo_epi32(gs[h],
						    _mm256_set1_epi32(k->sc[g])));
				}
				for (int h = 0; h < 2; h++)
					_mm256_storeu_ps(aq + 8 * h, _mm256_fmadd_ps(
					    _mm256_mul_ps(_mm256_cvtepi32_ps(s[h]),
					    _mm256_set1_ps(k->d)), _mm256_load_ps(
					    x->d + 8 * h), _mm256_loadu_ps(aq + 8 * h)));
			}
		}
	}
	for (int ti = 0; ti < ntile; ti++)
	for (int q = 0; q < R; q++)
		for (int l = 0; l < TILE && ti * TILE + l < n; l++)
			y[(size_t)(ti * TILE + l) * y_stride + r + q] =
			    acc[TILE * ((size_t)ti * R + q) + l];
}

#endif

enum { GEMM_ROWS = 4 };

/* Rows [r0, r1) of a Q4_K (n >= 4) or Q6_K (n >= TILED_MIN) matrix
 * through the prompt kernels, MATMUL_K_MAX_N activation rows a pass (their
 * tiles stay in cache while every weight row goes by). */
static int
k_gemm_rows(const struct mat *w, const struct q8k *qa, int n, float *y,
	int y_stride, int64_t r0, int64_t r1)
{
	enum { CHUNK = MATMUL_K_MAX_N, CTILES = CHUNK / TILE };
	int nb = (int)(w->cols / QK_K), q6 = w->type == GGML_Q6_K;
	float *acc = malloc(sizeof(float) * 2 * TILE * GEMM_ROWS * CTILES);
	struct xtile *xt = NULL;
	struct kw kb[GEMM_ROWS];

	_Static_assert(CHUNK % TILE == 0, "whole tiles a pass");
	if (!acc)
		return -1;
	for (int t0 = 0; t0 < n; t0 += CHUNK) {
		int m = n - t0 < CHUNK ? n - t0 : CHUNK;
		float *yc = y + (size_t)t0 * y_stride;
		int64_t r = r0;

		free(xt);
		if (!(xt = xtiles(qa + (size_t)t0 * nb, m, nb))) {
			free(acc);
			return -1;
		}
		for (; r + GEMM_ROWS <= r1; r += GEMM_ROWS)
			if (q6)
				q6k_gemm(w, xt, nb, m, acc, kb, yc, y_stride, r,
				    GEMM_ROWS);
			else
				q4k_gemm(w, xt, nb, m, t0, n, acc, kb, yc,
				    y_stride, r, GEMM_ROWS);
		for (; r < r1; r++)
			if (q6)
				q6k_gemm(w, xt, nb, m, acc, kb, yc, y_stride, r, 1);
			else
				q4k_gemm(w, xt, nb, m, t0, n, acc, kb, yc,
				    y_stride, r, 1);
	}
	free(xt);
	free(acc);
	return 0;
}
#endif

/* The packed layouts (pack_k), AVX-512 builds: Q6_K's in matmul_q6k.c,
 * Q4_K's here: each group of PACK_ROWS rows, block by block, as one
 * struct q4k_pack, read by the packed kernel (q4k_packed_rows, any number
 * of activation rows, four a pass) with the rows in the lanes of a
 * vector, so no sum crosses lanes.
 * The levels are the file's bytes, word j of each row side by side (word
 * 8p + j: the low nibbles are values 64p + 4j..+3, the high ones the 32
 * after); the scales and mins unpacked to bytes. Rows past the last whole
 * group, and matrices with no packed copy, go through q4k_rows (n < 4)
 * and the prompt kernels (k_gemm_rows), which read the file. */
struct q4k_pack {
	uint32_t qs[32][PACK_ROWS];     /* word j of each row's qs */
	uint8_t sc[8][PACK_ROWS];       /* scale of group g */
	uint8_t mins[4][PACK_ROWS][2];  /* mins of groups 2p, 2p+1 */
	uint16_t d[PACK_ROWS];          /* fp16, as in the file */
	uint16_t dmin[PACK_ROWS];
};
_Static_assert(sizeof(struct q4k_pack) == 2368, "q4k_pack: 2368 bytes");

size_t
pack_size_k(const struct mat *w)
{
	if (w->type == GGML_Q6_K)
		return q6k_pack_size(w);
#ifdef KQ_SIMD
	if (w->type == GGML_Q4_K && w->rows >= PACK_ROWS)
		return (size_t)(w->rows / PACK_ROWS) * (size_t)(w->cols / QK_K) *
		    sizeof(struct q4k_pack);
#else
	(void)w;
#endif
	return 0;
}

void
pack_k(const struct mat *w, void *out)
{
	int nb = (int)(w->cols / QK_K);
	struct q4k_pack *pk = out;

	if (w->type == GGML_Q6_K) {
		q6k_pack(w, out);
		return;
	}
	if (!pack_size_k(w))
		return;
	for (int64_t g = 0; g < w->rows / PACK_ROWS; g++)
	for (int i = 0; i < nb; i++, pk++)
		for (int l = 0; l < PACK_ROWS; l++) {
			const struct block_q4_K *b = (const struct block_q4_K *)
			    ((const uint8_t *)w->data + (g * PACK_ROWS + l) *
			    w->row_bytes) + i;
			int sc, m;

			for (int j = 0; j < 32; j++)
				memcpy(&pk->qs[j][l], b->qs + 4 * j, 4);
			for (int k = 0; k < 8; k++) {
				scale_min(b->scales, k, &sc, &m);
				pk->sc[k][l] = (uint8_t)sc;
				pk->mins[k / 2][l][k % 2] = (uint8_t)m;
			}
			pk->d[l] = b->d;
			pk->dmin[l] = b->dmin;
		}
}

#ifdef KQ_SIMD
/* Loops over activation rows, chunks and words unrolled, so that every
 * index is a constant and every sum a register (as matmul_q6k.c: GCC -O2
 * leaves them rolled, the sums in memory, for T > 1). */
#define UNROLL _Pragma("GCC unroll 16")

/* The orders a set of activation rows is summed in from the packed layout:
 * ggml's gemm (repacked, the first n - n % 4 of n rows: per 64 values),
 * its gemv (repacked, the rest: per block) or the plain kernel's. */
enum { Q4K_GEMV, Q4K_GEMM, Q4K_PLAIN };

/* A group of the packed layout (pk, nb blocks) against T <= 4 activation
 * rows a (row t at a + t * nb) in one order: the 16 rows' results into
 * y + t * y_stride. Sixteen weight rows a vector, so no sum crosses
 * lanes; each unpacked word of levels serves all T rows. Gemm's sums of
 * 64 values are exact in float (|s1| < 64 * 15 * 128 * 63 < 2^24), so
 * scale times dot is taken there in float, not with 32-bit multiplies. */
static inline __attribute__((always_inline)) void
q4k_packed_set(const struct q4k_pack *pk, const struct q8k *a, int nb,
	int T, int mode, float *y, int y_stride)
{
	const __m512i m4 = _mm512_set1_epi8(15);
	__m512 acc[4], accmin[4];

	UNROLL
	for (int t = 0; t < T; t++)
		acc[t] = accmin[t] = _mm512_setzero_ps();
	for (int i = 0; i < nb; i++, pk++) {
		__m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(
		    (const __m256i *)pk->d));
		__m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(
		    (const __m256i *)pk->dmin));
		__m512 dd[4], dm[4];
		__m512i s1[4], s2[4];

		UNROLL
		for (int t = 0; t < T; t++) {
			__m512 ad = _mm512_set1_ps(a[(size_t)t * nb + i].d);

			dd[t] = _mm512_mul_ps(d, ad);
			dm[t] = _mm512_mul_ps(dmin, ad);
			s1[t] = s2[t] = _mm512_setzero_si512();
		}
		UNROLL
		for (int p = 0; p < 4; p++) {
			__m512i g0[4], g1[4];
			__m512i mp = _mm512_cvtepu8_epi16(_mm256_loadu_si256(
			    (const __m256i *)pk->mins[p]));
			__m512i sc0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(
			    (const __m128i *)pk->sc[2 * p]));
			__m512i sc1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(
			    (const __m128i *)pk->sc[2 * p + 1]));

			UNROLL
			for (int t = 0; t < T; t++)
				g0[t] = g1[t] = _mm512_setzero_si512();
			UNROLL
			for (int j = 0; j < 8; j++) {
				__m512i v = _mm512_loadu_si512((const void *)
				    pk->qs[8 * p + j]);
				__m512i lo = _mm512_and_si512(v, m4);
				/* a 16-bit shift is safe: the mask keeps one
				 * byte's bits */
				__m512i hi = _mm512_and_si512(_mm512_srli_epi16(v,
				    4), m4);

				UNROLL
				for (int t = 0; t < T; t++) {
					const int8_t *aq = a[(size_t)t * nb + i].q +
					    64 * p + 4 * j;
					int32_t x0, x1;

					memcpy(&x0, aq, 4);
					memcpy(&x1, aq + 32, 4);
					g0[t] = _mm512_dpbusd_epi32(g0[t], lo,
					    _mm512_set1_epi32(x0));
					g1[t] = _mm512_dpbusd_epi32(g1[t], hi,
					    _mm512_set1_epi32(x1));
				}
			}
			UNROLL
			for (int t = 0; t < T; t++) {
				const int16_t *bs = a[(size_t)t * nb + i].bsums +
				    4 * p;
				uint32_t b2 = (uint16_t)(bs[0] + bs[1]) |
				    (uint32_t)(uint16_t)(bs[2] + bs[3]) << 16;
				__m512i m2 = _mm512_dpwssd_epi32(
				    _mm512_setzero_si512(), mp,
				    _mm512_set1_epi32((int)b2));

				if (mode == Q4K_GEMM) {
					__m512 f1 = _mm512_fmadd_ps(
					    _mm512_cvtepi32_ps(g1[t]),
					    _mm512_cvtepi32_ps(sc1), _mm512_mul_ps(
					    _mm512_cvtepi32_ps(g0[t]),
					    _mm512_cvtepi32_ps(sc0)));

					acc[t] = _mm512_fmadd_ps(f1, dd[t], acc[t]);
					accmin[t] = _mm512_fmadd_ps(
					    _mm512_cvtepi32_ps(m2), dm[t], accmin[t]);
					continue;
				}
				s1[t] = _mm512_add_epi32(s1[t], _mm512_add_epi32(
				    _mm512_mullo_epi32(g0[t], sc0),
				    _mm512_mullo_epi32(g1[t], sc1)));
				s2[t] = _mm512_add_epi32(s2[t], m2);
			}
		}
		if (mode == Q4K_GEMM)
			continue;
		UNROLL
		for (int t = 0; t < T; t++) {
			__m512 f1 = _mm512_cvtepi32_ps(s1[t]);
			__m512 f2 = _mm512_cvtepi32_ps(s2[t]);

			if (mode == Q4K_GEMV) {
				acc[t] = _mm512_fmadd_ps(f1, dd[t], acc[t]);
				accmin[t] = _mm512_fmadd_ps(f2, dm[t], accmin[t]);
			} else {
				acc[t] = _mm512_add_ps(acc[t], _mm512_sub_ps(
				    _mm512_mul_ps(dd[t], f1),
				    _mm512_mul_ps(dm[t], f2)));
			}
		}
	}
	UNROLL
	for (int t = 0; t < T; t++)
		_mm512_storeu_ps(y + (size_t)t * y_stride, mode == Q4K_PLAIN ?
		    acc[t] : _mm512_sub_ps(acc[t], accmin[t]));
}

/* Q4_K against n activation rows from the packed layout, rows [r0, r1)
 * in whole groups, in fours: gemm order for the first n - n % 4 rows of a
 * repacked matrix, gemv's for the rest (q4k_rows), plain otherwise. */
static void
q4k_packed_rows(const struct mat *w, const struct q4k_pack *pack,
	const struct q8k *qa, int n, float *y, int y_stride, int64_t r0,
	int64_t r1)
{
	int nb = (int)(w->cols / QK_K), n4 = w->repacked ? n - n % 4 : 0;

	for (int64_t r = r0; r < r1; r += PACK_ROWS) {
		const struct q4k_pack *pk = pack + (size_t)(r / PACK_ROWS) * nb;

		for (int t = 0; t < n; t += 4) {
			const struct q8k *a = qa + (size_t)t * nb;
			float *yt = y + (size_t)t * y_stride + r;
			int T = n - t < 4 ? n - t : 4;

			if (t < n4)
				q4k_packed_set(pk, a, nb, 4, Q4K_GEMM, yt, y_stride);
			else if (!w->repacked && T == 4)
				q4k_packed_set(pk, a, nb, 4, Q4K_PLAIN, yt,
				    y_stride);
			else if (!w->repacked && T == 3)
				q4k_packed_set(pk, a, nb, 3, Q4K_PLAIN, yt,
				    y_stride);
			else if (!w->repacked && T == 2)
				q4k_packed_set(pk, a, nb, 2, Q4K_PLAIN, yt,
				    y_stride);
			else if (!w->repacked)
				q4k_packed_set(pk, a, nb, 1, Q4K_PLAIN, yt,
				    y_stride);
			else if (T == 3)
				q4k_packed_set(pk, a, nb, 3, Q4K_GEMV, yt, y_stride);
			else if (T == 2)
				q4k_packed_set(pk, a, nb, 2, Q4K_GEMV, yt, y_stride);
			else
				q4k_packed_set(pk, a, nb, 1, Q4K_GEMV, yt, y_stride);
		}
	}
}
#endif

int
matmul_k_rows(const struct mat *w, const void *pack, const struct q8k *qa,
	int n, float *y, int y_stride, int64_t r0, int64_t r1)
{
	if (r0 >= r1)
		return 0;
#ifdef KQ_SIMD
	if (!force_scalar_k && pack && (w->type == GGML_Q4_K ||
	    w->type == GGML_Q6_K) && pack_size_k(w)) {
		int64_t whole = w->rows / PACK_ROWS * PACK_ROWS;
		int64_t mid = r1 < whole ? r1 : whole;

		if (r0 < mid && w->type == GGML_Q6_K) {
			if (q6k_packed_rows(w, pack, qa, n, y, y_stride, r0,
			    mid) < 0)
				return -1;
		} else if (r0 < mid)
			q4k_packed_rows(w, pack, qa, n, y, y_stride, r0, mid);
		if (mid == r1)
			return 0;
		if (r0 < mid)
			r0 = mid;
	}
#else
	(void)pack;
#endif
#ifdef KQ_FAST
	if (!force_scalar_k && w->type == GGML_Q4_K && n >= 4)
		return k_gemm_rows(w, qa, n, y, y_stride, r0, r1);
	if (!force_scalar_k && w->type == GGML_Q6_K && n >= TILED_MIN)
		return k_gemm_rows(w, qa, n, y, y_stride, r0, r1);
	if (!force_scalar_k && w->type == GGML_Q4_K)
		return q4k_rows(w, qa, n, y, y_stride, r0, r1);
	if (!force_scalar_k && w->type == GGML_Q6_K)
		return q6k_rows(w, qa, n, y, y_stride, r0, r1);
#endif
	return ref_rows(w, qa, n, y, y_stride, r0, r1);
}

/* Every row, the threads of one parallel region each taking a run of
 * whole groups of PACK_ROWS rows. */
int
matmul_k(const struct mat *w, const struct q8k *qa, int n, float *y,
	int y_stride)
{
	int64_t groups = (w->rows + PACK_ROWS - 1) / PACK_ROWS;
	int failed = 0;

	#pragma omp parallel
	{
		int id = 0, nt = 1;
		int64_t g0, g1, r1;

#ifdef _OPENMP
		id = omp_get_thread_num();
		nt = omp_get_num_threads();
#endif
		g0 = groups * id / nt;
		g1 = groups * (id + 1) / nt;
		r1 = g1 * PACK_ROWS < w->rows ? g1 * PACK_ROWS : w->rows;
		if (matmul_k_rows(w, NULL, qa, n, y, y_stride, g0 * PACK_ROWS,
		    r1) < 0) {
			#pragma omp atomic write
			failed = 1;
		}
	}
	return failed ? -1 : 0;
}
