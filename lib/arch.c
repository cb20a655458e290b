/* arch.c: each architecture chord runs, as the function that builds its
 * plan: the layer's math in order, one step a line, as llama.cpp 0.3.36's
 * graph for that architecture computes it (src/models/NAME.cpp). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "plan.h"

/* ---- building a list of steps ---- */

struct steps {
	struct step *v;
	int n, cap, oom;
};

static void
add(struct steps *s, struct step st)
{
	if (s->n == s->cap) {
		int cap = s->cap ? 2 * s->cap : 32;
		struct step *v = realloc(s->v, (size_t)cap * sizeof *v);

		if (!v) {
			s->oom = 1;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = st;
}

static void
norm(struct steps *s, int dst, int src, const float *w)
{
	add(s, (struct step){ .op = OP_NORM, .dst = dst, .src = src, .vec = w });
}

static void
head_norm(struct steps *s, int dst, const float *w)
{
	add(s, (struct step){ .op = OP_HEAD_NORM, .dst = dst, .vec = w });
}

static void
matmul(struct steps *s, int dst, int src, struct mat w)
{
	add(s, (struct step){ .op = OP_MATMUL, .dst = dst, .src = src, .w = w });
}

static void
bias(struct steps *s, int dst, const float *b)
{
	add(s, (struct step){ .op = OP_BIAS, .dst = dst, .vec = b });
}

static void
op(struct steps *s, int o, int dst, int src)
{
	add(s, (struct step){ .op = o, .dst = dst, .src = src });
}

static void
scale(struct steps *s, int dst, float f)
{
	add(s, (struct step){ .op = OP_SCALE, .dst = dst, .f = f });
}

static void
glu(struct steps *s, int act)
{
	add(s, (struct step){ .op = OP_GLU, .dst = B_FF, .src = B_FF2,
	    .act = act });
}

/* ---- what every architecture shares ---- */

struct ctx {
	const struct model *m;
	struct plan *p;
	int il;
	struct cerr *e;
};

/* A tensor the architecture needs: "FILE: missing tensor blk.N.NAME". */
static int
need(struct ctx *c, const void *t, const char *name)
{
	if (t)
		return 0;
	if (c->il < 0)
		return cerr_set(c->e, "%s: %s architecture needs tensor %s",
		    c->m->path, c->m->hp.arch, name);
	return cerr_set(c->e, "%s: %s architecture needs tensor blk.%d.%s",
	    c->m->path, c->m->hp.arch, c->il, name);
}

/* Q, K and V of the normed input, from separate or fused matrices. */
static int
qkv(struct ctx *c, struct steps *s, const struct layer *L)
{
	int64_t qd = c->p->width[B_Q], kvd = c->p->width[B_K];

	if (L->wqkv.data && !L->wq.data) {
		matmul(s, B_Q, B_XB, mat_rows(&L->wqkv, 0, qd));
		matmul(s, B_K, B_XB, mat_rows(&L->wqkv, qd, kvd));
		matmul(s, B_V, B_XB, mat_rows(&L->wqkv, qd + kvd, kvd));
		return 0;
	}
	if (need(c, L->wq.data, "attn_q.weight") < 0 ||
	    need(c, L->wk.data, "attn_k.weight") < 0 ||
	    need(c, L->wv.data, "attn_v.weight") < 0)
		return -1;
	matmul(s, B_Q, B_XB, L->wq);
	matmul(s, B_K, B_XB, L->wk);
	matmul(s, B_V, B_XB, L->wv);
	return 0;
}

/* The gate and up halves of the feed-forward, separate or fused (phi3's
 * ffn_up holds gate then up). */
static int
gate_up(struct ctx *c, struct steps *s, const struct layer *L)
{
	int64_t f = c->p->width[B_FF];

	if (need(c, L->w_up.data, "ffn_up.weight") < 0 ||
	    need(c, L->w_down.data, "ffn_down.weight") < 0)
		return -1;
	if (!L->w_gate.data && L->w_up.rows == 2 * f) {
		matmul(s, B_FF, B_XB, mat_rows(&L->w_up, 0, f));
		matmul(s, B_FF2, B_XB, mat_rows(&L->w_up, f, f));
		return 0;
	}
	if (need(c, L->w_gate.data, "ffn_gate.weight") < 0 ||
	    L->w_up.rows != f)
		return need(c, NULL, "ffn_gate.weight");
	matmul(s, B_FF, B_XB, L->w_gate);
	matmul(s, B_FF2, B_XB, L->w_up);
	return 0;
}

static int
need_norms(struct ctx *c, const struct layer *L)
{
	return need(c, L->attn_norm, "attn_norm.weight") < 0 ||
	    need(c, L->wo.data, "attn_output.weight") < 0 ||
	    need(c, L->ffn_norm, "ffn_norm.weight") < 0 ? -1 : 0;
}

/* Llama and its kin: pre-norm attention and SwiGLU feed-forward.
 * qwen2 adds biases to Q, K, V; qwen3 RMS-norms each head of Q and K;
 * phi3 fuses QKV and gate|up and scales Q before attention. */
static int
llama_layer(struct ctx *c, struct steps *s, const struct layer *L)
{
	const char *a = c->m->hp.arch;
	int qwen2 = !strcmp(a, "qwen2"), qwen3 = !strcmp(a, "qwen3");
	int phi3 = !strcmp(a, "phi3");

	if (need_norms(c, L) < 0)
		return -1;
	norm(s, B_XB, B_X, L->attn_norm);
	if (qkv(c, s, L) < 0)
		return -1;
	if (qwen2) {
		if (need(c, L->bq, "attn_q.bias") < 0 ||
		    need(c, L->bk, "attn_k.bias") < 0 ||
		    need(c, L->bv, "attn_v.bias") < 0)
			return -1;
		bias(s, B_Q, L->bq);
		bias(s, B_K, L->bk);
		bias(s, B_V, L->bv);
	}
	if (qwen3) {
		if (need(c, L->q_norm, "attn_q_norm.weight") < 0 ||
		    need(c, L->k_norm, "attn_k_norm.weight") < 0)
			return -1;
		head_norm(s, B_Q, L->q_norm);
		head_norm(s, B_K, L->k_norm);
	}
	op(s, OP_ROPE, B_Q, 0);
	op(s, OP_ROPE, B_K, 0);
	if (phi3)
		scale(s, B_Q, 1.0f / sqrtf((float)c->p->head_dim));
	op(s, OP_ATTN, B_ATT, B_Q);
	matmul(s, B_CUR, B_ATT, L->wo);
	op(s, OP_OUT_ROWS, 0, 0);
	op(s, OP_ADD, B_X, B_CUR);

	norm(s, B_XB, B_X, L->ffn_norm);
	if (gate_up(c, s, L) < 0)
		return -1;
	glu(s, ACT_SILU);
	matmul(s, B_CUR, B_FF, L->w_down);
	op(s, OP_ADD, B_X, B_CUR);
	return 0;
}

/* Gemma 3: norms before and after attention and feed-forward, RMS-normed
 * heads of Q and K, Q scaled before attention, GELU-gated feed-forward. */
static int
gemma3_layer(struct ctx *c, struct steps *s, const struct layer *L)
{
	if (need_norms(c, L) < 0 ||
	    need(c, L->q_norm, "attn_q_norm.weight") < 0 ||
	    need(c, L->k_norm, "attn_k_norm.weight") < 0 ||
	    need(c, L->attn_post_norm, "post_attention_norm.weight") < 0 ||
	    need(c, L->ffn_post_norm, "post_ffw_norm.weight") < 0)
		return -1;
	norm(s, B_XB, B_X, L->attn_norm);
	if (qkv(c, s, L) < 0)
		return -1;
	head_norm(s, B_Q, L->q_norm);
	op(s, OP_ROPE, B_Q, 0);
	head_norm(s, B_K, L->k_norm);
	op(s, OP_ROPE, B_K, 0);
	scale(s, B_Q, 1.0f / sqrtf((float)c->p->head_dim));
	op(s, OP_ATTN, B_ATT, B_Q);
	matmul(s, B_CUR, B_ATT, L->wo);
	op(s, OP_OUT_ROWS, 0, 0);
	norm(s, B_CUR, B_CUR, L->attn_post_norm);
	op(s, OP_ADD, B_X, B_CUR);

	norm(s, B_XB, B_X, L->ffn_norm);
	if (gate_up(c, s, L) < 0)
		return -1;
	glu(s, ACT_GELU);
	matmul(s, B_CUR, B_FF, L->w_down);
	norm(s, B_CUR, B_CUR, L->ffn_post_norm);
	op(s, OP_ADD, B_X, B_CUR);
	return 0;
}

typedef int (*layer_fn)(struct ctx *, struct steps *, const struct layer *);

static const struct arch {
	const char *name;
	layer_fn layer;
	int neox;               /* RoPE on pairs (i, i + dims/2) */
} archs[] = {
	{ "llama", llama_layer, 0 },
	{ "qwen2", llama_layer, 1 },
	{ "qwen3", llama_layer, 1 },
	{ "phi3", llama_layer, 1 },
	{ "gemma3", gemma3_layer, 1 },
};

static const struct arch *
arch_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
		if (strlen(archs[i].name) == len &&
		    !memcmp(archs[i].name, name, len))
			return &archs[i];
	return NULL;
}

int
arch_supported(const char *name, size_t len)
{
	return arch_find(name, len) != NULL;
}

const char *
arch_names(void)
{
	return "llama, qwen2, qwen3, phi3, gemma3";
}

/* The RoPE settings a layer uses: an index into p->rope, shared by every
 * layer with the same settings so the backend computes each table once. */
static int
rope_index(struct plan *p, struct rope r)
{
	for (int i = 0; i < p->n_rope; i++) {
		const struct rope *q = &p->rope[i];

		if (q->neox == r.neox && q->dims == r.dims &&
		    q->base == r.base && q->scale == r.scale &&
		    q->mscale == r.mscale && q->freqs == r.freqs)
			return i;
	}
	if (p->n_rope == PLAN_MAX_ROPE)
		return 0;
	p->rope[p->n_rope] = r;
	return p->n_rope++;
}

/* Per-layer facts: sliding window (gemma3: 5 of every 6 layers, their own
 * RoPE base), RoPE factors (Llama 3's rope_freqs; phi3's long or short set
 * by the context asked for), the attention scale. */
static void
layer_facts(struct plan *p, const struct model *m, const struct arch *a,
	int il, int n_ctx)
{
	const struct hparams *hp = &m->hp;
	struct plan_layer *pl = &p->layers[il];
	struct rope r = { .neox = a->neox, .dims = hp->rope_dims,
	    .base = hp->rope_base, .scale = hp->rope_scale,
	    .mscale = hp->rope_attn_factor, .freqs = m->rope_freqs };
	int pattern = hp->swa_pattern ? hp->swa_pattern : 6;
	int gemma3 = !strcmp(hp->arch, "gemma3");

	if (!r.freqs && (m->rope_long || m->rope_short))
		r.freqs = n_ctx > hp->n_ctx_orig && m->rope_long ?
		    m->rope_long : m->rope_short;
	pl->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
	if (gemma3 || !strcmp(hp->arch, "phi3"))
		pl->attn_scale = 1.0f;  /* Q was scaled in the layer */
	if (gemma3 && hp->n_swa > 0 && il % pattern < pattern - 1) {
		pl->n_swa = hp->n_swa;
		r.base = hp->rope_base_swa;
		r.scale = 1.0f;
	}
	pl->rope = rope_index(p, r);
}

int
plan_build(struct plan *p, const struct model *m, int n_ctx, struct cerr *e)
{
	const struct hparams *hp = &m->hp;
	const struct arch *a = arch_find(hp->arch, strlen(hp->arch));
	struct ctx c = { m, p, -1, e };
	struct steps out = { 0 };

	memset(p, 0, sizeof *p);
	if (!a)
		return cerr_set(e, "%s: architecture '%s' not supported (chord "
		    "runs %s)", m->path, hp->arch, arch_names());
	p->dim = hp->dim;
	p->n_vocab = hp->n_vocab;
	p->n_head = hp->n_head;
	p->n_head_kv = hp->n_head_kv;
	p->head_dim = hp->head_dim;
	p->eps = hp->eps;
	p->embd = m->tok_embd;
	if (!strcmp(hp->arch, "gemma3"))
		p->embd_scale = sqrtf((float)hp->dim);
	p->width[B_X] = p->width[B_XB] = p->width[B_CUR] = hp->dim;
	p->width[B_Q] = p->width[B_ATT] = hp->n_head * hp->head_dim;
	p->width[B_K] = p->width[B_V] = hp->n_head_kv * hp->head_dim;
	p->width[B_FF] = p->width[B_FF2] = hp->ffn;
	p->width[B_LOGITS] = hp->n_vocab;
	p->n_layer = hp->n_layer;
	if (!(p->layers = calloc((size_t)hp->n_layer, sizeof *p->layers)))
		return cerr_set(e, "out of memory");
	for (int il = 0; il < hp->n_layer; il++) {
		struct steps s = { 0 };

		c.il = il;
		layer_facts(p, m, a, il, n_ctx);
		if (a->layer(&c, &s, &m->layers[il]) < 0 || s.oom) {
			free(s.v);
			if (s.oom)
				cerr_set(e, "out of memory");
			plan_free(p);
			return -1;
		}
		p->layers[il].steps = s.v;
		p->layers[il].n_steps = s.n;
	}
	/* the output: final norm, the vocabulary's logits (soft-capped) */
	norm(&out, B_XB, B_X, m->out_norm);
	matmul(&out, B_LOGITS, B_XB, m->output);
	if (hp->softcap > 0)
		add(&out, (struct step){ .op = OP_SOFTCAP, .dst = B_LOGITS,
		    .f = hp->softcap });
	if (out.oom) {
		free(out.v);
		plan_free(p);
		return cerr_set(e, "out of memory");
	}
	p->out = out.v;
	p->n_out = out.n;
	return 0;
}

void
plan_free(struct plan *p)
{
	for (int i = 0; p->layers && i < p->n_layer; i++)
		free(p->layers[i].steps);
	free(p->layers);
	free(p->out);
	memset(p, 0, sizeof *p);
}
