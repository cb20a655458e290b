/* fwd_cpu.c: the llama forward pass on the CPU, a batch of tokens at a time.
 *
 * Follows llama.cpp's numerics step by step, so that its logits come out
 * bit-identical to llama.cpp's (built for AVX-512, the reference goldens)
 * on any machine: activations quantized to 8 bits per matmul input, K and V
 * cached in fp16, attention as ggml's flash-attention kernels sum it
 * (attn.c), RMSNorm summed in double, RoPE angles by repeated products and
 * rotations with the fused multiply-adds GCC makes of ggml's, SiLU with
 * ggml's own expf. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn.h"
#include "matmul.h"
#include "model.h"
#include "quant.h"

int
state_init(struct state *s, const struct model *m, int n_ctx, struct cerr *e)
{
	const struct hparams *hp = &m->hp;
	size_t kvd = (size_t)hp->n_head_kv * hp->head_dim;
	size_t cache = (size_t)hp->n_layer * (size_t)n_ctx * kvd;

	memset(s, 0, sizeof *s);
	s->n_ctx = n_ctx;
	s->k_cache = malloc(cache * sizeof *s->k_cache);
	s->v_cache = malloc(cache * sizeof *s->v_cache);
	if (!s->k_cache || !s->v_cache) {
		state_free(s);
		return cerr_set(e, "out of memory for a context of %d", n_ctx);
	}
	return 0;
}

void
state_free(struct state *s)
{
	free(s->k_cache);
	free(s->v_cache);
	free(s->kt);
	free(s->v32);
	free(s->x);
	free(s->xb);
	free(s->q);
	free(s->k);
	free(s->v);
	free(s->att_out);
	free(s->hb);
	free(s->hb2);
	free(s->qa);
	free(s->logits);
	free(s->rope);
	memset(s, 0, sizeof *s);
}

/* Grow the per-batch buffers to n rows. */
static int
reserve(struct state *s, const struct model *m, int n, struct cerr *e)
{
	const struct hparams *hp = &m->hp;
	size_t qd = (size_t)hp->n_head * hp->head_dim;
	size_t kvd = (size_t)hp->n_head_kv * hp->head_dim;
	size_t wide = (size_t)(hp->ffn > hp->dim ? hp->ffn : hp->dim);

	if (n <= s->cap_batch)
		return 0;
#define GROW(p, cnt) do { \
		void *np_ = realloc((p), (cnt) * sizeof *(p)); \
		if (!np_) \
			return cerr_set(e, "out of memory"); \
		(p) = np_; \
	} while (0)
	GROW(s->x, (size_t)n * hp->dim);
	GROW(s->xb, (size_t)n * hp->dim);
	GROW(s->q, (size_t)n * qd);
	GROW(s->k, (size_t)n * kvd);
	GROW(s->v, (size_t)n * kvd);
	GROW(s->att_out, (size_t)n * qd);
	GROW(s->hb, (size_t)n * hp->ffn);
	GROW(s->hb2, (size_t)n * hp->ffn);
	GROW(s->logits, (size_t)n * hp->n_vocab);
	GROW(s->rope, (size_t)n * hp->rope_dims);
#undef GROW
	{
		void *p = realloc(s->qa, (size_t)n * (wide / QBLK) *
		    sizeof(struct qblk));

		if (!p)
			return cerr_set(e, "out of memory");
		s->qa = p;
	}
	s->cap_batch = n;
	return 0;
}

/* out = x / rms(x) * w, the sum of squares in double as ggml has it. */
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

/* cos and sin of each rotated pair's angle at position pos: the angles by
 * repeated products, as ggml's rope cache has them (the same for every
 * head). */
static void
rope_angles(float *cs, int rope_dims, int pos, float base, float scale)
{
	float theta_scale = powf(base, -2.0f / (float)rope_dims);
	float theta = (float)pos * scale;

	for (int i = 0; i < rope_dims; i += 2) {
		cs[i] = cosf(theta);
		cs[i + 1] = sinf(theta);
		theta *= theta_scale;
	}
}

/* Rotate adjacent pairs (llama's "normal" RoPE) of each head. */
static void
rope(float *v, int n_heads, int head_dim, int rope_dims, const float *cs)
{
	for (int h = 0; h < n_heads; h++) {
		float *x = v + h * head_dim;

		for (int i = 0; i < rope_dims; i += 2) {
			float c = cs[i], s = cs[i + 1];
			float a = x[i], b = x[i + 1];

			x[i] = fmaf(a, c, -(b * s));
			x[i + 1] = fmaf(a, s, b * c);
		}
	}
}

/* Causal attention of batch rows 0..n-1 (positions pos0..) over the cache
 * of layer l, with the kernel ggml would pick for a batch of n rows. */
static int
attend(const struct model *m, struct state *s, int l, int n, int pos0)
{
	const struct hparams *hp = &m->hp;
	int hd = hp->head_dim, kvd = hp->n_head_kv * hd;
	int group = hp->n_head / hp->n_head_kv, tiled = n >= ATTN_TILE;
	const uint16_t *kc = s->k_cache + (size_t)l * s->n_ctx * kvd;
	const uint16_t *vc = s->v_cache + (size_t)l * s->n_ctx * kvd;
	size_t tsz = attn_tiles_size(hd, pos0 + n);
	float scale = 1.0f / sqrtf((float)hd);

	if (tiled) {
		size_t need = tsz * (size_t)hp->n_head_kv;

		if (need > s->cap_tiles) {
			float *kt = realloc(s->kt, need * sizeof *kt);
			float *v32;

			if (kt)
				s->kt = kt;
			v32 = kt ? realloc(s->v32, need * sizeof *v32) : NULL;
			if (!v32)
				return -1;
			s->v32 = v32;
			s->cap_tiles = need;
		}
		#pragma omp parallel for
		for (int h = 0; h < hp->n_head_kv; h++)
			attn_tiles_load(kc + h * hd, vc + h * hd, (size_t)kvd, hd,
			    pos0 + n, s->kt + h * tsz, s->v32 + h * tsz);
	}
	#pragma omp parallel for collapse(2) schedule(dynamic, 1)
	for (int t = 0; t < n; t++)
		for (int h = 0; h < hp->n_head; h++) {
			size_t off = ((size_t)t * hp->n_head + h) * hd;
			int kvh = h / group;

			if (tiled)
				attn_row_tiled(s->q + off, s->kt + kvh * tsz,
				    s->v32 + kvh * tsz, hd, pos0 + t + 1, scale,
				    s->att_out + off);
			else
				attn_row(s->q + off, kc + kvh * hd, vc + kvh * hd,
				    (size_t)kvd, hd, pos0 + t + 1, scale,
				    s->att_out + off);
		}
	return 0;
}

static float
silu(float x)
{
	return x / (1.0f + expf_ggml(-x));
}

/* Layer l over batch rows 0..n-1 (positions pos0..). After attention the
 * first drop rows, whose output nobody wants, are dropped and the rest
 * moved to the front: llama.cpp does so in the last layer, and picks its
 * feed-forward kernels by the rows that remain. */
static int
layer_forward(const struct model *m, struct state *s, int l, int n, int pos0,
	int drop)
{
	const struct hparams *hp = &m->hp;
	const struct layer *L = &m->layers[l];
	int qd = hp->n_head * hp->head_dim, kvd = hp->n_head_kv * hp->head_dim;
	struct qblk *qa = s->qa;

	/* attention */
	#pragma omp parallel for if (n > 1)
	for (int t = 0; t < n; t++)
		rmsnorm(s->xb + (size_t)t * hp->dim, s->x + (size_t)t * hp->dim,
		    L->attn_norm, hp->dim, hp->eps);
	quantize_act(s->xb, n, hp->dim, qa);
	matmul_any(&L->wq, s->xb, qa, n, s->q, qd);
	matmul_any(&L->wk, s->xb, qa, n, s->k, kvd);
	matmul_any(&L->wv, s->xb, qa, n, s->v, kvd);
	#pragma omp parallel for if (n > 1)
	for (int t = 0; t < n; t++) {
		int pos = pos0 + t;
		uint16_t *kc = s->k_cache + ((size_t)l * s->n_ctx + pos) * kvd;
		uint16_t *vc = s->v_cache + ((size_t)l * s->n_ctx + pos) * kvd;
		const float *cs = s->rope + (size_t)t * hp->rope_dims;

		rope(s->q + (size_t)t * qd, hp->n_head, hp->head_dim,
		    hp->rope_dims, cs);
		rope(s->k + (size_t)t * kvd, hp->n_head_kv, hp->head_dim,
		    hp->rope_dims, cs);
		for (int i = 0; i < kvd; i++) {
			kc[i] = f32_to_fp16(s->k[(size_t)t * kvd + i]);
			vc[i] = f32_to_fp16(s->v[(size_t)t * kvd + i]);
		}
	}
	if (attend(m, s, l, n, pos0) < 0)
		return -1;
	quantize_act(s->att_out, n, qd, qa);
	matmul_any(&L->wo, s->att_out, qa, n, s->xb, hp->dim);
	for (size_t i = 0; i < (size_t)n * hp->dim; i++)
		s->x[i] += s->xb[i];

	if (drop > 0) {
		memmove(s->x, s->x + (size_t)drop * hp->dim,
		    (size_t)(n - drop) * hp->dim * sizeof *s->x);
		n -= drop;
	}

	/* feed-forward: down(silu(gate(x)) * up(x)) */
	#pragma omp parallel for if (n > 1)
	for (int t = 0; t < n; t++)
		rmsnorm(s->xb + (size_t)t * hp->dim, s->x + (size_t)t * hp->dim,
		    L->ffn_norm, hp->dim, hp->eps);
	quantize_act(s->xb, n, hp->dim, qa);
	matmul_any(&L->w_gate, s->xb, qa, n, s->hb, hp->ffn);
	matmul_any(&L->w_up, s->xb, qa, n, s->hb2, hp->ffn);
	#pragma omp parallel for if (n > 1)
	for (size_t i = 0; i < (size_t)n * hp->ffn; i++)
		s->hb[i] = silu(s->hb[i]) * s->hb2[i];
	quantize_act(s->hb, n, hp->ffn, qa);
	matmul_any(&L->w_down, s->hb, qa, n, s->xb, hp->dim);
	for (size_t i = 0; i < (size_t)n * hp->dim; i++)
		s->x[i] += s->xb[i];
	return 0;
}

int
forward(const struct model *m, struct state *s, const int32_t *tokens, int n,
	int all, struct cerr *e)
{
	const struct hparams *hp = &m->hp;
	int first;

	if (n <= 0)
		return 0;
	if (n > s->n_ctx - s->n_pos)
		return cerr_set(e, "context full: %d positions, %d more asked "
		    "(use -c)", s->n_ctx, n + s->n_pos - s->n_ctx);
	if (reserve(s, m, n, e) < 0)
		return -1;
	for (int t = 0; t < n; t++) {
		if (tokens[t] < 0 || tokens[t] >= hp->n_vocab)
			return cerr_set(e, "token %d out of range (n_vocab %d)",
			    tokens[t], hp->n_vocab);
		if (mat_row_f32(&m->tok_embd, tokens[t], s->x + (size_t)t *
		    hp->dim) < 0)
			return cerr_set(e, "token_embd: type %s not supported",
			    qtype_get(m->tok_embd.type)->name);
	}
	/* RoPE angles once per position, for every layer */
	for (int t = 0; t < n; t++)
		rope_angles(s->rope + (size_t)t * hp->rope_dims, hp->rope_dims,
		    s->n_pos + t, hp->rope_base, hp->rope_scale);
	/* the output: every row, or the last */
	first = all ? 0 : n - 1;
	for (int l = 0; l < hp->n_layer; l++)
		if (layer_forward(m, s, l, n, s->n_pos,
		    l == hp->n_layer - 1 ? first : 0) < 0)
			return cerr_set(e, "out of memory for attention tiles");
	s->n_pos += n;

	for (int t = 0; t < n - first; t++)
		rmsnorm(s->xb + (size_t)t * hp->dim, s->x + (size_t)t * hp->dim,
		    m->out_norm, hp->dim, hp->eps);
	quantize_act(s->xb, n - first, hp->dim, s->qa);
	matmul_any(&m->output, s->xb, s->qa, n - first, s->logits, hp->n_vocab);
	return 0;
}
