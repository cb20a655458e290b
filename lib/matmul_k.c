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
#include <stdlib.h>
#include <string.h>
#ifdef __AVX2__
#include <immintrin.h>
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

void
quantize_act_k(const float *x, int n, int cols, struct q8k *qa)
{
	for (int64_t b = 0; b < (int64_t)n * (cols / QK_K); b++) {
		const float *xb = x + b * QK_K;
		struct q8k *a = &qa[b];
		float amax = 0, max = 0, iscale;

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

static int
matmul_lanes(const struct mat *w, const struct q8k *qa, int n, float *y,
	int y_stride, decode_fn dec, int size)
{
	int nb = (int)(w->cols / QK_K), q6 = w->type == GGML_Q6_K;

	#pragma omp parallel
	{
		float acc[MATMUL_K_MAX_N][8], mins[MATMUL_K_MAX_N];

		#pragma omp for schedule(static)
		for (int64_t r = 0; r < w->rows; r++) {
			const uint8_t *wr = (const uint8_t *)w->data +
			    r * w->row_bytes;

			for (int t0 = 0; t0 < n; t0 += MATMUL_K_MAX_N) {
				int m = n - t0 < MATMUL_K_MAX_N ? n - t0 :
				    MATMUL_K_MAX_N;

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
							acc[t][j] = fmaf(d,
							    (float)lane[j],
							    acc[t][j]);
						if (k.dmin == 0)
							continue;
						for (int g = 0; g < 8; g++)
							im += k.min[g] *
							    (a->bsums[2 * g] +
							    a->bsums[2 * g + 1]);
						mins[t] += -a->d * k.dmin *
						    (float)im;
					}
				}
				for (int t = 0; t < m; t++)
					y[(size_t)(t0 + t) * y_stride + r] =
					    hsum8(acc[t]) + mins[t];
			}
		}
	}
	return 0;
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

/* Activation rows 0..m-1 of n against every weight row, each weight row's
 * blocks decoded once. */
static int
matmul_decoded(const struct mat *w, const struct q8k *qa, int m, int n,
	float *y, int y_stride, decode_fn dec, int size, krow_fn row)
{
	int nb = (int)(w->cols / QK_K), failed = 0;

	#pragma omp parallel
	{
		struct kdec *k = malloc((size_t)nb * sizeof *k);

		if (!k) {
			#pragma omp atomic write
			failed = 1;
		}

		#pragma omp for schedule(static)
		for (int64_t r = 0; r < w->rows; r++) {
			const uint8_t *wr = (const uint8_t *)w->data +
			    r * w->row_bytes;

			if (!k)
				continue;
			for (int i = 0; i < nb; i++)
				dec(wr + (size_t)i * (size_t)size, &k[i]);
			for (int t = 0; t < m; t++)
				y[(size_t)t * y_stride + r] = row(k,
				    qa + (size_t)t * nb, nb, t, n);
		}
		free(k);
	}
	return failed ? -1 : 0;
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

int
matmul_k(const struct mat *w, const struct q8k *qa, int n, float *y,
	int y_stride)
{
	int size = 0, nb = (int)(w->cols / QK_K);
	decode_fn dec = decoder(w->type, &size);

	if (w->type == GGML_Q4_K && w->repacked)
		return matmul_decoded(w, qa, n, n, y, y_stride, dec, size,
		    row_repacked);
	if (w->type == GGML_Q2_K && w->repacked && n >= 4) {
		int gemm = n - n % 4;

		if (matmul_decoded(w, qa, gemm, n, y, y_stride, dec, size,
		    row_repacked) < 0)
			return -1;
		if (gemm == n)
			return 0;
		qa += (size_t)gemm * (size_t)(w->cols / QK_K);
		y += (size_t)gemm * (size_t)y_stride;
		n -= gemm;
	}
	if ((w->type == GGML_Q3_K || w->type == GGML_Q5_K ||
	    w->type == GGML_Q6_K) && n >= TILED_MIN)
		return matmul_decoded(w, qa, n, n, y, y_stride, dec, size,
		    row_tiled);
	if (w->type == GGML_Q3_K || w->type == GGML_Q5_K ||
	    w->type == GGML_Q6_K)
		return matmul_lanes(w, qa, n, y, y_stride, dec, size);
	#pragma omp parallel
	{
		float acc[MATMUL_K_MAX_N];

		#pragma omp for schedule(static)
		for (int64_t r = 0; r < w->rows; r++) {
			const uint8_t *wr = (const uint8_t *)w->data +
			    r * w->row_bytes;

			for (int t0 = 0; t0 < n; t0 += MATMUL_K_MAX_N) {
				int m = n - t0 < MATMUL_K_MAX_N ? n - t0 :
				    MATMUL_K_MAX_N;

				memset(acc, 0, (size_t)m * sizeof *acc);
				for (int i = 0; i < nb; i++) {
					struct kdec k;

					dec(wr + (size_t)i * (size_t)size, &k);
					dot_block(&k, qa + (size_t)t0 * nb + i,
					    nb, m, acc);
				}
				for (int t = 0; t < m; t++)
					y[(size_t)(t0 + t) * y_stride + r] =
					    acc[t];
			}
		}
	}
	return 0;
}

/* Rows [r0, r1) through the whole-matrix kernels on a view of those rows
 * (nested in a parallel region, matmul_k's own region runs on one
 * thread). */
int
matmul_k_rows(const struct mat *w, const void *pack, const struct q8k *qa,
	int n, float *y, int y_stride, int64_t r0, int64_t r1)
{
	struct mat v = mat_rows(w, r0, r1 - r0);

	(void)pack;
	return matmul_k(&v, qa, n, y + r0, y_stride);
}

size_t
pack_size_k(const struct mat *w)
{
	(void)w;
	return 0;
}

void
pack_k(const struct mat *w, void *out)
{
	(void)w;
	(void)out;
}
