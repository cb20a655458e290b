/* quant_k.c: the K-quants, super-blocks of QK_K = 256 values (struct
 * block_q2_K ... block_q6_K in blocks.h, the layouts of ggml-common.h).
 * Plain C dequantizers: the specification the tests hold against
 * llama.cpp's Python reader.
 *
 *   Q2_K  x = d * scale * q2 - dmin * min        (4-bit scale | 4-bit min)
 *   Q3_K  x = d * (scale - 32) * (q2 - (high bit ? 0 : 4))  (6-bit scales)
 *   Q4_K  x = d * scale * q4 - dmin * min        (6-bit scales and mins)
 *   Q5_K  as Q4_K with q5: qh holds the fifth bit of each value
 *   Q6_K  x = d * scale * (q6 - 32)              (8-bit signed scales) */
#include <string.h>

#include "blocks.h"
#include "quant.h"
#include "quant_k.h"

void
dequant_q2_k(const void *vx, float *y, int64_t n)
{
	const struct block_q2_K *b = vx;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		const uint8_t *sc = b->scales, *q = b->qs;
		float d = fp16_to_f32(b->d), min = fp16_to_f32(b->dmin);
		int is = 0;

		for (int half = 0; half < 2; half++, q += 32)
			for (int shift = 0; shift < 8; shift += 2)
				for (int k = 0; k < 2; k++) {
					uint8_t s = sc[is++];
					float dl = d * (float)(s & 15);
					float ml = min * (float)(s >> 4);

					for (int l = 0; l < 16; l++)
						*y++ = dl * (float)(q[l + 16 * k] >>
						    shift & 3) - ml;
				}
	}
}

/* The 16 6-bit scales of Q3_K, unpacked from 12 bytes. */
static void
q3_scales(const uint8_t *s, int8_t out[16])
{
	for (int j = 0; j < 16; j++) {
		int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
		int hi = s[8 + j % 4] >> (2 * (j / 4)) & 3;

		out[j] = (int8_t)((lo | hi << 4) - 32);
	}
}

void
dequant_q3_k(const void *vx, float *y, int64_t n)
{
	const struct block_q3_K *b = vx;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		const uint8_t *hm = b->hmask, *q = b->qs;
		float d = fp16_to_f32(b->d);
		int8_t sc[16];
		int is = 0;
		uint8_t m = 1;

		q3_scales(b->scales, sc);
		for (int half = 0; half < 2; half++, q += 32)
			for (int shift = 0; shift < 8; shift += 2, m <<= 1)
				for (int k = 0; k < 2; k++) {
					float dl = d * (float)sc[is++];

					for (int l = 0; l < 16; l++)
						*y++ = dl * (float)((int)(q[l + 16 * k] >>
						    shift & 3) - (hm[l + 16 * k] & m ?
						    0 : 4));
				}
	}
}

/* Scale and min j (0..7) of Q4_K/Q5_K, 6 bits each, from 12 bytes. */
static void
scale_min_k4(int j, const uint8_t *q, float *sc, float *m)
{
	if (j < 4) {
		*sc = (float)(q[j] & 63);
		*m = (float)(q[j + 4] & 63);
	} else {
		*sc = (float)((q[j + 4] & 15) | (q[j - 4] >> 6) << 4);
		*m = (float)((q[j + 4] >> 4) | (q[j] >> 6) << 4);
	}
}

void
dequant_q4_k(const void *vx, float *y, int64_t n)
{
	const struct block_q4_K *b = vx;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		const uint8_t *q = b->qs;
		float d = fp16_to_f32(b->d), min = fp16_to_f32(b->dmin);

		for (int j = 0; j < 8; j += 2, q += 32) {
			float s1, m1, s2, m2;

			scale_min_k4(j, b->scales, &s1, &m1);
			scale_min_k4(j + 1, b->scales, &s2, &m2);
			for (int l = 0; l < 32; l++)
				*y++ = d * s1 * (float)(q[l] & 15) - min * m1;
			for (int l = 0; l < 32; l++)
				*y++ = d * s2 * (float)(q[l] >> 4) - min * m2;
		}
	}
}

void
dequant_q5_k(const void *vx, float *y, int64_t n)
{
	const struct block_q5_K *b = vx;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		const uint8_t *qh = b->qh, *q = b->qs;
		float d = fp16_to_f32(b->d), min = fp16_to_f32(b->dmin);
		uint8_t u1 = 1, u2 = 2;

		for (int j = 0; j < 8; j += 2, q += 32, u1 <<= 2, u2 <<= 2) {
			float s1, m1, s2, m2;

			scale_min_k4(j, b->scales, &s1, &m1);
			scale_min_k4(j + 1, b->scales, &s2, &m2);
			for (int l = 0; l < 32; l++)
				*y++ = d * s1 * (float)((q[l] & 15) +
				    (qh[l] & u1 ? 16 : 0)) - min * m1;
			for (int l = 0; l < 32; l++)
				*y++ = d * s2 * (float)((q[l] >> 4) +
				    (qh[l] & u2 ? 16 : 0)) - min * m2;
		}
	}
}

void
dequant_q6_k(const void *vx, float *y, int64_t n)
{
	const struct block_q6_K *b = vx;

	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		const uint8_t *ql = b->ql, *qh = b->qh;
		const int8_t *sc = b->scales;
		float d = fp16_to_f32(b->d);

		for (int half = 0; half < 2; half++, y += 128, ql += 64,
		    qh += 32, sc += 8)
			for (int l = 0; l < 32; l++) {
				int is = l / 16;
				int q1 = ((ql[l] & 15) | (qh[l] & 3) << 4) - 32;
				int q2 = ((ql[l + 32] & 15) | (qh[l] >> 2 & 3) << 4) - 32;
				int q3 = (ql[l] >> 4 | (qh[l] >> 4 & 3) << 4) - 32;
				int q4 = (ql[l + 32] >> 4 | (qh[l] >> 6 & 3) << 4) - 32;

				y[l] = d * (float)sc[is] * (float)q1;
				y[l + 32] = d * (float)sc[is + 2] * (float)q2;
				y[l + 64] = d * (float)sc[is + 4] * (float)q3;
				y[l + 96] = d * (float)sc[is + 6] * (float)q4;
			}
	}
}
