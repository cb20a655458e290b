/* fwd.cl: the steps of a plan (lib/plan.h) as OpenCL C 1.2 kernels.
 *
 * Built into the tools (the Makefile embeds this file) and compiled for the
 * device at first use (lib/cl.c caches the binary). No fp16 arithmetic:
 * halves are storage only (vload_half / vstore_half).
 *
 * The kernels compute the CPU backend's floats (lib/fwd_cpu.c), op by op
 * in its order: the same 8-bit activations and integer block dots, the
 * same lanes of fused multiply-adds and the same horizontal sums
 * (lib/matmul.c, lib/matmul_pack.c, lib/fdot.c), RMSNorm's sum of squares
 * in double, attention as lib/attn.c sums it, glibc's expf and ggml's
 * where the CPU calls them. So nothing here may be contracted or
 * reassociated: FP_CONTRACT is off, every fused multiply-add is an fma().
 * Divisions and square roots are exact through double (FP64), or where
 * the device rounds them correctly (the host asks for that).
 *
 * Each step is a phase function over one unit of work (a row, a head, an
 * element) given by index, so that one kernel a step (phased mode) and a
 * persistent kernel looping over the units between device barriers can
 * call the same code. The kernels below are the phased mode's thin shells.
 *
 * Defines from the host: LSZ, the work-group size of the reductions (a
 * power of two, at least 8); HD_MAX, the largest head dimension (a
 * multiple of LSZ); MROWS, the rows of a work-group of the lanes matmul
 * (8 MROWS work-items), TB its tokens a work-item; FP64 where the device
 * has cl_khr_fp64 (without it the double sums are float sums, and the
 * results only close to the CPU's). */

#pragma OPENCL FP_CONTRACT OFF
#ifdef FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double wide;
#else
typedef float wide;
#endif

#ifndef LSZ
#define LSZ 64
#endif
#ifndef HD_MAX
#define HD_MAX 256
#endif
#ifndef MROWS
#define MROWS 8
#endif
#ifndef TB
#define TB 4
#endif

/* ggml type ids of the weights the matmul reads natively */
#define T_F32  0
#define T_F16  1
#define T_Q4_0 2
#define T_Q4_1 3
#define T_Q5_0 6
#define T_Q5_1 7
#define T_Q8_0 8

#define ACT_SILU 0
#define ACT_GELU 1

#define ATTN_TILE 64    /* lib/attn.h: positions a tile of the tiled kernel */
#define VT 16           /* V rows in local memory at a time (attn_row) */
#define NSQ 256         /* squares in local memory at a time (rms_scale):
                         * fewer than the models' dimensions, so that
                         * the tests cross chunks */

/* v rounded to fp16 and back */
float
round16(float v)
{
	ushort h;       /* a half's bits: no half variables in OpenCL C */

	vstore_half_rte(v, 0, (private half *)&h);
	return vload_half(0, (private half *)&h);
}

/* a / b and sqrt(v), correctly rounded: through double (exact for
 * floats), else the device's (built to round them correctly if it can) */
float
fdiv(float a, float b)
{
#ifdef FP64
	return (float)((double)a / (double)b);
#else
	return a / b;
#endif
}

float
fsqrt(float v)
{
#ifdef FP64
	return (float)sqrt((double)v);
#else
	return sqrt(v);
#endif
}

/* ---- exponentials ---- */

/* ggml's expf (lib/attn.c expf_ggml), operation for operation */
float
expf_ggml(float x)
{
	const float r = 0x1.8p23f;
	float z = fma(x, 0x1.715476p+0f, r);
	float n = z - r;
	float b = fma(-n, 0x1.7f7d1cp-20f, fma(-n, 0x1.62e4p-1f, x));
	float u = b * b;
	float j = fma(fma(fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
	    fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
	    fma(0x1.ffffecp-1f, b, 1.0f));

	if (n >= -125.0f && n <= 127.0f)
		return j * as_float((uint)((int)n + 127) << 23);
	if (fabs(n) > 192.0f)
		return n <= 0.0f ? 0.0f : INFINITY;
	if (isnan(n))
		return n;
	return ldexp(j, (int)n);
}

#ifdef FP64
/* 2^(i/32) as double bits, less i << 47 (the exponent the index adds) */
constant ulong exp2_tab[32] = {
	0x3ff0000000000000UL, 0x3fefd9b0d3158574UL, 0x3fefb5586cf9890fUL,
	0x3fef9301d0125b51UL, 0x3fef72b83c7d517bUL, 0x3fef54873168b9aaUL,
	0x3fef387a6e756238UL, 0x3fef1e9df51fdee1UL, 0x3fef06fe0a31b715UL,
	0x3feef1a7373aa9cbUL, 0x3feedea64c123422UL, 0x3feece086061892dUL,
	0x3feebfdad5362a27UL, 0x3feeb42b569d4f82UL, 0x3feeab07dd485429UL,
	0x3feea47eb03a5585UL, 0x3feea09e667f3bcdUL, 0x3fee9f75e8ec5f74UL,
	0x3feea11473eb0187UL, 0x3feea589994cce13UL, 0x3feeace5422aa0dbUL,
	0x3feeb737b0cdc5e5UL, 0x3feec49182a3f090UL, 0x3feed503b23e255dUL,
	0x3feee89f995ad3adUL, 0x3feeff76f2fb5e47UL, 0x3fef199bdd85529cUL,
	0x3fef3720dcef9069UL, 0x3fef5818dcfba487UL, 0x3fef7c97337b9b5fUL,
	0x3fefa4afa2a490daUL, 0x3fefd0765b6e4540UL,
};

/* expf as glibc's (the CPU's libm, its FMA build) computes it: x / ln 2
 * in 32ths, a table of 2^(i/32) and a cubic in double; bit for bit the
 * same for every x <= 0, the only arguments attention gives it */
float
expf_libm(float x)
{
	const double inv = 0x1.71547652b82fep+0 * 32, shift = 0x1.8p+52;
	const double c0 = 0x1.c6af84b912394p-5 / (32.0 * 32.0 * 32.0);
	const double c1 = 0x1.ebfce50fac4f3p-3 / (32.0 * 32.0);
	const double c2 = 0x1.62e42ff0c52d6p-1 / 32.0;
	double xd = x, kd, r, s, y;
	ulong ki;

	if (isnan(x))
		return x + x;
	if (x < -0x1.9fe368p6f)         /* -inf too */
		return 0.0f;
	if (x > 0x1.62e42ep6f)
		return INFINITY;
	kd = fma(inv, xd, shift);
	ki = as_ulong(kd);
	kd -= shift;
	r = fma(inv, xd, -kd);
	s = as_double(exp2_tab[ki % 32] + (ki << 47));
	y = fma(fma(c0, r, c1), r * r, fma(c2, r, 1.0));
	return (float)(y * s);
}
#else
float
expf_libm(float x)
{
	return exp(x);
}
#endif

/* ---- ggml's float dot products (lib/fdot.c) ---- */

/* the 16 lanes of v added by halves */
float
hsum16(const float *v)
{
	float t[8];

	for (int i = 0; i < 8; i++)
		t[i] = v[i + 8] + v[i];
	for (int i = 0; i < 4; i++)
		t[i] = t[i + 4] + t[i];
	return (t[0] + t[2]) + (t[1] + t[3]);
}

float
hsum16_local(local const float *v)
{
	float t[16];

	for (int i = 0; i < 16; i++)
		t[i] = v[i];
	return hsum16(t);
}

/* x . y as fdot_vec: 64 lanes of fused multiply-adds, folded, the tail
 * past a multiple of 64 in double; f32tail: the tail in float fused
 * multiply-adds instead (ggml_vec_dot_f32, dot_one in matmul.c) */
float
fdot_vec_h(global const half *x, local const float *y, int n)
{
	float t[16];
	int np = n & ~63;
	wide sum;

	for (int l = 0; l < 16; l++) {
		float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;

		for (int i = 0; i < np; i += 64) {
			a0 = fma(vload_half(i + l, x), y[i + l], a0);
			a1 = fma(vload_half(i + 16 + l, x), y[i + 16 + l], a1);
			a2 = fma(vload_half(i + 32 + l, x), y[i + 32 + l], a2);
			a3 = fma(vload_half(i + 48 + l, x), y[i + 48 + l], a3);
		}
		t[l] = (a0 + a2) + (a1 + a3);
	}
	sum = hsum16(t);
	for (int i = np; i < n; i++)
		sum += (wide)(vload_half(i, x) * y[i]);
	return (float)sum;
}

/* ---- matmul ----
 *
 * Blocks of 32 values with an fp16 scale d (and minimum m), in the
 * file's layout (lib/blocks.h); value k < 16 of a nibble block is the low
 * nibble of qs[k], value k + 16 the high one, bit k of qh its fifth bit:
 *   Q4_0 (18 bytes) d qs[16]        x = d (q - 8)
 *   Q4_1 (20)       d m qs[16]      x = d q + m
 *   Q5_0 (22)       d qh[4] qs[16]  x = d (q - 16)
 *   Q5_1 (24)       d m qh[4] qs[16] x = d q + m
 *   Q8_0 (34)       d qs[32]        x = d q
 * The activations come as the CPU quantizes them: 32 int8 a block (q)
 * and per block its scale and d * sum(q), both through fp16 (ds). A row
 * sums as the CPU's AVX2 and AVX-512 kernels do: eight float lanes, lane
 * i taking the integer dot of values 4i..4i+3 times d_w * d_a in one
 * fused multiply-add per block; then the lanes as hsum8; then the
 * minimum's term, summed on the side. */

int
block_bytes(int type)
{
	switch (type) {
	case T_Q4_0: return 18;
	case T_Q4_1: return 20;
	case T_Q5_0: return 22;
	case T_Q5_1: return 24;
	default: return 34;
	}
}

float
half_at(global const uchar *p)
{
	return vload_half(0, (global const half *)p);
}

/* the fifth bits of 16 values from bit `from` of the block's qh, as 16
 * or 0 */
char16
fifth16(global const uchar *qh, int from)
{
	uint h = (uint)qh[0] | (uint)qh[1] << 8 | (uint)qh[2] << 16 |
	    (uint)qh[3] << 24;
	uint16 bits = (uint16)(h >> from) >> (uint16)(0, 1, 2, 3, 4, 5, 6, 7,
	    8, 9, 10, 11, 12, 13, 14, 15);

	return convert_char16((bits & (uint16)1) << (uint16)4);
}

/* the 32 values of a block, 0-15 in lo and 16-31 in hi */
void
block_values(global const uchar *b, int type, char16 *lo, char16 *hi)
{
	uchar16 q;

	switch (type) {
	case T_Q4_0:
		q = vload16(0, b + 2);
		*lo = as_char16(q & (uchar16)15) - (char16)8;
		*hi = as_char16(q >> (uchar16)4) - (char16)8;
		return;
	case T_Q4_1:
		q = vload16(0, b + 4);
		*lo = as_char16(q & (uchar16)15);
		*hi = as_char16(q >> (uchar16)4);
		return;
	case T_Q5_0:
		q = vload16(0, b + 6);
		*lo = as_char16(q & (uchar16)15) + fifth16(b + 2, 0) -
		    (char16)16;
		*hi = as_char16(q >> (uchar16)4) + fifth16(b + 2, 16) -
		    (char16)16;
		return;
	case T_Q5_1:
		q = vload16(0, b + 8);
		*lo = as_char16(q & (uchar16)15) + fifth16(b + 4, 0);
		*hi = as_char16(q >> (uchar16)4) + fifth16(b + 4, 16);
		return;
	default:
		*lo = as_char16(vload16(0, b + 2));
		*hi = as_char16(vload16(1, b + 2));
	}
}

/* the eight lanes' integer dots of a block with its activations */
int8
block_idot(global const uchar *b, int type, global const char *a)
{
	char16 lo, hi;
	int16 pl, ph;

	block_values(b, type, &lo, &hi);
	pl = convert_int16(lo) * convert_int16(vload16(0, a));
	ph = convert_int16(hi) * convert_int16(vload16(1, a));
	return (int8)(pl.s048c + pl.s159d + pl.s26ae + pl.s37bf,
	    ph.s048c + ph.s159d + ph.s26ae + ph.s37bf);
}

float
hsum8(float8 l)
{
	return ((l.s0 + l.s4) + (l.s2 + l.s6)) + ((l.s1 + l.s5) + (l.s3 + l.s7));
}

/* weight row . activation row t, as the CPU's kernels sum it; rp: a Q4_0
 * matrix the CPU multiplies in the order of ggml's repacked kernels (one
 * fused multiply-add a block) */
float
q8_row_dot(global const uchar *row, int type, int rp, global const char *a,
	global const float *ds, int nb)
{
	int bb = block_bytes(type), min = type == T_Q4_1 || type == T_Q5_1;
	float8 lane = 0.0f;
	float off = 0.0f, acc = 0.0f;

	for (int b = 0; b < nb; b++) {
		global const uchar *blk = row + b * bb;
		int8 s = block_idot(blk, type, a + 32 * b);
		float d = half_at(blk) * ds[2 * b];

		if (rp) {
			int4 s4 = s.lo + s.hi;

			acc = fma((float)(s4.x + s4.y + s4.z + s4.w), d, acc);
			continue;
		}
		lane = fma((float8)d, convert_float8(s), lane);
		if (min)
			off += half_at(blk + 2) * ds[2 * b + 1];
	}
	return rp ? acc : hsum8(lane) + off;
}

/* Where row r of token t goes in a matmul of up to three matrices
 * stacked (lib/fwd_cl.c stackable): rows from 0, r1 and r2 (r1 = r2 =
 * rows: one matrix), each into an output of its own, y0, y1, y2. */
global float *
out_at(global float *y0, global float *y1, global float *y2, int r1,
	int r2, int rows, int r, int t)
{
	if (r < r1)
		return y0 + (ulong)t * r1 + r;
	if (r < r2)
		return y1 + (ulong)t * (r2 - r1) + r - r1;
	return y2 + (ulong)t * (rows - r2) + r - r2;
}

/* y[t][r] = W[r] . a[t]: one work-item a (row, token), the CPU's order;
 * bias (NULL: none): y + bias[r], the add after; where res is not y,
 * res[t][r] += y[t][r] (the residual add after; one matrix only) */
void
phase_matmul_q8(global const uchar *w, ulong row_bytes, int type, int rp,
	global const char *a, global const float *ds, global float *y,
	global float *y1, global float *y2, int r1, int r2,
	global const float *bias, global float *res, int cols, int rows,
	int r, int t)
{
	int nb = cols / 32;
	float v = q8_row_dot(w + (ulong)r * row_bytes, type, rp,
	    a + (ulong)t * cols, ds + 2 * (ulong)t * nb, nb);

	if (bias)
		v = v + bias[r];
	*out_at(y, y1, y2, r1, r2, rows, r, t) = v;
	if (res != y)
		res[(ulong)t * rows + r] += v;
}

/* The same with a work-item a lane of a row (GPUs), the weights in the
 * tiled layout that lib/fwd_cl.c (tile_mat) converts them to at load:
 * block by block, and within a block row by row, so that the work-items
 * of neighbouring rows read neighbouring words:
 *   qs (nb, rows, QW) uint  the block's quants as the file has them
 *                           (QW = 8 for Q8_0, else 4)
 *   qh (nb, rows) uint      Q5_0, Q5_1: the fifth bits
 *   d  (nb, rows) half      the scale
 *   m  (nb, rows) half      Q4_1, Q5_1: the minimum
 * Lane i of a row holds values 4i..4i+3 of each block: word i of a Q8_0
 * block, else the low (i < 4) or high nibbles of word i % 4, and bits
 * 4i..4i+3 of qh. Each lane runs its chain over the blocks (MROWS rows a
 * work-group of 8 MROWS, lane-adjacent), then hsum8 of the eight; the
 * minimum's term is lane 0's. Not for rp (one chain a row). */

int
tile_words(int type)
{
	return type == T_Q8_0 ? 8 : 4;
}

/* lane i's four values of a block from its word w (and high bits h) */
int4
tile_decode(uint w, uint h, int type, int i)
{
	int4 v;

	if (type == T_Q8_0)
		return convert_int4(as_char4(w));
	v = convert_int4(as_uchar4((i < 4 ? w : w >> 4) & 0x0f0f0f0fu));
	if (type == T_Q5_0 || type == T_Q5_1) {
		h >>= 4 * i;
		v += convert_int4((uint4)(h, h >> 1, h >> 2, h >> 3) & 1u) * 16;
	}
	if (type == T_Q4_0)
		v -= 8;
	else if (type == T_Q5_0)
		v -= 16;
	return v;
}

/* lane i's four values of block b of row r */
int4
tile_values(global const uint *qs, global const uint *qh, int type,
	ulong at, int i)
{
	int q5 = type == T_Q5_0 || type == T_Q5_1;

	return tile_decode(qs[at * tile_words(type) + (type == T_Q8_0 ? i :
	    i & 3)], q5 ? qh[at] : 0, type, i);
}

/* lane i's weights of block b of row r: its four values into *v, the
 * scale into *dw, the minimum (Q4_1, Q5_1) into *mw */
void
lane_weights(global const uint *qs, global const uint *qh,
	global const half *d, global const half *m, int type, int rows, int r,
	int i, int b, int4 *v, float *dw, float *mw)
{
	ulong k = (ulong)b * rows + r;

	*v = tile_values(qs, qh, type, k, i);
	*dw = vload_half(k, d);
	*mw = type == T_Q4_1 || type == T_Q5_1 ? vload_half(k, m) : 0.0f;
}

/* tile_values on a copy in local memory (at: its block and row there) */
int4
tile_values_l(local const uint *qs, local const uint *qh, int type, int at,
	int i)
{
	int q5 = type == T_Q5_0 || type == T_Q5_1;

	return tile_decode(qs[at * tile_words(type) + (type == T_Q8_0 ? i :
	    i & 3)], q5 ? qh[at] : 0, type, i);
}

/* One token (not rp): the work-group's MROWS rows, CB blocks at a time,
 * first copied into local memory by all its work-items, whose loads do
 * not wait on each other, then each lane's chain from there. Read from
 * global memory a block at a time, every step of the chain waited for a
 * load (H200: about 0.85 us a block). The copy lives in s (sized for
 * the lane sums after it: 4 TB 8 MROWS floats). acc[0] and off[0] as
 * the loop in phase_matmul_lanes leaves them. */
#define CB 8
void
lanes_one(global const uint *qs, global const uint *qh, global const half *d,
	global const half *m, int type, global const char *a,
	global const float *ds, int nb, int rows, int r, int i, float *acc,
	float *off, local float *s)
{
	int lid = get_local_id(0), lsz = get_local_size(0);
	int tw = tile_words(type), r0 = get_group_id(0) * MROWS;
	int nr = min(MROWS, rows - r0), rr = r - r0;
	int hm = type == T_Q4_1 || type == T_Q5_1;
	int q5 = type == T_Q5_0 || type == T_Q5_1;
	local uint *lq = (local uint *)s;
	local uint *lh = lq + CB * MROWS * 8;
	local float *ld = (local float *)(lh + CB * MROWS);
	local float *lm = ld + CB * MROWS;
	local uint *la = (local uint *)(lm + CB * MROWS);
	local float *lds = (local float *)(la + CB * 8);
	global const uint *aw = (global const uint *)a;
	float a0 = 0.0f, o0 = 0.0f;

	for (int b0 = 0; b0 < nb; b0 += CB) {
		int cb = min(CB, nb - b0);

		for (int k = lid; k < cb * nr * tw; k += lsz) {
			int b = k / (nr * tw), w = k % (nr * tw);

			lq[b * MROWS * tw + w] = qs[((ulong)(b0 + b) * rows +
			    r0) * tw + w];
		}
		for (int k = lid; k < cb * nr; k += lsz) {
			int b = k / nr, j = k % nr;
			ulong at = (ulong)(b0 + b) * rows + r0 + j;

			if (q5)
				lh[b * MROWS + j] = qh[at];
			ld[b * MROWS + j] = vload_half(at, d);
			if (hm)
				lm[b * MROWS + j] = vload_half(at, m);
		}
		for (int k = lid; k < cb * 8; k += lsz)
			la[k] = aw[8 * b0 + k];
		for (int k = lid; k < 2 * cb; k += lsz)
			lds[k] = ds[2 * b0 + k];
		barrier(CLK_LOCAL_MEM_FENCE);
		for (int b = 0; rr < nr && b < cb; b++) {
			int at = b * MROWS + rr;
			int4 p = tile_values_l(lq, lh, type, at, i) *
			    convert_int4(vload4(0, (local const char *)la +
			    32 * b + 4 * i));

			a0 = fma(ld[at] * lds[2 * b],
			    (float)(p.x + p.y + p.z + p.w), a0);
			if (hm && i == 0)
				o0 += lm[at] * lds[2 * b + 1];
		}
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	acc[0] = a0;
	off[0] = o0;
}

/* rp (Q4_0 that the CPU multiplies in the order of ggml's repacked
 * kernels: one chain a row, a fused multiply-add a block): the lanes'
 * integer dots of four blocks through local memory (si: 4 TB 8 MROWS
 * ints), then lane 0 of each row adds the eight (exact) and takes the
 * chain's four steps; the chains of rows past the matrix are not kept.
 * acc[u] ends as the chain of token t0 + u in lane 0, 0 in the others. */
void
lanes_rp(global const uint *qs, global const uint *qh, global const half *d,
	global const half *m, int type, global const char *a,
	global const float *ds, int cols, int rows, int r, int i, int t0,
	int nt, float *acc, local int *si)
{
	int lid = get_local_id(0), nb = cols / 32, g = 8 * MROWS;
	int rr = r < rows ? r : rows - 1;   /* loads in range, kept nowhere */
	float dw[4], mw[4];
	int4 wv[4];

	for (int b = 0; b < nb; b += 4) {
		int nj = min(4, nb - b);

		for (int j = 0; j < nj; j++)
			lane_weights(qs, qh, d, m, type, rows, rr, i, b + j,
			    &wv[j], &dw[j], &mw[j]);
		for (int u = 0; u < nt; u++)
			for (int j = 0; j < nj; j++) {
				int4 p = wv[j] * convert_int4(vload4(0, a +
				    (ulong)(t0 + u) * cols + 32 * (b + j) + 4 * i));

				si[(u * 4 + j) * g + lid] = p.x + p.y + p.z + p.w;
			}
		barrier(CLK_LOCAL_MEM_FENCE);
		for (int u = 0; i == 0 && u < nt; u++) {
			global const float *dt = ds + 2 * ((ulong)(t0 + u) * nb + b);

			for (int j = 0; j < nj; j++) {
				local const int *v = si + (u * 4 + j) * g + lid;
				int tot = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] +
				    v[6] + v[7];

				acc[u] = fma((float)tot, dw[j] * dt[2 * j],
				    acc[u]);
			}
		}
		barrier(CLK_LOCAL_MEM_FENCE);
	}
}

/* y[t][r] = W[r] . a[t] (out_at: up to three matrices stacked), plus
 * bias[r] unless bias is NULL; and where res is not y, res[t][r] +=
 * y[t][r] (the residual add that follows, the same two roundings; one
 * matrix only); rp: one chain a row (lanes_rp). A work-item takes the
 * tokens t0..t0 + TB - 1 (below n),
 * a chain each, reading each weight once for them; blocks four at a
 * time, their loads before the chains' steps, so that a GPU waits for
 * memory once a four. s holds TB 8 MROWS. */
void
phase_matmul_lanes(global const uchar *w, int type, global const char *a,
	global const float *ds, global float *y, global float *y1,
	global float *y2, int r1, int r2, global const float *bias,
	global float *res, int cols, int rows, int rp, int gid, int t0, int n,
	local float *s)
{
	int lid = get_local_id(0), r = gid / 8, i = gid % 8, nb = cols / 32;
	int hm = type == T_Q4_1 || type == T_Q5_1;
	int q5 = type == T_Q5_0 || type == T_Q5_1, b = 0, nt = min(TB, n - t0);
	ulong plane = (ulong)nb * rows;
	global const uint *qs = (global const uint *)w;
	global const uint *qh = qs + plane * tile_words(type);
	global const half *d = (global const half *)(qh + (q5 ? plane : 0));
	global const half *m = d + plane;
	float acc[TB], off[TB], dw[4], mw[4], v;
	int4 wv[4];

	for (int u = 0; u < TB; u++)
		acc[u] = off[u] = 0.0f;
	/* staged for the small matrices of a layer; a matrix of many rows
	 * (the output) keeps the GPU busy enough without (H200: 53 us
	 * direct, 83 staged) */
	if (n == 1 && !rp && rows < 16384) {
		lanes_one(qs, qh, d, m, type, a, ds, nb, rows, r, i, acc, off,
		    s);
		b = nb;
	}
	while (!rp && r < rows && b < nb) {
		int nj = nb - b < 4 ? 1 : 4;

		for (int j = 0; j < nj; j++)
			lane_weights(qs, qh, d, m, type, rows, r, i, b + j,
			    &wv[j], &dw[j], &mw[j]);
		for (int u = 0; u < nt; u++) {
			ulong t = t0 + u;
			global const char *at = a + t * cols + 32 * b + 4 * i;
			global const float *dt = ds + 2 * (t * nb + b);

			for (int j = 0; j < nj; j++) {
				int4 p = wv[j] * convert_int4(vload4(0,
				    at + 32 * j));

				acc[u] = fma(dw[j] * dt[2 * j],
				    (float)(p.x + p.y + p.z + p.w), acc[u]);
				if (hm && i == 0)
					off[u] += mw[j] * dt[2 * j + 1];
			}
		}
		b += nj;
	}
	if (rp)
		lanes_rp(qs, qh, d, m, type, a, ds, cols, rows, r, i, t0, nt, acc,
		    (local int *)s);
	for (int u = 0; !rp && u < TB; u++)
		s[u * 8 * MROWS + lid] = acc[u];
	barrier(CLK_LOCAL_MEM_FENCE);
	if (r >= rows || i)
		return;
	for (int u = 0; u < nt; u++) {
		v = rp ? acc[u] : hsum8(vload8(0, s + u * 8 * MROWS + lid)) +
		    off[u];
		if (bias)
			v = v + bias[r];
		*out_at(y, y1, y2, r1, r2, rows, r, t0 + u) = v;
		if (res != y)
			res[(ulong)(t0 + u) * rows + r] += v;
	}
}

/* Float weights (F32, F16, and the types dequantized at load) against
 * float activations, as matmul.c's float_rows: with tile (a batch of two
 * or more, rows a multiple of 4, columns of 16) 16 lanes of fused
 * multiply-adds and hsum16, else fdot_vec's order (f32tail: the F32
 * kernel's float tail). */
float
wval(global const uchar *row, int type, int i)
{
	return type == T_F16 ? vload_half(i, (global const half *)row) :
	    ((global const float *)row)[i];
}

float
float_row_dot(global const uchar *row, int type, global const float *x,
	int cols, int tile, int f32tail)
{
	float t[16];
	int np = cols & ~63;
	wide sum;
	float fs;

	if (tile) {
		for (int l = 0; l < 16; l++) {
			float acc = 0.0f;

			for (int i = l; i < cols; i += 16)
				acc = fma(wval(row, type, i), x[i], acc);
			t[l] = acc;
		}
		return hsum16(t);
	}
	for (int l = 0; l < 16; l++) {
		float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;

		for (int i = 0; i < np; i += 64) {
			a0 = fma(wval(row, type, i + l), x[i + l], a0);
			a1 = fma(wval(row, type, i + 16 + l), x[i + 16 + l], a1);
			a2 = fma(wval(row, type, i + 32 + l), x[i + 32 + l], a2);
			a3 = fma(wval(row, type, i + 48 + l), x[i + 48 + l], a3);
		}
		t[l] = (a0 + a2) + (a1 + a3);
	}
	if (f32tail && np < cols) {
		fs = hsum16(t);
		for (int i = np; i < cols; i++)
			fs = fma(wval(row, type, i), x[i], fs);
		return fs;
	}
	sum = hsum16(t);
	for (int i = np; i < cols; i++)
		sum += (wide)(wval(row, type, i) * x[i]);
	return (float)sum;
}

void
phase_matmul_f(global const uchar *w, ulong row_bytes, int type,
	global const float *x, global float *y, int cols, int rows, int tile,
	int f32tail, int r, int t)
{
	y[(ulong)t * rows + r] = float_row_dot(w + (ulong)r * row_bytes, type,
	    x + (ulong)t * cols, cols, tile, f32tail);
}

/* Float weights, one work-group a (row, token) (GPUs, LSZ 64): lane l
 * the chain of values l, l + 64, ... (fdot_vec's 64 lanes) or with tile
 * of l, l + 16, ... (tinyBLAS's 16); then the lanes added by halves from
 * 2 top, which is how both fold theirs. Columns of 64 without tile (the
 * host sends the rest to phase_matmul_f). */
float
wg_sum(float v, local float *s, int top)
{
	int lid = get_local_id(0);

	s[lid] = v;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int k = top; k > 0; k >>= 1) {
		if (lid < k)
			s[lid] += s[lid + k];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	v = s[0];
	barrier(CLK_LOCAL_MEM_FENCE);
	return v;
}

void
phase_matmul_fgroup(global const uchar *w, ulong row_bytes, int type,
	global const float *x, global float *y, int cols, int rows, int tile,
	int r, int t, local float *s)
{
	global const uchar *row = w + (ulong)r * row_bytes;
	global const float *xt = x + (ulong)t * cols;
	int lanes = tile ? 16 : 64, lid = get_local_id(0);
	float acc = 0.0f;

	for (int i = lid; lid < lanes && i < cols; i += lanes)
		acc = fma(wval(row, type, i), xt[i], acc);
	acc = wg_sum(acc, s, lanes / 2);
	if (get_local_id(0) == 0)
		y[(ulong)t * rows + r] = acc;
}

/* ---- norms ---- */

/* d = x / rms(x) * w over n values, one work-group (d may be x): the sum
 * of squares in double, in order, as fwd_cpu.c's rmsnorm; s holds NSQ */
/* 1 / rms(x) of n values: the squares by the work-group, NSQ at a time
 * into sq (coalesced reads), their sum in order by one work-item */
float
rms_scale(global const float *x, int n, float eps, local float *sq)
{
	int lid = get_local_id(0);
	wide ss = 0.0f;
	float scale;

	for (int i0 = 0; i0 < n; i0 += NSQ) {
		int m = min(NSQ, n - i0);

		for (int i = lid; i < m; i += LSZ)
			sq[i] = x[i0 + i] * x[i0 + i];
		barrier(CLK_LOCAL_MEM_FENCE);
		if (lid == 0) {
			int i = 0;

			/* eight loads issued before their adds: the chain
			 * of adds waits on one load's latency, not eight */
			for (; i + 8 <= m; i += 8) {
				float8 v = vload8(0, sq + i);

				ss += (wide)v.s0;
				ss += (wide)v.s1;
				ss += (wide)v.s2;
				ss += (wide)v.s3;
				ss += (wide)v.s4;
				ss += (wide)v.s5;
				ss += (wide)v.s6;
				ss += (wide)v.s7;
			}
			for (; i < m; i++)
				ss += (wide)sq[i];
		}
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (lid == 0)
		sq[0] = fdiv(1.0f, fsqrt((float)(ss / n) + eps));
	barrier(CLK_LOCAL_MEM_FENCE);
	scale = sq[0];
	return scale;
}

void
phase_rmsnorm(global const float *x, global const float *w,
	global float *d, int n, float eps, local float *s)
{
	float scale = rms_scale(x, n, eps, s);

	for (int i = get_local_id(0); i < n; i += LSZ)
		d[i] = x[i] * scale * w[i];
}

/* ---- RoPE: one work-item a rotated pair of a head of a row ---- */

void
phase_rope(global float *v, global const float *cs, int neox, int dims,
	int i)
{
	int off = neox ? dims / 2 : 1, at = neox ? i : 2 * i;
	float c = cs[2 * i], sn = cs[2 * i + 1];
	float a = v[at], b = v[at + off];

	v[at] = fma(a, c, -(b * sn));
	v[at + off] = fma(a, sn, b * c);
}

/* ---- attention (lib/attn.c) ---- */

/* K and V of row t into the cache at position pos (fp16, rounded to
 * nearest even as the CPU rounds them): one work-item a value */
void
phase_kv_store(global const float *k, global const float *v,
	global half *kc, global half *vc, int kvd, int pos, int t, int i)
{
	vstore_half_rte(k[(ulong)t * kvd + i], (ulong)pos * kvd + i, kc);
	vstore_half_rte(v[(ulong)t * kvd + i], (ulong)pos * kvd + i, vc);
}

/* attn_row: Q (rounded to fp16, in qh) against positions lo..n_kv-1 one
 * by one, the accumulator rounded to fp16 after each step. Lanes score
 * LSZ positions at a time; each lane then takes its position's factors
 * from the running maximum before it (the same fold of s > M as a
 * position-by-position loop): on a new maximum the accumulator's scale
 * ms = exp(M - s) and vs = 1, else ms = 1 and vs = exp(s - M). What stays
 * in sequence is only the chain itself, acc = round16(acc * ms) (exact
 * for ms = 1: acc is an fp16 value), acc = round16(v vs + acc) and
 * S = S ms + vs, over V rows brought VT at a time into local memory;
 * every lane runs it for the head values it owns (lid, lid + LSZ, ...).
 * pj, pm, pv hold LSZ values, vt VT HD_MAX. */
void
phase_attn_row(local const float *qh, global const half *kc,
	global const half *vc, global float *out, int hd, int kvd, int kvh,
	int lo, int n_kv, float scale, local float *pj, local float *pm,
	local float *pv, local float *vt)
{
	int lid = get_local_id(0);
	float acc[HD_MAX / LSZ], M = -INFINITY, S = 0.0f, inv;

	for (int k = 0; k < HD_MAX / LSZ; k++)
		acc[k] = 0.0f;
	for (int p0 = lo; p0 < n_kv; p0 += LSZ) {
		int nj = min(LSZ, n_kv - p0);

		if (lid < nj)
			pj[lid] = fdot_vec_h(kc + (ulong)(p0 + lid) * kvd +
			    kvh * hd, qh, hd) * scale;
		barrier(CLK_LOCAL_MEM_FENCE);
		if (lid < nj) {
			float m = M, sc = pj[lid];

			for (int j = 0; j < lid; j++)
				m = pj[j] > m ? pj[j] : m;
			pm[lid] = sc > m ? expf_libm(m - sc) : 1.0f;
			pv[lid] = sc > m ? 1.0f : expf_libm(sc - m);
		}
		for (int j = 0; j < nj; j++)
			M = pj[j] > M ? pj[j] : M;
		for (int j0 = 0; j0 < nj; j0 += VT) {
			int nv = min(VT, nj - j0);

			for (int x = lid; x < nv * hd; x += LSZ)
				vt[x] = vload_half(x % hd, vc + (ulong)(p0 + j0 +
				    x / hd) * kvd + kvh * hd);
			barrier(CLK_LOCAL_MEM_FENCE);
			for (int j = 0; j < nv; j++) {
				float ms = pm[j0 + j], vs = pv[j0 + j];

				for (int k = 0; k < HD_MAX / LSZ; k++)
					if (lid + k * LSZ < hd)
						acc[k] = round16(fma(vt[j * hd +
						    lid + k * LSZ], vs,
						    round16(acc[k] * ms)));
				S = fma(S, ms, vs);
			}
			barrier(CLK_LOCAL_MEM_FENCE);
		}
	}
	inv = S == 0.0f ? 0.0f : fdiv(1.0f, S);
	for (int k = 0; k < HD_MAX / LSZ; k++)
		if (lid + k * LSZ < hd)
			out[lid + k * LSZ] = acc[k] * inv;
}

/* attn_row_tiled (batches of ATTN_TILE rows or more): Q in float against
 * tiles of ATTN_TILE positions from 0, a fused chain a score; the tile's
 * maximum, ggml's expf of each score, their sum by hsum16 a 16 in double,
 * then the weighted V in float chains. pj holds ATTN_TILE values. */
void
phase_attn_tiled(local const float *q, global const half *kc,
	global const half *vc, global float *out, int hd, int kvd, int kvh,
	int n_kv, float scale, local float *pj)
{
	int lid = get_local_id(0);
	float acc[HD_MAX / LSZ], M = -INFINITY, S = 0.0f, inv;

	for (int k = 0; k < HD_MAX / LSZ; k++)
		acc[k] = 0.0f;
	for (int t0 = 0; t0 < n_kv; t0 += ATTN_TILE) {
		int nk = min(n_kv - t0, ATTN_TILE);
		float mx = -INFINITY, mnew;
		wide sum = 0.0f;

		for (int j = lid; j < ATTN_TILE; j += LSZ) {
			global const half *kr = kc + (ulong)(t0 + j) * kvd +
			    kvh * hd;
			float sc = 0.0f;

			if (j < nk) {
				for (int d = 0; d < hd; d++)
					sc = fma(q[d], vload_half(d, kr), sc);
				sc *= scale;
			} else
				sc = -INFINITY;
			pj[j] = sc;
		}
		barrier(CLK_LOCAL_MEM_FENCE);
		for (int j = 0; j < ATTN_TILE; j++)
			mx = mx > pj[j] ? mx : pj[j];
		mnew = fmax(M, mx);
		if (mnew > M) {
			float ms = expf_libm(M - mnew);

			for (int k = 0; k < HD_MAX / LSZ; k++)
				acc[k] *= ms;
			S *= ms;
		}
		M = mnew;
		barrier(CLK_LOCAL_MEM_FENCE);
		for (int j = lid; j < ATTN_TILE; j += LSZ)
			pj[j] = expf_ggml(pj[j] - M);
		barrier(CLK_LOCAL_MEM_FENCE);
		for (int g = 0; g < ATTN_TILE; g += 16)
			sum += (wide)hsum16_local(pj + g);
		S = (float)((wide)S + sum);
		for (int j = 0; j < nk; j++) {
			global const half *vr = vc + (ulong)(t0 + j) * kvd +
			    kvh * hd;
			float w = pj[j];

			for (int k = 0; k < HD_MAX / LSZ; k++)
				if (lid + k * LSZ < hd)
					acc[k] = fma(w, vload_half(lid + k * LSZ,
					    vr), acc[k]);
		}
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	inv = S == 0.0f ? 0.0f : fdiv(1.0f, S);
	for (int k = 0; k < HD_MAX / LSZ; k++)
		if (lid + k * LSZ < hd)
			out[lid + k * LSZ] = acc[k] * inv;
}

/* ---- element-wise ---- */

float
silu(float x)
{
	return fdiv(x, 1.0f + expf_ggml(-x));
}

/* ggml's table GELU (fwd_cpu.c): tab holds it at every fp16 value */
float
gelu(float x, global const ushort *tab)
{
	ushort h;

	if (x <= -10.0f)
		return 0.0f;
	if (x >= 10.0f)
		return x;
	vstore_half_rte(x, 0, (private half *)&h);
	return vload_half(h, (global const half *)tab);
}

/* ---- activations as the CPU's matmuls take them ----
 *
 * The CPU (lib/matmul.c) quantizes a matmul's input once: to blocks of 32
 * int8 with an fp16 scale for the 32-value quant types, to blocks of 256
 * with a float scale for the K-quants, or rounds it to F16 or BF16 for
 * weights of those types. Q8 blocks stay integers (the matmul takes
 * them so); the others are dequantized back to floats. */

#define FORM_Q8   0
#define FORM_Q8K  1
#define FORM_F16  3
#define FORM_BF16 4

/* a scaled value to int8 as x86 rounds it (matmul.c q8): to nearest
 * even, NaN and out of int32 range to -128, then saturated */
char
q8(float f)
{
	if (!(f > -2147483648.0f && f < 2147483648.0f))
		return -128;
	return (char)clamp(rint(f), -128.0f, 127.0f);
}

/* block b (of 32) of q from the 32 values v as quantize_act has it; its
 * scale and d * sum(q), both through fp16, into ds[2b], ds[2b + 1] */
void
act_q8_block(const float *v, global char *q, global float *ds, ulong b)
{
	float amax = 0.0f, d, id;
	int sum = 0;

	for (int i = 0; i < 32; i++) {
		float m = fabs(v[i]);

		amax = m > amax ? m : amax;
	}
	d = fdiv(amax, 127.0f);
	id = amax != 0.0f ? fdiv(127.0f, amax) : 0.0f;
	for (int i = 0; i < 32; i++) {
		char c = q8(v[i] * id);

		q[32 * b + i] = c;
		sum += c;
	}
	ds[2 * b] = round16(d);
	ds[2 * b + 1] = round16(d * (float)sum);
}

/* block b (of 32) of x into q */
void
phase_act_q8(global const float *x, global char *q, global float *ds,
	ulong b)
{
	float v[32];

	for (int i = 0; i < 32; i++)
		v[i] = x[32 * b + i];
	act_q8_block(v, q, ds, b);
}

/* block b (of 256) as quantize_row_q8_K */
void
phase_act_q8k(global const float *x, global float *y, ulong b)
{
	global const float *v = x + 256 * b;
	float amax = 0.0f, max = 0.0f, is;

	for (int i = 0; i < 256; i++)
		if (fabs(v[i]) > amax) {
			amax = fabs(v[i]);
			max = v[i];
		}
	is = amax != 0.0f ? fdiv(-127.0f, max) : 0.0f;
	for (int i = 0; i < 256; i++)
		y[256 * b + i] = amax != 0.0f ? clamp(rint(is * v[i]), -128.0f,
		    127.0f) * fdiv(1.0f, is) : 0.0f;
}

float
round_bf16(float v)
{
	uint u = as_uint(v);

	if ((u & 0x7fffffff) > 0x7f800000)
		return v;
	return as_float((u + 0x7fff + (u >> 16 & 1)) & 0xffff0000u);
}

/* ---- the phased mode: one kernel a step ---- */

/* unit i of x into y: a block for FORM_Q8 (int8 into y, scales into ys)
 * and FORM_Q8K, a value else */
kernel void
k_act(global const float *x, global float *y, global float *ys, int form)
{
	ulong i = get_global_id(0);

	if (form == FORM_Q8)
		phase_act_q8(x, (global char *)y, ys, i);
	else if (form == FORM_Q8K)
		phase_act_q8k(x, y, i);
	else if (form == FORM_F16)
		y[i] = round16(x[i]);
	else
		y[i] = round_bf16(x[i]);
}

/* (row, token) */
kernel void
k_matmul_q8(global const uchar *w, ulong row_bytes, int type, int rp,
	global const float *x, global const float *xs, global float *y,
	global float *y1, global float *y2, int r1, int r2,
	global const float *bias, int has_bias, global float *res, int cols,
	int rows)
{
	phase_matmul_q8(w, row_bytes, type, rp, (global const char *)x, xs, y,
	    y1, y2, r1, r2, has_bias ? bias : 0, res, cols, rows,
	    get_global_id(0), get_global_id(1));
}

/* (row * 8 + lane, tokens / TB), groups of 8 MROWS; n tokens */
kernel void
k_matmul_lanes(global const uchar *w, int type, global const float *x,
	global const float *xs, global float *y, global float *y1,
	global float *y2, int r1, int r2, global const float *bias,
	int has_bias, global float *res, int cols, int rows, int rp, int n)
{
	local float s[4 * TB * 8 * MROWS];

	phase_matmul_lanes(w, type, (global const char *)x, xs, y, y1, y2, r1,
	    r2, has_bias ? bias : 0, res, cols, rows, rp, get_global_id(0),
	    TB * get_global_id(1), n, s);
}

/* (row, token) */
kernel void
k_matmul_f(global const uchar *w, ulong row_bytes, int type,
	global const float *x, global float *y, int cols, int rows, int tile,
	int f32tail)
{
	phase_matmul_f(w, row_bytes, type, x, y, cols, rows, tile, f32tail,
	    get_global_id(0), get_global_id(1));
}

/* (row * LSZ, token), groups of LSZ (64) */
kernel void
k_matmul_fgroup(global const uchar *w, ulong row_bytes, int type,
	global const float *x, global float *y, int cols, int rows, int tile)
{
	local float s[LSZ];

	phase_matmul_fgroup(w, row_bytes, type, x, y, cols, rows, tile,
	    get_group_id(0), get_global_id(1), s);
}

/* rows of ws values of x normed into rows of wd of d (one group a row);
 * quant: also quantized into q, qs as k_act would (FORM_Q8), a work-item
 * a block, from the values it writes */
kernel void
k_norm(global const float *x, int ws, global const float *w,
	global float *d, int wd, float eps, int quant, global char *q,
	global float *qs)
{
	local float s[NSQ];
	ulong t = get_global_id(1);
	global const float *xt = x + t * ws;
	global float *dt = d + t * wd;
	float v[32], scale;

	if (!quant) {
		phase_rmsnorm(xt, w, dt, ws, eps, s);
		return;
	}
	scale = rms_scale(xt, ws, eps, s);
	for (int b = get_local_id(0); b < ws / 32; b += LSZ) {
		for (int i = 0; i < 32; i++) {
			v[i] = xt[32 * b + i] * scale * w[32 * b + i];
			dt[32 * b + i] = v[i];
		}
		act_q8_block(v, q, qs, t * wd / 32 + b);
	}
}

/* every head of every row of d (width wd) normed (one group a head) */
kernel void
k_head_norm(global float *d, int wd, int hd, global const float *w,
	float eps)
{
	local float s[NSQ];
	global float *v = d + get_global_id(1) * wd + get_group_id(0) * hd;

	phase_rmsnorm(v, w, v, hd, eps, s);
}

kernel void
k_bias(global float *d, int wd, global const float *b)
{
	int i = get_global_id(0);

	d[get_global_id(1) * wd + i] += b[i];
}

/* (pair, head, row); cs: the rows' (cos, sin) pairs, dims floats a row */
kernel void
k_rope(global float *d, int wd, int hd, global const float *cs, int neox,
	int dims)
{
	ulong t = get_global_id(2);

	phase_rope(d + t * wd + get_global_id(1) * hd, cs + t * dims, neox,
	    dims, get_global_id(0));
}

/* RoPE of nq heads of q (width wq) and then of k's (width wk) in one
 * launch: (i, head, row), i < hd / 2. store: k's heads are final and go
 * into the cache with v's at position pos0 + row (k_kv_store's work):
 * work-item i stores the K values it rotated (pair i < dims / 2), else
 * two past dims that RoPE leaves, and V's values 2i, 2i + 1. */
kernel void
k_rope_qk(global float *q, int wq, int nq, global float *k, int wk, int hd,
	global const float *cs, int neox, int dims, int store,
	global const float *v, global half *kc, global half *vc, int pos0)
{
	int i = get_global_id(0), h = get_global_id(1), kh = h - nq;
	ulong t = get_global_id(2), kvd = wk, at = t * kvd + kh * hd;
	ulong to = (pos0 + t) * kvd + kh * hd;
	global float *d = kh < 0 ? q + t * wq + h * hd : k + at;
	int a, b;

	if (i < dims / 2)
		phase_rope(d, cs + t * dims, neox, dims, i);
	if (!store || kh < 0)
		return;
	a = i < dims / 2 ? (neox ? i : 2 * i) : dims + 2 * (i - dims / 2);
	b = i < dims / 2 ? (neox ? i + dims / 2 : 2 * i + 1) : a + 1;
	vstore_half_rte(k[at + a], to + a, kc);
	vstore_half_rte(k[at + b], to + b, kc);
	vstore_half_rte(v[at + 2 * i], to + 2 * i, vc);
	vstore_half_rte(v[at + 2 * i + 1], to + 2 * i + 1, vc);
}

kernel void
k_scale(global float *d, float f)
{
	d[get_global_id(0)] *= f;
}

kernel void
k_kv_store(global const float *k, global const float *v, global half *kc,
	global half *vc, int kvd, int pos0)
{
	int t = get_global_id(1);

	phase_kv_store(k, v, kc, vc, kvd, pos0 + t, t, get_global_id(0));
}

/* (head, row) groups; row t sits at position pos0 + t. tiled: the batch
 * has ATTN_TILE rows or more, so the CPU tiles the rows that attend to
 * all positions (a sliding window's go one by one). quant: the output
 * also quantized into oq, oqs for the Q8 matmul after */
kernel void
k_attn(global const float *q, global const half *kc, global const half *vc,
	global float *out, int n_head, int hd, int kvd, int group, int pos0,
	int n_swa, float scale, int tiled, int quant, global char *oq,
	global float *oqs)
{
	local float qh[HD_MAX], pj[ATTN_TILE > LSZ ? ATTN_TILE : LSZ];
	local float pm[LSZ], pv[LSZ], vt[VT * HD_MAX];
	int h = get_group_id(0), t = get_global_id(1);
	int n_kv = pos0 + t + 1, lid = get_local_id(0);
	int lo = n_swa && n_kv > n_swa ? n_kv - n_swa : 0;
	ulong off = ((ulong)t * n_head + h) * hd;

	tiled = tiled && !lo;
	for (int d = lid; d < hd; d += LSZ)
		qh[d] = tiled ? q[off + d] : round16(q[off + d]);
	barrier(CLK_LOCAL_MEM_FENCE);
	if (tiled)
		phase_attn_tiled(qh, kc, vc, out + off, hd, kvd, h / group,
		    n_kv, scale, pj);
	else
		phase_attn_row(qh, kc, vc, out + off, hd, kvd, h / group, lo,
		    n_kv, scale, pj, pm, pv, vt);
	if (!quant)
		return;
	/* the head's output as k_act would quantize it (FORM_Q8; the host
	 * asks where hd is a multiple of 32) */
	barrier(CLK_GLOBAL_MEM_FENCE);
	for (int b = lid; b < hd / 32; b += LSZ)
		phase_act_q8(out, oq, oqs, off / 32 + b);
}

kernel void
k_add(global float *d, global const float *x)
{
	int i = get_global_id(0);

	d[i] += x[i];
}

kernel void
k_glu(global float *d, global const float *x, int act,
	global const ushort *gelu_tab)
{
	int i = get_global_id(0);

	d[i] = (act == ACT_GELU ? gelu(d[i], gelu_tab) : silu(d[i])) * x[i];
}

/* the same a block of 32 values a work-item, quantized into q, qs as
 * k_act would (FORM_Q8) */
kernel void
k_glu_q8(global float *d, global const float *x, int act,
	global const ushort *gelu_tab, global char *q, global float *qs)
{
	ulong b = get_global_id(0);
	float v[32];

	for (int i = 0; i < 32; i++) {
		ulong k = 32 * b + i;

		v[i] = (act == ACT_GELU ? gelu(d[k], gelu_tab) : silu(d[k])) *
		    x[k];
		d[k] = v[i];
	}
	act_q8_block(v, q, qs, b);
}

kernel void
k_softcap(global float *d, float f)
{
	int i = get_global_id(0);

	d[i] = tanh(d[i] * fdiv(1.0f, f)) * f;
}
