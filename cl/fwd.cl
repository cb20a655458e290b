/* fwd.cl: the steps of a plan (lib/plan.h) as OpenCL C 1.2 kernels.
 *
 * Built into the tools (the Makefile embeds this file) and compiled for the
 * device at first use (lib/cl.c caches the binary). No fp16 arithmetic:
 * halves are storage only (vload_half / vstore_half); every sum is fp32.
 *
 * Each step is a phase function over one unit of work (a row, a head, an
 * element) given by index, so that one kernel a step (phased mode) and a
 * persistent kernel looping over the units between device barriers can
 * call the same code. The kernels below are the phased mode's thin shells.
 *
 * Defines from the host: LSZ, the work-group size of the reductions (a
 * power of two); HD_MAX, the largest head dimension (a multiple of LSZ). */

#ifndef LSZ
#define LSZ 64
#endif
#ifndef HD_MAX
#define HD_MAX 256
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

/* v rounded to fp16 and back */
float
round16(float v)
{
	ushort h;       /* a half's bits: no half variables in OpenCL C */

	vstore_half_rte(v, 0, (private half *)&h);
	return vload_half(0, (private half *)&h);
}

/* ---- work-group reductions (every lane gets the result) ---- */

float
wg_sum(float v, local float *s)
{
	int lid = get_local_id(0);

	s[lid] = v;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int k = LSZ / 2; k > 0; k >>= 1) {
		if (lid < k)
			s[lid] += s[lid + k];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	v = s[0];
	barrier(CLK_LOCAL_MEM_FENCE);
	return v;
}

float
wg_max(float v, local float *s)
{
	int lid = get_local_id(0);

	s[lid] = v;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int k = LSZ / 2; k > 0; k >>= 1) {
		if (lid < k)
			s[lid] = fmax(s[lid], s[lid + k]);
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	v = s[0];
	barrier(CLK_LOCAL_MEM_FENCE);
	return v;
}

/* ---- matmul: the dot of 8 values (a unit) of a weight row with x ----
 *
 * A row of the 32-value block types is cols / 8 units, four a block; unit
 * u is values 8 (u % 4) .. + 7 of block u / 4. Nibble types hold value j
 * of a block in the low nibble of qs[j], j + 16 in the high one. */

float
half_at(global const uchar *p)
{
	return vload_half(0, (global const half *)p);
}

float
x8_sum(float8 x)
{
	return x.s0 + x.s1 + x.s2 + x.s3 + x.s4 + x.s5 + x.s6 + x.s7;
}

/* the 8 values of unit q (0..3) of a block's 16 nibble bytes */
float8
nibbles(global const uchar *qs, int q)
{
	uchar8 b = vload8(0, qs + 8 * (q & 1));

	return convert_float8(q < 2 ? b & (uchar8)15 : b >> (uchar8)4);
}

/* the fifth bits of unit q's values, as 16 or 0 */
float8
fifth_bits(global const uchar *qh, int q)
{
	uint h = (uint)qh[0] | (uint)qh[1] << 8 | (uint)qh[2] << 16 |
	    (uint)qh[3] << 24;
	uint8 bits = (uint8)(h >> (8 * q)) >>
	    (uint8)(0, 1, 2, 3, 4, 5, 6, 7);

	return convert_float8((bits & (uint8)1) << (uint8)4);
}

/* xs: the block's sum as the CPU's Q8_1 activations keep it (d * sum(q),
 * through fp16), taken by the types with a minimum in unit 0 */
float
unit_dot(global const uchar *row, int type, int u, float8 x, float xs)
{
	int q = u & 3;
	global const uchar *b;

	switch (type) {
	case T_F32:
		return dot(vload8(u, (global const float *)row).lo, x.lo) +
		    dot(vload8(u, (global const float *)row).hi, x.hi);
	case T_F16: {
		float8 w = vload_half8(u, (global const half *)row);

		return dot(w.lo, x.lo) + dot(w.hi, x.hi);
	}
	case T_Q4_0: {
		float8 w = nibbles((b = row + 18 * (u >> 2)) + 2, q) - 8.0f;

		return half_at(b) * (dot(w.lo, x.lo) + dot(w.hi, x.hi));
	}
	case T_Q4_1: {
		float8 w = nibbles((b = row + 20 * (u >> 2)) + 4, q);

		return half_at(b) * (dot(w.lo, x.lo) + dot(w.hi, x.hi)) +
		    (q ? 0.0f : half_at(b + 2) * xs);
	}
	case T_Q5_0: {
		float8 w;

		b = row + 22 * (u >> 2);
		w = nibbles(b + 6, q) + fifth_bits(b + 2, q) - 16.0f;
		return half_at(b) * (dot(w.lo, x.lo) + dot(w.hi, x.hi));
	}
	case T_Q5_1: {
		float8 w;

		b = row + 24 * (u >> 2);
		w = nibbles(b + 8, q) + fifth_bits(b + 4, q);
		return half_at(b) * (dot(w.lo, x.lo) + dot(w.hi, x.hi)) +
		    (q ? 0.0f : half_at(b + 2) * xs);
	}
	case T_Q8_0: {
		float8 w;

		b = row + 34 * (u >> 2);
		w = convert_float8(as_char8(vload8(0, b + 2 + 8 * q)));
		return half_at(b) * (dot(w.lo, x.lo) + dot(w.hi, x.hi));
	}
	}
	return 0.0f;
}

/* y[t][r] = W[r] . x[t]: one work-group a (row, token) */
void
phase_matmul(global const uchar *w, ulong row_bytes, int type,
	global const float *x, global const float *xs, global float *y,
	int cols, int rows, int r, int t, local float *s)
{
	global const uchar *row = w + (ulong)r * row_bytes;
	global const float *xt = x + (ulong)t * cols;
	global const float *st = xs + (ulong)t * (cols / 32);
	float acc = 0.0f;

	for (int u = get_local_id(0); u < cols / 8; u += LSZ)
		acc += unit_dot(row, type, u, vload8(u, xt), st[u / 4]);
	acc = wg_sum(acc, s);
	if (get_local_id(0) == 0)
		y[(ulong)t * rows + r] = acc;
}

/* y[t][r] = W[r] . x[t]: one work-item a (row, token), no reduction (for
 * CPU devices, where a work-group's lanes are a loop) */
void
phase_matmul_row(global const uchar *w, ulong row_bytes, int type,
	global const float *x, global const float *xs, global float *y,
	int cols, int rows, int r, int t)
{
	global const uchar *row = w + (ulong)r * row_bytes;
	global const float *xt = x + (ulong)t * cols;
	global const float *st = xs + (ulong)t * (cols / 32);
	float acc = 0.0f;

	for (int u = 0; u < cols / 8; u++)
		acc += unit_dot(row, type, u, vload8(u, xt), st[u / 4]);
	y[(ulong)t * rows + r] = acc;
}

/* ---- norms ---- */

/* d = x / rms(x) * w over n values, one work-group (d may be x) */
void
phase_rmsnorm(global const float *x, global const float *w,
	global float *d, int n, float eps, local float *s)
{
	float ss = 0.0f, scale;

	for (int i = get_local_id(0); i < n; i += LSZ)
		ss += x[i] * x[i];
	ss = wg_sum(ss, s);
	scale = 1.0f / sqrt(ss / n + eps);
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

/* ---- attention ---- */

/* K and V of row t into the cache at position pos (fp16, rounded to
 * nearest even as the CPU rounds them): one work-item a value */
void
phase_kv_store(global const float *k, global const float *v,
	global half *kc, global half *vc, int kvd, int pos, int t, int i)
{
	vstore_half_rte(k[(ulong)t * kvd + i], (ulong)pos * kvd + i, kc);
	vstore_half_rte(v[(ulong)t * kvd + i], (ulong)pos * kvd + i, vc);
}

/* Head h of Q row t over cache positions lo..n_kv-1 of its KV head in
 * chunks of LSZ positions: lane j scores position p0 + j, then every lane
 * adds the chunk's weighted V into the head values it owns (lid, lid + LSZ,
 * ...).
 *
 * f16: as ggml's one-row CPU kernel (lib/attn.c, the CPU backend's choice
 * for batches of fewer than 64 rows): q rounded to fp16, the positions one
 * by one, the accumulator rounded to fp16 after each. Else an fp32 online
 * softmax a chunk at a time (the tiled kernel sums in floats too). */
void
phase_attn(global const float *q, global const half *kc,
	global const half *vc, global float *out, int hd, int kvd, int kvh,
	int lo, int n_kv, float scale, int f16, local float *s,
	local float *pj)
{
	int lid = get_local_id(0);
	float acc[HD_MAX / LSZ], m = -INFINITY, l = 0.0f;

	for (int k = 0; k < HD_MAX / LSZ; k++)
		acc[k] = 0.0f;
	for (int p0 = lo; p0 < n_kv; p0 += LSZ) {
		int p = p0 + lid;
		float sc = -INFINITY, mc, alpha;

		if (p < n_kv) {
			global const half *kr = kc + (ulong)p * kvd + kvh * hd;

			sc = 0.0f;
			for (int d = 0; d < hd; d++)
				sc += (f16 ? round16(q[d]) : q[d]) *
				    vload_half(d, kr);
			sc *= scale;
		}
		pj[lid] = sc;
		barrier(CLK_LOCAL_MEM_FENCE);
		if (f16) {
			for (int j = 0; j < LSZ && p0 + j < n_kv; j++) {
				global const half *vr = vc +
				    (ulong)(p0 + j) * kvd + kvh * hd;
				float sj = pj[j], ms = 1.0f, vs = 1.0f;

				if (sj > m) {
					ms = exp(m - sj);
					m = sj;
					for (int k = 0; k < HD_MAX / LSZ; k++)
						acc[k] = round16(acc[k] * ms);
				} else {
					vs = exp(sj - m);
				}
				for (int k = 0; k < HD_MAX / LSZ; k++)
					if (lid + k * LSZ < hd)
						acc[k] = round16(fma(vload_half(
						    lid + k * LSZ, vr), vs,
						    acc[k]));
				l = fma(l, ms, vs);
			}
			barrier(CLK_LOCAL_MEM_FENCE);
			continue;
		}
		mc = fmax(m, wg_max(sc, s));
		alpha = exp(m - mc);
		l *= alpha;
		for (int k = 0; k < HD_MAX / LSZ; k++)
			acc[k] *= alpha;
		for (int j = 0; j < LSZ && p0 + j < n_kv; j++) {
			global const half *vr = vc + (ulong)(p0 + j) * kvd +
			    kvh * hd;
			float w = exp(pj[j] - mc);

			l += w;
			for (int k = 0; k < HD_MAX / LSZ; k++)
				if (lid + k * LSZ < hd)
					acc[k] += w * vload_half(lid + k * LSZ,
					    vr);
		}
		m = mc;
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	for (int k = 0; k < HD_MAX / LSZ; k++)
		if (lid + k * LSZ < hd)
			out[lid + k * LSZ] = l == 0.0f ? 0.0f : acc[k] / l;
}

/* ---- element-wise ---- */

float
silu(float x)
{
	return x / (1.0f + exp(-x));
}

/* ggml's table GELU: the tanh form at x rounded to fp16, the result
 * rounded to fp16, saturated past +-10 */
float
gelu(float x)
{
	const float a = 0.044715f, s = 0.79788456080286535587989211986876f;

	if (x <= -10.0f)
		return 0.0f;
	if (x >= 10.0f)
		return x;
	x = round16(x);
	return round16(0.5f * x * (1.0f + tanh(s * x * fma(a * x, x,
	    1.0f))));
}

/* ---- activations as the CPU's matmuls take them ----
 *
 * The CPU (lib/matmul.c) quantizes a matmul's input once: to blocks of 32
 * int8 with an fp16 scale for the 32-value quant types, to blocks of 256
 * with a float scale for the K-quants, or rounds it to F16 or BF16 for
 * weights of those types. The device computes with the same values,
 * dequantized back to floats, so that its logits follow the CPU's. */

#define FORM_Q8   0
#define FORM_Q8K  1
#define FORM_F16  3
#define FORM_BF16 4

/* block b (of 32) of x into y as ggml's quantize_row_q8_1 has it, its
 * sum d * sum(q) into ys[b] */
void
phase_act_q8(global const float *x, global float *y, global float *ys,
	ulong b)
{
	global const float *v = x + 32 * b;
	float amax = 0.0f, d, id, sum = 0.0f;

	for (int i = 0; i < 32; i++)
		amax = fmax(amax, fabs(v[i]));
	d = amax / 127.0f;
	id = amax != 0.0f ? 127.0f / amax : 0.0f;
	for (int i = 0; i < 32; i++) {
		float q = clamp(rint(v[i] * id), -128.0f, 127.0f);

		sum += q;
		y[32 * b + i] = round16(d) * q;
	}
	ys[b] = round16(d * sum);
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
	is = amax != 0.0f ? -127.0f / max : 0.0f;
	for (int i = 0; i < 256; i++)
		y[256 * b + i] = amax != 0.0f ?
		    clamp(rint(is * v[i]), -128.0f, 127.0f) * (1.0f / is) : 0.0f;
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

/* unit i of x into y: a block for FORM_Q8 and FORM_Q8K, a value else */
kernel void
k_act(global const float *x, global float *y, global float *ys, int form)
{
	ulong i = get_global_id(0);

	if (form == FORM_Q8)
		phase_act_q8(x, y, ys, i);
	else if (form == FORM_Q8K)
		phase_act_q8k(x, y, i);
	else if (form == FORM_F16)
		y[i] = round16(x[i]);
	else
		y[i] = round_bf16(x[i]);
}

kernel void
k_matmul(global const uchar *w, ulong row_bytes, int type,
	global const float *x, global const float *xs, global float *y,
	int cols, int rows)
{
	local float s[LSZ];

	phase_matmul(w, row_bytes, type, x, xs, y, cols, rows,
	    get_group_id(0), get_global_id(1), s);
}

kernel void
k_matmul_row(global const uchar *w, ulong row_bytes, int type,
	global const float *x, global const float *xs, global float *y,
	int cols, int rows)
{
	phase_matmul_row(w, row_bytes, type, x, xs, y, cols, rows,
	    get_global_id(0), get_global_id(1));
}

/* rows of ws values of x normed into rows of wd of d (one group a row) */
kernel void
k_norm(global const float *x, int ws, global const float *w,
	global float *d, int wd, float eps)
{
	local float s[LSZ];
	ulong t = get_global_id(1);

	phase_rmsnorm(x + t * ws, w, d + t * wd, ws, eps, s);
}

/* every head of every row of d (width wd) normed (one group a head) */
kernel void
k_head_norm(global float *d, int wd, int hd, global const float *w,
	float eps)
{
	local float s[LSZ];
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

/* (head, row) groups; row t sits at position pos0 + t */
kernel void
k_attn(global const float *q, global const half *kc, global const half *vc,
	global float *out, int n_head, int hd, int kvd, int group, int pos0,
	int n_swa, float scale, int f16)
{
	local float s[LSZ], pj[LSZ];
	int h = get_group_id(0), t = get_global_id(1);
	int n_kv = pos0 + t + 1;
	int lo = n_swa && n_kv > n_swa ? n_kv - n_swa : 0;
	ulong off = ((ulong)t * n_head + h) * hd;

	phase_attn(q + off, kc, vc, out + off, hd, kvd, h / group, lo, n_kv,
	    scale, f16 || lo, s, pj);
}

kernel void
k_add(global float *d, global const float *x)
{
	int i = get_global_id(0);

	d[i] += x[i];
}

kernel void
k_glu(global float *d, global const float *x, int act)
{
	int i = get_global_id(0);

	d[i] = (act == ACT_GELU ? gelu(d[i]) : silu(d[i])) * x[i];
}

kernel void
k_softcap(global float *d, float f)
{
	int i = get_global_id(0);

	d[i] = tanh(d[i] * (1.0f / f)) * f;
}
