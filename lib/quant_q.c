/* quant_q.c: the float types and the 32-value block types (struct
 * block_q4_0 ... block_q8_0 in blocks.h, the layouts of ggml-common.h):
 * plain C dequantizers, the specification every kernel is tested against,
 * and the reference quantizers, which give llama.cpp's quantize_row_*_ref
 * blocks bit for bit (t/quant.bats).
 *
 *   Q4_0  x = d * (q4 - 8)          Q4_1  x = d * q4 + m
 *   Q5_0  x = d * (q5 - 16)         Q5_1  x = d * q5 + m
 *   Q8_0  x = d * q8
 *
 * where value j < 16 is the low nibble of qs[j], value j + 16 the high one,
 * and bit j of the little-endian 32 bits of qh is value j's fifth bit.
 *
 * The quantizers depend on float evaluation order: the Makefile compiles
 * with -std=c11, which keeps GCC from fusing multiply-adds. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "blocks.h"
#include "quant.h"
#include "quant_q.h"

#define QK 32                   /* QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0 */

/* F16 values, little-endian byte by byte (F16 is not a block type). */
static float
h2f(const uint8_t *p)
{
	return fp16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

static void
f2h(uint8_t *p, float f)
{
	uint16_t h = f32_to_fp16(f);

	p[0] = (uint8_t)h;
	p[1] = (uint8_t)(h >> 8);
}

/* ---- float types ---- */

void
dequant_f32(const void *x, float *y, int64_t n)
{
	memcpy(y, x, (size_t)n * 4);
}

void
quant_f32(const float *x, void *y, int64_t n)
{
	memcpy(y, x, (size_t)n * 4);
}

void
dequant_f16(const void *vx, float *y, int64_t n)
{
	const uint8_t *p = vx;

	for (int64_t i = 0; i < n; i++)
		y[i] = h2f(p + 2 * i);
}

void
quant_f16(const float *x, void *vy, int64_t n)
{
	uint8_t *p = vy;

	for (int64_t i = 0; i < n; i++)
		f2h(p + 2 * i, x[i]);
}

void
dequant_bf16(const void *vx, float *y, int64_t n)
{
	const uint8_t *p = vx;

	for (int64_t i = 0; i < n; i++)
		y[i] = bf16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
}

void
quant_bf16(const float *x, void *vy, int64_t n)
{
	uint8_t *p = vy;

	for (int64_t i = 0; i < n; i++) {
		uint16_t h = f32_to_bf16(x[i]);

		p[2 * i] = (uint8_t)h;
		p[2 * i + 1] = (uint8_t)(h >> 8);
	}
}

/* ---- dequantizers ---- */

/* Value j (0..31) of a block's nibbles: j < 16 low nibbles, else high. */
static int
nib(const uint8_t *qs, int j)
{
	return j < 16 ? qs[j] & 15 : qs[j - 16] >> 4;
}

/* Value j's fifth bit from the 32-bit little-endian qh. */
static int
bit5(const uint8_t *qh, int j)
{
	return (qh[j / 8] >> (j % 8) & 1) << 4;
}

void
dequant_q4_0(const void *vx, float *y, int64_t n)
{
	const struct block_q4_0 *b = vx;

	for (int64_t i = 0; i < n / QK4_0; i++, b++) {
		float d = fp16_to_f32(b->d);

		for (int j = 0; j < QK4_0; j++)
			*y++ = (float)(nib(b->qs, j) - 8) * d;
	}
}

void
dequant_q4_1(const void *vx, float *y, int64_t n)
{
	const struct block_q4_1 *b = vx;

	for (int64_t i = 0; i < n / QK4_1; i++, b++) {
		float d = fp16_to_f32(b->d), m = fp16_to_f32(b->m);

		for (int j = 0; j < QK4_1; j++)
			*y++ = (float)nib(b->qs, j) * d + m;
	}
}

void
dequant_q5_0(const void *vx, float *y, int64_t n)
{
	const struct block_q5_0 *b = vx;

	for (int64_t i = 0; i < n / QK5_0; i++, b++) {
		float d = fp16_to_f32(b->d);

		for (int j = 0; j < QK5_0; j++)
			*y++ = (float)((nib(b->qs, j) | bit5(b->qh, j)) - 16) * d;
	}
}

void
dequant_q5_1(const void *vx, float *y, int64_t n)
{
	const struct block_q5_1 *b = vx;

	for (int64_t i = 0; i < n / QK5_1; i++, b++) {
		float d = fp16_to_f32(b->d), m = fp16_to_f32(b->m);

		for (int j = 0; j < QK5_1; j++)
			*y++ = (float)(nib(b->qs, j) | bit5(b->qh, j)) * d + m;
	}
}

void
dequant_q8_0(const void *vx, float *y, int64_t n)
{
	const struct block_q8_0 *b = vx;

	for (int64_t i = 0; i < n / QK8_0; i++, b++) {
		float d = fp16_to_f32(b->d);

		for (int j = 0; j < QK8_0; j++)
			*y++ = (float)b->qs[j] * d;
	}
}

/* ---- reference quantizers ---- */

/* The value of largest magnitude (the first one on ties), keeping its sign. */
static float
signed_absmax(const float *x)
{
	float amax = 0, max = 0;

	for (int j = 0; j < QK; j++)
		if (amax < fabsf(x[j])) {
			amax = fabsf(x[j]);
			max = x[j];
		}
	return max;
}

static void
min_max(const float *x, float *min, float *max)
{
	*min = FLT_MAX;
	*max = -FLT_MAX;
	for (int j = 0; j < QK; j++) {
		if (x[j] < *min)
			*min = x[j];
		if (x[j] > *max)
			*max = x[j];
	}
}

/* Pack 32 values of 4 or 5 bits: low nibbles into qs, fifth bits into qh
 * (qh may be NULL for 4-bit types). */
static void
pack_nibbles(const uint8_t q[QK], uint8_t *qs, uint8_t *qh)
{
	uint32_t h = 0;

	for (int j = 0; j < 16; j++) {
		qs[j] = (uint8_t)((q[j] & 15) | (q[j + 16] & 15) << 4);
		h |= (uint32_t)(q[j] >> 4 & 1) << j;
		h |= (uint32_t)(q[j + 16] >> 4 & 1) << (j + 16);
	}
	if (qh)
		for (int k = 0; k < 4; k++)
			qh[k] = (uint8_t)(h >> (8 * k));
}

/* Symmetric types: d = max / -half, q = trunc(x / d + half + 0.5) capped. */
static void
quant_sym(const float *x, uint16_t *dp, int half, uint8_t *qs, uint8_t *qh)
{
	float d = signed_absmax(x) / (float)-half;
	float id = d != 0 ? 1.0f / d : 0.0f;
	uint8_t q[QK];

	*dp = f32_to_fp16(d);
	for (int j = 0; j < QK; j++) {
		int v = (int)(x[j] * id + ((float)half + 0.5f));

		q[j] = (uint8_t)(v > 2 * half - 1 ? 2 * half - 1 : v);
	}
	pack_nibbles(q, qs, qh);
}

/* Types with a minimum: d = (max - min) / (levels - 1), q = trunc(... + 0.5). */
static void
quant_min(const float *x, uint16_t *dp, uint16_t *mp, int levels, uint8_t *qs,
	uint8_t *qh)
{
	float min, max, d, id;
	uint8_t q[QK];

	min_max(x, &min, &max);
	d = (max - min) / (float)(levels - 1);
	id = d != 0 ? 1.0f / d : 0.0f;
	*dp = f32_to_fp16(d);
	*mp = f32_to_fp16(min);
	for (int j = 0; j < QK; j++) {
		int v = (int)((x[j] - min) * id + 0.5f);

		q[j] = (uint8_t)(v > levels - 1 ? levels - 1 : v);
	}
	pack_nibbles(q, qs, qh);
}

void
quant_q4_0(const float *x, void *vy, int64_t n)
{
	struct block_q4_0 *b = vy;

	for (int64_t i = 0; i < n / QK4_0; i++, b++, x += QK4_0)
		quant_sym(x, &b->d, 8, b->qs, NULL);
}

void
quant_q4_1(const float *x, void *vy, int64_t n)
{
	struct block_q4_1 *b = vy;

	for (int64_t i = 0; i < n / QK4_1; i++, b++, x += QK4_1)
		quant_min(x, &b->d, &b->m, 16, b->qs, NULL);
}

void
quant_q5_0(const float *x, void *vy, int64_t n)
{
	struct block_q5_0 *b = vy;

	for (int64_t i = 0; i < n / QK5_0; i++, b++, x += QK5_0)
		quant_sym(x, &b->d, 16, b->qs, b->qh);
}

void
quant_q5_1(const float *x, void *vy, int64_t n)
{
	struct block_q5_1 *b = vy;

	for (int64_t i = 0; i < n / QK5_1; i++, b++, x += QK5_1)
		quant_min(x, &b->d, &b->m, 32, b->qs, b->qh);
}

void
quant_q8_0(const float *x, void *vy, int64_t n)
{
	struct block_q8_0 *b = vy;

	for (int64_t i = 0; i < n / QK8_0; i++, b++, x += QK8_0) {
		float amax = 0, d, id;

		for (int j = 0; j < QK8_0; j++)
			amax = fmaxf(amax, fabsf(x[j]));
		d = amax / 127;
		id = d != 0 ? 1.0f / d : 0.0f;
		b->d = f32_to_fp16(d);
		for (int j = 0; j < QK8_0; j++)
			b->qs[j] = (int8_t)roundf(x[j] * id);
	}
}
