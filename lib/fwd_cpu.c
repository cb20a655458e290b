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
#include "par.h"
#include "quant.h"
#include "rowops.h"

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
	 * converted once per write of the buffer (struct track) */
	void *act[N_BUF][N_ACT_FORM];
	size_t act_cap[N_BUF][N_ACT_FORM];
	float *kt, *v32;        /* (n_head_kv, positions, head_dim) float K
	                         * tiles and V rows for the tiled kernel */
	size_t cap_tiles;       /* floats kt and v32 hold each */
	float *rope;            /* (n_rope, cap, rope dims) cos, sin pairs */
	void **pack;            /* per step of the plan (layers' then the
	                         * output's), its matrix repacked, or NULL */
	unsigned char *owned;   /* per step: pack[i] is ours to free */
	int failed;             /* set by any thread of a region */
	/* one token's rows, a copy per thread (single-row regions): what
	 * every thread computes whole for itself rather than wait for */
	uint8_t *priv;          /* (n_priv, priv_size) */
	int n_priv;
	size_t priv_size;
	size_t priv_buf[N_BUF]; /* offsets in a thread's copy */
	size_t priv_act[N_BUF][N_ACT_FORM];
};

static int
n_steps(const struct plan *p)
{
	int n = p->n_out;

	for (int l = 0; l < p->n_layer; l++)
		n += p->layers[l].n_steps;
	return n;
}

/* Step i of the plan (the layers' steps, then the output's). */
static const struct step *
step_at(const struct plan *p, int i)
{
	for (int l = 0; l < p->n_layer; l++) {
		if (i < p->layers[l].n_steps)
			return &p->layers[l].steps[i];
		i -= p->layers[l].n_steps;
	}
	return &p->out[i];
}

/* Every matrix with a repacked layout (matmul.h): the copy in `made`
 * (the weight cache's), else one made here, once. */
static int
pack_all(struct fwd *f, const struct packs *made, struct cerr *e)
{
	int n = n_steps(f->p);

	if (!(f->pack = calloc((size_t)n, sizeof *f->pack)) ||
	    !(f->owned = calloc((size_t)n, 1)))
		return cerr_set(e, "out of memory");
	for (int i = 0; i < n; i++) {
		const struct step *s = step_at(f->p, i);
		int q8;
		size_t size;

		if (s->op != OP_MATMUL)
			continue;
		if ((f->pack[i] = (void *)packs_find(made, &s->w)))
			continue;
		q8 = mat_act_form(&s->w) == ACT_Q8;
		size = q8 ? pack_size(&s->w) : pack_size_k(&s->w);
		if (!size)
			continue;
		if (!(f->pack[i] = aligned_alloc(64, (size + 63) / 64 * 64)))
			return cerr_set(e, "out of memory for the repacked "
			    "weights");
		f->owned[i] = 1;
		if (q8)
			pack_mat(&s->w, f->pack[i]);
		else
			pack_k(&s->w, f->pack[i]);
	}
	return 0;
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
	/* the table costs 65536 tanhf: only for plans that use it */
	for (int i = 0; i < n_steps(p); i++)
		if (step_at(p, i)->op == OP_GLU && step_at(p, i)->act == ACT_GELU)
			gelu_init();
	f->k_cache = malloc(cache * sizeof *f->k_cache);
	f->v_cache = malloc(cache * sizeof *f->v_cache);
	if (!f->k_cache || !f->v_cache) {
		fwd_close(f);
		cerr_set(e, "out of memory for a context of %d", o->n_ctx);
		return NULL;
	}
	if (pack_all(f, o->packs, e) < 0) {
		fwd_close(f);
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
	free(f->priv);
	if (f->pack && f->owned)
		for (int i = 0; i < n_steps(f->p); i++)
			if (f->owned[i])
				free(f->pack[i]);
	free(f->pack);
	free(f->owned);
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
	/* the matmuls' inputs in their forms, so a region allocates none */
	for (int i = 0; i < n_steps(p); i++) {
		const struct step *s = step_at(p, i);
		int form = s->op == OP_MATMUL ? mat_act_form(&s->w) : ACT_F32;
		size_t need = act_form_size(form, n, p->width[s->src]);

		if (form == ACT_F32 || need <= f->act_cap[s->src][form])
			continue;
		if (grow(&f->act[s->src][form], need) < 0)
			return cerr_set(e, "out of memory");
		f->act_cap[s->src][form] = need;
	}
	f->cap = n;
	return 0;
}

/* Room for each thread's copy of one token's rows (single-row regions):
 * every buffer but the logits, and the matmuls' inputs in their forms. */
static int
reserve_priv(struct fwd *f, int nth)
{
	const struct plan *p = f->p;
	size_t at = 0;
	uint8_t *np;

	if (nth <= f->n_priv)
		return 0;
	for (int b = 0; b < N_BUF; b++) {
		f->priv_buf[b] = at;
		if (b != B_LOGITS)
			at += ((size_t)p->width[b] * sizeof(float) + 63) /
			    64 * 64;
	}
	memset(f->priv_act, 0, sizeof f->priv_act);
	for (int i = 0; i < n_steps(p); i++) {
		const struct step *s = step_at(p, i);
		int form = s->op == OP_MATMUL ? mat_act_form(&s->w) : ACT_F32;

		if (form == ACT_F32 || f->priv_act[s->src][form])
			continue;
		f->priv_act[s->src][form] = at;
		at += (act_form_size(form, 1, p->width[s->src]) + 63) / 64 * 64;
	}
	if (!(np = aligned_alloc(64, at * (size_t)nth)))
		return -1;
	free(f->priv);
	f->priv = np;
	f->priv_size = at;
	f->n_priv = nth;
	return 0;
}

/* ---- the steps ---- */

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

/* ---- one batch in one parallel region ----
 *
 * Every thread runs every step on its share: token rows (norms, RoPE,
 * converting a matmul's input), output columns in units of PACK_ROWS
 * (matmuls and the element-wise steps after them, so a residual add or
 * a GLU reads only what the same thread wrote), or attention heads. A
 * barrier goes where a step touches a buffer that a step since the last
 * barrier wrote (or read) with another split. Each thread tracks the
 * same plan the same way, so all meet at the same barriers. */

enum { SPLIT_NONE, SPLIT_T, SPLIT_ALL, SPLIT_C };   /* SPLIT_C + width */
#define ACTB(b) (N_BUF + (b))   /* buffer b's converted rows */

struct track {
	int wr[2 * N_BUF];      /* split of the last write since the barrier */
	int rd[2 * N_BUF];      /* split of the reads since the barrier */
	unsigned act_ok[N_BUF]; /* bit f: ACTB(b) holds b in form f */
	/* Single-row regions: the rows a step needs whole (norms, RoPE, a
	 * matmul's input) are computed by every thread into its own copy,
	 * where it reads them with no barrier; priv[b]: b's live value is
	 * there, in pb[b]. Converted inputs always go to pa. */
	int dup;
	unsigned char priv[N_BUF];
	float *pb[N_BUF];
	void *pa[N_BUF][N_ACT_FORM];
};

/* Where this thread reads buffer b. */
static float *
live(const struct fwd *f, const struct track *tr, int b)
{
	return tr->priv[b] ? tr->pb[b] : f->buf[b];
}

struct region {
	struct fwd *f;
	int pos0;
	int keep;               /* rows wanted out of the last layer */
};

static int
clash(int was, int split)
{
	return was != SPLIT_NONE && (was != split || split == SPLIT_ALL);
}

/* Before a step with this split that reads rd[] and writes wr[]: a
 * barrier if it must see or must not spoil another thread's work. */
static void
sync_step(struct track *tr, const int *rd, int nrd, const int *wr, int nwr,
	int split)
{
	int need = 0;

	for (int i = 0; i < nrd; i++)
		need |= clash(tr->wr[rd[i]], split);
	for (int i = 0; i < nwr; i++)
		need |= clash(tr->wr[wr[i]], split) | clash(tr->rd[wr[i]],
		    split);
	if (need) {
		par_barrier();
		memset(tr->wr, 0, sizeof tr->wr);
		memset(tr->rd, 0, sizeof tr->rd);
	}
	for (int i = 0; i < nrd; i++)
		tr->rd[rd[i]] = tr->rd[rd[i]] && tr->rd[rd[i]] != split ?
		    SPLIT_ALL : split;
	for (int i = 0; i < nwr; i++) {
		tr->wr[wr[i]] = tr->wr[wr[i]] && tr->wr[wr[i]] != split ?
		    SPLIT_ALL : split;
		if (wr[i] < N_BUF)
			tr->act_ok[wr[i]] = 0;
	}
}

/* Before a step of a single-row region that reads buffers rd[] whole
 * (those not in this thread's copy: the others' writes must be done). */
static void
sync_whole(struct track *tr, const int *rd, int nrd)
{
	int shared[4], k = 0;

	for (int i = 0; i < nrd; i++)
		if (!tr->priv[rd[i]])
			shared[k++] = rd[i];
	sync_step(tr, shared, k, NULL, 0, SPLIT_ALL);
}

static void
fail(struct fwd *f)
{
	__atomic_store_n(&f->failed, 1, __ATOMIC_RELAXED);
}

/* K and V rows of the batch into layer l's cache, then causal attention of
 * the batch's Q rows (positions pos0..) over it, with the kernel ggml
 * would pick for a batch of n rows. KV heads are split between threads
 * for the stores, (row, KV head) pairs for the attention. */
static void
attend(struct fwd *f, const struct track *tr, const struct plan_layer *pl,
	int l, int dst, int q, int pos0, int ith, int nth)
{
	const struct plan *p = f->p;
	int n = f->rows, hd = p->head_dim, kvd = p->width[B_K];
	int group = p->n_head / p->n_head_kv, tiled = n >= ATTN_TILE;
	uint16_t *kc = f->k_cache + (size_t)l * f->n_ctx * kvd;
	uint16_t *vc = f->v_cache + (size_t)l * f->n_ctx * kvd;
	size_t tsz = attn_tiles_size(hd, pos0 + n);
	const float *qb = live(f, tr, q), *kb = live(f, tr, B_K);
	const float *vb = live(f, tr, B_V);
	float *out = f->buf[dst];
	long h0, h1;

	par_split(p->n_head_kv, 1, ith, nth, &h0, &h1);
	for (int t = 0; t < n; t++)
		for (int i = (int)h0 * hd; i < (int)h1 * hd; i++) {
			size_t at = (size_t)(pos0 + t) * kvd + i;

			kc[at] = f32_to_fp16(kb[(size_t)t * kvd + i]);
			vc[at] = f32_to_fp16(vb[(size_t)t * kvd + i]);
		}
	if (tiled)
		for (long h = h0; h < h1; h++)
			attn_tiles_load(kc + h * hd, vc + h * hd, (size_t)kvd, hd,
			    pos0 + n, f->kt + h * tsz, f->v32 + h * tsz);
	if (n == 1) {
		/* one token: by query head, so that more threads share it,
		 * its own K and V rows taken from the buffers, so that no
		 * thread waits for another's stores */
		uint16_t kl[ATTN_MAX_HD], vl[ATTN_MAX_HD];
		int lo = pl->n_swa && pos0 + 1 > pl->n_swa ?
		    pos0 + 1 - pl->n_swa : 0, have = -1;

		for (int h = ith; h < p->n_head; h += nth) {
			int kvh = h / group;
			size_t at = (size_t)lo * kvd + (size_t)kvh * hd;

			for (int i = 0; kvh != have && i < hd; i++) {
				kl[i] = f32_to_fp16(kb[kvh * hd + i]);
				vl[i] = f32_to_fp16(vb[kvh * hd + i]);
			}
			have = kvh;
			attn_row_last(qb + (size_t)h * hd, kc + at, vc + at,
			    (size_t)kvd, kl, vl, hd, pos0 + 1 - lo,
			    pl->attn_scale, out + (size_t)h * hd);
		}
		return;
	}
	par_barrier();
	/* (row, KV head) pairs, the group's query heads together;
	 * interleaved, so that the long rows of a causal batch spread */
	for (int i = ith; i < n * p->n_head_kv; i += nth) {
		int t = i / p->n_head_kv, kvh = i % p->n_head_kv;
		size_t off = ((size_t)t * p->n_head + kvh * group) * hd;
		int n_kv = pos0 + t + 1;
		/* a sliding window masks positions n_swa back or more,
		 * which ggml's kernels skip */
		int lo = pl->n_swa && n_kv > pl->n_swa ? n_kv - pl->n_swa : 0;

		if (tiled && !lo)
			attn_rows_tiled(qb + off, group, f->kt + kvh * tsz,
			    f->v32 + kvh * tsz, hd, n_kv, pl->attn_scale,
			    out + off);
		else
			for (int g = 0; g < group; g++)
				attn_row(qb + off + (size_t)g * hd,
				    kc + (size_t)lo * kvd + kvh * hd,
				    vc + (size_t)lo * kvd + kvh * hd,
				    (size_t)kvd, hd, n_kv - lo,
				    pl->attn_scale, out + off + (size_t)g * hd);
	}
}

/* Buffer b's rows [lo, hi) into the form w takes them. */
static void
convert(struct fwd *f, int b, int form, long lo, long hi)
{
	int cols = f->p->width[b];

	act_convert(form, f->buf[b] + (size_t)lo * cols, (int)(hi - lo), cols,
	    (uint8_t *)f->act[b][form] + act_form_size(form, (int)lo, cols));
}

/* Matmuls reading one input, in a run (Q, K, V; gate, up): its input
 * converted once for each form they take, then all their rows at once.
 * Matrices of one height split their rows alike, so that a GLU reads
 * only what its thread wrote; of several heights (Q, K, V), the units
 * of all of them are split as one list, so every thread gets as many. */
static void
matmul_run_steps(struct region *rg, struct track *tr, const struct step *s,
	int cnt, void *const *pack, int ith, int nth)
{
	struct fwd *f = rg->f;
	int n = f->rows, in[4], n_in = 0, dst[4], even = 1;
	long units = 0, u0, u1, base = 0;
	const void *a[4];

	for (int k = 0; k < cnt; k++) {
		int form = mat_act_form(&s[k].w), src = s[k].src;
		long lo, hi;

		dst[k] = s[k].dst;
		even &= s[k].w.rows == s[0].w.rows;
		units += (long)((s[k].w.rows + PACK_ROWS - 1) / PACK_ROWS);
		if (form == ACT_F32) {
			a[k] = live(f, tr, src);
			if (!tr->priv[src])
				in[n_in++] = src;
			continue;
		}
		if (tr->dup) {
			/* the whole row into this thread's own copy */
			a[k] = tr->pa[src][form];
			if (tr->act_ok[src] & 1u << form)
				continue;
			sync_whole(tr, &src, 1);
			act_convert(form, live(f, tr, src), 1, f->p->width[src],
			    tr->pa[src][form]);
			tr->act_ok[src] |= 1u << form;
			continue;
		}
		a[k] = f->act[src][form];
		in[n_in++] = ACTB(src);
		if (tr->act_ok[src] & 1u << form)
			continue;
		sync_step(tr, &src, 1, &in[n_in - 1], 1, SPLIT_T);
		par_split(n, 1, ith, nth, &lo, &hi);
		convert(f, src, form, lo, hi);
		tr->act_ok[src] |= 1u << form;
	}
	sync_step(tr, in, n_in, dst, cnt, even ? SPLIT_C +
	    f->p->width[dst[0]] : SPLIT_ALL);
	for (int k = 0; k < cnt; k++)
		tr->priv[dst[k]] = 0;
	par_split(units, 1, ith, nth, &u0, &u1);
	for (int k = 0; k < cnt; k++) {
		const struct mat *w = &s[k].w;
		long nu = (long)((w->rows + PACK_ROWS - 1) / PACK_ROWS), lo, hi;

		if (even)
			par_split(w->rows, PACK_ROWS, ith, nth, &lo, &hi);
		else {
			lo = (u0 > base ? u0 : base) - base;
			hi = (u1 < base + nu ? u1 : base + nu) - base;
			lo *= PACK_ROWS;
			hi = hi * PACK_ROWS < w->rows ? hi * PACK_ROWS : w->rows;
		}
		base += nu;
		if (lo < hi && matmul_rows(w, pack[k], a[k], n,
		    f->buf[s[k].dst], f->p->width[s[k].dst], lo, hi) < 0)
			fail(f);
	}
}

/* Steps from s on that run as one matmul run (at most 4). */
static int
matmul_run_len(const struct step *s, int left)
{
	int k = 1;

	while (k < left && k < 4 && s[k].op == OP_MATMUL &&
	    s[k].src == s[0].src && s[k].dst != s[0].src)
		k++;
	return k;
}

/* Keep the last `keep` rows of buffer b. */
static void
keep_last(struct fwd *f, int b, int keep)
{
	size_t w = (size_t)f->p->width[b];

	memmove(f->buf[b], f->buf[b] + (size_t)(f->rows - keep) * w,
	    (size_t)keep * w * sizeof(float));
}

/* Element-wise step s on columns [lo, hi) of row d (x: its source row). */
static void
elementwise(const struct step *s, float *d, const float *x, long lo, long hi)
{
	long i;

	switch (s->op) {
	case OP_BIAS:
		#pragma omp simd
		for (i = lo; i < hi; i++)
			d[i] += s->vec[i];
		break;
	case OP_SCALE:
		#pragma omp simd
		for (i = lo; i < hi; i++)
			d[i] *= s->f;
		break;
	case OP_ADD:
		#pragma omp simd
		for (i = lo; i < hi; i++)
			d[i] += x[i];
		break;
	case OP_GLU:
		if (s->act == ACT_GELU)
			geglu(d, x, 1, 0, 0, lo, hi);
		else
			swiglu(d, x, 1, 0, 0, lo, hi);
		break;
	case OP_SOFTCAP:
		for (i = lo; i < hi; i++)
			d[i] = tanhf(d[i] * (1.0f / s->f)) * s->f;
		break;
	}
}

/* A step of a single-row region that this thread does whole, into its own
 * copy of dst: the row-wise ones (norms, RoPE), and any on a buffer it
 * already holds a copy of. 0: a step for the threads to share. */
static int
step_own(struct region *rg, struct track *tr, const struct step *s, int l)
{
	struct fwd *f = rg->f;
	const struct plan *p = f->p;
	int w = p->width[s->dst], hd = p->head_dim;
	float *d = tr->pb[s->dst];

	if (!tr->dup || s->op == OP_MATMUL || s->op == OP_ATTN ||
	    s->op == OP_OUT_ROWS || s->dst == B_LOGITS)
		return 0;
	if (!tr->priv[s->dst] && s->op != OP_NORM && s->op != OP_HEAD_NORM &&
	    s->op != OP_ROPE)
		return 0;
	if (s->op == OP_NORM) {
		sync_whole(tr, &s->src, 1);
		rmsnorm(d, live(f, tr, s->src), s->vec, p->width[s->src],
		    p->eps);
	} else {
		if (!tr->priv[s->dst]) {
			sync_whole(tr, &s->dst, 1);
			memcpy(d, f->buf[s->dst], (size_t)w * sizeof *d);
		}
		if (s->op == OP_ADD || s->op == OP_GLU)
			sync_whole(tr, &s->src, 1);
	}
	tr->priv[s->dst] = 1;
	tr->act_ok[s->dst] = 0;
	switch (s->op) {
	case OP_NORM:
		break;
	case OP_HEAD_NORM:
		rmsnorm_rows(d, hd, d, hd, s->vec, w / hd, hd, p->eps);
		break;
	case OP_ROPE: {
		const struct rope *r = &p->rope[p->layers[l].rope];

		rope_heads(d, w / hd, hd, r, f->rope +
		    (size_t)p->layers[l].rope * f->cap * r->dims);
		break;
	}
	default:
		elementwise(s, d, live(f, tr, s->src), 0, w);
	}
	return 1;
}

/* One step of layer l (-1: the output): this thread's share. */
static void
step(struct region *rg, struct track *tr, const struct step *s, int l,
	int ith, int nth)
{
	struct fwd *f = rg->f;
	const struct plan *p = f->p;
	const struct plan_layer *pl = l >= 0 ? &p->layers[l] : NULL;
	int n = f->rows, w = p->width[s->dst], ws = p->width[s->src];
	int both[2] = { s->dst, s->src }, col = SPLIT_C + w;
	float *d = f->buf[s->dst];
	const float *x = live(f, tr, s->src);
	long lo, hi;

	if (step_own(rg, tr, s, l))
		return;
	par_split(n, 1, ith, nth, &lo, &hi);
	switch (s->op) {
	case OP_NORM:
		sync_step(tr, &s->src, 1, &s->dst, 1, SPLIT_T);
		rmsnorm_rows(d + (size_t)lo * w, w, x + (size_t)lo * ws, ws,
		    s->vec, (int)(hi - lo), ws, p->eps);
		return;
	case OP_HEAD_NORM:
		sync_step(tr, &s->dst, 1, &s->dst, 1, SPLIT_T);
		/* the heads of rows lo..hi are rows of head_dim in a row */
		rmsnorm_rows(d + (size_t)lo * w, p->head_dim, d + (size_t)lo * w,
		    p->head_dim, s->vec, (int)(hi - lo) * (w / p->head_dim),
		    p->head_dim, p->eps);
		return;
	case OP_ROPE: {
		const struct rope *r = &p->rope[pl->rope];

		sync_step(tr, &s->dst, 1, &s->dst, 1, SPLIT_T);
		for (long t = lo; t < hi; t++)
			rope_heads(d + (size_t)t * w, w / p->head_dim,
			    p->head_dim, r, f->rope + ((size_t)pl->rope * f->cap +
			    (size_t)t) * r->dims);
		return;
	}
	case OP_MATMUL:         /* run() takes them */
		return;
	case OP_ATTN: {
		int rd[3] = { s->src, B_K, B_V };

		sync_whole(tr, rd, 3);
		sync_step(tr, NULL, 0, &s->dst, 1, SPLIT_ALL);
		attend(f, tr, pl, l, s->dst, s->src, rg->pos0, ith, nth);
		return;
	}
	case OP_OUT_ROWS:
		if (l != p->n_layer - 1 || rg->keep == n)
			return;
		/* llama.cpp drops them here and picks the kernels of the
		 * rest of the layer by the rows that remain */
		par_barrier();
		if (ith == 0) {
			keep_last(f, B_X, rg->keep);
			keep_last(f, B_CUR, rg->keep);
			f->rows = rg->keep;
		}
		par_barrier();
		memset(tr, 0, sizeof *tr);
		return;
	default:
		break;
	}
	/* element-wise on dst, split by its columns as the matmul before
	 * (a source in this thread's own copy needs no one else) */
	sync_step(tr, both, (s->op == OP_ADD || s->op == OP_GLU) &&
	    !tr->priv[s->src] ? 2 : 1, &s->dst, 1, col);
	par_split(w, PACK_ROWS, ith, nth, &lo, &hi);
	for (int t = 0; t < n; t++)
		elementwise(s, d + (size_t)t * w, x + (size_t)t * ws, lo, hi);
}

/* The steps of one layer (or the output), matmuls in runs. */
static void
run_steps(struct region *rg, struct track *tr, const struct step *s, int cnt,
	int l, void *const *pack, int ith, int nth)
{
	for (int k = 0; k < cnt; ) {
		int len = 1;

		if (s[k].op == OP_MATMUL) {
			len = matmul_run_len(s + k, cnt - k);
			matmul_run_steps(rg, tr, s + k, len, pack + k, ith, nth);
		} else
			step(rg, tr, s + k, l, ith, nth);
		k += len;
	}
}

static void
run(void *arg, int ith, int nth)
{
	struct region *rg = arg;
	const struct plan *p = rg->f->p;
	void *const *pack = rg->f->pack;
	struct fwd *f = rg->f;
	struct track tr;

	memset(&tr, 0, sizeof tr);
	/* one token: a barrier costs more than every thread normalising or
	 * converting a row for itself */
	tr.dup = f->rows == 1 && nth > 1 && nth <= f->n_priv;
	for (int b = 0; tr.dup && b < N_BUF; b++) {
		uint8_t *own = f->priv + (size_t)ith * f->priv_size;

		tr.pb[b] = (float *)(own + f->priv_buf[b]);
		for (int a = 0; a < N_ACT_FORM; a++)
			tr.pa[b][a] = own + f->priv_act[b][a];
	}
	for (int l = 0; l < p->n_layer; l++) {
		run_steps(rg, &tr, p->layers[l].steps, p->layers[l].n_steps, l,
		    pack, ith, nth);
		pack += p->layers[l].n_steps;
	}
	run_steps(rg, &tr, p->out, p->n_out, -1, pack, ith, nth);
}

/* Room for attention's float tiles of n rows after pos0. */
static int
reserve_tiles(struct fwd *f, int n, int pos0)
{
	const struct plan *p = f->p;
	size_t need = attn_tiles_size(p->head_dim, pos0 + n) *
	    (size_t)p->n_head_kv;

	if (n < ATTN_TILE || need <= f->cap_tiles)
		return 0;
	if (grow(&f->kt, need * sizeof *f->kt) < 0 ||
	    grow(&f->v32, need * sizeof *f->v32) < 0)
		return -1;
	f->cap_tiles = need;
	return 0;
}

int
fwd_eval(struct fwd *f, const int32_t *tokens, int n, int all,
	struct cerr *e)
{
	const struct plan *p = f->p;
	struct region rg = { f, f->n_pos, all ? n : 1 };

	if (n <= 0)
		return 0;
	if (n > f->n_ctx - f->n_pos)
		return cerr_set(e, "context full: %d positions, %d more asked "
		    "(use -c)", f->n_ctx, n + f->n_pos - f->n_ctx);
	if (reserve(f, n, e) < 0)
		return -1;
	if (reserve_tiles(f, n, rg.pos0) < 0)
		return cerr_set(e, "out of memory for attention tiles");
	if (n == 1 && reserve_priv(f, par_threads()) < 0)
		return cerr_set(e, "out of memory");
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
			    p->rope[r].dims, &p->rope[r], rg.pos0 + t);
	f->failed = 0;
	par_run(run, &rg);
	if (f->failed)
		return cerr_set(e, "out of memory in a matmul");
	f->n_pos += n;
	return 0;
}
