/* model.h: a transformer model as its GGUF file describes it: the
 * hyperparameters (each names its key) and the weight matrices, left in the
 * mapped file. It holds no run state and knows no backend: an architecture
 * (arch.c) turns it into a plan (plan.h), a backend (fwd.h) runs the plan. */
#ifndef CHORD_MODEL_H
#define CHORD_MODEL_H

#include <stdint.h>

#include "err.h"
#include "gguf.h"

/* A weight matrix of `rows` rows of `cols` values, row-major, any type.
 * data == NULL: the file has no such tensor. */
struct mat {
	const void *data;
	uint32_t type;          /* enum ggml_type */
	int64_t rows;           /* ne[1] */
	int64_t cols;           /* ne[0] */
	uint64_t row_bytes;
	int plain;              /* also read by row (the embedding): llama.cpp
	                         * keeps it unrepacked, so its kernels differ */
	int repacked;           /* multiplied in the order of ggml's repacked
	                         * kernels (mat_set_repacked decides, once) */
};

/* The tensors of one block; a pointer or matrix the file lacks is NULL.
 * Which ones an architecture needs is for its plan builder to check. */
struct layer {
	const float *attn_norm;     /* (dim) blk.N.attn_norm.weight */
	struct mat wq;              /* (n_head * head_dim, dim) attn_q */
	struct mat wk;              /* (n_head_kv * head_dim, dim) attn_k */
	struct mat wv;              /* (n_head_kv * head_dim, dim) attn_v */
	struct mat wqkv;            /* (q + k + v rows, dim) attn_qkv (phi3) */
	const float *bq, *bk, *bv;  /* attn_{q,k,v}.bias (qwen2) */
	const float *q_norm;        /* (head_dim) attn_q_norm (gemma3, qwen3) */
	const float *k_norm;        /* (head_dim) attn_k_norm */
	struct mat wo;              /* (dim, n_head * head_dim) attn_output */
	const float *attn_post_norm;/* (dim) (gemma3) */
	const float *ffn_norm;      /* (dim) */
	struct mat w_gate;          /* (ffn, dim); absent in phi3 */
	struct mat w_up;            /* (ffn, dim); (2 ffn, dim) gate|up in phi3 */
	struct mat w_down;          /* (dim, ffn) */
	const float *ffn_post_norm; /* (dim) (gemma3) */
};

struct hparams {
	char arch[32];          /* general.architecture */
	int dim;                /* ARCH.embedding_length */
	int n_layer;            /* ARCH.block_count */
	int ffn;                /* ARCH.feed_forward_length */
	int n_head;             /* ARCH.attention.head_count */
	int n_head_kv;          /* ARCH.attention.head_count_kv (default n_head) */
	int head_dim;           /* ARCH.attention.key_length (default dim /
	                         * n_head); value_length must equal it */
	int rope_dims;          /* ARCH.rope.dimension_count (default head_dim) */
	float rope_base;        /* ARCH.rope.freq_base (default 10000) */
	float rope_scale;       /* 1 / ARCH.rope.scaling.factor when linear */
	float eps;              /* ARCH.attention.layer_norm_rms_epsilon */
	int n_swa;              /* ARCH.attention.sliding_window (0: none) */
	int swa_pattern;        /* ARCH.attention.sliding_window_pattern */
	float rope_base_swa;    /* ARCH.rope.freq_base_swa (default 10000) */
	float softcap;          /* ARCH.final_logit_softcapping (0: none) */
	int n_ctx_train;        /* ARCH.context_length */
	int n_ctx_orig;         /* ARCH.rope.scaling.original_context_length */
	float rope_attn_factor; /* ARCH.rope.scaling.attn_factor (default 1) */
	int n_vocab;            /* rows of token_embd */
};

struct model {
	const char *path;           /* the file, for messages */
	struct hparams hp;
	struct mat tok_embd;        /* (n_vocab, dim) token_embd.weight */
	struct layer *layers;       /* (n_layer) */
	const float *out_norm;      /* (dim) output_norm.weight */
	struct mat output;          /* (n_vocab, dim) output.weight or tied */
	const float *rope_freqs;    /* (rope_dims / 2) rope_freqs.weight: Llama
	                             * 3's per-pair divisors of the angle */
	const float *rope_long;     /* (rope_dims / 2) rope_factors_long (phi3) */
	const float *rope_short;    /* (rope_dims / 2) rope_factors_short */
};

int model_load(struct model *m, const struct gguf *g, struct cerr *e);
void model_free(struct model *m);

/* Rows r0..r0+n-1 of w as a matrix of their own (a part of a fused one);
 * it keeps w's kernel choice. */
struct mat mat_rows(const struct mat *w, int64_t r0, int64_t n);

#endif
