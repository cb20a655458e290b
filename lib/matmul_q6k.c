/* matmul_q6k.c: Q6_K matrices from a packed layout, AVX-512 VNNI builds
 * (pack_k in matmul_k.c calls q6k_pack; matmul_k_rows calls
 * q6k_packed_rows). Sixteen weight rows sit side by side, one a 32-bit
 * lane of a vector, so no sum crosses lanes, and each unpacked word of
 * levels serves several activation rows. The integer sums are exact, so
 * they are taken in whatever order suits the registers; every float step
 * is the file-layout kernels' (matmul_k.c's reference, ggml's kernels), in
 * their order:
 *   n < TILED_MIN: ggml's eight lanes (lane j over the values with index
 *     % 32 in 4j..4j+3, less 32 times the scaled activation sums of groups
 *     2j and 2j+1), fused-added per block as fmaf(a.d * d, lane, acc),
 *     hsum8 of the lanes at the end, plus 0;
 *   n >= TILED_MIN: acc = fmaf((float)s1 * d, a.d, acc) per block, s1 the
 *     block's sum of scale times level times activation.
 * The levels are the file's bytes, word k (bytes 4k..4k+3) of each row
 * side by side: value 32c + 4j + b (c = 4h + cc, b < 4) has its low four
 * bits in ql word 16h + 8 * (cc & 1) + j (low nibble for cc < 2, high
 * otherwise) and its high two in qh word 8h + j (bits 2cc, 2cc + 1).
 * Unpacked, a level is q + 32 (0..63, unsigned, as vpdpbusd wants one
 * side); the 32 comes back out through the activation sums (bsums). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#include <immintrin.h>
#define Q6K_PACKED 1
#endif

#include "blocks.h"
#include "matmul.h"
#include "quant.h"

enum { TILED_MIN = 8 };         /* ggml_tiled_min_batch, as matmul_k.c */

/* One block of PACK_ROWS rows. */
struct q6k_pack {
	uint32_t ql[32][PACK_ROWS];     /* word k of each row's ql */
	uint32_t qh[16][PACK_ROWS];     /* word k of each row's qh */
	int8_t sc[16][PACK_ROWS];       /* scale of group g */
	uint16_t d[PACK_ROWS];          /* fp16, as in the file */
	uint8_t pad[32];                /* to whole cache lines */
};
_Static_assert(sizeof(struct q6k_pack) == 3392, "q6k_pack: 3392 bytes");

size_t
q6k_pack_size(const struct mat *w)
{
#ifdef Q6K_PACKED
	if (w->type == GGML_Q6_K && w->rows >= PACK_ROWS)
		return (size_t)(w->rows / PACK_ROWS) * (size_t)(w->cols / QK_K) *
		    sizeof(struct q6k_pack);
#else
	(void)w;
#endif
	return 0;
}

void
q6k_pack(const struct mat *w, void *out)
{
	int nb = (int)(w->cols / QK_K);
	struct q6k_pack *pk = out;

	if (!q6k_pack_size(w))
		return;
	for (int64_t g = 0; g < w->rows / PACK_ROWS; g++)
	for (int i = 0; i < nb; i++, pk++) {
		memset(pk->pad, 0, sizeof pk->pad);
		for (int l = 0; l < PACK_ROWS; l++) {
			const struct block_q6_K *b = (const struct block_q6_K *)
			    ((const uint8_t *)w->data + (g * PACK_ROWS + l) *
			    w->row_bytes) + i;

			for (int k = 0; k < 32; k++)
				memcpy(&pk->ql[k][l], b->ql + 4 * k, 4);
			for (int k = 0; k < 16; k++)
				memcpy(&pk->qh[k][l], b->qh + 4 * k, 4);
			for (int s = 0; s < 16; s++)
				pk->sc[s][l] = b->scales[s];
			pk->d[l] = b->d;
		}
	}
}

#ifdef Q6K_PACKED
/* Loops over activation rows, groups and words are unrolled, so that
 * every index is a constant and every sum a register (GCC -O2 leaves
 * them rolled, the sums in memory: half the speed). */
#define UNROLL _Pragma("GCC unroll 16")

static inline __m512i
ld(const void *p)
{
	return _mm512_loadu_si512(p);
}

/* Four activation bytes as a broadcast word. */
static inline __m512i
act4(const int8_t *q)
{
	int32_t x;

	memcpy(&x, q, 4);
	return _mm512_set1_epi32(x);
}

/* The levels of word j of chunk c (values 32c + 4j..+3) of the 16 rows,
 * one row a 32-bit lane. 16-bit shifts are safe: the masks (and vpermb's
 * six bits of index) keep one byte's bits. */
static inline __attribute__((always_inline)) __m512i
q6k_word(const struct q6k_pack *pk, int c, int j)
{
	int h = c / 4, cc = c % 4;
	__m512i l = ld(pk->ql[16 * h + 8 * (cc & 1) + j]);
	__m512i hb = ld(pk->qh[8 * h + j]);

	if (cc >= 2)
		l = _mm512_srli_epi16(l, 4);
#ifdef __AVX512VBMI__
	/* the two bits to bits 4-5 through a table (vpermb runs beside the
	 * shifts): bits 0-1, 2-3 or 4-5 of the index; 6-7 shifted to 4-5 */
	if (cc == 3)
		hb = _mm512_srli_epi16(hb, 2);
	hb = _mm512_permutexvar_epi8(hb, cc == 0 ? _mm512_set_epi32(
	    0x30201000, 0x30201000, 0x30201000, 0x30201000, 0x30201000,
	    0x30201000, 0x30201000, 0x30201000, 0x30201000, 0x30201000,
	    0x30201000, 0x30201000, 0x30201000, 0x30201000, 0x30201000,
	    0x30201000) : cc == 1 ? _mm512_set_epi32(
	    0x30303030, 0x20202020, 0x10101010, 0x00000000, 0x30303030,
	    0x20202020, 0x10101010, 0x00000000, 0x30303030, 0x20202020,
	    0x10101010, 0x00000000, 0x30303030, 0x20202020, 0x10101010,
	    0x00000000) : _mm512_set_epi32(
	    0x30303030, 0x30303030, 0x30303030, 0x30303030, 0x20202020,
	    0x20202020, 0x20202020, 0x20202020, 0x10101010, 0x10101010,
	    0x10101010, 0x10101010, 0, 0, 0, 0));
#else
	if (cc == 0)
		hb = _mm512_slli_epi16(hb, 4);
	else if (cc == 1)
		hb = _mm512_slli_epi16(hb, 2);
	else if (cc == 3)
		hb = _mm512_srli_epi16(hb, 2);
	hb = _mm512_and_si512(hb, _mm512_set1_epi8(0x30));
#endif
	/* (l & 0x0f) | hb */
	return _mm512_ternarylogic_epi32(l, hb, _mm512_set1_epi8(0x0f), 0xec);
}

/* ggml's hsum_float_8 of eight vectors of lanes, row by row: halves
 * added, then pairs, then the last two. */
static inline __m512
hsum8_rows(const __m512 *v)
{
	__m512 r0 = _mm512_add_ps(v[0], v[4]), r1 = _mm512_add_ps(v[1], v[5]);
	__m512 r2 = _mm512_add_ps(v[2], v[6]), r3 = _mm512_add_ps(v[3], v[7]);

	return _mm512_add_ps(_mm512_add_ps(r0, r2), _mm512_add_ps(r1, r3));
}

/* A group of the packed layout (pk, nb blocks) against T < TILED_MIN
 * activation rows a (row t at a + t * nb) in ggml's eight lanes: the 16
 * rows' results into y + t * y_stride. Lane j of a block is
 * sum over c of scale[2c + j/4] * dot(word j of chunk c), each word's
 * scale a different one, so the products are taken in 16 bits
 * (vpmaddubsw, pairs within 2 * 63 * 128) and scaled as they are added
 * (vpdpwssd); the lane starts at -32 times the scaled sums of groups 2j
 * and 2j+1 (ggml's fold of the offset). */
static inline __attribute__((always_inline)) void
q6k_lanes_set(const struct q6k_pack *pk, const struct q8k *a, int nb, int T,
	float *y, int y_stride)
{
	/* word 2l and 2l+1 of a vector: the int16 of row l */
	const __m512i dup = _mm512_set_epi16(15, 15, 14, 14, 13, 13, 12, 12,
	    11, 11, 10, 10, 9, 9, 8, 8, 7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2,
	    1, 1, 0, 0);
	/* words 2l and 2l+1: row l of the first vector, of the second */
	const __m512i zip = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12,
	    43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6, 37, 5, 36, 4, 35, 3,
	    34, 2, 33, 1, 32, 0);
	__m512 acc[TILED_MIN - 1][8];

	UNROLL
	for (int t = 0; t < T; t++)
		UNROLL
		for (int j = 0; j < 8; j++)
			acc[t][j] = _mm512_setzero_ps();
	for (int i = 0; i < nb; i++, pk++) {
		__m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(
		    (const __m256i *)pk->d));
		__m512i s16[16], sp[16];
		__m512 dd[TILED_MIN - 1];

		UNROLL
		for (int t = 0; t < T; t++)
			dd[t] = _mm512_mul_ps(_mm512_set1_ps(a[(size_t)t * nb +
			    i].d), d);
		UNROLL
		for (int g = 0; g < 16; g++) {
			s16[g] = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(
			    _mm_loadu_si128((const __m128i *)pk->sc[g])));
			sp[g] = _mm512_permutexvar_epi16(dup, s16[g]);
		}
		UNROLL
		for (int j = 0; j < 8; j++) {
			/* -32 * (scale 2j, scale 2j+1) of each row */
			__m512i m = _mm512_sub_epi16(_mm512_setzero_si512(),
			    _mm512_slli_epi16(_mm512_permutex2var_epi16(
			    s16[2 * j], zip, s16[2 * j + 1]), 5));
			__m512i lane[TILED_MIN - 1];

			UNROLL
			for (int t = 0; t < T; t++) {
				int32_t b2;

				memcpy(&b2, a[(size_t)t * nb + i].bsums + 2 * j, 4);
				lane[t] = _mm512_dpwssd_epi32(_mm512_setzero_si512(),
				    m, _mm512_set1_epi32(b2));
			}
			UNROLL
			for (int c = 0; c < 8; c++) {
				__m512i wv = q6k_word(pk, c, j);
				__m512i sc = sp[2 * c + j / 4];

				UNROLL
				for (int t = 0; t < T; t++)
					lane[t] = _mm512_dpwssd_epi32(lane[t],
					    _mm512_maddubs_epi16(wv, act4(a[(size_t)t *
					    nb + i].q + 32 * c + 4 * j)), sc);
			}
			UNROLL
			for (int t = 0; t < T; t++)
				acc[t][j] = _mm512_fmadd_ps(dd[t],
				    _mm512_cvtepi32_ps(lane[t]), acc[t][j]);
		}
	}
	/* the reference adds its zero sum of mins */
	UNROLL
	for (int t = 0; t < T; t++)
		_mm512_storeu_ps(y + (size_t)t * y_stride, _mm512_add_ps(
		    hsum8_rows(acc[t]), _mm512_setzero_ps()));
}

/* A group of the packed layout against T <= TILED_MIN activation rows in
 * the tiled kernel's order: per group of 16 values, the exact dot of the
 * levels (q + 32) with the activations, started at -32 times the
 * group's activation sum (bias, 16 a block, row t at bias + 16 * t * nb),
 * times the group's scale (vpmulld), summed into s1. The rows' float sums
 * are kept in y (registers would spill). */
static inline __attribute__((always_inline)) void
q6k_tiled_set(const struct q6k_pack *pk, const struct q8k *a,
	const int32_t *bias, int nb, int T, float *y, int y_stride)
{
	UNROLL
	for (int t = 0; t < T; t++)
		_mm512_storeu_ps(y + (size_t)t * y_stride, _mm512_setzero_ps());
	for (int i = 0; i < nb; i++, pk++) {
		__m512i s1[TILED_MIN];
		__m512 d;

		UNROLL
		for (int t = 0; t < T; t++)
			s1[t] = _mm512_setzero_si512();
		UNROLL
		for (int g = 0; g < 16; g++) {
			int c = g / 2, j0 = 4 * (g % 2);
			__m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(
			    (const __m128i *)pk->sc[g]));
			__m512i dot[TILED_MIN];

			UNROLL
			for (int t = 0; t < T; t++)
				dot[t] = _mm512_set1_epi32(bias[16 *
				    ((size_t)t * nb + i) + g]);
			UNROLL
			for (int j = j0; j < j0 + 4; j++) {
				__m512i wv = q6k_word(pk, c, j);

				UNROLL
				for (int t = 0; t < T; t++)
					dot[t] = _mm512_dpbusd_epi32(dot[t], wv,
					    act4(a[(size_t)t * nb + i].q + 32 * c +
					    4 * j));
			}
			UNROLL
			for (int t = 0; t < T; t++)
				s1[t] = _mm512_add_epi32(s1[t],
				    _mm512_mullo_epi32(dot[t], sc));
		}
		d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)pk->d));
		UNROLL
		for (int t = 0; t < T; t++) {
			float *yt = y + (size_t)t * y_stride;

			_mm512_storeu_ps(yt, _mm512_fmadd_ps(_mm512_mul_ps(
			    _mm512_cvtepi32_ps(s1[t]), d), _mm512_set1_ps(
			    a[(size_t)t * nb + i].d), _mm512_loadu_ps(yt)));
		}
	}
}

/* The sets by their size, each compiled for its T. */
static void
lanes_set(const struct q6k_pack *pk, const struct q8k *a, int nb, int T,
	float *y, int y_stride)
{
	switch (T) {
	case 1: q6k_lanes_set(pk, a, nb, 1, y, y_stride); break;
	case 2: q6k_lanes_set(pk, a, nb, 2, y, y_stride); break;
	case 3: q6k_lanes_set(pk, a, nb, 3, y, y_stride); break;
	case 4: q6k_lanes_set(pk, a, nb, 4, y, y_stride); break;
	case 5: q6k_lanes_set(pk, a, nb, 5, y, y_stride); break;
	case 6: q6k_lanes_set(pk, a, nb, 6, y, y_stride); break;
	default: q6k_lanes_set(pk, a, nb, 7, y, y_stride); break;
	}
}

static void
tiled_set(const struct q6k_pack *pk, const struct q8k *a,
	const int32_t *bias, int nb, int T, float *y, int y_stride)
{
	switch (T) {
	case 1: q6k_tiled_set(pk, a, bias, nb, 1, y, y_stride); break;
	case 2: q6k_tiled_set(pk, a, bias, nb, 2, y, y_stride); break;
	case 3: q6k_tiled_set(pk, a, bias, nb, 3, y, y_stride); break;
	case 4: q6k_tiled_set(pk, a, bias, nb, 4, y, y_stride); break;
	case 5: q6k_tiled_set(pk, a, bias, nb, 5, y, y_stride); break;
	case 6: q6k_tiled_set(pk, a, bias, nb, 6, y, y_stride); break;
	case 7: q6k_tiled_set(pk, a, bias, nb, 7, y, y_stride); break;
	default: q6k_tiled_set(pk, a, bias, nb, 8, y, y_stride); break;
	}
}

int
q6k_packed_rows(const struct mat *w, const void *pack, const struct q8k *qa,
	int n, float *y, int y_stride, int64_t r0, int64_t r1)
{
	enum { CHUNK = MATMUL_K_MAX_N };
	int nb = (int)(w->cols / QK_K);
	int32_t *bias = NULL;

	if (n <= 0)
		return 0;
	if (n < TILED_MIN) {
		for (int64_t r = r0; r < r1; r += PACK_ROWS)
			lanes_set((const struct q6k_pack *)pack +
			    (size_t)(r / PACK_ROWS) * nb, qa, nb, n, y + r,
			    y_stride);
		return 0;
	}
	if (!(bias = malloc(sizeof(int32_t) * 16 * (size_t)(n < CHUNK ? n :
	    CHUNK) * (size_t)nb)))
		return -1;
	/* activation rows CHUNK a pass, so that theirs stay in cache while
	 * the weights go by */
	for (int t0 = 0; t0 < n; t0 += CHUNK) {
		int m = n - t0 < CHUNK ? n - t0 : CHUNK;

		for (int b = 0; b < m * nb; b++)
			for (int g = 0; g < 16; g++)
				bias[16 * b + g] = -32 * qa[(size_t)t0 * nb +
				    b].bsums[g];
		for (int64_t r = r0; r < r1; r += PACK_ROWS) {
			const struct q6k_pack *pk = (const struct q6k_pack *)pack +
			    (size_t)(r / PACK_ROWS) * nb;

			for (int t = t0; t < t0 + m; t += TILED_MIN)
				tiled_set(pk, qa + (size_t)t * nb, bias + 16 *
				    (size_t)(t - t0) * nb, nb, t0 + m - t <
				    TILED_MIN ? t0 + m - t : TILED_MIN,
				    y + (size_t)t * y_stride + r, y_stride);
		}
	}
	free(bias);
	return 0;
}
#else
int
q6k_packed_rows(const struct mat *w, const void *pack, const struct q8k *qa,
	int n, float *y, int y_stride, int64_t r0, int64_t r1)
{
	(void)w;
	(void)pack;
	(void)qa;
	(void)n;
	(void)y;
	(void)y_stride;
	(void)r0;
	(void)r1;
	return -1;
}
#endif
