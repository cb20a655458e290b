/* attn_simd128.c: lib/attn.c for make wasm (which builds this file in its
 * place); in the relaxed-SIMD builds, attention's fused multiply-adds in
 * f32x4.relaxed_madd where that instruction fuses.
 *
 * attn.c sums as ggml's FMA kernels do, with fmaf. wasm has no fused
 * multiply-add but relaxed SIMD's, which an engine may fuse or not (V8
 * fuses on x86 with FMA3 and on ARM). A test at start (relaxed_fused)
 * gives operands whose fused and unfused results differ. attn.c is
 * compiled here twice: as it is, with contrib/web/fmaf.h's fmaf (the _e
 * functions, taken where relaxed_madd does not fuse), and with fmaf that
 * instruction a lane at a time (the _f ones, the reference where it
 * does, as the tests run it). There the hot loops below take it four
 * lanes at a time, in the same order: the same floats, and the exact
 * fused ones, where fmaf.h's are off by a unit in the last place once in
 * some millions. The builds without relaxed SIMD have attn.c as it is.
 *
 * emscripten 3.1.6's binaryen (108) knows this instruction by an opcode of
 * the draft (0xaf) and not the standard one that clang 15 writes (0x105);
 * make wasm swaps the two in the objects and back in the linked module
 * (contrib/web/relaxed-madd). */
#ifdef __wasm_simd128__
#ifndef __wasm_relaxed_simd__
#include "attn.c"
#else
#include <math.h>
#include <wasm_simd128.h>

/* a * b + c, fused where relaxed_fused says so (clang 15 calls it fma). */
#define MADD(a, b, c) __builtin_wasm_fma_f32x4((a), (b), (c))

static int relaxed_fused;
static int portable;

/* fmaf as relaxed_madd's lane: fused, where relaxed_fused. */
static inline float
fused_fmaf(float x, float y, float z)
{
	return wasm_f32x4_extract_lane(MADD(wasm_f32x4_splat(x),
	    wasm_f32x4_splat(y), wasm_f32x4_splat(z)), 0);
}

/* attn.c twice: as it is, with fmaf.h's fmaf (the _e functions, where
 * relaxed_madd does not fuse), and with fused_fmaf (the _f ones, the
 * reference where it does). */
#define portable portable_e
#define expf_ggml expf_ggml_e
#define expf_ggml_row expf_ggml_row_e
#define attn_force_portable attn_force_portable_e
#define attn_row attn_row_e
#define attn_row_last attn_row_last_e
#define attn_tiles_size attn_tiles_size_e
#define attn_tiles_load attn_tiles_load_e
#define attn_row_tiled attn_row_tiled_e
#define attn_rows_tiled attn_rows_tiled_e
#include "attn.c"
#undef CHORD_ATTN_H
#undef portable
#undef expf_ggml
#undef expf_ggml_row
#undef attn_force_portable
#undef attn_row
#undef attn_row_last
#undef attn_tiles_size
#undef attn_tiles_load
#undef attn_row_tiled
#undef attn_rows_tiled

#undef fmaf
#define fmaf fused_fmaf
/* its simd loops do not vectorise with it: the hot ones are below */
#pragma clang diagnostic ignored "-Wpass-failed"
#define portable portable_f
#define expf_ggml expf_ggml_f
#define expf_ggml_row expf_ggml_row_f
#define attn_force_portable attn_force_portable_f
#define attn_row attn_row_f
#define attn_row_last attn_row_last_f
#define attn_tiles_size attn_tiles_size_f
#define attn_tiles_load attn_tiles_load_f
#define attn_row_tiled attn_row_tiled_f
#define attn_rows_tiled attn_rows_tiled_f
#include "attn.c"
#undef CHORD_ATTN_H
#undef portable
#undef expf_ggml
#undef expf_ggml_row
#undef attn_force_portable
#undef attn_row
#undef attn_row_last
#undef attn_tiles_size
#undef attn_tiles_load
#undef attn_row_tiled
#undef attn_rows_tiled
#include "attn.h"

/* Operands whose product is not a float: fused, x * y + z is exactly the
 * second row; unfused (or z + x * y), something else in every lane. */
static volatile float fused_in[3][4] = {
	{ 1.0f + 0x1p-12f, 1.0f + 0x1p-23f, 1.0f + 0x1p-12f, 1.0f + 0x1p-23f },
	{ 1.0f + 0x1p-12f, 1.0f + 0x1p-23f, -1.0f - 0x1p-12f, 1.0f - 0x1p-24f },
	{ -1.0f, -1.0f - 0x1p-22f, 1.0f, -1.0f },
};
static const float fused_out[4] = {
	0x1p-11f + 0x1p-24f, 0x1p-46f, -0x1p-11f - 0x1p-24f, 0x1p-24f - 0x1p-47f,
};

__attribute__((constructor)) static void
relaxed_test(void)
{
	v128_t r = MADD(
	    wasm_f32x4_make(fused_in[0][0], fused_in[0][1], fused_in[0][2],
	    fused_in[0][3]),
	    wasm_f32x4_make(fused_in[1][0], fused_in[1][1], fused_in[1][2],
	    fused_in[1][3]),
	    wasm_f32x4_make(fused_in[2][0], fused_in[2][1], fused_in[2][2],
	    fused_in[2][3]));

	relaxed_fused = wasm_i32x4_all_true(wasm_i32x4_eq(r,
	    wasm_v128_load(fused_out)));
}

/* expf_ggml on four lanes (where relaxed_fused), its operations in its
 * order; lanes whose n is outside [-125, 127] (or not a number) go
 * through expf_ggml. */
static inline v128_t
expf4(v128_t x)
{
	const v128_t r = wasm_f32x4_splat(0x1.8p23f);
	v128_t z = MADD(x, wasm_f32x4_splat(0x1.715476p+0f), r);
	v128_t n = wasm_f32x4_sub(z, r), mn = wasm_f32x4_neg(n);
	v128_t b = MADD(mn, wasm_f32x4_splat(0x1.7f7d1cp-20f),
	    MADD(mn, wasm_f32x4_splat(0x1.62e4p-1f), x));
	v128_t u = wasm_f32x4_mul(b, b);
	v128_t j = MADD(MADD(MADD(wasm_f32x4_splat(0x1.0e4020p-7f), b,
	    wasm_f32x4_splat(0x1.573e2ep-5f)), u,
	    MADD(wasm_f32x4_splat(0x1.555e66p-3f), b,
	    wasm_f32x4_splat(0x1.fffdb6p-2f))), u,
	    MADD(wasm_f32x4_splat(0x1.ffffecp-1f), b, wasm_f32x4_splat(1.0f)));
	v128_t in = wasm_v128_and(wasm_f32x4_ge(n, wasm_f32x4_splat(-125.0f)),
	    wasm_f32x4_le(n, wasm_f32x4_splat(127.0f)));
	float y[4], xs[4];

	if (wasm_i32x4_all_true(in))
		return wasm_f32x4_mul(j, wasm_i32x4_shl(wasm_i32x4_add(
		    wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23));
	wasm_v128_store(xs, x);
	for (int k = 0; k < 4; k++)
		y[k] = expf_ggml_f(xs[k]);
	return wasm_v128_load(y);
}

void
attn_force_portable(int on)
{
	portable = on;
	attn_force_portable_e(on);
	attn_force_portable_f(on);
}

float
expf_ggml(float x)
{
	return relaxed_fused ? expf_ggml_f(x) : expf_ggml_e(x);
}

void
expf_ggml_row(const float *x, float *y, size_t n)
{
	size_t i = 0;

	if (!relaxed_fused) {
		expf_ggml_row_e(x, y, n);
		return;
	}
	if (!portable)
		for (; i + 4 <= n; i += 4)
			wasm_v128_store(y + i, expf4(wasm_v128_load(x + i)));
	for (; i < n; i++)
		y[i] = expf_ggml_f(x[i]);
}

size_t
attn_tiles_size(int hd, int n_kv)
{
	return attn_tiles_size_e(hd, n_kv);
}

void
attn_tiles_load(const uint16_t *k, const uint16_t *v, size_t stride, int hd,
	int n_kv, float *kt, float *v32)
{
	attn_tiles_load_e(k, v, stride, hd, n_kv, kt, v32);
}

void
attn_row_tiled(const float *q, const float *kt, const float *v32, int hd,
	int n_kv, float scale, float *out)
{
	(relaxed_fused ? attn_row_tiled_f : attn_row_tiled_e)(q, kt, v32, hd,
	    n_kv, scale, out);
}

/* attn_row_tiled, hd a multiple of 16: the scores 16 positions at a time
 * and the output 16 values at a time, each a chain of fused steps over
 * d or over the positions, as there. */
static void
row_tiled(const float *q, const float *kt, const float *v32, int hd,
	int n_kv, float scale, float *out)
{
	float kq[ATTN_TILE], acc[ATTN_MAX_HD];
	float M = -INFINITY, S = 0.0f, inv;

	memset(acc, 0, (size_t)hd * sizeof *acc);
	for (int t0 = 0; t0 < n_kv; t0 += ATTN_TILE) {
		const float *tile = kt + (size_t)t0 * hd;
		int nk = n_kv - t0 < ATTN_TILE ? n_kv - t0 : ATTN_TILE;
		float mx = -INFINITY, mnew;
		double sum = 0.0;

		/* positions past nk are masked below: not computed */
		memset(kq, 0, sizeof kq);
		for (int c = 0; c < nk; c += 16) {
			v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0;
			v128_t s3 = s0;

			for (int d = 0; d < hd; d++) {
				const float *kd = tile + (size_t)d * ATTN_TILE + c;
				v128_t a = wasm_f32x4_splat(q[d]);

				s0 = MADD(a, wasm_v128_load(kd), s0);
				s1 = MADD(a, wasm_v128_load(kd + 4), s1);
				s2 = MADD(a, wasm_v128_load(kd + 8), s2);
				s3 = MADD(a, wasm_v128_load(kd + 12), s3);
			}
			wasm_v128_store(kq + c, s0);
			wasm_v128_store(kq + c + 4, s1);
			wasm_v128_store(kq + c + 8, s2);
			wasm_v128_store(kq + c + 12, s3);
		}
		for (int j = 0; j < ATTN_TILE; j++)
			kq[j] = j < nk ? kq[j] * scale : -INFINITY;
		for (int j = 0; j < ATTN_TILE; j++)
			mx = mx > kq[j] ? mx : kq[j];
		mnew = fmaxf(M, mx);
		if (mnew > M) {
			float ms = expf(M - mnew);

			for (int d = 0; d < hd; d++)
				acc[d] *= ms;
			S *= ms;
		}
		M = mnew;
		for (int j = 0; j < ATTN_TILE; j += 4)
			wasm_v128_store(kq + j, expf4(wasm_f32x4_sub(
			    wasm_v128_load(kq + j), wasm_f32x4_splat(M))));
		for (int g = 0; g < ATTN_TILE; g += 16)
			sum += (double)fdot_hsum16(kq + g);
		S = (float)((double)S + sum);
		for (int d = 0; d < hd; d += 16) {
			v128_t a0 = wasm_v128_load(acc + d);
			v128_t a1 = wasm_v128_load(acc + d + 4);
			v128_t a2 = wasm_v128_load(acc + d + 8);
			v128_t a3 = wasm_v128_load(acc + d + 12);

			for (int j = 0; j < nk; j++) {
				const float *vj = v32 + (size_t)(t0 + j) * hd + d;
				v128_t w = wasm_f32x4_splat(kq[j]);

				a0 = MADD(w, wasm_v128_load(vj), a0);
				a1 = MADD(w, wasm_v128_load(vj + 4), a1);
				a2 = MADD(w, wasm_v128_load(vj + 8), a2);
				a3 = MADD(w, wasm_v128_load(vj + 12), a3);
			}
			wasm_v128_store(acc + d, a0);
			wasm_v128_store(acc + d + 4, a1);
			wasm_v128_store(acc + d + 8, a2);
			wasm_v128_store(acc + d + 12, a3);
		}
	}
	inv = S == 0.0f ? 0.0f : 1.0f / S;
	for (int d = 0; d < hd; d++)
		out[d] = acc[d] * inv;
}

void
attn_rows_tiled(const float *q, int nr, const float *kt, const float *v32,
	int hd, int n_kv, float scale, float *out)
{
	if (!relaxed_fused) {
		attn_rows_tiled_e(q, nr, kt, v32, hd, n_kv, scale, out);
		return;
	}
	if (portable || hd % 16) {
		attn_rows_tiled_f(q, nr, kt, v32, hd, n_kv, scale, out);
		return;
	}
	for (int r = 0; r < nr; r++)
		row_tiled(q + (size_t)r * hd, kt, v32, hd, n_kv, scale,
		    out + (size_t)r * hd);
}

/* attn_row_last's steps, its V sum four lanes at a time. */
void
attn_row_last(const float *q, const uint16_t *k, const uint16_t *v,
	size_t stride, const uint16_t *kl, const uint16_t *vl, int hd, int n_kv,
	float scale, float *out)
{
	float qh[ATTN_MAX_HD], kv[ATTN_MAX_HD], acc[ATTN_MAX_HD];
	float M = -INFINITY, S = 0.0f, inv;

	if (!relaxed_fused || portable || hd % 4) {
		(relaxed_fused ? attn_row_last_f : attn_row_last_e)(q, k, v,
		    stride, kl, vl, hd, n_kv, scale, out);
		return;
	}
	memcpy(qh, q, (size_t)hd * sizeof *qh);
	f32_row_round16(qh, (size_t)hd);
	memset(acc, 0, (size_t)hd * sizeof *acc);
	for (int p = 0; p < n_kv; p++) {
		int last = p == n_kv - 1 && kl;
		float s, ms = 1.0f, vs = 1.0f;
		v128_t w;

		fp16_row_to_f32(last ? kl : k + (size_t)p * stride, kv,
		    (size_t)hd);
		s = fdot_vec(kv, qh, hd) * scale;
		if (s > M) {
			float old = M;

			M = s;
			ms = expf(old - M);
			for (int d = 0; d < hd; d += 4)
				wasm_v128_store(acc + d, wasm_f32x4_mul(
				    wasm_v128_load(acc + d), wasm_f32x4_splat(ms)));
			f32_row_round16(acc, (size_t)hd);
		} else {
			vs = expf(s - M);
		}
		fp16_row_to_f32(last ? vl : v + (size_t)p * stride, kv,
		    (size_t)hd);
		w = wasm_f32x4_splat(vs);
		for (int d = 0; d < hd; d += 4)
			wasm_v128_store(acc + d, MADD(wasm_v128_load(kv + d), w,
			    wasm_v128_load(acc + d)));
		f32_row_round16(acc, (size_t)hd);
		S = fused_fmaf(S, ms, vs);
	}
	inv = S == 0.0f ? 0.0f : 1.0f / S;
	for (int d = 0; d < hd; d++)
		out[d] = acc[d] * inv;
}

void
attn_row(const float *q, const uint16_t *k, const uint16_t *v, size_t stride,
	int hd, int n_kv, float scale, float *out)
{
	attn_row_last(q, k, v, stride, NULL, NULL, hd, n_kv, scale, out);
}
#endif
#endif
