/* fwd_cpu.c: the CPU backend: runs any plan (plan.h) on a batch of tokens.
 *
 * Follows llama.cpp's numerics step by step, so that its logits come out
 * bit-identical to llama.cpp's (built for AVX-512, the reference goldens)
 * on any machine: activations quantized to 8 bits once per matmul input,
 * K and V cached in fp16, attention as ggml's flash-attention kernels sum
 * it (attn.c), RMSNorm summed in double, RoPE angles by repeated products
 * and rotations with the fused multiply-adds GCC makes of ggml's, SiLU
 * with ggml's own expf, GELU from ggml's fp16 table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn.h"
#include "fwd.h"
#include "matmul.h"
#include "quant.h"

struct fwd {
	const struct plan *p;
	int n_ctx;              /* KV cache positions */
	int n_pos;              /* positions filled */
	int cap;                /* batch rows the buffers hold */
	int rows;               /* rows live in the buffers now */
	uint16_t *k_cache;      /* (n_layer, n_ctx, kv_dim) fp16 */
	uint16_t *v_cache;      /* (n_layer, n_ctx, kv_dim) fp16 */
	float *buf[N_BUF];      /* (cap, width[b]) */
	/* each buffer's rows in the forms matmuls take them (matmul.h),
	 * converted once per write of the buffer */
	void *act[N_BUF][N_ACT_FORM];
	size_t act_cap[N_BUF][N_ACT_FORM];
	unsigned act_ok[N_BUF]; /* bit f: act[b][f] holds buf[b] */
	float *kt, *v32;        /* (n_head_kv, positions, head_dim) float K
	                         * tiles and V rows for the tiled kernel */
	size_t cap_tiles;       /* floats kt and v32 hold each */
	float *rope;            /* (n_rope, cap, rope dims) cos, sin pairs */
};

/* ggml's GELU table: the tanh approximation at every fp16 value, rounded
 * to fp16 (GGML_GELU_FP16), as GCC evaluates ggml_gelu_f32. */
static uint16_t gelu_tab[1 << 16];

static void
gelu_init(void)
{
	static int done;
	const float a = 0.044715f, s = 0.79788456080286535587989211986876f;

	if (done)
		return;
	for (int i = 0; i < 1 << 16; i++) {
		float x = fp16_to_f32((uint16_t)i);

		gelu_tab[i] = f32_to_fp16(0.5f * x * (1.0f + tanhf(s * x *
		    fmaf(a * x, x, 1.0f))));
	}
	done = 1;
}

struct fwd *
fwd_open(const struct plan *p, const struct fwd_opts *o, struct cerr *e)
{
	size_t kvd = (size_t)p->width[B_K];
	size_t cache = (size_t)p->n_layer * (size_t)o->n_ctx * kvd;
	struct fwd *f = calloc(1, sizeof *f);

	if (!f)
		return cerr_set(e, "out of memory"), NULL;
	f->p = p;
	f->n_ctx = o->n_ctx;
	matmul_force_scalar(o->portable);
	matmul_k_force_scalar(o->portable);
	attn_force_portable(o->portable);
	gelu_init();
	f->k_cache = malloc(cache * sizeof *f->k_cache);
	f->v_cache = malloc(cache * sizeof *f->v_cache);
	if (!f->k_cache || !f->v_cache) {
		fwd_close(f);
		cerr_set(e, "out of memory for a context of %d", o->n_ctx);
		return NULL;
	}
	return f;
}

void
fwd_close(struct fwd *f)
{
	if (!f)
		return;
	free(f->k_cache);
	free(f->v_cache);
	for (int b = 0; b < N_BUF; b++) {
		free(f->buf[b]);
		for (int a = 0; a < N_ACT_FORM; a++)
			free(f->act[b][a]);
	}
	free(f->kt);
	free(f->v32);
	free(f->rope);
	free(f);
}

const float *
fwd_logits(const struct fwd *f)
{
	return f->buf[B_LOGITS];
}

int
fwd_keep(struct fwd *f, int n, struct cerr *e)
{
	if (n < 0 || n > f->n_pos)
		return cerr_set(e, "keep %d: only %d positions are filled", n,
		    f->n_pos);
	f->n_pos = n;           /* the next batch overwrites the rest */
	return 0;
}

int
fwd_n_pos(const struct fwd *f)
{
	return f->n_pos;
}

int
fwd_n_ctx(const struct fwd *f)
{
	return f->n_ctx;
}

static int
grow(void *pp, size_t bytes)
{
	void *np = realloc(*(void **)pp, bytes);

	if (!np)
		return -1;
	*(void **)pp = np;
	return 0;
}

/* Grow the per-batch buffers to n rows. */
static int
reserve(struct fwd *f, int n, struct cerr *e)
{
	const struct plan *p = f->p;
	int rd = 0;

	if (n <= f->cap)
		return 0;
	for (int r = 0; r < p->n_rope; r++)
		rd = p->rope[r].dims > rd ? p->rope[r].dims : rd;
	for (int b = 0; b < N_BUF; b++)
		if (grow(&f->buf[b], (size_t)n * (size_t)p->width[b] *
		    sizeof(float)) < 0)
			return cerr_set(e, "out of memory");
	if (grow(&f->rope, (size_t)p->n_rope * (size_t)n * (size_t)rd *
	    sizeof(float)) < 0)
		return cerr_set(e, "out of memory");
	f->cap = n;
	return 0;
}

/* Buffer b's live rows in the form w takes them, converted on first use
 * after each write of b. NULL: out of memory. */
static const void *
act_of(struct fwd *f, int b, const struct mat *w)
{
	int form = mat_act_form(w), cols = f->p->width[b];
	size_t need = act_form_size(form, f->cap, cols);

	if (form == ACT_F32)
		return f->buf[b];
	if (f->act_ok[b] & 1u << form)
		return f->act[b][form];
	if (need > f->act_cap[b][form]) {
		if (grow(&f->act[b][form], need) < 0)
			return NULL;
		f->act_cap[b][form] = need;
	}
	act_convert(form, f->buf[b], f->rows, cols, f->act[b][form]);
	f->act_ok[b] |= 1u << form;
	return f->act[b][form];
}

/* ---- the steps ---- */

/* out = x / rms(x) * w, the sum of squares in double as ggml has it
 * (out may be x). */
static void
rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
	double ss = 0.0;
	float scale;

	for (int i = 0; i < n; i++)
		ss += (double)(x[i] * x[i]);
	scale = 1.0f / sqrtf((float)(ss / n) + eps);
	for (int i = 0; i < n; i++)
		out[i] = x[i] * scale * w[i];
}

/* cos and sin of each rotated pair's angle at position pos, as ggml's rope
 * cache has them: the angles by repeated products (the same for every
 * head). */
static void
rope_angles(float *cs, const struct rope *r, int pos)
{
	float theta_scale = powf(r->base, -2.0f / (float)r->dims);
	float theta = (float)pos;

	for (int i = 0; i < r->dims; i += 2) {
		float ff = r->freqs ? r->freqs[i / 2] : 1.0f;
		float t = r->scale * (theta / ff);

		cs[i] = cosf(t) * r->mscale;
		cs[i + 1] = sinf(t) * r->mscale;
		theta *= theta_scale;
	}
}

/* Rotate the pairs of each head: adjacent ones (llama's "normal" RoPE) or
 * dims/2 apart (NEOX). */
static void
rope_heads(float *v, int n_heads, int head_dim, const struct rope *r,
	const float *cs)
{
	int off = r->neox ? r->dims / 2 : 1, step = r->neox ? 1 : 2;

	for (int h = 0; h < n_heads; h++) {
		float *x = v + (size_t)h * head_dim;

		for (int i = 0; i < r->dims; i += 2) {
			float *p = x + i / 2 * step;
			float c = cs[i], s = cs[i + 1];
			float a = p[0], b = p[off];

			p[0] = fmaf(a, c, -(b * s));
			p[off] = fmaf(a, s, b * c);
		}
	}
}

/* K and V rows of the batch into layer l's cache, then causal attention of
 * the batch's Q rows (positions pos0..) over it, with the kernel ggml
 * would pick for a batch of n rows. */
static int
attend(struct fwd *f, const struct plan_layer *pl, int l, int dst, int q,
	int pos0)
{
	const struct plan *p = f->p;
	int n = f->rows, hd = p->head_dim, kvd = p->width[B_K];
	int group = p->n_head / p->n_head_kv, tiled = n >= ATTN_TILE;
	uint16_t *kc = f->k_cache + (size_t)l * f->n_ctx * kvd;
	uint16_t *vc = f->v_cache + (size_t)l * f->n_ctx * kvd;
	size_t tsz = attn_tiles_size(hd, pos0 + n);
	const float *qb = f->buf[q];
	float *out = f->buf[dst];

	#pragma omp parallel for if (n > 1)
	for (int t = 0; t < n; t++)
		for (int i = 0; i < kvd; i++) {
			size_t at = (size_t)(pos0 + t) * kvd + i;

			kc[at] = f32_to_fp16(f->buf[B_K][(size_t)t * kvd + i]);
			vc[at] = f32_to_fp16(f->buf[B_V][(size_t)t * kvd + i]);
		}
	if (tiled) {
		size_t need = tsz * (size_t)p->n_head_kv;

		if (need > f->cap_tiles) {
			if (grow(&f->kt, need * sizeof *f->kt) < 0 ||
			    grow(&f->v32, need * sizeof *f->v32) < 0)
				return -1;
			f->cap_tiles = need;
		}
		#pragma omp parallel for
		for (int h = 0; h < p->n_head_kv; h++)
			attn_tiles_load(kc + h * hd, vc + h * hd, (size_t)kvd, hd,
			    pos0 + n, f->kt + h * tsz, f->v32 + h * tsz);
	}
	#pragma omp parallel for collapse(2) schedule(dynamic, 1)
	for (int t = 0; t < n; t++)
		for (int h = 0; h < p->n_head; h++) {
			size_t off = ((size_t)t * p->n_head + h) * hd;
			int kvh = h / group, n_kv = pos0 + t + 1;
			/* a sliding window masks positions n_swa back or more,
			 * which ggml's kernels skip */
			int lo = pl->n_swa && n_kv > pl->n_swa ?
			    n_kv - pl->n_swa : 0;

			if (tiled && !lo)
				attn_row_tiled(qb + off, f->kt + kvh * tsz,
				    f->v32 + kvh * tsz, hd, n_kv, pl->attn_scale,
				    out + off);
			else
				attn_row(qb + off, kc + (size_t)lo * kvd +
				    kvh * hd, vc + (size_t)lo * kvd + kvh * hd,
				    (size_t)kvd, hd, n_kv - lo, pl->attn_scale,
				    out + off);
		}
	return 0;
}

static float
silu(float x)
{
	return x / (1.0f + expf_ggml(-x));
}

/* GELU from the table, as ggml_vec_geglu_f32 (saturated past +-10). */
static float
gelu(float x)
{
	if (x <= -10.0f)
		return 0.0f;
	if (x >= 10.0f)
		return x;
	return fp16_to_f32(gelu_tab[f32_to_fp16(x)]);
}

/* Keep the last `keep` rows of buffer b. */
static void
keep_last(struct fwd *f, int b, int keep)
{
	size_t w = (size_t)f->p->width[b];

	memmove(f->buf[b], f->buf[b] + (size_t)(f->rows - keep) * w,
	    (size_t)keep * w * sizeof(float));
}

/* One step of layer l (-1: the output) over the live rows. keep: rows
 * whose output is wanted, for OP_OUT_ROWS in the last layer. */
static int
step(struct fwd *f, const struct step *s, int l, int pos0, int keep,
	struct cerr *e)
{
	const struct plan *p = f->p;
	const struct plan_layer *pl = l >= 0 ? &p->layers[l] : NULL;
	int n = f->rows, w = p->width[s->dst], ws = p->width[s->src];
	float *d = f->buf[s->dst];
	const float *x = f->buf[s->src];

	switch (s->op) {
	case OP_NORM:
		#pragma omp parallel for if (n > 1)
		for (int t = 0; t < n; t++)
			rmsnorm(d + (size_t)t * w, x + (size_t)t * ws, s->vec,
			    ws, p->eps);
		break;
	case OP_HEAD_NORM:
		#pragma omp parallel for if (n > 1)
		for (int t = 0; t < n; t++)
			for (int h = 0; h < w / p->head_dim; h++) {
				float *v = d + (size_t)t * w + h * p->head_dim;

				rmsnorm(v, v, s->vec, p->head_dim, p->eps);
			}
		break;
	case OP_MATMUL: {
		const void *a = act_of(f, s->src, &s->w);

		if (!a || matmul_run(&s->w, a, n, d, w) < 0)
			return cerr_set(e, "out of memory in a matmul");
		break;
	}
	case OP_BIAS:
		for (int t = 0; t < n; t++)
			for (int i = 0; i < w; i++)
				d[(size_t)t * w + i] += s->vec[i];
		break;
	case OP_ROPE: {
		const struct rope *r = &p->rope[pl->rope];

		#pragma omp parallel for if (n > 1)
		for (int t = 0; t < n; t++)
			rope_heads(d + (size_t)t * w, w / p->head_dim,
			    p->head_dim, r, f->rope + ((size_t)pl->rope * f->cap +
			    t) * r->dims);
		break;
	}
	case OP_SCALE:
		for (size_t i = 0; i < (size_t)n * w; i++)
			d[i] *= s->f;
		break;
	case OP_ATTN:
		if (attend(f, pl, l, s->dst, s->src, pos0) < 0)
			return cerr_set(e, "out of memory for attention tiles");
		break;
	case OP_OUT_ROWS:
		if (l != p->n_layer - 1 || keep == n)
			break;
		/* llama.cpp drops them here and picks the kernels of the
		 * rest of the layer by the rows that remain */
		keep_last(f, B_X, keep);
		keep_last(f, B_CUR, keep);
		f->rows = keep;
		for (int b = 0; b < N_BUF; b++)
			f->act_ok[b] = 0;
		break;
	case OP_ADD:
		for (size_t i = 0; i < (size_t)n * w; i++)
			d[i] += x[i];
		break;
	case OP_GLU:
		#pragma omp parallel for if (n > 1)
		for (size_t i = 0; i < (size_t)n * w; i++)
			d[i] = (s->act == ACT_GELU ? gelu(d[i]) : silu(d[i])) *
			    x[i];
		break;
	case OP_SOFTCAP:
		for (size_t i = 0; i < (size_t)n * w; i++)
			d[i] = tanhf(d[i] * (1.0f / s->f)) * s->f;
		break;
	}
	f->act_ok[s->dst] = 0;
	return 0;
}

int
fwd_eval(struct fwd *f, const int32_t *tokens, int n, int all,
	struct cerr *e)
{
	const struct plan *p = f->p;
	int pos0 = f->n_pos;

	if (n <= 0)
		return 0;
	if (n > f->n_ctx - f->n_pos)
		return cerr_set(e, "context full: %d positions, %d more asked "
		    "(use -c)", f->n_ctx, n + f->n_pos - f->n_ctx);
	if (reserve(f, n, e) < 0)
		return -1;
	f->rows = n;
	for (int t = 0; t < n; t++) {
		float *x = f->buf[B_X] + (size_t)t * p->dim;

		if (tokens[t] < 0 || tokens[t] >= p->n_vocab)
			return cerr_set(e, "token %d out of range (n_vocab %d)",
			    tokens[t], p->n_vocab);
		if (mat_row_f32(&p->embd, tokens[t], x) < 0)
			return cerr_set(e, "token_embd: type %s not supported",
			    qtype_get(p->embd.type)->name);
		if (p->embd_scale)
			for (int i = 0; i < p->dim; i++)
				x[i] *= p->embd_scale;
	}
	/* RoPE angles once per position, for every layer */
	for (int r = 0; r < p->n_rope; r++)
		for (int t = 0; t < n; t++)
			rope_angles(f->rope + ((size_t)r * f->cap + t) *
			    p->rope[r].dims, &p->rope[r], pos0 + t);
	for (int b = 0; b < N_BUF; b++)
		f->act_ok[b] = 0;
	for (int l = 0; l < p->n_layer; l++)
		for (int i = 0; i < p->layers[l].n_steps; i++)
			if (step(f, &p->layers[l].steps[i], l, pos0,
			    all ? n : 1, e) < 0)
				return -1;
	for (int i = 0; i < p->n_out; i++)
		if (step(f, &p->out[i], -1, pos0, f->rows, e) < 0)
			return -1;
	f->n_pos += n;
	return 0;
}
