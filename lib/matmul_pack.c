/* matmul_pack.c: Q4_1 and Q8_0 matrices repacked at load into groups of 16
 * rows, so one pass over an activation block feeds 16 output rows, and
 * their kernels.
 *
 * A group holds, block by block, the 16 rows' blocks side by side:
 *   Q4_1: qs[16][16], d[16], m[16]             320 bytes (16 x 20)
 *   Q8_0: qs[16][32] as q + 128 (unsigned), d[16]  544 bytes (16 x 34)
 * so a group is one sequential stream and nothing is added to the file's
 * bytes.
 *
 * Each row keeps the summation order of the row-at-a-time x86 kernels
 * (matmul.c), which is ggml's: per block, eight float lanes, lane i taking
 * the integer dot of quad i of the unpacked block (Q4_1: the low nibbles
 * are values 0-15, the high ones 16-31), times d_w * d_a, fused-added
 * into the lane; the lanes summed as hsum() does at the end; Q4_1's
 * m_w * s_a summed on the side and added last. Integer sums are exact,
 * so any order of them is the same; the float steps are not reordered.
 * pack_dot_ref is that order in portable C, the reference the SIMD kernel
 * is tested against (t/kernel-test.c). */
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "matmul.h"
#include "quant.h"

#if defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>
#define PACK_SIMD 1
#endif

enum { Q41_GROUP = PACK_ROWS * 20, Q80_GROUP = PACK_ROWS * 34 };

static int pack_off;

void
matmul_pack_force_off(int on)
{
	pack_off = on;
}

static size_t
group_bytes(uint32_t type)
{
	return type == GGML_Q4_1 ? Q41_GROUP : type == GGML_Q8_0 ? Q80_GROUP : 0;
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
/* Lanes of the 2-row accumulators back into each row's eight lanes. The
 * Q4_1 registers hold [r0 0-3 | r1 0-3 | r0 4-7 | r1 4-7], the Q8_0 ones
 * [r0 0-7 | r1 0-7]. */
static void
pair_out(uint32_t type, __m512 acc, float *o0, float *o1)
{
	float f[16], l0[8], l1[8];

	_mm512_storeu_ps(f, acc);
	if (type == GGML_Q4_1)
		for (int i = 0; i < 4; i++) {
			l0[i] = f[i];
			l0[4 + i] = f[8 + i];
			l1[i] = f[4 + i];
			l1[4 + i] = f[12 + i];
		}
	else
		for (int i = 0; i < 8; i++) {
			l0[i] = f[i];
			l1[i] = f[8 + i];
		}
	*o0 = hsum8(l0);
	*o1 = hsum8(l1);
}

/* The activation blocks of n rows as the kernels load them: Q4_1 wants
 * [q0-15 | q0-15 | q16-31 | q16-31], Q8_0 [q0-31 | q0-31]. */
static void
arrange(uint32_t type, const struct qblk *a, int nb, int n, __m512i *out)
{
	for (int i = 0; i < n * nb; i++) {
		__m512i z = _mm512_castsi256_si512(
		    _mm256_loadu_si256((const __m256i *)a[i].q));

		out[i] = type == GGML_Q4_1 ?
		    _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(1, 1, 0, 0)) :
		    _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(1, 0, 1, 0));
	}
}

/* Pair k's scales from the 16 rows' products d_w * d_a. */
static inline __m512
pair_scale(uint32_t type, __m512 ds, int k)
{
	__m512i idx = type == GGML_Q4_1 ?
	    _mm512_set_epi32(2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1,
	    2 * k, 2 * k, 2 * k, 2 * k, 2 * k + 1, 2 * k + 1, 2 * k + 1,
	    2 * k + 1, 2 * k, 2 * k, 2 * k, 2 * k) :
	    _mm512_set_epi32(2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1,
	    2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k, 2 * k, 2 * k,
	    2 * k, 2 * k, 2 * k, 2 * k, 2 * k);

	return _mm512_permutexvar_ps(idx, ds);
}

/* Pair k's weights of one block as unsigned bytes lined up with the
 * arranged activations. */
static inline __m512i
pair_weights(uint32_t type, const uint8_t *blk, int k)
{
	if (type == GGML_Q4_1) {
		__m512i z = _mm512_broadcast_i64x4(
		    _mm256_loadu_si256((const __m256i *)(blk + k * 32)));

		z = _mm512_srlv_epi64(z, _mm512_set_epi64(4, 4, 4, 4, 0, 0,
		    0, 0));
		return _mm512_and_si512(z, _mm512_set1_epi8(15));
	}
	return _mm512_loadu_si512(blk + k * 64);
}

/* Q8_0's weights are q + 128: dpbusd of them gives the dot plus 128 times
 * each quad's activation sum, taken off by starting from minus that. */
static inline __m512i
start(uint32_t type, __m512i aq)
{
	if (type == GGML_Q4_1)
		return _mm512_setzero_si512();
	return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(
	    _mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), aq));
}

static inline __m512
scales16(const uint8_t *p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/* One activation row: 16 outputs. */
static void
group_1(uint32_t type, const uint8_t *grp, const struct qblk *a,
	const __m512i *aq, int nb, float *out)
{
	size_t gb = group_bytes(type);
	int doff = type == GGML_Q4_1 ? 256 : 512;
	__m512 acc[8], off = _mm512_setzero_ps();
	float o[16];

	for (int k = 0; k < 8; k++)
		acc[k] = _mm512_setzero_ps();
	for (int b = 0; b < nb; b++) {
		const uint8_t *blk = grp + (size_t)b * gb;
		__m512 ds = _mm512_mul_ps(scales16(blk + doff),
		    _mm512_set1_ps(a[b].d));
		__m512i z = start(type, aq[b]);

		for (int k = 0; k < 8; k++) {
			__m512i p = _mm512_dpbusd_epi32(z,
			    pair_weights(type, blk, k), aq[b]);

			acc[k] = _mm512_fmadd_ps(pair_scale(type, ds, k),
			    _mm512_cvtepi32_ps(p), acc[k]);
		}
		if (type == GGML_Q4_1)
			off = _mm512_add_ps(off, _mm512_mul_ps(
			    scales16(blk + 288), _mm512_set1_ps(a[b].s)));
	}
	_mm512_storeu_ps(o, off);
	for (int k = 0; k < 8; k++) {
		pair_out(type, acc[k], &out[2 * k], &out[2 * k + 1]);
		out[2 * k] += o[2 * k];
		out[2 * k + 1] += o[2 * k + 1];
	}
}

/* Four activation rows (a, a + nb, ...): out[t * 16 + r]. Each pair's
 * weights are unpacked once per block and used four times. */
static void
group_4(uint32_t type, const uint8_t *grp, const struct qblk *a,
	const __m512i *aq, int nb, float *out)
{
	size_t gb = group_bytes(type);
	int doff = type == GGML_Q4_1 ? 256 : 512;

	for (int k = 0; k < 8; k++) {
		__m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(),
		    _mm512_setzero_ps(), _mm512_setzero_ps() };

		for (int b = 0; b < nb; b++) {
			const uint8_t *blk = grp + (size_t)b * gb;
			__m512i w = pair_weights(type, blk, k);
			__m512 dk = pair_scale(type, scales16(blk + doff), k);

			for (int t = 0; t < 4; t++) {
				const __m512i *at = aq + (size_t)t * nb + b;
				__m512i p = _mm512_dpbusd_epi32(start(type, *at),
				    w, *at);
				__m512 s = _mm512_mul_ps(dk,
				    _mm512_set1_ps(a[(size_t)t * nb + b].d));

				acc[t] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(p),
				    acc[t]);
			}
		}
		for (int t = 0; t < 4; t++)
			pair_out(type, acc[t], &out[t * 16 + 2 * k],
			    &out[t * 16 + 2 * k + 1]);
	}
	if (type != GGML_Q4_1)
		return;
	for (int t = 0; t < 4; t++) {
		__m512 off = _mm512_setzero_ps();
		float o[16];

		for (int b = 0; b < nb; b++)
			off = _mm512_add_ps(off, _mm512_mul_ps(
			    scales16(grp + (size_t)b * gb + 288),
			    _mm512_set1_ps(a[(size_t)t * nb + b].s)));
		_mm512_storeu_ps(o, off);
		for (int r = 0; r < 16; r++)
			out[t * 16 + r] += o[r];
	}
}
#endif

/* Activation rows per pass of the weights (the arranged copy stays in L1
 * and L2 meanwhile). */
enum { ACT_CHUNK = 32 };

int
matmul_packed(const struct mat *w, const void *packed, const struct qblk *qa,
	int n, float *y, int y_stride, int64_t g0, int64_t g1)
{
	int nb = (int)(w->cols / QBLK);
	size_t gb = group_bytes(w->type) * (size_t)nb;
	float o[4 * PACK_ROWS];
#ifdef PACK_SIMD
	__m512i *aq = aligned_alloc(64, (size_t)ACT_CHUNK * (size_t)nb *
	    sizeof *aq);

	if (!aq)
		return -1;
#endif
	for (int t0 = 0; t0 < n; t0 += ACT_CHUNK) {
		int t1 = t0 + ACT_CHUNK < n ? t0 + ACT_CHUNK : n;
		const struct qblk *a0 = qa + (size_t)t0 * nb;

#ifdef PACK_SIMD
		arrange(w->type, a0, nb, t1 - t0, aq);
#endif
		for (int64_t g = g0; g < g1; g++) {
			const uint8_t *grp = (const uint8_t *)packed +
			    (size_t)g * gb;
			int t = t0;

#ifdef PACK_SIMD
			for (; t + 4 <= t1; t += 4) {
				group_4(w->type, grp, qa + (size_t)t * nb,
				    aq + (size_t)(t - t0) * nb, nb, o);
				for (int k = 0; k < 4; k++)
					memcpy(y + (size_t)(t + k) * y_stride +
					    g * PACK_ROWS, o + k * PACK_ROWS,
					    sizeof(float) * PACK_ROWS);
			}
			for (; t < t1; t++) {
				group_1(w->type, grp, qa + (size_t)t * nb,
				    aq + (size_t)(t - t0) * nb, nb, o);
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
	free(aq);
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
