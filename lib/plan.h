/* plan.h: the forward pass of a model as data: what an architecture builds
 * once at load (arch.c) and a backend runs on every batch (fwd.h).
 *
 * A plan is a list of steps per layer over named buffers, each buffer one
 * row per token of the batch. The math of a layer reads top to bottom in
 * its architecture's builder; threads, SIMD, batch offsets and device
 * buffers are the backend's. */
#ifndef CHORD_PLAN_H
#define CHORD_PLAN_H

#include "err.h"
#include "model.h"

/* Activation buffers, each (batch, width[buffer]) floats. */
enum plan_buf {
	B_X,            /* the residual stream (dim) */
	B_XB,           /* a block's normed input (dim) */
	B_Q, B_K, B_V,  /* attention's projections (q_dim, kv_dim, kv_dim) */
	B_ATT,          /* attention's output (q_dim) */
	B_CUR,          /* a block's output before the residual add (dim) */
	B_FF, B_FF2,    /* the feed-forward's gate and up halves (ffn) */
	B_LOGITS,       /* (n_vocab) */
	N_BUF
};

enum plan_op {
	OP_NORM,        /* dst = rmsnorm(src) * vec */
	OP_HEAD_NORM,   /* each head of dst = rmsnorm(head) * vec (head_dim) */
	OP_MATMUL,      /* dst = w src */
	OP_BIAS,        /* dst += vec */
	OP_ROPE,        /* rotate each head of dst by its position */
	OP_SCALE,       /* dst *= f */
	OP_ATTN,        /* K, V rows into the cache; dst = attention of Q */
	OP_OUT_ROWS,    /* last layer: drop the rows whose output nobody wants */
	OP_ADD,         /* dst += src */
	OP_GLU,         /* dst = act(dst) * src */
	OP_SOFTCAP,     /* dst = tanh(dst / f) * f */
};

enum plan_act { ACT_SILU, ACT_GELU };

struct step {
	int op;                 /* enum plan_op */
	int dst, src;           /* enum plan_buf */
	int act;                /* enum plan_act (OP_GLU) */
	struct mat w;           /* OP_MATMUL */
	const float *vec;       /* norm weight or bias */
	float f;                /* OP_SCALE, OP_SOFTCAP */
};

/* How a layer rotates Q and K: ggml's rope cache for these settings. */
struct rope {
	int neox;               /* pairs (i, i + dims/2), else (2i, 2i + 1) */
	int dims;               /* rotated values of each head */
	float base, scale;      /* freq_base and freq_scale */
	float mscale;           /* attention factor on cos and sin */
	const float *freqs;     /* (dims / 2) divisors of the angle, or NULL */
};

#define PLAN_MAX_ROPE 4

struct plan_layer {
	struct step *steps;
	int n_steps;
	int rope;               /* index into plan.rope */
	int n_swa;              /* sliding window (0: attends to all) */
	float attn_scale;       /* on Q . K */
};

struct plan {
	int dim, n_vocab, n_head, n_head_kv, head_dim;
	float eps;              /* of every RMS norm */
	struct mat embd;        /* (n_vocab, dim) token embeddings, by row */
	float embd_scale;       /* on the embeddings (0: none) */
	int width[N_BUF];
	struct rope rope[PLAN_MAX_ROPE];
	int n_rope;
	struct plan_layer *layers;
	int n_layer;
	struct step *out;       /* after the last layer: norm, output, ... */
	int n_out;
};

/* The plan of m's architecture (m must outlive it). */
int plan_build(struct plan *p, const struct model *m, int n_ctx,
	struct cerr *e);
void plan_free(struct plan *p);

#endif
