/* matmul.h: weight matrix times activations, the hot loop of the forward
 * pass. Activations are quantized once per matmul input into 8-bit blocks
 * of 32 (struct qblk, with the block sum kept so the Q4_1 offset folds in as
 * one multiply), and every weight type multiplies them in integers, as
 * llama.cpp does. */
#ifndef CHORD_MATMUL_H
#define CHORD_MATMUL_H

#include <stdint.h>

#include "model.h"

#define QBLK 32

/* An activation block: x[i] ~ d * q[i]; s = d * sum(q). d and s are rounded
 * through fp16 as ggml's Q8_0/Q8_1 store them, so dot products match. */
struct qblk {
	float d;
	float s;
	int8_t q[QBLK];
};

/* Quantize n rows of `cols` floats (cols % 32 == 0) into qa. */
void quantize_act(const float *x, int n, int cols, struct qblk *qa);

/* y[t][r] = W[r] . x[t] for t < n tokens (y row stride y_stride). Threads:
 * an OpenMP static split of W's rows. */
int matmul(const struct mat *w, const struct qblk *qa, int n, float *y,
	int y_stride);

/* The form a matrix takes its activations in: quantized to Q8_0/Q8_1
 * blocks, to Q8_K blocks (K-quants), or floats, rounded to F16 or BF16 for
 * weights of those types (as ggml converts them). */
enum act_form { ACT_Q8, ACT_Q8K, ACT_F32, ACT_F16, ACT_BF16, N_ACT_FORM };

int mat_act_form(const struct mat *w);
/* Bytes n rows of cols floats take in that form. */
size_t act_form_size(int form, int n, int cols);
/* Convert n rows of cols floats x into that form, in out. */
void act_convert(int form, const float *x, int n, int cols, void *out);

/* y[t][r] = W[r] . a[t] for t < n rows of activations a in w's form
 * (mat_act_form). Returns -1 if a kernel could not get memory. */
int matmul_run(const struct mat *w, const void *a, int n, float *y,
	int y_stride);

/* Rows [r0, r1) of y = W a (a in w's form), from the packed copy where
 * pack is not NULL (pack_size, pack_size_k); r0 and r1 multiples of
 * PACK_ROWS (r1 may be w->rows). One thread: the backend splits rows. */
int matmul_rows(const struct mat *w, const void *pack, const void *a, int n,
	float *y, int y_stride, int64_t r0, int64_t r1);

/* Is w multiplied in the order of ggml's repacked kernels? llama.cpp
 * repacks Q4_0, Q4_K and Q2_K matrices of whole groups of 8 rows, but not
 * a matrix that is also read by row (the tied embedding). */
int mat_repacked(const struct mat *w);

/* Does this build/type have an integer kernel (else dequantize-and-dot)? */
int matmul_supported(uint32_t type);

/* Dequantize row r of w into out (cols floats). */
int mat_row_f32(const struct mat *w, int64_t r, float *out);

/* K-quant weights (matmul_k.c) take activations quantized to Q8_K: blocks
 * of 256 with a float scale and the sums of each 16 values. */
struct q8k {
	float d;
	int16_t bsums[16];
	int8_t q[256];
};
#define MATMUL_K_MAX_N 64       /* tokens per pass over a weight row */
void quantize_act_k(const float *x, int n, int cols, struct q8k *qa);
int matmul_k_supported(uint32_t type);
int matmul_k(const struct mat *w, const struct q8k *qa, int n, float *y,
	int y_stride);
void matmul_k_force_scalar(int on);

/* Repacked layouts (matmul_pack.c for Q4_1, Q8_0, Q5_0; matmul_k.c and
 * matmul_q6k.c for the K-quants): groups of PACK_ROWS rows whose blocks
 * lie side by side, made once at load by the backend, so one pass over an
 * activation block feeds many output rows. Every row keeps its summation
 * order, so the results equal the file-layout kernels' bit for bit.
 * pack_size 0: no packed layout for this matrix on this build. */
#define PACK_ROWS 16
size_t pack_size(const struct mat *w);
void pack_mat(const struct mat *w, void *out);
/* Rows [g0 * PACK_ROWS, g1 * PACK_ROWS) of y = W a from the packed copy;
 * one thread, no OpenMP inside. */
int matmul_packed(const struct mat *w, const void *packed,
	const struct qblk *qa, int n, float *y, int y_stride, int64_t g0,
	int64_t g1);
/* The packed rows through the portable reference (tests). */
int matmul_packed_ref(const struct mat *w, const void *packed,
	const struct qblk *qa, int n, float *y, int y_stride);
void matmul_pack_force_off(int on);

size_t pack_size_k(const struct mat *w);
void pack_k(const struct mat *w, void *out);
/* Rows [r0, r1) of y = W a for a K-quant matrix, from the packed copy
 * (pack_k) or, with pack NULL, the file's layout; r0 and r1 multiples of
 * PACK_ROWS (r1 may be w->rows). One thread, no OpenMP inside. */
int matmul_k_rows(const struct mat *w, const void *pack,
	const struct q8k *qa, int n, float *y, int y_stride, int64_t r0,
	int64_t r1);
/* matmul_q6k.c, for matmul_k.c: Q6_K's packed layout (size 0 but on
 * AVX-512 VNNI builds) and its kernel, rows [r0, r1) in whole groups
 * (-1: out of memory). */
size_t q6k_pack_size(const struct mat *w);
void q6k_pack(const struct mat *w, void *out);
int q6k_packed_rows(const struct mat *w, const void *pack,
	const struct q8k *qa, int n, float *y, int y_stride, int64_t r0,
	int64_t r1);

#ifdef __wasm_simd128__
/* matmul_simd128.c: a Q4_1 or Q8_0 weight row against one activation row,
 * or against four (rows a + t * nb, t < 4, into out[t]); the portable
 * kernels' results to the bit. */
float dot_q4_1_simd128(const void *row, const struct qblk *a, int nb);
float dot_q8_0_simd128(const void *row, const struct qblk *a, int nb);
void dot4_q4_1_simd128(const void *row, const struct qblk *a, int nb,
	float *out);
void dot4_q8_0_simd128(const void *row, const struct qblk *a, int nb,
	float *out);
#endif

/* Force the portable C kernels (tests compare them with the SIMD ones). */
void matmul_force_scalar(int on);

#endif
