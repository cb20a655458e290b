/* matmul.c: weight rows times quantized activations.
 *
 * Weight blocks of 32 values (struct block_q4_0 ... block_q8_0, blocks.h):
 *   Q4_0  x = d * (q - 8)      Q4_1  x = d * q + m
 *   Q5_0  x = d * (q - 16)     Q5_1  x = d * q + m
 *   Q8_0  x = d * q
 * where value j < 16 is the low nibble of qs[j], value j + 16 the high one,
 * and for Q5 bit j of qh is the fifth bit of value j.
 * Other types are dequantized a row at a time and multiplied in floats. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "attn.h"
#include "blocks.h"
#include "fdot.h"
#include "matmul.h"
#include "quant.h"

static int force_scalar;

void
matmul_force_scalar(int on)
{
	matmul_k_force_scalar(on);
	attn_force_portable(on);
	matmul_pack_force_off(on);
	force_scalar = on;
}

/* A block's fp16 field as a float. */
static inline float
half(uint16_t h)
{
#ifdef __F16C__
	return _cvtsh_ss(h);
#else
	return fp16_to_f32(h);
#endif
}

/* Round through fp16, as a value stored in a ggml fp16 field. */
static float
via_fp16(float f)
{
	return fp16_to_f32(f32_to_fp16(f));
}

/* A scaled activation rounded to 8 bits as x86 does it in ggml: rounded to
 * an int32, then packed with saturation; NaN and infinities (a NaN or
 * infinite input, or a denormal block maximum) convert to INT32_MIN there,
 * so -128 here, instead of an undefined float-to-int conversion. */
static int8_t
q8(float f)
{
	long r;

	if (!(f > -2147483648.0f && f < 2147483648.0f))
		return INT8_MIN;
	r = lrintf(f);
	return (int8_t)(r > 127 ? 127 : r < -128 ? -128 : r);
}

/* One block's 32 values times id, rounded as q8() rounds them. */
static void
q8_block(const float *v, float id, int8_t *q)
{
#if defined(__AVX512F__) && defined(__AVX512BW__)
	if (!force_scalar) {
		/* cvtps2dq rounds to nearest even and gives INT32_MIN for NaN
		 * and out of range, as lrintf and q8's check do; the
		 * saturating packs clamp to -128..127 */
		__m512 m = _mm512_set1_ps(id);
		__m512i a = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(v),
		    m));
		__m512i b = _mm512_cvtps_epi32(_mm512_mul_ps(
		    _mm512_loadu_ps(v + 16), m));

		_mm_storeu_si128((__m128i *)q, _mm512_cvtsepi32_epi8(a));
		_mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtsepi32_epi8(b));
		return;
	}
#endif
	for (int i = 0; i < QBLK; i++)
		q[i] = q8(v[i] * id);
}

void
quantize_act(const float *x, int n, int cols, struct qblk *qa)
{
	int nb = cols / QBLK;

	for (int t = 0; t < n; t++)
		for (int b = 0; b < nb; b++) {
			const float *v = x + (size_t)t * cols + b * QBLK;
			struct qblk *o = qa + (size_t)t * nb + b;
			float amax = 0.0f, d, id;
			int sum = 0;

			for (int i = 0; i < QBLK; i++) {
				float m = fabsf(v[i]);

				amax = m > amax ? m : amax;
			}
			/* ggml's x86 quantize_row_q8_0/q8_1: scale by 127/amax,
			 * round half to even */
			d = amax / 127.0f;
			id = amax != 0.0f ? 127.0f / amax : 0.0f;
			q8_block(v, id, o->q);
			for (int i = 0; i < QBLK; i++)
				sum += o->q[i];
			o->d = via_fp16(d);
			o->s = via_fp16(d * (float)sum);
		}
}

/* ---- portable kernels: one weight row . one activation row ---- */

static float
dot_q4_0(const void *row, const struct qblk *a, int nb)
{
	const struct block_q4_0 *w = row;
	float sum = 0.0f;

	for (int b = 0; b < nb; b++, w++, a++) {
		int s = 0;

		for (int j = 0; j < 16; j++)
			s += ((w->qs[j] & 15) - 8) * a->q[j] +
			    ((w->qs[j] >> 4) - 8) * a->q[j + 16];
		sum += (float)s * (half(w->d) * a->d);
	}
	return sum;
}

static float
dot_q4_1(const void *row, const struct qblk *a, int nb)
{
	const struct block_q4_1 *w = row;
	float sum = 0.0f;

	for (int b = 0; b < nb; b++, w++, a++) {
		int s = 0;

		for (int j = 0; j < 16; j++)
			s += (w->qs[j] & 15) * a->q[j] + (w->qs[j] >> 4) * a->q[j + 16];
		sum += (float)s * (half(w->d) * a->d) + half(w->m) * a->s;
	}
	return sum;
}

static int
q5_value(const uint8_t *qh, const uint8_t *qs, int j)
{
	uint32_t h = (uint32_t)qh[0] | (uint32_t)qh[1] << 8 |
	    (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
	int lo = j < 16 ? qs[j] & 15 : qs[j - 16] >> 4;

	return lo | (int)((h >> j & 1) << 4);
}

static float
dot_q5_0(const void *row, const struct qblk *a, int nb)
{
	const struct block_q5_0 *w = row;
	float sum = 0.0f;

	for (int b = 0; b < nb; b++, w++, a++) {
		int s = 0;

		for (int j = 0; j < 32; j++)
			s += (q5_value(w->qh, w->qs, j) - 16) * a->q[j];
		sum += (float)s * (half(w->d) * a->d);
	}
	return sum;
}

static float
dot_q5_1(const void *row, const struct qblk *a, int nb)
{
	const struct block_q5_1 *w = row;
	float sum = 0.0f;

	for (int b = 0; b < nb; b++, w++, a++) {
		int s = 0;

		for (int j = 0; j < 32; j++)
			s += q5_value(w->qh, w->qs, j) * a->q[j];
		sum += (float)s * (half(w->d) * a->d) + half(w->m) * a->s;
	}
	return sum;
}

/* GCC 12 at -O2 turns this signed x signed loop into a wrong dot-product
 * vectorization (the SIMD-vs-portable test in t/chord-fwd.bats caught it);
 * keep it a plain loop. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
static float
dot_q8_0(const void *row, const struct qblk *a, int nb)
{
	const struct block_q8_0 *w = row;
	float sum = 0.0f;

	for (int b = 0; b < nb; b++, w++, a++) {
		int s = 0;

		for (int j = 0; j < 32; j++)
			s += w->qs[j] * a->q[j];
		sum += (float)s * (half(w->d) * a->d);
	}
	return sum;
}

/* ---- AVX2 kernels (same integer math, same result) ---- */

#ifdef __AVX2__
/* u8 x s8, summed by fours into s32 lanes, as floats. VNNI does it in one
 * instruction (vpdpbusd); else pairs to s16 (maddubs) then quads (madd),
 * exact too, since |u4 * s8| pairs stay far from the s16 limit. */
static inline __m256
block_dot(__m256i wq_u8, __m256i aq_s8)
{
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
	return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(),
	    wq_u8, aq_s8));
#else
	__m256i p16 = _mm256_maddubs_epi16(wq_u8, aq_s8);
	__m256i p32 = _mm256_madd_epi16(p16, _mm256_set1_epi16(1));

	return _mm256_cvtepi32_ps(p32);
#endif
}

static inline __m256i
nibbles(const uint8_t *qs)
{
	__m128i b = _mm_loadu_si128((const __m128i *)qs);
	__m256i both = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);

	return _mm256_and_si256(both, _mm256_set1_epi8(15));
}

static inline float
hsum(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static float
dot_q4_1_avx2(const void *row, const struct qblk *a, int nb)
{
	const struct block_q4_1 *w = row;
	__m256 acc = _mm256_setzero_ps();
	float off = 0.0f;

	for (int b = 0; b < nb; b++, w++, a++) {
		__m256i aq = _mm256_loadu_si256((const __m256i *)a->q);
		__m256 d = _mm256_set1_ps(half(w->d) * a->d);

		acc = _mm256_fmadd_ps(d, block_dot(nibbles(w->qs), aq), acc);
		off += half(w->m) * a->s;
	}
	return hsum(acc) + off;
}

static float
dot_q4_0_avx2(const void *row, const struct qblk *a, int nb)
{
	const struct block_q4_0 *w = row;
	__m256 acc = _mm256_setzero_ps();

	for (int b = 0; b < nb; b++, w++, a++) {
		__m256i aq = _mm256_loadu_si256((const __m256i *)a->q);
		__m256i wq = _mm256_sub_epi8(nibbles(w->qs), _mm256_set1_epi8(8));
		__m256 p = block_dot(_mm256_sign_epi8(wq, wq),
		    _mm256_sign_epi8(aq, wq));

		acc = _mm256_fmadd_ps(_mm256_set1_ps(half(w->d) * a->d), p, acc);
	}
	return hsum(acc);
}

static float
dot_q8_0_avx2(const void *row, const struct qblk *a, int nb)
{
	const struct block_q8_0 *w = row;
	__m256 acc = _mm256_setzero_ps();

	for (int b = 0; b < nb; b++, w++, a++) {
		__m256i aq = _mm256_loadu_si256((const __m256i *)a->q);
		__m256i wq = _mm256_loadu_si256((const __m256i *)w->qs);
		/* s8 x s8: the sign moves onto the activation; |-128| = 128
		 * as u8 is exact */
		__m256 p = block_dot(_mm256_sign_epi8(wq, wq),
		    _mm256_sign_epi8(aq, wq));

		acc = _mm256_fmadd_ps(_mm256_set1_ps(half(w->d) * a->d), p, acc);
	}
	return hsum(acc);
}

/* The 32 fifth bits of a Q5 block (qh, little-endian) as bytes 0x10 or 0,
 * in value order. */
static inline __m256i
fifth_bits(const uint8_t *qh)
{
	uint32_t h;
	__m256i v, bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);

	memcpy(&h, qh, 4);
	/* byte j of the result takes byte j/8 of h, then tests bit j%8 */
	v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h),
	    _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
	    0x0101010101010101LL, 0));
	v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
	return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

static float
dot_q5_0_avx2(const void *row, const struct qblk *a, int nb)
{
	const struct block_q5_0 *w = row;
	__m256 acc = _mm256_setzero_ps();

	for (int b = 0; b < nb; b++, w++, a++) {
		__m256i aq = _mm256_loadu_si256((const __m256i *)a->q);
		__m256i wq = _mm256_sub_epi8(_mm256_or_si256(nibbles(w->qs),
		    fifth_bits(w->qh)), _mm256_set1_epi8(16));
		__m256 p = block_dot(_mm256_sign_epi8(wq, wq),
		    _mm256_sign_epi8(aq, wq));

		acc = _mm256_fmadd_ps(_mm256_set1_ps(half(w->d) * a->d), p, acc);
	}
	return hsum(acc);
}

static float
dot_q5_1_avx2(const void *row, const struct qblk *a, int nb)
{
	const struct block_q5_1 *w = row;
	__m256 acc = _mm256_setzero_ps();
	float off = 0.0f;

	for (int b = 0; b < nb; b++, w++, a++) {
		__m256i aq = _mm256_loadu_si256((const __m256i *)a->q);
		__m256i wq = _mm256_or_si256(nibbles(w->qs), fifth_bits(w->qh));
		__m256 d = _mm256_set1_ps(half(w->d) * a->d);

		acc = _mm256_fmadd_ps(d, block_dot(wq, aq), acc);
		off += half(w->m) * a->s;
	}
	return hsum(acc) + off;
}

/* Four activation rows at once: each weight block is unpacked once and used
 * four times while the rows' blocks sit in cache (prompts). */
#if defined(__AVX512F__) && defined(__AVX512VNNI__)
/* Two activation rows per 512-bit register: the weight block in both
 * halves, one vpdpbusd for both rows. */
static inline __m512i
two_rows(const struct qblk *a0, const struct qblk *a1)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(
	    _mm256_loadu_si256((const __m256i *)a0->q)),
	    _mm256_loadu_si256((const __m256i *)a1->q), 1);
}

static inline __m512
two_scales(float d, const struct qblk *a0, const struct qblk *a1)
{
	return _mm512_insertf32x8(_mm512_set1_ps(d * a0->d),
	    _mm256_set1_ps(d * a1->d), 1);
}

static inline float
hsum512_lo(__m512 v)
{
	return hsum(_mm512_castps512_ps256(v));
}

static inline float
hsum512_hi(__m512 v)
{
	return hsum(_mm512_extractf32x8_ps(v, 1));
}

static void
dot4_q4_1_avx512(const void *row, const struct qblk *a, int nb, float *out)
{
	const struct block_q4_1 *w = row;
	__m512 acc01 = _mm512_setzero_ps(), acc23 = _mm512_setzero_ps();
	float off[4] = { 0 };
	const struct qblk *a0 = a, *a1 = a + nb, *a2 = a + 2 * nb,
	    *a3 = a + 3 * nb;

	for (int b = 0; b < nb; b++, w++) {
		__m512i wq = _mm512_broadcast_i64x4(nibbles(w->qs));
		float d = half(w->d), m = half(w->m);
		__m512i p01 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq,
		    two_rows(a0 + b, a1 + b));
		__m512i p23 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq,
		    two_rows(a2 + b, a3 + b));

		acc01 = _mm512_fmadd_ps(two_scales(d, a0 + b, a1 + b),
		    _mm512_cvtepi32_ps(p01), acc01);
		acc23 = _mm512_fmadd_ps(two_scales(d, a2 + b, a3 + b),
		    _mm512_cvtepi32_ps(p23), acc23);
		off[0] += m * a0[b].s;
		off[1] += m * a1[b].s;
		off[2] += m * a2[b].s;
		off[3] += m * a3[b].s;
	}
	out[0] = hsum512_lo(acc01) + off[0];
	out[1] = hsum512_hi(acc01) + off[1];
	out[2] = hsum512_lo(acc23) + off[2];
	out[3] = hsum512_hi(acc23) + off[3];
}
#endif

static void
dot4_q4_1_avx2(const void *row, const struct qblk *a, int nb, float *out)
{
	const struct block_q4_1 *w = row;
	__m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(),
	    _mm256_setzero_ps(), _mm256_setzero_ps() };
	float off[4] = { 0 };

	for (int b = 0; b < nb; b++, w++) {
		__m256i wq = nibbles(w->qs);
		float d = half(w->d), m = half(w->m);

		for (int t = 0; t < 4; t++) {
			const struct qblk *at = a + (size_t)t * nb + b;
			__m256i aq = _mm256_loadu_si256((const __m256i *)at->q);

			acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * at->d),
			    block_dot(wq, aq), acc[t]);
			off[t] += m * at->s;
		}
	}
	for (int t = 0; t < 4; t++)
		out[t] = hsum(acc[t]) + off[t];
}

static void
dot4_q8_0_avx2(const void *row, const struct qblk *a, int nb, float *out)
{
	const struct block_q8_0 *w = row;
	__m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(),
	    _mm256_setzero_ps(), _mm256_setzero_ps() };

	for (int b = 0; b < nb; b++, w++) {
		__m256i wq = _mm256_loadu_si256((const __m256i *)w->qs);
		__m256i wabs = _mm256_sign_epi8(wq, wq);
		float d = half(w->d);

		for (int t = 0; t < 4; t++) {
			const struct qblk *at = a + (size_t)t * nb + b;
			__m256i aq = _mm256_loadu_si256((const __m256i *)at->q);

			acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * at->d),
			    block_dot(wabs, _mm256_sign_epi8(aq, wq)), acc[t]);
		}
	}
	for (int t = 0; t < 4; t++)
		out[t] = hsum(acc[t]);
}

/* dot_q5_0_avx2 for four activation rows at once: each row's sum in the
 * same order, the weights decoded once. */
static void
dot4_q5_0_avx2(const void *row, const struct qblk *a, int nb, float *out)
{
	const struct block_q5_0 *w = row;
	__m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(),
	    _mm256_setzero_ps(), _mm256_setzero_ps() };

	for (int b = 0; b < nb; b++, w++) {
		__m256i wq = _mm256_sub_epi8(_mm256_or_si256(nibbles(w->qs),
		    fifth_bits(w->qh)), _mm256_set1_epi8(16));
		__m256i wabs = _mm256_sign_epi8(wq, wq);
		float d = half(w->d);

		for (int t = 0; t < 4; t++) {
			const struct qblk *at = a + (size_t)t * nb + b;
			__m256i aq = _mm256_loadu_si256((const __m256i *)at->q);

			acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * at->d),
			    block_dot(wabs, _mm256_sign_epi8(aq, wq)), acc[t]);
		}
	}
	for (int t = 0; t < 4; t++)
		out[t] = hsum(acc[t]);
}
#endif

/* Q4_0 as ggml's repacked q4_0_8x8 kernels sum it (llama.cpp repacks every
 * Q4_0 matrix of a multiple of 8 rows on AVX2 machines, but not one also
 * used as the embedding): one exact integer dot per block, chained in one
 * fused multiply-add per block. */
static float
dot_q4_0_rp(const void *row, const struct qblk *a, int nb)
{
	const struct block_q4_0 *w = row;
	float acc = 0.0f;

	for (int b = 0; b < nb; b++, w++, a++) {
		int s = 0;

#ifdef __AVX2__
		if (!force_scalar) {
			__m256i aq = _mm256_loadu_si256((const __m256i *)a->q);
			__m256i wq = _mm256_sub_epi8(nibbles(w->qs),
			    _mm256_set1_epi8(8));
			__m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(
			    _mm256_sign_epi8(wq, wq), _mm256_sign_epi8(aq, wq)),
			    _mm256_set1_epi16(1));
			__m128i h = _mm_add_epi32(_mm256_castsi256_si128(p),
			    _mm256_extracti128_si256(p, 1));

			h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
			h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
			s = _mm_cvtsi128_si32(h);
		} else
#endif
		for (int j = 0; j < 16; j++)
			s += ((w->qs[j] & 15) - 8) * a->q[j] +
			    ((w->qs[j] >> 4) - 8) * a->q[j + 16];
		acc = fmaf((float)s, half(w->d) * a->d, acc);
	}
	return acc;
}

/* One weight row (nb blocks of its type) against one or four activation
 * rows. */
typedef float (*qdot_fn)(const void *, const struct qblk *, int);
typedef void (*qdot4_fn)(const void *, const struct qblk *, int, float *);

static qdot4_fn
kernel4(uint32_t type)
{
#ifdef __AVX2__
#if defined(__AVX512F__) && defined(__AVX512VNNI__)
	if (!force_scalar && type == GGML_Q4_1)
		return dot4_q4_1_avx512;
#endif
	if (!force_scalar && type == GGML_Q4_1)
		return dot4_q4_1_avx2;
	if (!force_scalar && type == GGML_Q8_0)
		return dot4_q8_0_avx2;
	if (!force_scalar && type == GGML_Q5_0)
		return dot4_q5_0_avx2;
#endif
#ifdef __wasm_simd128__
	if (!force_scalar && type == GGML_Q4_1)
		return dot4_q4_1_simd128;
	if (!force_scalar && type == GGML_Q8_0)
		return dot4_q8_0_simd128;
#endif
	(void)type;
	return NULL;
}

static qdot_fn
kernel(uint32_t type)
{
#ifdef __AVX2__
	if (!force_scalar) {
		if (type == GGML_Q4_1)
			return dot_q4_1_avx2;
		if (type == GGML_Q4_0)
			return dot_q4_0_avx2;
		if (type == GGML_Q8_0)
			return dot_q8_0_avx2;
		if (type == GGML_Q5_0)
			return dot_q5_0_avx2;
		if (type == GGML_Q5_1)
			return dot_q5_1_avx2;
	}
#endif
#ifdef __wasm_simd128__
	if (!force_scalar && type == GGML_Q4_1)
		return dot_q4_1_simd128;
	if (!force_scalar && type == GGML_Q8_0)
		return dot_q8_0_simd128;
#endif
	switch (type) {
	case GGML_Q4_0: return dot_q4_0;
	case GGML_Q4_1: return dot_q4_1;
	case GGML_Q5_0: return dot_q5_0;
	case GGML_Q5_1: return dot_q5_1;
	case GGML_Q8_0: return dot_q8_0;
	default: return NULL;
	}
}

int
matmul_supported(uint32_t type)
{
	return kernel(type) != NULL || matmul_k_supported(type) ||
	    type == GGML_F32 || type == GGML_F16 || type == GGML_BF16;
}

int
mat_row_f32(const struct mat *w, int64_t r, float *out)
{
	const uint8_t *p = (const uint8_t *)w->data + (uint64_t)r * w->row_bytes;
	const struct qtype *q = qtype_get(w->type);

	if (!q || !q->to_f32)
		return -1;
	q->to_f32(p, out, w->cols);
	return 0;
}

/* x . y for one token as ggml's vec_dot for the weight's type sums it. */
static float
dot_one(uint32_t type, const float *x, const float *y, int n)
{
	int np = n & ~63;
	float s;

	if (type != GGML_F32 || np == n)
		return fdot_vec(x, y, n);
	s = fdot_vec(x, y, np);         /* ggml_vec_dot_f32: a float tail */
	for (int i = np; i < n; i++)
		s = fmaf(x[i], y[i], s);
	return s;
}

/* Float and other weights, rows [r0, r1): y = W x, a dequantized row at a
 * time, in ggml's orders: one token through its vec_dot, two or more
 * through tinyBLAS where llamafile_sgemm takes the shape (rows a multiple
 * of 4, columns of 16). x is already rounded to F16 and BF16 weights'
 * type. */
static int
float_rows(const struct mat *w, const float *x, int n, float *y,
	int y_stride, int64_t r0, int64_t r1)
{
	int cols = (int)w->cols;
	int tile = n >= 2 && w->rows % 4 == 0 && cols % 16 == 0;
	float *row = malloc((size_t)cols * sizeof *row);

	if (!row)
		return -1;
	for (int64_t r = r0; r < r1; r++) {
		mat_row_f32(w, r, row);
		for (int t = 0; t < n; t++) {
			const float *xt = x + (size_t)t * cols;

			y[(size_t)t * y_stride + r] = tile ?
			    fdot_tile(row, xt, cols) :
			    dot_one(w->type, row, xt, cols);
		}
	}
	free(row);
	return 0;
}

/* Rows of W and activation rows in blocks, as ggml's mul_mat does, so that
 * a block of activations stays in cache while a block of weight rows runs
 * over it; every dot product is the same as without blocks. */
enum { ROW_BLOCK = 16, ACT_BLOCK = 64 };

/* Rows [r0, r1) of y = W a for the 8-bit-activation types, from the
 * file's layout. */
static void
q8_rows(const struct mat *w, const struct qblk *qa, int n, float *y,
	int y_stride, int64_t r0, int64_t r1)
{
	qdot_fn f = kernel(w->type);
	qdot4_fn f4 = kernel4(w->type);
	int nb = (int)(w->cols / QBLK), n4;

	if (w->type == GGML_Q4_0 && w->repacked) {
		f = dot_q4_0_rp;
		f4 = NULL;
	}
	n4 = f4 ? n / 4 * 4 : 0;
	for (int64_t g0 = r0; g0 < r1; g0 += ROW_BLOCK) {
		int64_t g1 = g0 + ROW_BLOCK < r1 ? g0 + ROW_BLOCK : r1;

		for (int t0 = 0; t0 < n4; t0 += ACT_BLOCK) {
			int t1 = t0 + ACT_BLOCK < n4 ? t0 + ACT_BLOCK : n4;

			for (int64_t r = g0; r < g1; r++) {
				const uint8_t *wr = (const uint8_t *)w->data +
				    r * w->row_bytes;
				float o[4];

				for (int t = t0; t < t1; t += 4) {
					f4(wr, qa + (size_t)t * nb, nb, o);
					for (int k = 0; k < 4; k++)
						y[(size_t)(t + k) * y_stride + r] =
						    o[k];
				}
			}
		}
		for (int64_t r = g0; r < g1; r++) {
			const uint8_t *wr = (const uint8_t *)w->data +
			    r * w->row_bytes;

			for (int t = n4; t < n; t++)
				y[(size_t)t * y_stride + r] =
				    f(wr, qa + (size_t)t * nb, nb);
		}
	}
}

int
matmul(const struct mat *w, const struct qblk *qa, int n, float *y,
	int y_stride)
{
	int64_t groups = (w->rows + ROW_BLOCK - 1) / ROW_BLOCK;

	#pragma omp parallel for schedule(static)
	for (int64_t g = 0; g < groups; g++)
		q8_rows(w, qa, n, y, y_stride, g * ROW_BLOCK,
		    g * ROW_BLOCK + ROW_BLOCK < w->rows ?
		    g * ROW_BLOCK + ROW_BLOCK : w->rows);
	return 0;
}

int
matmul_rows(const struct mat *w, const void *pack, const void *a, int n,
	float *y, int y_stride, int64_t r0, int64_t r1)
{
	switch (mat_act_form(w)) {
	case ACT_Q8:
		/* not with the portable kernels forced (pack_size 0) */
		if (pack && pack_size(w)) {
			int64_t gend = w->rows / PACK_ROWS * PACK_ROWS;
			int64_t pe = r1 < gend ? r1 : gend;

			if (r0 < pe && matmul_packed(w, pack, a, n, y, y_stride,
			    r0 / PACK_ROWS, pe / PACK_ROWS) < 0)
				return -1;
			r0 = pe > r0 ? pe : r0;
		}
		if (r0 < r1)
			q8_rows(w, a, n, y, y_stride, r0, r1);
		return 0;
	case ACT_Q8K:
		return matmul_k_rows(w, pack, a, n, y, y_stride, r0, r1);
	default:
		return float_rows(w, a, n, y, y_stride, r0, r1);
	}
}

/* Float weights: every thread a static share of the rows. */
static int
matmul_float(const struct mat *w, const float *x, int n, float *y,
	int y_stride)
{
	int failed = 0;
	int64_t groups = (w->rows + ROW_BLOCK - 1) / ROW_BLOCK;

	#pragma omp parallel for schedule(static)
	for (int64_t g = 0; g < groups; g++)
		if (float_rows(w, x, n, y, y_stride, g * ROW_BLOCK,
		    g * ROW_BLOCK + ROW_BLOCK < w->rows ?
		    g * ROW_BLOCK + ROW_BLOCK : w->rows) < 0) {
			#pragma omp atomic write
			failed = 1;
		}
	return failed ? -1 : 0;
}

int
mat_repacked(const struct mat *w)
{
	return !w->plain && w->rows % 8 == 0 && (w->type == GGML_Q4_0 ||
	    w->type == GGML_Q4_K || w->type == GGML_Q2_K);
}

int
mat_act_form(const struct mat *w)
{
	if (kernel(w->type))
		return ACT_Q8;
	if (matmul_k_supported(w->type) && w->cols % 256 == 0)
		return ACT_Q8K;
	if (w->type == GGML_F16)
		return ACT_F16;
	if (w->type == GGML_BF16)
		return ACT_BF16;
	return ACT_F32;
}

size_t
act_form_size(int form, int n, int cols)
{
	switch (form) {
	case ACT_Q8:
		return (size_t)n * (size_t)(cols / QBLK) * sizeof(struct qblk);
	case ACT_Q8K:
		return (size_t)n * (size_t)(cols / 256) * sizeof(struct q8k);
	default:
		return (size_t)n * (size_t)cols * sizeof(float);
	}
}

void
act_convert(int form, const float *x, int n, int cols, void *out)
{
	size_t len = (size_t)n * (size_t)cols;
	float *r = out;

	switch (form) {
	case ACT_Q8:
		quantize_act(x, n, cols, out);
		break;
	case ACT_Q8K:
		quantize_act_k(x, n, cols, out);
		break;
	case ACT_F16:
		for (size_t i = 0; i < len; i++)
			r[i] = fp16_to_f32(f32_to_fp16(x[i]));
		break;
	case ACT_BF16:
		for (size_t i = 0; i < len; i++)
			r[i] = bf16_to_f32(f32_to_bf16(x[i]));
		break;
	default:
		memcpy(out, x, len * sizeof *x);
	}
}

int
matmul_run(const struct mat *w, const void *a, int n, float *y, int y_stride)
{
	switch (mat_act_form(w)) {
	case ACT_Q8:
		return matmul(w, a, n, y, y_stride);
	case ACT_Q8K:
		return matmul_k(w, a, n, y, y_stride);
	default:
		return matmul_float(w, a, n, y, y_stride);
	}
}
