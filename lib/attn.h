/* attn.h: causal attention of one query row over the fp16 KV cache of one
 * head, summed in the order of ggml's CPU flash-attention kernels, so that
 * chord's logits are llama.cpp's to the bit (llama.cpp turns flash
 * attention on by default on the CPU).
 *
 * ggml has two kernels and picks by the number of query rows in the batch:
 * fewer than ATTN_TILE rows (generation, short prompts) go one row at a
 * time with an fp16 accumulator; ATTN_TILE rows or more go through
 * ATTN_TILE x ATTN_TILE tiles of float matrix products. The tiled kernel
 * takes the query heads that share a KV head together (attn_rows_tiled):
 * only the schedule changes, each output is summed in the same order. */
#ifndef CHORD_ATTN_H
#define CHORD_ATTN_H

#include <stddef.h>
#include <stdint.h>

#define ATTN_TILE 64            /* ggml's GGML_FA_TILE_Q and GGML_FA_TILE_KV */
#define ATTN_MAX_HD 512         /* largest head_dim the kernels take */
#define ATTN_ROWS 8             /* query rows attn_rows_tiled blocks together */

/* out (hd) = softmax(q . k_p * scale) . v_p over positions p < n_kv; k_p at
 * k + p * stride, v_p likewise. The one-row kernel. */
void attn_row(const float *q, const uint16_t *k, const uint16_t *v,
	size_t stride, int hd, int n_kv, float scale, float *out);
/* attn_row with the last position's K and V rows at kl and vl (not yet
 * in the cache; NULL: at k and v like the others). */
void attn_row_last(const float *q, const uint16_t *k, const uint16_t *v,
	size_t stride, const uint16_t *kl, const uint16_t *vl, int hd, int n_kv,
	float scale, float *out);

/* Use the portable one-row kernel even where a SIMD one is built (tests). */
void attn_force_portable(int on);

/* Floats each of kt and v32 need for n_kv positions. */
size_t attn_tiles_size(int hd, int n_kv);
/* Unpack the cache of one head for attn_row_tiled: K as float tiles of
 * ATTN_TILE positions, transposed (kt), V as float rows (v32). */
void attn_tiles_load(const uint16_t *k, const uint16_t *v, size_t stride,
	int hd, int n_kv, float *kt, float *v32);
/* The same attention as attn_row, by the tiled kernel. */
void attn_row_tiled(const float *q, const float *kt, const float *v32,
	int hd, int n_kv, float scale, float *out);

/* The same attention as attn_row_tiled, for nr query rows that share one KV
 * head and n_kv (the heads of a GQA group at one position): row r is
 * q + r * hd, its output out + r * hd. Each K and V tile is read once for
 * all the rows; every output is attn_row_tiled's to the bit. */
void attn_rows_tiled(const float *q, int nr, const float *kt, const float *v32,
	int hd, int n_kv, float scale, float *out);

/* ggml's vectorised expf (its AVX-512 flavour), which its tiled softmax
 * and its SiLU use in place of the C library's. */
float expf_ggml(float x);
/* y[i] = expf_ggml(x[i]), i < n, 16 at a time where AVX-512 is built. */
void expf_ggml_row(const float *x, float *y, size_t n);

#endif
