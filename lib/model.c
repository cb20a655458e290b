/* model.c: hyperparameters and weights of a llama-architecture model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn.h"
#include "model.h"
#include "quant.h"

/* ARCH.suffix as an integer in [lo, hi]; def if absent (def < 0: required). */
static int
hp_int(const struct gguf *g, const char *arch, const char *suffix, int64_t def,
	int64_t lo, int64_t hi, int *out, struct cerr *e)
{
	char key[128];
	int64_t v;

	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	if (!gguf_kv_get(g, key)) {
		if (def < 0)
			return cerr_set(e, "%s: missing %s", g->path, key);
		*out = (int)def;
		return 0;
	}
	if (gguf_get_i64(g, key, &v, e) < 0)
		return -1;
	if (v < lo || v > hi)
		return cerr_set(e, "%s: %s = %lld out of range", g->path, key,
		    (long long)v);
	*out = (int)v;
	return 0;
}

static int
hp_float(const struct gguf *g, const char *arch, const char *suffix,
	double def, float *out, struct cerr *e)
{
	char key[128];
	double v;

	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	if (!gguf_kv_get(g, key)) {
		*out = (float)def;
		return 0;
	}
	if (gguf_get_f64(g, key, &v, e) < 0)
		return -1;
	if (!(v > 0 && v < 1e30))
		return cerr_set(e, "%s: %s = %g out of range", g->path, key, v);
	*out = (float)v;
	return 0;
}

/* A tensor of exactly the given shape (ne1 = 0: a vector). */
static int
get_mat(const struct gguf *g, const char *name, int64_t cols, int64_t rows,
	struct mat *m, struct cerr *e)
{
	const struct gguf_tensor *t = gguf_tensor_get(g, name);

	if (!t)
		return cerr_set(e, "%s: missing tensor %s", g->path, name);
	if ((int64_t)t->ne[0] != cols || (rows ? (int64_t)t->ne[1] != rows ||
	    t->n_dims != 2 : t->n_dims != 1))
		return cerr_set(e, "%s: tensor %s: shape %llu x %llu, expected "
		    "%lld x %lld", g->path, name, (unsigned long long)t->ne[0],
		    (unsigned long long)t->ne[1], (long long)cols,
		    (long long)(rows ? rows : 1));
	m->data = t->data;
	m->type = t->type;
	m->cols = cols;
	m->rows = rows ? rows : 1;
	m->row_bytes = qtype_row_size(t->type, (uint64_t)cols);
	return 0;
}

static int
get_vec(const struct gguf *g, const char *name, int64_t n, const float **out,
	struct cerr *e)
{
	struct mat m;

	if (get_mat(g, name, n, 0, &m, e) < 0)
		return -1;
	if (m.type != GGML_F32)
		return cerr_set(e, "%s: tensor %s: type %s, expected f32",
		    g->path, name, qtype_get(m.type)->name);
	*out = m.data;
	return 0;
}

static int
load_hparams(struct hparams *hp, const struct gguf *g, const char *a,
	struct cerr *e)
{
	int n_ctx;

	if (hp_int(g, a, "embedding_length", -1, 1, 1 << 16, &hp->dim, e) < 0 ||
	    hp_int(g, a, "block_count", -1, 1, 1024, &hp->n_layer, e) < 0 ||
	    hp_int(g, a, "feed_forward_length", -1, 1, 1 << 18, &hp->ffn, e) < 0 ||
	    hp_int(g, a, "attention.head_count", -1, 1, 1024, &hp->n_head, e) < 0 ||
	    hp_int(g, a, "attention.head_count_kv", hp->n_head, 1, hp->n_head,
	    &hp->n_head_kv, e) < 0 ||
	    hp_int(g, a, "context_length", 2048, 1, 1 << 24, &n_ctx, e) < 0 ||
	    hp_float(g, a, "rope.freq_base", 10000.0, &hp->rope_base, e) < 0 ||
	    hp_float(g, a, "attention.layer_norm_rms_epsilon", 1e-5, &hp->eps,
	    e) < 0)
		return -1;
	hp->n_ctx_train = n_ctx;
	if (hp->dim % hp->n_head || hp->n_head % hp->n_head_kv)
		return cerr_set(e, "%s: %d heads (%d kv) do not divide dim %d",
		    g->path, hp->n_head, hp->n_head_kv, hp->dim);
	hp->head_dim = hp->dim / hp->n_head;
	if (hp->head_dim > ATTN_MAX_HD)
		return cerr_set(e, "%s: head size %d is over %d", g->path,
		    hp->head_dim, ATTN_MAX_HD);
	if (hp_int(g, a, "rope.dimension_count", hp->head_dim, 2, hp->head_dim,
	    &hp->rope_dims, e) < 0)
		return -1;
	hp->rope_scale = 1.0f;
	{
		char key[128];
		struct gguf_str type;
		float factor;
		struct cerr ign;

		snprintf(key, sizeof key, "%s.rope.scaling.type", a);
		if (gguf_get_str(g, key, &type, &ign) == 0 &&
		    gguf_str_eq(type, "linear") &&
		    hp_float(g, a, "rope.scaling.factor", 1.0, &factor, e) == 0)
			hp->rope_scale = 1.0f / factor;
	}
	return 0;
}

static int
load_layer(struct layer *l, const struct gguf *g, int i,
	const struct hparams *hp, struct cerr *e)
{
	int qd = hp->n_head * hp->head_dim, kvd = hp->n_head_kv * hp->head_dim;
	char n[9][64];
	static const char *const names[9] = { "attn_norm", "attn_q", "attn_k",
	    "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
	    "ffn_down" };

	for (int k = 0; k < 9; k++)
		snprintf(n[k], sizeof n[k], "blk.%d.%s.weight", i, names[k]);
	return get_vec(g, n[0], hp->dim, &l->attn_norm, e) < 0 ||
	    get_mat(g, n[1], hp->dim, qd, &l->wq, e) < 0 ||
	    get_mat(g, n[2], hp->dim, kvd, &l->wk, e) < 0 ||
	    get_mat(g, n[3], hp->dim, kvd, &l->wv, e) < 0 ||
	    get_mat(g, n[4], qd, hp->dim, &l->wo, e) < 0 ||
	    get_vec(g, n[5], hp->dim, &l->ffn_norm, e) < 0 ||
	    get_mat(g, n[6], hp->dim, hp->ffn, &l->w_gate, e) < 0 ||
	    get_mat(g, n[7], hp->dim, hp->ffn, &l->w_up, e) < 0 ||
	    get_mat(g, n[8], hp->ffn, hp->dim, &l->w_down, e) < 0 ? -1 : 0;
}

int
model_load(struct model *m, const struct gguf *g, struct cerr *e)
{
	struct gguf_str arch;
	const struct gguf_tensor *emb;
	char a[64];

	memset(m, 0, sizeof *m);
	if (gguf_get_str(g, "general.architecture", &arch, e) < 0)
		return -1;
	if (!gguf_str_eq(arch, "llama"))
		return cerr_set(e, "%s: architecture %.*s not supported",
		    g->path, (int)(arch.len > 40 ? 40 : arch.len), arch.p);
	snprintf(a, sizeof a, "llama");
	if (load_hparams(&m->hp, g, a, e) < 0)
		return -1;
	if (!(emb = gguf_tensor_get(g, "token_embd.weight")) || emb->n_dims != 2 ||
	    emb->ne[1] > INT32_MAX)
		return cerr_set(e, "%s: missing or bad token_embd.weight", g->path);
	m->hp.n_vocab = (int)emb->ne[1];
	if (get_mat(g, "token_embd.weight", m->hp.dim, m->hp.n_vocab,
	    &m->tok_embd, e) < 0 ||
	    get_vec(g, "output_norm.weight", m->hp.dim, &m->out_norm, e) < 0)
		return -1;
	if (gguf_tensor_get(g, "output.weight")) {
		if (get_mat(g, "output.weight", m->hp.dim, m->hp.n_vocab,
		    &m->output, e) < 0)
			return -1;
	} else {
		m->output = m->tok_embd;        /* tied embeddings */
	m->tok_embd.plain = 1;
	m->output.plain = m->output.data == m->tok_embd.data;
	}
	if (!(m->layers = calloc((size_t)m->hp.n_layer, sizeof *m->layers)))
		return cerr_set(e, "out of memory");
	for (int i = 0; i < m->hp.n_layer; i++)
		if (load_layer(&m->layers[i], g, i, &m->hp, e) < 0) {
			model_free(m);
			return -1;
		}
	return 0;
}

void
model_free(struct model *m)
{
	free(m->layers);
	m->layers = NULL;
}
