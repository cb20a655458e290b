/* fp16.c: IEEE half and bfloat16 <-> float, round to nearest even. */
#include <string.h>
#ifdef __F16C__
#include <immintrin.h>
#endif

#include "quant.h"

/* The portable conversions are the reference; F16C gives the same bits. */
float
fp16_to_f32(uint16_t h)
{
#ifdef __F16C__
	return _cvtsh_ss(h);
#endif
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = h >> 10 & 0x1f;
	uint32_t man = h & 0x3ff, u;
	float f;

	if (exp == 0x1f) {
		u = sign | 0x7f800000 | man << 13;      /* Inf, NaN */
	} else if (exp != 0) {
		u = sign | (exp + 112) << 23 | man << 13;
	} else if (man == 0) {
		u = sign;
	} else {                                        /* subnormal */
		f = (float)man * (1.0f / 16777216.0f);  /* man * 2^-24 */
		return sign ? -f : f;
	}
	memcpy(&f, &u, 4);
	return f;
}

uint16_t
f32_to_fp16(float f)
{
	uint32_t u, sign, exp, man;

#ifdef __F16C__
	return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
#endif

	memcpy(&u, &f, 4);
	sign = u >> 16 & 0x8000;
	exp = u >> 23 & 0xff;
	man = u & 0x7fffff;
	if (exp == 0xff)                                /* Inf, NaN */
		return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | man >> 13 : 0));
	if (exp > 142)                                  /* overflow */
		return (uint16_t)(sign | 0x7c00);
	if (exp < 113) {                                /* subnormal or 0 */
		uint32_t shift, r, half;

		if (exp < 102)
			return (uint16_t)sign;
		man |= 0x800000;
		shift = 126 - exp;
		r = man >> shift;
		half = 1u << (shift - 1);
		if ((man & ((half << 1) - 1)) > half ||
		    ((man & ((half << 1) - 1)) == half && (r & 1)))
			r++;
		return (uint16_t)(sign | r);
	}
	{
		uint32_t h = (exp - 112) << 10 | man >> 13;
		uint32_t rest = man & 0x1fff;

		if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
			h++;                            /* may carry into exp */
		return (uint16_t)(sign | h);
	}
}

float
bf16_to_f32(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;

	memcpy(&f, &u, 4);
	return f;
}

uint16_t
f32_to_bf16(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	if ((u & 0x7fffffff) > 0x7f800000)              /* NaN: keep quiet */
		return (uint16_t)(u >> 16 | 64);
	return (uint16_t)((u + (0x7fff + (u >> 16 & 1))) >> 16);
}

/* n halves to floats. */
void
fp16_row_to_f32(const uint16_t *h, float *f, size_t n)
{
	size_t i = 0;

#ifdef __F16C__
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(f + i, _mm256_cvtph_ps(_mm_loadu_si128(
		    (const __m128i *)(h + i))));
#endif
	for (; i < n; i++)
		f[i] = fp16_to_f32(h[i]);
}

/* Round n floats in place to the nearest half (what storing them as fp16
 * and loading them back gives). */
void
f32_row_round16(float *f, size_t n)
{
	size_t i = 0;

#ifdef __F16C__
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(f + i, _mm256_cvtph_ps(_mm256_cvtps_ph(
		    _mm256_loadu_ps(f + i), _MM_FROUND_TO_NEAREST_INT)));
#endif
	for (; i < n; i++)
		f[i] = fp16_to_f32(f32_to_fp16(f[i]));
}
