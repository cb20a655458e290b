/* quant_k.c: the K-quants, super-blocks of QK_K = 256 values (layouts of
 * ggml-common.h). Plain C dequantizers: the specification the tests hold
 * against llama.cpp's Python reader.
 *
 *   Q2_K  u8 scales[16] (4-bit scale | 4-bit min), u8 qs[64], fp16 d, dmin
 *         x = d * scale * q2 - dmin * min                       2.625 bpw
 *   Q3_K  u8 hmask[32], u8 qs[64], u8 scales[12] (16 x 6 bits), fp16 d
 *         x = d * (scale - 32) * (q2 - (high bit ? 0 : 4))     3.4375 bpw
 *   Q4_K  fp16 d, dmin, u8 scales[12] (8 x 6-bit scale, min), u8 qs[128]
 *         x = d * scale * q4 - dmin * min                       4.5 bpw
 *   Q5_K  as Q4_K plus u8 qh[32]: the fifth bit of each value   5.5 bpw
 *   Q6_K  u8 ql[128], u8 qh[64], i8 scales[16], fp16 d
 *         x = d * scale * (q6 - 32)                             6.5625 bpw */
#include <string.h>

#include "quant.h"
#include "quant_k.h"

#define QK_K 256

static float
h2f(const uint8_t *p)
{
	return fp16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

void
dequant_q2_k(const void *vx, float *y, int64_t n)
{
	const uint8_t *b = vx;

	for (int64_t i = 0; i < n / QK_K; i++, b += 84) {
		const uint8_t *sc = b, *q = b + 16;
		float d = h2f(b + 80), min = h2f(b + 82);
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
	const uint8_t *b = vx;

	for (int64_t i = 0; i < n / QK_K; i++, b += 110) {
		const uint8_t *hm = b, *q = b + 32;
		float d = h2f(b + 108);
		int8_t sc[16];
		int is = 0;
		uint8_t m = 1;

		q3_scales(b + 96, sc);
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
	const uint8_t *b = vx;

	for (int64_t i = 0; i < n / QK_K; i++, b += 144) {
		const uint8_t *q = b + 16;
		float d = h2f(b), min = h2f(b + 2);

		for (int j = 0; j < 8; j += 2, q += 32) {
			float s1, m1, s2, m2;

			scale_min_k4(j, b + 4, &s1, &m1);
			scale_min_k4(j + 1, b + 4, &s2, &m2);
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
	const uint8_t *b = vx;

	for (int64_t i = 0; i < n / QK_K; i++, b += 176) {
		const uint8_t *qh = b + 16, *q = b + 48;
		float d = h2f(b), min = h2f(b + 2);
		uint8_t u1 = 1, u2 = 2;

		for (int j = 0; j < 8; j += 2, q += 32, u1 <<= 2, u2 <<= 2) {
			float s1, m1, s2, m2;

			scale_min_k4(j, b + 4, &s1, &m1);
			scale_min_k4(j + 1, b + 4, &s2, &m2);
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
	const uint8_t *b = vx;

	for (int64_t i = 0; i < n / QK_K; i++, b += 210) {
		const uint8_t *ql = b, *qh = b + 128;
		const int8_t *sc = (const int8_t *)(b + 192);
		float d = h2f(b + 208);

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
