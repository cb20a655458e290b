/* quant_k_ref.c: the K-quant reference quantizers, the algorithms of
 * llama.cpp's quantize_row_q{2..6}_K_ref (what llama-quantize uses without an
 * importance matrix), written to give the same blocks bit for bit. Block
 * layouts are in blocks.h, their bits drawn in quant_k.c.
 *
 * Each super-block of 256 values is cut into sub-blocks of 16 or 32; every
 * sub-block gets the scale (and minimum) that minimises a weighted squared
 * error over a small search, and the scales are then quantized themselves to
 * 4, 6 or 8 bits against one fp16 super-block scale. Values are finally
 * requantized against the rounded scales. The exact float evaluation order
 * matters for bit equality, so expressions below keep llama.cpp's order. */
#include <math.h>
#include <string.h>

#include "blocks.h"
#include "quant.h"
#include "quant_k.h"

#define GROUP_MAX_EPS 1e-15f

/* Round to nearest, ties to even (what ggml's 1.5*2^23 trick computes);
 * values beyond its range, and NaN, saturate instead of being undefined. */
static int
nearest_int(float f)
{
	if (!(fabsf(f) <= 4194303.f))
		return f > 0 ? 4194303 : -4194303;
	return (int)rintf(f);
}

static int
clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The element of largest magnitude (first on ties), with its sign. */
static float
signed_absmax(const float *x, int n, float *amax)
{
	float max = 0;

	*amax = 0;
	for (int i = 0; i < n; i++)
		if (fabsf(x[i]) > *amax) {
			*amax = fabsf(x[i]);
			max = x[i];
		}
	return max;
}

/* The levels of x at inverse scale iscale, clamped to -nmax..nmax-1 and,
 * when L is given, stored plus offset; with their x^2-weighted sums of l*x
 * and l*l. */
static void
sym_levels(int n, int nmax, const float *x, float iscale, int8_t *L,
	int offset, float *sumlx, float *suml2)
{
	*sumlx = *suml2 = 0;
	for (int i = 0; i < n; i++) {
		int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
		float w = x[i] * x[i];

		if (L)
			L[i] = (int8_t)(l + offset);
		*sumlx += w * x[i] * (float)l;
		*suml2 += w * (float)l * (float)l;
	}
}

/* Symmetric levels -nmax..nmax-1 weighted by x^2: the first guess and 18
 * nearby inverse scales; the best by sumlx^2 / suml2 wins. L gets l + nmax.
 * (make_qx_quants with rmse_type 1, no importance weights.) */
static float
qx_quants(int n, int nmax, const float *x, int8_t *L)
{
	float amax, max = signed_absmax(x, n, &amax);
	float iscale, sumlx, suml2, scale, best;

	if (amax < GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0.f;
	}
	sym_levels(n, nmax, x, (float)-nmax / max, L, nmax, &sumlx, &suml2);
	scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
	best = scale * sumlx;
	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -((float)nmax + 0.1f * (float)is) / max;
		sym_levels(n, nmax, x, iscale, NULL, 0, &sumlx, &suml2);
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			sym_levels(n, nmax, x, iscale, L, nmax, &sumlx, &suml2);
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/* Q3_K's sub-block search: a first guess, then up to 5 rounds of moving
 * single values to a better level while the weighted fit improves.
 * (make_q3_quants with do_rmse.) L gets l + nmax. */
static float
q3_quants(int n, int nmax, const float *x, int8_t *L)
{
	float amax, max = signed_absmax(x, n, &amax);
	float sumlx, suml2;

	if (amax < GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0.f;
	}
	sym_levels(n, nmax, x, (float)-nmax / max, L, 0, &sumlx, &suml2);
	for (int itry = 0; itry < 5; itry++) {
		int changed = 0;

		for (int i = 0; i < n; i++) {
			float w = x[i] * x[i];
			float slx = sumlx - w * x[i] * (float)L[i], sl2;
			int nl;

			if (!(slx > 0))
				continue;
			sl2 = suml2 - w * (float)L[i] * (float)L[i];
			nl = clampi(nearest_int(x[i] * sl2 / slx), -nmax,
			    nmax - 1);
			if (nl == L[i])
				continue;
			slx += w * x[i] * (float)nl;
			sl2 += w * (float)nl * (float)nl;
			if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
				L[i] = (int8_t)nl;
				sumlx = slx;
				suml2 = sl2;
				changed++;
			}
		}
		if (!changed)
			break;
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Asymmetric levels 0..nmax with a minimum <= 0, weighted: the min-max guess
 * and nstep+1 inverse scales, each refit by weighted least squares; the one
 * with the smallest weighted error (absolute if mad) wins.
 * (make_qkx2_quants.) Returns the scale; *the_min gets -min. */
static float
qkx2_quants(int n, int nmax, const float *x, const float *w, uint8_t *L,
	float *the_min, float rmin, float rdelta, int nstep, int mad)
{
	float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
	float iscale, scale, best = 0;
	uint8_t Laux[32];

	for (int i = 1; i < n; i++) {
		if (x[i] < min)
			min = x[i];
		if (x[i] > max)
			max = x[i];
		sum_w += w[i];
		sum_x += w[i] * x[i];
	}
	if (min > 0)
		min = 0;
	if (max == min) {
		memset(L, 0, (size_t)n);
		*the_min = -min;
		return 0.f;
	}
	iscale = (float)nmax / (max - min);
	scale = 1 / iscale;
	for (int i = 0; i < n; i++) {
		float diff;

		L[i] = (uint8_t)clampi(nearest_int(iscale * (x[i] - min)), 0,
		    nmax);
		diff = scale * (float)L[i] + min - x[i];
		best += w[i] * (mad ? fabsf(diff) : diff * diff);
	}
	for (int is = 0; is <= nstep; is++) {
		float sum_l = 0, sum_l2 = 0, sum_xl = 0, D;
		float this_scale, this_min, err = 0;

		iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
		for (int i = 0; i < n; i++) {
			int l = clampi(nearest_int(iscale * (x[i] - min)), 0,
			    nmax);

			Laux[i] = (uint8_t)l;
			sum_l += w[i] * (float)l;
			sum_l2 += w[i] * (float)l * (float)l;
			sum_xl += w[i] * (float)l * x[i];
		}
		D = sum_w * sum_l2 - sum_l * sum_l;
		if (!(D > 0))
			continue;
		this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
		this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
		if (this_min > 0) {
			this_min = 0;
			this_scale = sum_xl / sum_l2;
		}
		for (int i = 0; i < n; i++) {
			float diff = this_scale * (float)Laux[i] + this_min - x[i];

			err += w[i] * (mad ? fabsf(diff) : diff * diff);
		}
		if (err < best) {
			memcpy(L, Laux, (size_t)n);
			best = err;
			scale = this_scale;
			min = this_min;
		}
	}
	*the_min = -min;
	return scale;
}

/* Four 2-bit values 32 apart into each byte, for 128 values at a time. */
static void
pack_2bit(const uint8_t *L, uint8_t *qs)
{
	for (int j = 0; j < QK_K; j += 128)
		for (int l = 0; l < 32; l++)
			qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 |
			    L[j + l + 64] << 4 | L[j + l + 96] << 6);
}

/* Q2_K: 16 sub-blocks of 16, 4-bit scales and mins. */
void
quant_q2_k(const float *x, void *vy, int64_t n)
{
	struct block_q2_K *b = vy;

	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		uint8_t L[QK_K], *sc = b->scales;
		float w[16], scales[16], mins[16];
		float max_scale = 0, max_min = 0, d, dm;

		for (int j = 0; j < 16; j++) {
			for (int l = 0; l < 16; l++)
				w[l] = fabsf(x[16 * j + l]);
			scales[j] = qkx2_quants(16, 3, x + 16 * j, w, L + 16 * j,
			    &mins[j], -0.5f, 0.1f, 15, 1);
			if (scales[j] > max_scale)
				max_scale = scales[j];
			if (mins[j] > max_min)
				max_min = mins[j];
		}
		memset(sc, 0, 16);
		if (max_scale > 0) {
			float iscale = 15.f / max_scale;

			for (int j = 0; j < 16; j++)
				sc[j] = (uint8_t)nearest_int(iscale * scales[j]);
		}
		b->d = f32_to_fp16(max_scale > 0 ? max_scale / 15.f : 0.f);
		if (max_min > 0) {
			float iscale = 15.f / max_min;

			for (int j = 0; j < 16; j++)
				sc[j] = (uint8_t)(sc[j] |
				    nearest_int(iscale * mins[j]) << 4);
		}
		b->dmin = f32_to_fp16(max_min > 0 ? max_min / 15.f : 0.f);
		for (int j = 0; j < 16; j++) {
			d = fp16_to_f32(b->d) * (float)(sc[j] & 15);
			if (d == 0)
				continue;
			dm = fp16_to_f32(b->dmin) * (float)(sc[j] >> 4);
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (uint8_t)clampi(nearest_int(
				    (x[16 * j + l] + dm) / d), 0, 3);
		}
		pack_2bit(L, b->qs);
	}
}

/* Q3_K: 16 sub-blocks of 16, signed 6-bit scales, a high-bit mask. */
void
quant_q3_k(const float *x, void *vy, int64_t n)
{
	struct block_q3_K *b = vy;

	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		uint8_t *hmask = b->hmask, *sc = b->scales;
		int8_t L[QK_K];
		float scales[16], amax = 0, max_scale = 0;

		for (int j = 0; j < 16; j++) {
			scales[j] = q3_quants(16, 4, x + 16 * j, L + 16 * j);
			if (fabsf(scales[j]) > amax) {
				amax = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		memset(sc, 0, sizeof b->scales);
		if (max_scale != 0) {
			float iscale = -32.f / max_scale;

			for (int j = 0; j < 16; j++) {
				int l = (int8_t)nearest_int(iscale * scales[j]);

				l = clampi(l, -32, 31) + 32;
				if (j < 8)
					sc[j] = (uint8_t)(l & 15);
				else
					sc[j - 8] = (uint8_t)(sc[j - 8] | (l & 15) << 4);
				sc[j % 4 + 8] = (uint8_t)(sc[j % 4 + 8] |
				    (l >> 4) << (2 * (j / 4)));
			}
			b->d = f32_to_fp16(1 / iscale);
		} else {
			b->d = f32_to_fp16(0.f);
		}
		for (int j = 0; j < 16; j++) {
			int s = j < 8 ? sc[j] & 15 : sc[j - 8] >> 4;
			float d;

			s = (s | (sc[8 + j % 4] >> (2 * (j / 4)) & 3) << 4) - 32;
			d = fp16_to_f32(b->d) * (float)s;
			if (d == 0)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (int8_t)(clampi(nearest_int(
				    x[16 * j + l] / d), -4, 3) + 4);
		}
		/* bit 0 of hmask[m] for values 0..31, bit 1 for 32..63, ... */
		memset(hmask, 0, sizeof b->hmask);
		for (int j = 0; j < QK_K; j++)
			if (L[j] > 3) {
				hmask[j % 32] = (uint8_t)(hmask[j % 32] |
				    1 << (j / 32));
				L[j] = (int8_t)(L[j] - 4);
			}
		pack_2bit((const uint8_t *)L, b->qs);
	}
}

/* Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins, packed
 * into sc's 12 bytes against the fp16 *dp and *dminp; the values are
 * requantized to 0..nmax against them. */
static void
k4_scales(const float *x, uint16_t *dp, uint16_t *dminp, uint8_t *sc,
	uint8_t *L, int nmax, float rmin, int nstep)
{
	float w[32], scales[8], mins[8], max_scale = 0, max_min = 0;
	float inv_scale, inv_min;

	for (int j = 0; j < 8; j++) {
		const float *xb = x + 32 * j;
		float sum_x2 = 0, av_x;

		for (int l = 0; l < 32; l++)
			sum_x2 += xb[l] * xb[l];
		av_x = sqrtf(sum_x2 / 32);
		for (int l = 0; l < 32; l++)
			w[l] = av_x + fabsf(xb[l]);
		scales[j] = qkx2_quants(32, nmax, xb, w, L + 32 * j, &mins[j],
		    rmin, 0.1f, nstep, 0);
		if (scales[j] > max_scale)
			max_scale = scales[j];
		if (mins[j] > max_min)
			max_min = mins[j];
	}
	inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
	inv_min = max_min > 0 ? 63.f / max_min : 0.f;
	for (int j = 0; j < 8; j++) {
		uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
		uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);

		ls = ls < 63 ? ls : 63;
		lm = lm < 63 ? lm : 63;
		if (j < 4) {
			sc[j] = ls;
			sc[j + 4] = lm;
		} else {
			sc[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
			sc[j - 4] = (uint8_t)(sc[j - 4] | (ls >> 4) << 6);
			sc[j] = (uint8_t)(sc[j] | (lm >> 4) << 6);
		}
	}
	*dp = f32_to_fp16(max_scale / 63.f);
	*dminp = f32_to_fp16(max_min / 63.f);
	for (int j = 0; j < 8; j++) {
		int s, m;
		float d, dm;

		if (j < 4) {
			s = sc[j] & 63;
			m = sc[j + 4] & 63;
		} else {
			s = (sc[j + 4] & 15) | (sc[j - 4] >> 6) << 4;
			m = (sc[j + 4] >> 4) | (sc[j] >> 6) << 4;
		}
		d = fp16_to_f32(*dp) * (float)s;
		if (d == 0)
			continue;
		dm = fp16_to_f32(*dminp) * (float)m;
		for (int l = 0; l < 32; l++)
			L[32 * j + l] = (uint8_t)clampi(nearest_int(
			    (x[32 * j + l] + dm) / d), 0, nmax);
	}
}

void
quant_q4_k(const float *x, void *vy, int64_t n)
{
	struct block_q4_K *b = vy;

	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		uint8_t L[QK_K], *q = b->qs;

		k4_scales(x, &b->d, &b->dmin, b->scales, L, 15, -1.f, 20);
		for (int j = 0; j < QK_K; j += 64, q += 32)
			for (int l = 0; l < 32; l++)
				q[l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
	}
}

void
quant_q5_k(const float *x, void *vy, int64_t n)
{
	struct block_q5_K *b = vy;

	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		uint8_t L[QK_K], *qh = b->qh, *ql = b->qs;
		uint8_t m1 = 1, m2 = 2;

		k4_scales(x, &b->d, &b->dmin, b->scales, L, 31, -0.5f, 15);
		memset(qh, 0, sizeof b->qh);
		for (int j = 0; j < QK_K; j += 64, ql += 32, m1 <<= 2, m2 <<= 2)
			for (int l = 0; l < 32; l++) {
				int l1 = L[j + l], l2 = L[j + l + 32];

				if (l1 > 15) {
					l1 -= 16;
					qh[l] |= m1;
				}
				if (l2 > 15) {
					l2 -= 16;
					qh[l] |= m2;
				}
				ql[l] = (uint8_t)(l1 | l2 << 4);
			}
	}
}

/* Q6_K: 16 sub-blocks of 16, signed 8-bit scales, 6-bit values. */
void
quant_q6_k(const float *x, void *vy, int64_t n)
{
	struct block_q6_K *b = vy;

	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		int8_t L[QK_K], *sc = b->scales;
		uint8_t *ql = b->ql, *qh = b->qh;
		float scales[16], max_scale = 0, max_abs = 0, iscale;

		for (int j = 0; j < 16; j++) {
			scales[j] = qx_quants(16, 32, x + 16 * j, L + 16 * j);
			if (fabsf(scales[j]) > max_abs) {
				max_abs = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		if (max_abs < GROUP_MAX_EPS) {
			memset(b, 0, sizeof *b);
			continue;
		}
		iscale = -128.f / max_scale;
		b->d = f32_to_fp16(1 / iscale);
		for (int j = 0; j < 16; j++) {
			int s = nearest_int(iscale * scales[j]);

			sc[j] = (int8_t)(s < 127 ? s : 127);
		}
		for (int j = 0; j < 16; j++) {
			float d = fp16_to_f32(b->d) * (float)sc[j];

			if (d == 0)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (int8_t)(clampi(nearest_int(
				    x[16 * j + l] / d), -32, 31) + 32);
		}
		for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32)
			for (int l = 0; l < 32; l++) {
				const int8_t *v = L + j + l;

				ql[l] = (uint8_t)((v[0] & 15) | (v[64] & 15) << 4);
				ql[l + 32] = (uint8_t)((v[32] & 15) | (v[96] & 15) << 4);
				qh[l] = (uint8_t)(v[0] >> 4 | (v[32] >> 4) << 2 |
				    (v[64] >> 4) << 4 | (v[96] >> 4) << 6);
			}
	}
}
