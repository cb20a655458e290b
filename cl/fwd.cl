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

float
unit_dot(global const uchar *row, int type, int u, float8 x)
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
		    half_at(b + 2) * x8_sum(x);
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
		    half_at(b + 2) * x8_sum(x);
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
	global const float *x, global float *y, int cols, int rows, int r,
	int t, local float *s)
{
	global const uchar *row = w + (ulong)r * row_bytes;
	global const float *xt = x + (ulong)t * cols;
	float acc = 0.0f;

	for (int u = get_local_id(0); u < cols / 8; u += LSZ)
		acc += unit_dot(row, type, u, vload8(u, xt));
	acc = wg_sum(acc, s);
	if (get_local_id(0) == 0)
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

/* Head h of Q row t over cache positions lo..n_kv-1 of its KV head, online
 * softmax over chunks of LSZ positions: lane j scores position p0 + j,
 * then every lane adds the chunk's weighted V into the head values it
 * owns (lid, lid + LSZ, ...). */
void
phase_attn(global const float *q, global const half *kc,
	global const half *vc, global float *out, int hd, int kvd, int kvh,
	int lo, int n_kv, float scale, local float *s, local float *pj)
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
				sc += q[d] * vload_half(d, kr);
			sc *= scale;
		}
		mc = fmax(m, wg_max(sc, s));
		alpha = exp(m - mc);
		pj[lid] = p < n_kv ? exp(sc - mc) : 0.0f;
		barrier(CLK_LOCAL_MEM_FENCE);
		l *= alpha;
		for (int k = 0; k < HD_MAX / LSZ; k++)
			acc[k] *= alpha;
		for (int j = 0; j < LSZ && p0 + j < n_kv; j++) {
			global const half *vr = vc + (ulong)(p0 + j) * kvd +
			    kvh * hd;
			float w = pj[j];

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
			out[lid + k * LSZ] = acc[k] / l;
}

/* ---- element-wise ---- */

float
silu(float x)
{
	return x / (1.0f + exp(-x));
}

/* v rounded to fp16 and back */
float
round16(float v)
{
	ushort h;       /* a half's bits: no half variables in OpenCL C */

	vstore_half_rte(v, 0, (private half *)&h);
	return vload_half(0, (private half *)&h);
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

/* ---- the phased mode: one kernel a step ---- */

kernel void
k_matmul(global const uchar *w, ulong row_bytes, int type,
	global const float *x, global float *y, int cols, int rows)
{
	local float s[LSZ];

	phase_matmul(w, row_bytes, type, x, y, cols, rows, get_group_id(0),
	    get_global_id(1), s);
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
	int n_swa, float scale)
{
	local float s[LSZ], pj[LSZ];
	int h = get_group_id(0), t = get_global_id(1);
	int n_kv = pos0 + t + 1;
	int lo = n_swa && n_kv > n_swa ? n_kv - n_swa : 0;
	ulong off = ((ulong)t * n_head + h) * hd;

	phase_attn(q + off, kc, vc, out + off, hd, kvd, h / group, lo, n_kv,
	    scale, s, pj);
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
