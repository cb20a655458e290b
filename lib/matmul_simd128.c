/* matmul_simd128.c: WebAssembly SIMD128 kernels for matmul.c (make wasm):
 * one Q4_1 or Q8_0 weight row against one activation row (generation), or
 * against four (prompts, the weights decoded once).
 *
 * Each gives the portable kernel's result to the bit (matmul.c's dot_q4_1,
 * dot_q8_0): a block's integer sum is exact in any order, and the floats
 * are summed as there, one block after another,
 *
 *	sum += (float)s * (d * a.d) [+ m * a.s]
 *
 * wasm has no fused multiply-add, so neither side fuses. What SIMD buys is
 * the work around that chain: four blocks' integer sums are reduced
 * together into one vector, their scales converted and multiplied four at
 * a time, and the chain is only the adds. With four activation rows a lane
 * holds a row's sum, so the chain is one vector add a block.
 *
 * Built with relaxed SIMD (make wasm's -rs builds, for browsers that have
 * it), a Q4_1 block's integer sum takes two i16x8.relaxed_dot_i8x16_i7x16_s
 * (one pmaddubsw each on x86) in place of four widening multiplies. That
 * instruction's result is implementation-defined only where its second
 * operand has a byte above 127 or a pair of products overflows s16; a
 * nibble (0..15) times an s8 is neither, so the sums are exact, the same
 * in every engine. */
#ifdef __wasm_simd128__
#include <string.h>
#include <wasm_simd128.h>

#include "blocks.h"
#include "matmul.h"
#include "quant.h"

/* Four fp16 values (u32 lanes, high halves zero) as floats, exactly as
 * fp16_to_f32: magnitude bits moved to a float's place and scaled by
 * 2^112 (exact, subnormal halves included), Inf and NaN apart. */
static inline v128_t
half4(v128_t h)
{
	v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)),
	    16);
	v128_t em = wasm_v128_and(h, wasm_i32x4_splat(0x7fff));
	v128_t f = wasm_f32x4_mul(wasm_i32x4_shl(em, 13),
	    wasm_f32x4_splat(0x1p112f));
	v128_t inf = wasm_v128_or(wasm_i32x4_splat(0x7f800000),
	    wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x3ff)), 13));

	f = wasm_v128_bitselect(inf, f,
	    wasm_i32x4_ge(em, wasm_i32x4_splat(0x7c00)));
	return wasm_v128_or(f, sign);
}

/* One fp16 value as a float, as half4 (fp16_to_f32 is a call away). */
static inline float
half1(uint16_t h)
{
	return wasm_f32x4_extract_lane(half4(wasm_i32x4_splat(h)), 0);
}

/* Lane k of v in every lane. */
#define LANE(v, k) wasm_i32x4_shuffle((v), (v), (k), (k), (k), (k))

static inline int
isum(v128_t v)
{
	return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) +
	    wasm_i32x4_extract_lane(v, 2) + wasm_i32x4_extract_lane(v, 3);
}

/* Lane k: the sum of p_k's four lanes. */
static inline v128_t
reduce4(v128_t p0, v128_t p1, v128_t p2, v128_t p3)
{
	v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(p0, p1, 0, 1, 4, 5),
	    wasm_i32x4_shuffle(p0, p1, 2, 3, 6, 7));
	v128_t b = wasm_i32x4_add(wasm_i32x4_shuffle(p2, p3, 0, 1, 4, 5),
	    wasm_i32x4_shuffle(p2, p3, 2, 3, 6, 7));

	return wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 2, 4, 6),
	    wasm_i32x4_shuffle(a, b, 1, 3, 5, 7));
}

/* Q4_1: nibbles (0..15) lo = values 0..15, hi = 16..31, times s8
 * activations: four lanes of a block's sum. */
#ifdef __wasm_relaxed_simd__
/* Relaxed dot: pairs of products in s16 (at most 2 * 15 * 128), the two
 * halves' added (4 * 15 * 128), then pairs of lanes into s32. */
static inline v128_t
q4_1_block(v128_t lo, v128_t hi, const int8_t *q)
{
	v128_t p = wasm_i16x8_add(
	    __builtin_wasm_dot_i8x16_i7x16_s_i16x8(wasm_v128_load(q), lo),
	    __builtin_wasm_dot_i8x16_i7x16_s_i16x8(wasm_v128_load(q + 16), hi));

	return wasm_i32x4_extadd_pairwise_i16x8(p);
}
#else
/* A nibble times an s8 is at most 15 * 128 in magnitude, so four products
 * add up in s16 lanes before widening. */
static inline v128_t
q4_1_block(v128_t lo, v128_t hi, const int8_t *q)
{
	v128_t a0 = wasm_v128_load(q), a1 = wasm_v128_load(q + 16);
	v128_t p = wasm_i16x8_add(
	    wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(lo, a0),
	    wasm_i16x8_extmul_high_i8x16(lo, a0)),
	    wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(hi, a1),
	    wasm_i16x8_extmul_high_i8x16(hi, a1)));

	return wasm_i32x4_extadd_pairwise_i16x8(p);
}
#endif

/* Q8_0: s8 x s8; two products may reach 2 * 128 * 128, past s16, so each
 * product pair widens to s32 at once. w16: the 32 weights as s16. */
static inline v128_t
q8_0_block(const v128_t w16[4], const int8_t *q)
{
	v128_t a0 = wasm_v128_load(q), a1 = wasm_v128_load(q + 16);

	return wasm_i32x4_add(
	    wasm_i32x4_add(
	    wasm_i32x4_dot_i16x8(w16[0], wasm_i16x8_extend_low_i8x16(a0)),
	    wasm_i32x4_dot_i16x8(w16[1], wasm_i16x8_extend_high_i8x16(a0))),
	    wasm_i32x4_add(
	    wasm_i32x4_dot_i16x8(w16[2], wasm_i16x8_extend_low_i8x16(a1)),
	    wasm_i32x4_dot_i16x8(w16[3], wasm_i16x8_extend_high_i8x16(a1))));
}

static inline void
widen_q8(const int8_t *qs, v128_t w16[4])
{
	v128_t w0 = wasm_v128_load(qs), w1 = wasm_v128_load(qs + 16);

	w16[0] = wasm_i16x8_extend_low_i8x16(w0);
	w16[1] = wasm_i16x8_extend_high_i8x16(w0);
	w16[2] = wasm_i16x8_extend_low_i8x16(w1);
	w16[3] = wasm_i16x8_extend_high_i8x16(w1);
}

/* d of four activation blocks `stride` apart. */
static inline v128_t
act_d4(const struct qblk *a, size_t stride)
{
	return wasm_f32x4_make(a[0].d, a[stride].d, a[2 * stride].d,
	    a[3 * stride].d);
}

/* d and s of four activation blocks `stride` apart: each block's pair in
 * one 64-bit load. */
static inline void
act_ds4(const struct qblk *a, size_t stride, v128_t *d, v128_t *s)
{
	v128_t lo = wasm_v128_load64_lane(&a[stride],
	    wasm_v128_load64_zero(&a[0]), 1);
	v128_t hi = wasm_v128_load64_lane(&a[3 * stride],
	    wasm_v128_load64_zero(&a[2 * stride]), 1);

	*d = wasm_i32x4_shuffle(lo, hi, 0, 2, 4, 6);
	*s = wasm_i32x4_shuffle(lo, hi, 1, 3, 5, 7);
}

/* d and m of four Q4_1 blocks, fp16 side by side: one 32-bit load each. */
static inline void
q4_1_dm4(const struct block_q4_1 *w, v128_t *d, v128_t *m)
{
	uint32_t dm[4];
	v128_t v;

	for (int k = 0; k < 4; k++)
		memcpy(&dm[k], &w[k], 4);
	v = wasm_v128_load(dm);
	*d = half4(wasm_v128_and(v, wasm_i32x4_splat(0xffff)));
	*m = half4(wasm_u32x4_shr(v, 16));
}

/* The chain: sum += each lane, lane 0 first. */
static inline float
chain4(float sum, v128_t v)
{
	sum += wasm_f32x4_extract_lane(v, 0);
	sum += wasm_f32x4_extract_lane(v, 1);
	sum += wasm_f32x4_extract_lane(v, 2);
	sum += wasm_f32x4_extract_lane(v, 3);
	return sum;
}

/* Lane k: block k's term, s * (d * a.d) + m * a.s, for four blocks. */
static inline v128_t
q4_1_terms(const struct block_q4_1 *w, const struct qblk *a)
{
	const v128_t m4 = wasm_i8x16_splat(15);
	v128_t p[4], s, d, m, ad, as;

	for (int k = 0; k < 4; k++) {
		v128_t qs = wasm_v128_load(w[k].qs);

		p[k] = q4_1_block(wasm_v128_and(qs, m4), wasm_u8x16_shr(qs, 4),
		    a[k].q);
	}
	s = wasm_f32x4_convert_i32x4(reduce4(p[0], p[1], p[2], p[3]));
	q4_1_dm4(w, &d, &m);
	act_ds4(a, 1, &ad, &as);
	return wasm_f32x4_add(wasm_f32x4_mul(s, wasm_f32x4_mul(d, ad)),
	    wasm_f32x4_mul(m, as));
}

float
dot_q4_1_simd128(const void *row, const struct qblk *a, int nb)
{
	const struct block_q4_1 *w = row;
	float sum = 0.0f;
	int b = 0;

	for (; b + 4 <= nb; b += 4)
		sum = chain4(sum, q4_1_terms(w + b, a + b));
	for (; b < nb; b++) {
		v128_t qs = wasm_v128_load(w[b].qs);
		int s = isum(q4_1_block(wasm_v128_and(qs, wasm_i8x16_splat(15)),
		    wasm_u8x16_shr(qs, 4), a[b].q));

		sum += (float)s * (half1(w[b].d) * a[b].d) +
		    half1(w[b].m) * a[b].s;
	}
	return sum;
}

/* Block b of the row against rows t = 0..3 of activations at a + t * nb
 * (a at block b), d and m its scales in every lane: acc[t] += row t's
 * term, as dot_q4_1 adds it. */
static inline v128_t
q4_1_step4(v128_t acc, const struct block_q4_1 *w, const struct qblk *a,
	size_t st, v128_t d, v128_t m)
{
	const v128_t m4 = wasm_i8x16_splat(15);
	v128_t qs = wasm_v128_load(w->qs);
	v128_t lo = wasm_v128_and(qs, m4), hi = wasm_u8x16_shr(qs, 4);
	v128_t s = wasm_f32x4_convert_i32x4(reduce4(
	    q4_1_block(lo, hi, a[0].q), q4_1_block(lo, hi, a[st].q),
	    q4_1_block(lo, hi, a[2 * st].q), q4_1_block(lo, hi, a[3 * st].q)));
	v128_t ad, as;

	act_ds4(a, st, &ad, &as);
	return wasm_f32x4_add(acc, wasm_f32x4_add(
	    wasm_f32x4_mul(s, wasm_f32x4_mul(d, ad)), wasm_f32x4_mul(m, as)));
}

/* Rows t = 0..3 of activations at a + t * nb; out[t] = row t's dot. The
 * scales of four blocks converted at once. */
void
dot4_q4_1_simd128(const void *row, const struct qblk *a, int nb, float *out)
{
	const struct block_q4_1 *w = row;
	size_t st = (size_t)nb;
	v128_t acc = wasm_f32x4_splat(0.0f);
	int b = 0;

	for (; b + 4 <= nb; b += 4, w += 4, a += 4) {
		v128_t d, m;

		q4_1_dm4(w, &d, &m);
		acc = q4_1_step4(acc, w, a, st, LANE(d, 0), LANE(m, 0));
		acc = q4_1_step4(acc, w + 1, a + 1, st, LANE(d, 1), LANE(m, 1));
		acc = q4_1_step4(acc, w + 2, a + 2, st, LANE(d, 2), LANE(m, 2));
		acc = q4_1_step4(acc, w + 3, a + 3, st, LANE(d, 3), LANE(m, 3));
	}
	for (; b < nb; b++, w++, a++)
		acc = q4_1_step4(acc, w, a, st, wasm_f32x4_splat(half1(w->d)),
		    wasm_f32x4_splat(half1(w->m)));
	wasm_v128_store(out, acc);
}

/* Lane k: block k's term, s * (d * a.d), for four blocks. */
static inline v128_t
q8_0_terms(const struct block_q8_0 *w, const struct qblk *a)
{
	v128_t p[4], w16[4], s, d;

	for (int k = 0; k < 4; k++) {
		widen_q8(w[k].qs, w16);
		p[k] = q8_0_block(w16, a[k].q);
	}
	s = wasm_f32x4_convert_i32x4(reduce4(p[0], p[1], p[2], p[3]));
	d = half4(wasm_i32x4_make(w[0].d, w[1].d, w[2].d, w[3].d));
	return wasm_f32x4_mul(s, wasm_f32x4_mul(d, act_d4(a, 1)));
}

float
dot_q8_0_simd128(const void *row, const struct qblk *a, int nb)
{
	const struct block_q8_0 *w = row;
	float sum = 0.0f;
	int b = 0;

	for (; b + 4 <= nb; b += 4)
		sum = chain4(sum, q8_0_terms(w + b, a + b));
	for (; b < nb; b++) {
		v128_t w16[4];

		widen_q8(w[b].qs, w16);
		sum += (float)isum(q8_0_block(w16, a[b].q)) *
		    (half1(w[b].d) * a[b].d);
	}
	return sum;
}

void
dot4_q8_0_simd128(const void *row, const struct qblk *a, int nb, float *out)
{
	const struct block_q8_0 *w = row;
	size_t st = (size_t)nb;
	v128_t acc = wasm_f32x4_splat(0.0f);

	for (int b = 0; b < nb; b++, w++, a++) {
		v128_t w16[4], s, d;

		widen_q8(w->qs, w16);
		s = wasm_f32x4_convert_i32x4(reduce4(q8_0_block(w16, a[0].q),
		    q8_0_block(w16, a[st].q), q8_0_block(w16, a[2 * st].q),
		    q8_0_block(w16, a[3 * st].q)));
		d = wasm_f32x4_splat(half1(w->d));
		acc = wasm_f32x4_add(acc, wasm_f32x4_mul(s,
		    wasm_f32x4_mul(d, act_d4(a, st))));
	}
	wasm_v128_store(out, acc);
}
#endif
