/* fp16_simd128.c: lib/fp16.c for make wasm (which builds this file in its
 * place), with its row conversions in SIMD128 and fp16_to_f32 a table.
 *
 * Generation spent a third of its time converting the KV cache's halves
 * and rounding attention's accumulator to fp16 one value at a time (wasm
 * has no F16C). fp16.c's functions stay the reference, compiled here
 * under other names (the _c ones); the tests compare every path with
 * them, and each below gives their bits for every input:
 *
 *	fp16_to_f32      a table of all 65536 halves, made from
 *	                 fp16_to_f32_c when the module starts
 *	fp16_row_to_f32  eight halves at a time as matmul_simd128.c's half4
 *	f32_row_round16  four floats at a time: round to nearest even at the
 *	                 13th bit of the float's own mantissa where the half
 *	                 is normal, at 2^-24 where it is subnormal (below),
 *	                 infinity past the largest half, NaN quietened as
 *	                 f32_to_fp16 does */
#ifdef __wasm_simd128__
#define fp16_to_f32 fp16_to_f32_c
#define fp16_row_to_f32 fp16_row_to_f32_c
#define f32_row_round16 f32_row_round16_c
#include "fp16.c"
#undef fp16_to_f32
#undef fp16_row_to_f32
#undef f32_row_round16

#include <wasm_simd128.h>

static float half_tab[65536];

__attribute__((constructor)) static void
half_tab_init(void)
{
	for (uint32_t h = 0; h < 65536; h++)
		half_tab[h] = fp16_to_f32_c((uint16_t)h);
}

float
fp16_to_f32(uint16_t h)
{
	return half_tab[h];
}

/* Four halves (u32 lanes, high halves zero) as floats: the magnitude's
 * bits moved to a float's place and scaled by 2^112 (exact, subnormal
 * halves included), Inf and NaN apart. */
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

void
fp16_row_to_f32(const uint16_t *h, float *f, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		v128_t v = wasm_v128_load(h + i);

		wasm_v128_store(f + i, half4(wasm_u32x4_extend_low_u16x8(v)));
		wasm_v128_store(f + i + 4,
		    half4(wasm_u32x4_extend_high_u16x8(v)));
	}
	for (; i < n; i++)
		f[i] = half_tab[h[i]];
}

/* Four floats rounded to the nearest half, as floats.
 *
 * A half is normal from 2^-14 (a float exponent field of 113) on: adding
 * 0xfff plus the bit that will become the last kept one, then clearing 13
 * bits, rounds the float's mantissa to the half's 10 bits, ties to even,
 * a carry moving into the exponent as it should; 65520 and up round to
 * 2^16, which is infinity. Below 2^-14 halves are multiples of 2^-24,
 * and so are floats in [0.5, 1) (their unit in the last place): adding
 * 0.5 rounds |x| to one (to nearest, ties to even, as f32_to_fp16), and
 * subtracting 0.5 again is exact. */
static inline v128_t
round16x4(v128_t x)
{
	const v128_t half = wasm_f32x4_splat(0.5f);
	v128_t sign = wasm_v128_and(x, wasm_i32x4_splat((int32_t)0x80000000));
	v128_t a = wasm_v128_and(x, wasm_i32x4_splat(0x7fffffff));
	v128_t odd = wasm_v128_and(wasm_u32x4_shr(a, 13), wasm_i32x4_splat(1));
	v128_t nrm = wasm_v128_and(wasm_i32x4_add(a,
	    wasm_i32x4_add(wasm_i32x4_splat(0xfff), odd)),
	    wasm_i32x4_splat(~0x1fff));
	v128_t sub = wasm_f32x4_sub(wasm_f32x4_add(a, half), half);
	v128_t nan = wasm_v128_or(wasm_v128_and(a, wasm_i32x4_splat(0x7fffe000)),
	    wasm_i32x4_splat(0x7fc00000));
	v128_t r;

	/* past the largest half (65504, or rounding up to 2^16): infinity;
	 * a below 0x7f800000, so nrm did not wrap */
	nrm = wasm_v128_bitselect(wasm_i32x4_splat(0x7f800000), nrm,
	    wasm_i32x4_ge(nrm, wasm_i32x4_splat(0x47800000)));
	r = wasm_v128_bitselect(sub, nrm,
	    wasm_i32x4_lt(a, wasm_i32x4_splat(0x38800000)));
	r = wasm_v128_bitselect(nan, r,
	    wasm_i32x4_gt(a, wasm_i32x4_splat(0x7f800000)));
	r = wasm_v128_bitselect(wasm_i32x4_splat(0x7f800000), r,
	    wasm_i32x4_eq(a, wasm_i32x4_splat(0x7f800000)));
	return wasm_v128_or(r, sign);
}

void
f32_row_round16(float *f, size_t n)
{
	size_t i = 0;

	for (; i + 4 <= n; i += 4)
		wasm_v128_store(f + i, round16x4(wasm_v128_load(f + i)));
	for (; i < n; i++)
		f[i] = half_tab[f32_to_fp16(f[i])];
}
#endif
