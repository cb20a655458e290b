/* matmul_pack.c: Q4_1, Q5_0 and Q8_0 matrices repacked at load into groups of 16
 * rows, so one pass over an activation block feeds 16 output rows, and
 * their kernels.
 *
 * A group holds, block by block, the 16 rows' blocks side by side:
 *   Q4_1: qs[16][16], d[16], m[16]             320 bytes (16 x 20)
 *   Q5_0: qs[16][16], fifth bits by quads of rows, d[16]  352 (16 x 22)
 *   Q8_0: qs[16][32] as q + 128 (unsigned), d[16]  544 bytes (16 x 34)
 * so a group is one sequential stream and nothing is added to the file's
 * bytes.
 *
 * Each row keeps the summation order of the row-at-a-time x86 kernels
 * (matmul.c), which is ggml's: per block, eight float lanes, lane i taking
 * the integer dot of quad i of the unpacked block (Q4_1, Q5_0: the low
 * nibbles are values 0-15, the high ones 16-31), times d_w * d_a, fused-added
 * into the lane; the lanes summed as hsum() does at the end; Q4_1's
 * m_w * s_a summed on the side and added last. Integer sums are exact,
 * so any order of them is the same; the float steps are not reordered.
 * pack_dot_ref is that order in portable C, the reference the SIMD kernel
 * is tested against (t/kernel-test.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "matmul.h"
#include "quant.h"

#if defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>
#define PACK_SIMD 1
#endif

enum { Q41_GROUP = PACK_ROWS * 20, Q50_GROUP = PACK_ROWS * 22,
    Q80_GROUP = PACK_ROWS * 34 };

static int pack_off;

void
matmul_pack_force_off(int on)
{
	pack_off = on;
}

static size_t
group_bytes(uint32_t type)
{
	switch (type) {
	case GGML_Q4_1: return Q41_GROUP;
	case GGML_Q5_0: return Q50_GROUP;
	case GGML_Q8_0: return Q80_GROUP;
	default: return 0;
	}
}

size_t
pack_size(const struct mat *w)
{
	size_t g = group_bytes(w->type);

#ifndef PACK_SIMD
	return 0;
#endif
	if (pack_off || !g || w->rows < PACK_ROWS || w->cols % QBLK)
		return 0;
	return (size_t)(w->rows / PACK_ROWS) * (size_t)(w->cols / QBLK) * g;
}

/* Row r's fifth bits where the kernel takes them as byte masks: for each
 * quad of rows, a 64-bit mask of the low values (0-15) of its four rows,
 * 16 bits a row, then one of the high values (16-31). */
static void
q5_0_bits(uint8_t *masks, int r, const uint8_t *qh)
{
	uint8_t *lo = masks + (r / 4) * 16 + (r % 4) * 2;

	lo[0] = qh[0];
	lo[1] = qh[1];
	lo[8] = qh[2];
	lo[9] = qh[3];
}

/* Group g's rows of w into out, block by block. */
static void
pack_group(const struct mat *w, int64_t g, uint8_t *out)
{
	int nb = (int)(w->cols / QBLK);

	for (int b = 0; b < nb; b++)
		for (int r = 0; r < PACK_ROWS; r++) {
			const uint8_t *row = (const uint8_t *)w->data +
			    (uint64_t)(g * PACK_ROWS + r) * w->row_bytes;

			if (w->type == GGML_Q4_1) {
				const struct block_q4_1 *s =
				    (const struct block_q4_1 *)row + b;
				uint8_t *o = out + (size_t)b * Q41_GROUP;

				memcpy(o + r * 16, s->qs, 16);
				memcpy(o + 256 + r * 2, &s->d, 2);
				memcpy(o + 288 + r * 2, &s->m, 2);
			} else if (w->type == GGML_Q5_0) {
				const struct block_q5_0 *s =
				    (const struct block_q5_0 *)row + b;
				uint8_t *o = out + (size_t)b * Q50_GROUP;

				memcpy(o + r * 16, s->qs, 16);
				q5_0_bits(o + 256, r, s->qh);
				memcpy(o + 320 + r * 2, &s->d, 2);
			} else {
				const struct block_q8_0 *s =
				    (const struct block_q8_0 *)row + b;
				uint8_t *o = out + (size_t)b * Q80_GROUP;

				for (int j = 0; j < 32; j++)
					o[r * 32 + j] = (uint8_t)s->qs[j] ^ 0x80;
				memcpy(o + 512 + r * 2, &s->d, 2);
			}
		}
}

void
pack_mat(const struct mat *w, void *out)
{
	int64_t groups = w->rows / PACK_ROWS;
	size_t gb = group_bytes(w->type) * (size_t)(w->cols / QBLK);

	#pragma omp parallel for schedule(static)
	for (int64_t g = 0; g < groups; g++)
		pack_group(w, g, (uint8_t *)out + (size_t)g * gb);
}

/* ggml's hsum of eight lanes (matmul.c's hsum), in scalar. */
static float
hsum8(const float *l)
{
	float s0 = l[0] + l[4], s1 = l[1] + l[5], s2 = l[2] + l[6],
	    s3 = l[3] + l[7];

	return (s0 + s2) + (s1 + s3);
}

/* Row r of a packed group against one activation row: the reference. */
static float
pack_dot_ref(uint32_t type, const uint8_t *grp, int r, const struct qblk *a,
	int nb)
{
	float lane[8] = { 0 }, off = 0.0f;

	for (int b = 0; b < nb; b++, a++) {
		const uint8_t *blk = grp + (size_t)b * group_bytes(type);
		uint16_t h;
		float d;

		if (type == GGML_Q4_1) {
			const uint8_t *qs = blk + r * 16;

			memcpy(&h, blk + 256 + r * 2, 2);
			d = fp16_to_f32(h) * a->d;
			for (int i = 0; i < 8; i++) {
				int s = 0;

				for (int j = 0; j < 4; j++) {
					int k = (i & 3) * 4 + j;
					int q = i < 4 ? qs[k] & 15 : qs[k] >> 4;

					s += q * a->q[i * 4 + j];
				}
				lane[i] = fmaf(d, (float)s, lane[i]);
			}
			memcpy(&h, blk + 288 + r * 2, 2);
			off += fp16_to_f32(h) * a->s;
		} else if (type == GGML_Q5_0) {
			const uint8_t *qs = blk + r * 16;
			const uint8_t *mk = blk + 256 + (r / 4) * 16 + (r % 4) * 2;

			memcpy(&h, blk + 320 + r * 2, 2);
			d = fp16_to_f32(h) * a->d;
			for (int i = 0; i < 8; i++) {
				int s = 0;

				for (int j = 0; j < 4; j++) {
					int k = (i & 3) * 4 + j;
					int q = i < 4 ? qs[k] & 15 : qs[k] >> 4;
					int bit = mk[(i < 4 ? 0 : 8) + k / 8] >> (k % 8) & 1;

					s += (q + 16 * bit - 16) * a->q[i * 4 + j];
				}
				lane[i] = fmaf(d, (float)s, lane[i]);
			}
		} else {
			const uint8_t *qs = blk + r * 32;

			memcpy(&h, blk + 512 + r * 2, 2);
			d = fp16_to_f32(h) * a->d;
			for (int i = 0; i < 8; i++) {
				int s = 0;

				for (int j = 0; j < 4; j++)
					s += ((int)qs[i * 4 + j] - 128) *
					    a->q[i * 4 + j];
				lane[i] = fmaf(d, (float)s, lane[i]);
			}
		}
	}
	return hsum8(lane) + off;
}

#ifdef PACK_SIMD
/* One token streams each weight once: ask for the block PREFETCH bytes
 * ahead now, into L2, so more lines are in flight than the hardware
 * prefetcher keeps on one core (L1's fill buffers would cap a T0 hint:
 * 2 KiB into L1 gave 0.8x the tg of 4 KiB into L2 at one thread). */
enum { PREFETCH = 4096 };

static inline void
prefetch(const uint8_t *blk, size_t bytes)
{
	for (size_t i = 0; i < bytes; i += 64)
		_mm_prefetch((const char *)blk + PREFETCH + i, _MM_HINT_T1);
}

static inline __m512
scales16(const uint8_t *p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/* Lane i of ds repeated `rep` times, for the 16 / rep rows from `first`:
 * each row's scale lined up with its lanes. */
static inline __m512
spread(__m512 ds, int first, int rep)
{
	int idx[16];

	for (int i = 0; i < 16; i++)
		idx[i] = first + i / rep;
	return _mm512_permutexvar_ps(_mm512_loadu_si512(idx), ds);
}

/* Q4_1. A 64-byte load holds four rows' nibbles of a block: the low ones
 * (values 0-15) against [q0-15] four times give each row's lanes 0-3,
 * the high ones against [q16-31] its lanes 4-7. */
/* hsum8 of each row's lanes, in registers: v's 128-bit lane r holds row
 * r's lanes 0-3 in lo and 4-7 in hi; the sums land in elements 0, 4, 8
 * and 12. The adds are hsum8's: (l0 + l4), then (s0 + s2) and (s1 + s3),
 * then those two. */
static inline __m512
hsum_lanes(__m512 lo, __m512 hi)
{
	__m512 s = _mm512_add_ps(lo, hi);

	s = _mm512_add_ps(s, _mm512_permute_ps(s, _MM_SHUFFLE(1, 0, 3, 2)));
	return _mm512_add_ps(s, _mm512_permute_ps(s, _MM_SHUFFLE(2, 3, 0, 1)));
}

static void
q4_1_quad_out(__m512 lo, __m512 hi, float *out)
{
	float f[16];

	_mm512_storeu_ps(f, hsum_lanes(lo, hi));
	out[0] = f[0];
	out[1] = f[4];
	out[2] = f[8];
	out[3] = f[12];
}

static void
q4_1_group_1(const uint8_t *grp, const struct qblk *a, int nb, float *out)
{
	const __m512i m4 = _mm512_set1_epi8(15);
	__m512 lo[4], hi[4], off = _mm512_setzero_ps();
	float o[16];

	#pragma GCC unroll 4
	for (int j = 0; j < 4; j++)
		lo[j] = hi[j] = _mm512_setzero_ps();
	for (int b = 0; b < nb; b++) {
		const uint8_t *blk = grp + (size_t)b * Q41_GROUP;
		__m512i alo;

		prefetch(blk, Q41_GROUP);
		alo = _mm512_broadcast_i32x4(
		    _mm_loadu_si128((const __m128i *)a[b].q));
		__m512i ahi = _mm512_broadcast_i32x4(
		    _mm_loadu_si128((const __m128i *)(a[b].q + 16)));
		__m512 ds = _mm512_mul_ps(scales16(blk + 256),
		    _mm512_set1_ps(a[b].d));

		#pragma GCC unroll 4
		for (int j = 0; j < 4; j++) {
			__m512i z = _mm512_loadu_si512(blk + 64 * j);
			__m512i wl = _mm512_and_si512(z, m4);
			__m512i wh = _mm512_and_si512(_mm512_srli_epi16(z, 4), m4);
			__m512 s = spread(ds, 4 * j, 4);

			lo[j] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(
			    _mm512_dpbusd_epi32(_mm512_setzero_si512(), wl, alo)),
			    lo[j]);
			hi[j] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(
			    _mm512_dpbusd_epi32(_mm512_setzero_si512(), wh, ahi)),
			    hi[j]);
		}
		off = _mm512_add_ps(off, _mm512_mul_ps(scales16(blk + 288),
		    _mm512_set1_ps(a[b].s)));
	}
	_mm512_storeu_ps(o, off);
	for (int j = 0; j < 4; j++)
		q4_1_quad_out(lo[j], hi[j], out + 4 * j);
	for (int r = 0; r < 16; r++)
		out[r] += o[r];
}

/* Four activation rows (a, a + nb, ...): out[t * 16 + r]. Each quad's
 * nibbles are unpacked once per block and used four times. */
static void
q4_1_group_4(const uint8_t *grp, const struct qblk *a, int nb, float *out)
{
	const __m512i m4 = _mm512_set1_epi8(15);

	for (int j = 0; j < 4; j++) {
		__m512 lo[4], hi[4];

		#pragma GCC unroll 4
		for (int t = 0; t < 4; t++)
			lo[t] = hi[t] = _mm512_setzero_ps();
		for (int b = 0; b < nb; b++) {
			const uint8_t *blk = grp + (size_t)b * Q41_GROUP;
			__m512i z = _mm512_loadu_si512(blk + 64 * j);
			__m512i wl = _mm512_and_si512(z, m4);
			__m512i wh = _mm512_and_si512(_mm512_srli_epi16(z, 4), m4);
			__m512 sj = spread(scales16(blk + 256), 4 * j, 4);

			#pragma GCC unroll 4
			for (int t = 0; t < 4; t++) {
				const struct qblk *at = a + (size_t)t * nb + b;
				__m512 s = _mm512_mul_ps(sj, _mm512_set1_ps(at->d));

				lo[t] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(
				    _mm512_dpbusd_epi32(_mm512_setzero_si512(), wl,
				    _mm512_broadcast_i32x4(_mm_loadu_si128(
				    (const __m128i *)at->q)))), lo[t]);
				hi[t] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(
				    _mm512_dpbusd_epi32(_mm512_setzero_si512(), wh,
				    _mm512_broadcast_i32x4(_mm_loadu_si128(
				    (const __m128i *)(at->q + 16))))), hi[t]);
			}
		}
		for (int t = 0; t < 4; t++)
			q4_1_quad_out(lo[t], hi[t], out + t * 16 + 4 * j);
	}
	for (int t = 0; t < 4; t++) {
		__m512 off = _mm512_setzero_ps();
		float o[16];

		for (int b = 0; b < nb; b++)
			off = _mm512_add_ps(off, _mm512_mul_ps(
			    scales16(grp + (size_t)b * Q41_GROUP + 288),
			    _mm512_set1_ps(a[(size_t)t * nb + b].s)));
		_mm512_storeu_ps(o, off);
		for (int r = 0; r < 16; r++)
			out[t * 16 + r] += o[r];
	}
}

/* Q5_0: Q4_1's quads of rows with the fifth bits added from byte masks,
 * as unsigned values 0-31; the kernel starts from minus 16 times each
 * quad's activation sum, for the 16 taken off every value. */
static inline __m512i
minus16(__m512i a4)
{
	return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(
	    _mm512_setzero_si512(), _mm512_set1_epi8(16), a4));
}

static inline void
q5_0_quad(const uint8_t *blk, int j, __m512i *wl, __m512i *wh)
{
	const __m512i m4 = _mm512_set1_epi8(15), sixteen = _mm512_set1_epi8(16);
	__m512i z = _mm512_loadu_si512(blk + 64 * j);
	uint64_t ml, mh;

	memcpy(&ml, blk + 256 + 16 * j, 8);
	memcpy(&mh, blk + 256 + 16 * j + 8, 8);
	*wl = _mm512_and_si512(z, m4);
	*wh = _mm512_and_si512(_mm512_srli_epi16(z, 4), m4);
	*wl = _mm512_mask_add_epi8(*wl, _cvtu64_mask64(ml), *wl, sixteen);
	*wh = _mm512_mask_add_epi8(*wh, _cvtu64_mask64(mh), *wh, sixteen);
}

static void
q5_0_group_1(const uint8_t *grp, const struct qblk *a, int nb, float *out)
{
	__m512 lo[4], hi[4];

	#pragma GCC unroll 4
	for (int j = 0; j < 4; j++)
		lo[j] = hi[j] = _mm512_setzero_ps();
	for (int b = 0; b < nb; b++) {
		const uint8_t *blk = grp + (size_t)b * Q50_GROUP;
		__m512i alo;

		prefetch(blk, Q50_GROUP);
		alo = _mm512_broadcast_i32x4(
		    _mm_loadu_si128((const __m128i *)a[b].q));
		__m512i ahi = _mm512_broadcast_i32x4(
		    _mm_loadu_si128((const __m128i *)(a[b].q + 16)));
		__m512i clo = minus16(alo), chi = minus16(ahi);
		__m512 ds = _mm512_mul_ps(scales16(blk + 320),
		    _mm512_set1_ps(a[b].d));

		#pragma GCC unroll 4
		for (int j = 0; j < 4; j++) {
			__m512i wl, wh;
			__m512 s = spread(ds, 4 * j, 4);

			q5_0_quad(blk, j, &wl, &wh);
			lo[j] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(
			    _mm512_dpbusd_epi32(clo, wl, alo)), lo[j]);
			hi[j] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(
			    _mm512_dpbusd_epi32(chi, wh, ahi)), hi[j]);
		}
	}
	for (int j = 0; j < 4; j++)
		q4_1_quad_out(lo[j], hi[j], out + 4 * j);
}

/* T (4 or 8) activation rows (a, a + nb, ...): out[t * 16 + r]. Each
 * quad's levels are unpacked once per block and used T times. corr: each
 * activation block's eight starting values (quad k's sum times -16:
 * quad_corrs), four for the low half, four for the high. */
static inline __attribute__((always_inline)) void
q5_0_group_t(const uint8_t *grp, const struct qblk *a, const int32_t *corr,
	int nb, float *out, int T)
{
	for (int j = 0; j < 4; j++) {
		__m512 lo[8], hi[8];

		#pragma GCC unroll 8
		for (int t = 0; t < T; t++)
			lo[t] = hi[t] = _mm512_setzero_ps();
		for (int b = 0; b < nb; b++) {
			const uint8_t *blk = grp + (size_t)b * Q50_GROUP;
			__m512 sj = spread(scales16(blk + 320), 4 * j, 4);
			__m512i wl, wh;

			q5_0_quad(blk, j, &wl, &wh);
			#pragma GCC unroll 8
			for (int t = 0; t < T; t++) {
				size_t i = (size_t)t * nb + b;
				const struct qblk *at = a + i;
				__m512 s = _mm512_mul_ps(sj, _mm512_set1_ps(at->d));

				lo[t] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(
				    _mm512_dpbusd_epi32(_mm512_broadcast_i32x4(
				    _mm_load_si128((const __m128i *)(corr + 8 * i))),
				    wl, _mm512_broadcast_i32x4(_mm_loadu_si128(
				    (const __m128i *)at->q)))), lo[t]);
				hi[t] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(
				    _mm512_dpbusd_epi32(_mm512_broadcast_i32x4(
				    _mm_load_si128((const __m128i *)(corr + 8 * i +
				    4))), wh, _mm512_broadcast_i32x4(_mm_loadu_si128(
				    (const __m128i *)(at->q + 16))))), hi[t]);
			}
		}
		for (int t = 0; t < T; t++)
			q4_1_quad_out(lo[t], hi[t], out + t * 16 + 4 * j);
	}
}

/* The starting values of n activation blocks: the sum of each quad of
 * values times mul (-16 for Q5_0, -128 for Q8_0), eight a block. As
 * broadcast to a vector they are the old minus16 / q8_0_corr vectors. */
static void
quad_corrs(const struct qblk *a, int n, int mul, int32_t *corr)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < 8; k++)
			corr[8 * i + k] = mul * (a[i].q[4 * k] + a[i].q[4 * k + 1] +
			    a[i].q[4 * k + 2] + a[i].q[4 * k + 3]);
}

/* Q8_0. A 64-byte load is two rows of a block (as q + 128), against
 * [q0-31] twice: row 0's eight lanes, then row 1's. dpbusd of q + 128
 * adds 128 times each quad's activation sum, which `corr` (minus that)
 * takes off as the starting value. */
static inline __m512i
q8_0_corr(__m512i a2)
{
	return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(
	    _mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), a2));
}

static inline __m512i
q8_0_act(const struct qblk *a)
{
	return _mm512_broadcast_i64x4(_mm256_loadu_si256(
	    (const __m256i *)a->q));
}

static void
q8_0_pair_out(__m512 acc, float *out)
{
	float f[16];

	/* each row's lanes 4-7 beside its lanes 0-3 */
	_mm512_storeu_ps(f, hsum_lanes(acc, _mm512_shuffle_f32x4(acc, acc,
	    _MM_SHUFFLE(2, 3, 0, 1))));
	out[0] = f[0];
	out[1] = f[8];
}

static void
q8_0_group_1(const uint8_t *grp, const struct qblk *a, int nb, float *out)
{
	__m512 acc[8];

	#pragma GCC unroll 8
	for (int k = 0; k < 8; k++)
		acc[k] = _mm512_setzero_ps();
	for (int b = 0; b < nb; b++) {
		const uint8_t *blk = grp + (size_t)b * Q80_GROUP;
		__m512i a2 = q8_0_act(a + b), c = q8_0_corr(a2);

		prefetch(blk, Q80_GROUP);
		__m512 ds = _mm512_mul_ps(scales16(blk + 512),
		    _mm512_set1_ps(a[b].d));

		#pragma GCC unroll 8
		for (int k = 0; k < 8; k++)
			acc[k] = _mm512_fmadd_ps(spread(ds, 2 * k, 8),
			    _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(c,
			    _mm512_loadu_si512(blk + 64 * k), a2)), acc[k]);
	}
	for (int k = 0; k < 8; k++)
		q8_0_pair_out(acc[k], out + 2 * k);
}

static inline __attribute__((always_inline)) void
q8_0_group_t(const uint8_t *grp, const struct qblk *a, const int32_t *corr,
	int nb, float *out, int T)
{
	#pragma GCC unroll 2
	for (int k = 0; k < 8; k++) {
		__m512 acc[8];

		#pragma GCC unroll 8
		for (int t = 0; t < T; t++)
			acc[t] = _mm512_setzero_ps();
		for (int b = 0; b < nb; b++) {
			const uint8_t *blk = grp + (size_t)b * Q80_GROUP;
			__m512i z = _mm512_loadu_si512(blk + 64 * k);
			__m512 dk = spread(scales16(blk + 512), 2 * k, 8);

			#pragma GCC unroll 8
			for (int t = 0; t < T; t++) {
				size_t i = (size_t)t * nb + b;
				const struct qblk *at = a + i;

				acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dk,
				    _mm512_set1_ps(at->d)), _mm512_cvtepi32_ps(
				    _mm512_dpbusd_epi32(_mm512_broadcast_i64x4(
				    _mm256_load_si256((const __m256i *)(corr +
				    8 * i))), z, q8_0_act(at))), acc[t]);
			}
		}
		for (int t = 0; t < T; t++)
			q8_0_pair_out(acc[t], out + t * 16 + 2 * k);
	}
}

/* The batch kernels at T = 8 and 4 (T a constant in each). */
static void
q5_0_group_8(const uint8_t *grp, const struct qblk *a, const int32_t *corr,
	int nb, float *out)
{
	q5_0_group_t(grp, a, corr, nb, out, 8);
}

static void
q5_0_group_4(const uint8_t *grp, const struct qblk *a, const int32_t *corr,
	int nb, float *out)
{
	q5_0_group_t(grp, a, corr, nb, out, 4);
}

static void
q8_0_group_8(const uint8_t *grp, const struct qblk *a, const int32_t *corr,
	int nb, float *out)
{
	q8_0_group_t(grp, a, corr, nb, out, 8);
}

static void
q8_0_group_4(const uint8_t *grp, const struct qblk *a, const int32_t *corr,
	int nb, float *out)
{
	q8_0_group_t(grp, a, corr, nb, out, 4);
}

/* The next group's bytes towards L2 while this one is worked on: the
 * hardware prefetcher does not follow the kernels' strided reads. */
static inline void
prefetch_l2(const uint8_t *p, size_t bytes)
{
	for (size_t i = 0; i < bytes; i += 64)
		_mm_prefetch((const char *)p + i, _MM_HINT_T1);
}
#endif

/* Activation rows per pass of the weights (the arranged copy stays in L1
 * and L2 meanwhile). */
enum { ACT_CHUNK = 32 };

int
matmul_packed(const struct mat *w, const void *packed, const struct qblk *qa,
	int n, float *y, int y_stride, int64_t g0, int64_t g1)
{
	int nb = (int)(w->cols / QBLK), q41 = w->type == GGML_Q4_1;
	size_t gb = group_bytes(w->type) * (size_t)nb;

	(void)q41;
#ifdef PACK_SIMD
	float o[8 * PACK_ROWS];
	int32_t *corr = NULL;

	if (!q41 && n >= 4 && !(corr = aligned_alloc(64, 8 * (size_t)ACT_CHUNK *
	    (size_t)nb * sizeof *corr)))
		return -1;
#endif
	for (int t0 = 0; t0 < n; t0 += ACT_CHUNK) {
		int t1 = t0 + ACT_CHUNK < n ? t0 + ACT_CHUNK : n;

#ifdef PACK_SIMD
		if (corr)
			quad_corrs(qa + (size_t)t0 * nb, (t1 - t0) * nb,
			    w->type == GGML_Q5_0 ? -16 : -128, corr);
#endif
		for (int64_t g = g0; g < g1; g++) {
			const uint8_t *grp = (const uint8_t *)packed +
			    (size_t)g * gb;
			int t = t0;

#ifdef PACK_SIMD
			if (t1 - t0 >= 4 && g + 1 < g1)
				prefetch_l2(grp + gb, gb);
			for (int T; t + 4 <= t1; t += T) {
				const struct qblk *at = qa + (size_t)t * nb;
				const int32_t *ct = corr + 8 * (size_t)(t - t0) * nb;

				T = !q41 && t + 8 <= t1 ? 8 : 4;
				if (q41)
					q4_1_group_4(grp, at, nb, o);
				else if (w->type == GGML_Q5_0 && T == 8)
					q5_0_group_8(grp, at, ct, nb, o);
				else if (w->type == GGML_Q5_0)
					q5_0_group_4(grp, at, ct, nb, o);
				else if (T == 8)
					q8_0_group_8(grp, at, ct, nb, o);
				else
					q8_0_group_4(grp, at, ct, nb, o);
				for (int k = 0; k < T; k++)
					memcpy(y + (size_t)(t + k) * y_stride +
					    g * PACK_ROWS, o + k * PACK_ROWS,
					    sizeof(float) * PACK_ROWS);
			}
			for (; t < t1; t++) {
				const struct qblk *at = qa + (size_t)t * nb;

				if (q41)
					q4_1_group_1(grp, at, nb, o);
				else if (w->type == GGML_Q5_0)
					q5_0_group_1(grp, at, nb, o);
				else
					q8_0_group_1(grp, at, nb, o);
				memcpy(y + (size_t)t * y_stride + g * PACK_ROWS,
				    o, sizeof(float) * PACK_ROWS);
			}
#endif
			for (; t < t1; t++)
				for (int r = 0; r < PACK_ROWS; r++)
					y[(size_t)t * y_stride + g * PACK_ROWS +
					    r] = pack_dot_ref(w->type, grp, r,
					    qa + (size_t)t * nb, nb);
		}
	}
#ifdef PACK_SIMD
	free(corr);
#endif
	return 0;
}

int
matmul_packed_ref(const struct mat *w, const void *packed,
	const struct qblk *qa, int n, float *y, int y_stride)
{
	int nb = (int)(w->cols / QBLK);
	size_t gb = group_bytes(w->type) * (size_t)nb;

	for (int t = 0; t < n; t++)
		for (int64_t r = 0; r < w->rows / PACK_ROWS * PACK_ROWS; r++)
			y[(size_t)t * y_stride + r] = pack_dot_ref(w->type,
			    (const uint8_t *)packed + (size_t)(r / PACK_ROWS) *
			    gb, (int)(r % PACK_ROWS), qa + (size_t)t * nb, nb);
	return 0;
}
