/* model.c: hyperparameters and weight matrices of a model, as its file
 * names them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "attn.h"
#include "matmul.h"
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
	/* the kernels read blocks through structs of fp16 fields and floats
	 * as floats: an odd offset (general.alignment 1) cannot be read */
	if ((uintptr_t)t->data % (t->type == GGML_F32 ? 4 : 2))
		return cerr_set(e, "%s: tensor %s: data not aligned for its type",
		    g->path, name);
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

/* A tensor the file may lack (absent: m->data stays NULL); if present, of
 * exactly cols x rows. */
static int
opt_mat(const struct gguf *g, const char *name, int64_t cols, int64_t rows,
	struct mat *m, struct cerr *e)
{
	memset(m, 0, sizeof *m);
	if (!gguf_tensor_get(g, name))
		return 0;
	if (get_mat(g, name, cols, rows, m, e) < 0)
		return -1;
	if (!qtype_get(m->type) || !qtype_get(m->type)->to_f32 ||
	    !matmul_supported(m->type))
		return cerr_set(e, "%s: tensor %s: type %s not supported",
		    g->path, name, qtype_get(m->type) ? qtype_get(m->type)->name :
		    "unknown");
	m->repacked = mat_repacked(m);
	return 0;
}

static int
opt_vec(const struct gguf *g, const char *name, int64_t n, const float **out,
	struct cerr *e)
{
	*out = NULL;
	if (!gguf_tensor_get(g, name))
		return 0;
	return get_vec(g, name, n, out, e);
}

static int
load_hparams(struct hparams *hp, const struct gguf *g, const char *a,
	struct cerr *e)
{
	int n_ctx, vd;

	if (hp_int(g, a, "embedding_length", -1, 1, 1 << 16, &hp->dim, e) < 0 ||
	    hp_int(g, a, "block_count", -1, 1, 1024, &hp->n_layer, e) < 0 ||
	    hp_int(g, a, "feed_forward_length", -1, 1, 1 << 18, &hp->ffn, e) < 0 ||
	    hp_int(g, a, "attention.head_count", -1, 1, 1024, &hp->n_head, e) < 0 ||
	    hp_int(g, a, "attention.head_count_kv", hp->n_head, 1, hp->n_head,
	    &hp->n_head_kv, e) < 0 ||
	    hp_int(g, a, "context_length", 2048, 1, 1 << 24, &n_ctx, e) < 0 ||
	    hp_float(g, a, "rope.freq_base", 10000.0, &hp->rope_base, e) < 0 ||
	    hp_float(g, a, "rope.freq_base_swa", 10000.0, &hp->rope_base_swa,
	    e) < 0 ||
	    hp_float(g, a, "attention.layer_norm_rms_epsilon", 1e-5, &hp->eps,
	    e) < 0 ||
	    hp_int(g, a, "attention.sliding_window", 0, 0, 1 << 24, &hp->n_swa,
	    e) < 0 ||
	    hp_int(g, a, "attention.sliding_window_pattern", 0, 0, 1024,
	    &hp->swa_pattern, e) < 0 ||
	    hp_int(g, a, "rope.scaling.original_context_length", n_ctx, 1,
	    1 << 24, &hp->n_ctx_orig, e) < 0 ||
	    hp_float(g, a, "rope.scaling.attn_factor", 1.0,
	    &hp->rope_attn_factor, e) < 0)
		return -1;
	if (hp_float(g, a, "final_logit_softcapping", 0.0, &hp->softcap, e) < 0)
		return -1;
	hp->n_ctx_train = n_ctx;
	if (hp->n_head % hp->n_head_kv)
		return cerr_set(e, "%s: %d heads are not a multiple of %d kv "
		    "heads", g->path, hp->n_head, hp->n_head_kv);
	if (hp_int(g, a, "attention.key_length", hp->dim % hp->n_head ? -1 :
	    hp->dim / hp->n_head, 1, 1 << 16, &hp->head_dim, e) < 0 ||
	    hp_int(g, a, "attention.value_length", hp->head_dim, 1, 1 << 16,
	    &vd, e) < 0)
		return -1;
	if (vd != hp->head_dim)
		return cerr_set(e, "%s: value length %d differs from key length "
		    "%d", g->path, vd, hp->head_dim);
	if (hp->head_dim > ATTN_MAX_HD)
		return cerr_set(e, "%s: head size %d is over %d", g->path,
		    hp->head_dim, ATTN_MAX_HD);
	if (hp->head_dim % 2)
		return cerr_set(e, "%s: head size %d is odd", g->path,
		    hp->head_dim);
	if (hp_int(g, a, "rope.dimension_count", hp->head_dim, 2, hp->head_dim,
	    &hp->rope_dims, e) < 0)
		return -1;
	if (hp->rope_dims % 2)
		return cerr_set(e, "%s: %s.rope.dimension_count = %d is odd",
		    g->path, a, hp->rope_dims);
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

/* Every tensor of block i the file has, each of the shape the
 * hyperparameters give it. */
static int
load_layer(struct layer *l, const struct gguf *g, int i,
	const struct hparams *hp, struct cerr *e)
{
	int64_t qd = (int64_t)hp->n_head * hp->head_dim;
	int64_t kvd = (int64_t)hp->n_head_kv * hp->head_dim;
	int64_t d = hp->dim, f = hp->ffn, hd = hp->head_dim;
	const struct gguf_tensor *up;
	char n[64];

#define NAME(s) (snprintf(n, sizeof n, "blk.%d.%s", i, (s)), n)
	up = gguf_tensor_get(g, NAME("ffn_up.weight"));
	return opt_vec(g, NAME("attn_norm.weight"), d, &l->attn_norm, e) < 0 ||
	    opt_mat(g, NAME("attn_q.weight"), d, qd, &l->wq, e) < 0 ||
	    opt_mat(g, NAME("attn_k.weight"), d, kvd, &l->wk, e) < 0 ||
	    opt_mat(g, NAME("attn_v.weight"), d, kvd, &l->wv, e) < 0 ||
	    opt_mat(g, NAME("attn_qkv.weight"), d, qd + 2 * kvd, &l->wqkv,
	    e) < 0 ||
	    opt_vec(g, NAME("attn_q.bias"), qd, &l->bq, e) < 0 ||
	    opt_vec(g, NAME("attn_k.bias"), kvd, &l->bk, e) < 0 ||
	    opt_vec(g, NAME("attn_v.bias"), kvd, &l->bv, e) < 0 ||
	    opt_vec(g, NAME("attn_q_norm.weight"), hd, &l->q_norm, e) < 0 ||
	    opt_vec(g, NAME("attn_k_norm.weight"), hd, &l->k_norm, e) < 0 ||
	    opt_mat(g, NAME("attn_output.weight"), qd, d, &l->wo, e) < 0 ||
	    opt_vec(g, NAME("post_attention_norm.weight"), d,
	    &l->attn_post_norm, e) < 0 ||
	    opt_vec(g, NAME("ffn_norm.weight"), d, &l->ffn_norm, e) < 0 ||
	    opt_mat(g, NAME("ffn_gate.weight"), d, f, &l->w_gate, e) < 0 ||
	    opt_mat(g, NAME("ffn_up.weight"), d, up && up->n_dims == 2 &&
	    up->ne[1] == (uint64_t)(2 * f) ? 2 * f : f, &l->w_up, e) < 0 ||
	    opt_mat(g, NAME("ffn_down.weight"), f, d, &l->w_down, e) < 0 ||
	    opt_vec(g, NAME("post_ffw_norm.weight"), d, &l->ffn_post_norm,
	    e) < 0 ? -1 : 0;
#undef NAME
}

int
model_load(struct model *m, const struct gguf *g, struct cerr *e)
{
	struct gguf_str arch;
	const struct gguf_tensor *emb;
	const struct qtype *qt;
	int64_t nf;

	memset(m, 0, sizeof *m);
	m->path = g->path;
	if (gguf_get_str(g, "general.architecture", &arch, e) < 0)
		return -1;
	if (!arch_supported(arch.p, arch.len)) {
		char shown[64];

		cvis(shown, sizeof shown, arch.p, arch.len);
		return cerr_set(e, "%s: architecture '%s' not supported (chord "
		    "runs %s)", g->path, shown, arch_names());
	}
	memcpy(m->hp.arch, arch.p, arch.len);
	if (load_hparams(&m->hp, g, m->hp.arch, e) < 0)
		return -1;
	if (!(emb = gguf_tensor_get(g, "token_embd.weight")) || emb->n_dims != 2 ||
	    emb->ne[1] > INT32_MAX)
		return cerr_set(e, "%s: missing or bad token_embd.weight", g->path);
	m->hp.n_vocab = (int)emb->ne[1];
	if (get_mat(g, "token_embd.weight", m->hp.dim, m->hp.n_vocab,
	    &m->tok_embd, e) < 0 ||
	    get_vec(g, "output_norm.weight", m->hp.dim, &m->out_norm, e) < 0)
		return -1;
	qt = qtype_get(m->tok_embd.type);
	if (!qt || !qt->to_f32)
		return cerr_set(e, "%s: token_embd.weight: type %s not "
		    "supported", g->path, qt ? qt->name : "unknown");
	if (gguf_tensor_get(g, "output.weight")) {
		if (opt_mat(g, "output.weight", m->hp.dim, m->hp.n_vocab,
		    &m->output, e) < 0)
			return -1;
	} else {
		/* tied embeddings: llama.cpp keeps this matrix unrepacked */
		m->tok_embd.plain = 1;
		if (!matmul_supported(m->tok_embd.type))
			return cerr_set(e, "%s: token_embd.weight: type %s not "
			    "supported", g->path, qt->name);
		m->output = m->tok_embd;
	}
	nf = m->hp.rope_dims / 2;
	if (opt_vec(g, "rope_freqs.weight", nf, &m->rope_freqs, e) < 0 ||
	    opt_vec(g, "rope_factors_long.weight", nf, &m->rope_long, e) < 0 ||
	    opt_vec(g, "rope_factors_short.weight", nf, &m->rope_short, e) < 0)
		return -1;
	if (!(m->layers = calloc((size_t)m->hp.n_layer, sizeof *m->layers)))
		return cerr_set(e, "out of memory");
	for (int i = 0; i < m->hp.n_layer; i++)
		if (load_layer(&m->layers[i], g, i, &m->hp, e) < 0) {
			model_free(m);
			return -1;
		}
	return 0;
}

struct mat
mat_rows(const struct mat *w, int64_t r0, int64_t n)
{
	struct mat v = *w;

	v.data = (const uint8_t *)w->data + (uint64_t)r0 * w->row_bytes;
	v.rows = n;
	return v;
}

void
model_free(struct model *m)
{
	free(m->layers);
	m->layers = NULL;
}
