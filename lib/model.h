/* model.h: a llama-architecture model as GGUF describes it, weights left in
 * the mapped file, and the state of one sequence (KV cache, buffers). */
#ifndef CHORD_MODEL_H
#define CHORD_MODEL_H

#include <stdint.h>

#include "err.h"
#include "gguf.h"

/* A weight matrix of `rows` rows of `cols` values, row-major, any type. */
struct mat {
	const void *data;
	uint32_t type;          /* enum ggml_type */
	int64_t rows;           /* ne[1] */
	int64_t cols;           /* ne[0] */
	uint64_t row_bytes;
	int plain;              /* also read by row (the embedding): llama.cpp
	                         * keeps it unrepacked, so its kernels differ */
};

struct layer {
	const float *attn_norm;     /* (dim) blk.N.attn_norm.weight */
	struct mat wq;              /* (n_head * head_dim, dim) */
	struct mat wk;              /* (n_head_kv * head_dim, dim) */
	struct mat wv;              /* (n_head_kv * head_dim, dim) */
	struct mat wo;              /* (dim, n_head * head_dim) */
	const float *ffn_norm;      /* (dim) */
	struct mat w_gate;          /* (ffn, dim) */
	struct mat w_up;            /* (ffn, dim) */
	struct mat w_down;          /* (dim, ffn) */
};

struct hparams {
	int dim;                /* ARCH.embedding_length */
	int n_layer;            /* ARCH.block_count */
	int ffn;                /* ARCH.feed_forward_length */
	int n_head;             /* ARCH.attention.head_count */
	int n_head_kv;          /* ARCH.attention.head_count_kv (default n_head) */
	int head_dim;           /* dim / n_head */
	int rope_dims;          /* ARCH.rope.dimension_count (default head_dim) */
	float rope_base;        /* ARCH.rope.freq_base (default 10000) */
	float rope_scale;       /* 1 / ARCH.rope.scaling.factor when linear */
	float eps;              /* ARCH.attention.layer_norm_rms_epsilon */
	int n_ctx_train;        /* ARCH.context_length */
	int n_vocab;            /* rows of token_embd */
};

struct model {
	struct hparams hp;
	struct mat tok_embd;        /* (n_vocab, dim) token_embd.weight */
	struct layer *layers;       /* (n_layer) */
	const float *out_norm;      /* (dim) output_norm.weight */
	struct mat output;          /* (n_vocab, dim) output.weight or tied */
};

int model_load(struct model *m, const struct gguf *g, struct cerr *e);
void model_free(struct model *m);

/* ---- the running state of one sequence ---- */

struct state {
	int n_ctx;              /* KV cache positions */
	int n_pos;              /* positions filled */
	int cap_batch;          /* batch rows the buffers hold */
	uint16_t *k_cache;      /* (n_layer, n_ctx, n_head_kv * head_dim) fp16 */
	uint16_t *v_cache;      /* (n_layer, n_ctx, n_head_kv * head_dim) fp16 */
	float *x;               /* (batch, dim) residual stream */
	float *xb;              /* (batch, dim) normed input of a block */
	float *q;               /* (batch, n_head * head_dim) */
	float *k, *v;           /* (batch, n_head_kv * head_dim) */
	float *att_out;         /* (batch, n_head * head_dim) */
	float *hb, *hb2;        /* (batch, ffn) */
	float *kt, *v32;        /* (n_head_kv, positions, head_dim) float K tiles
	                         * and V rows for the tiled attention kernel */
	size_t cap_tiles;       /* floats kt and v32 hold each */
	void *qa;               /* quantized activations, (batch, max(dim, ffn)) */
	float *logits;          /* (batch, n_vocab) */
	float *rope;            /* (batch, rope_dims) cos, sin of each pair */
};

int state_init(struct state *s, const struct model *m, int n_ctx,
	struct cerr *e);
void state_free(struct state *s);

/* Evaluate n tokens at positions s->n_pos.. (one batch); logits of the last
 * position (or of every position when all) into s->logits rows. */
int forward(const struct model *m, struct state *s, const int32_t *tokens,
	int n, int all, struct cerr *e);

#endif
