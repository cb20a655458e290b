/* rowops.h: the row-wise float steps of the forward pass (RMSNorm, GELU
 * and SiLU gates) as ggml computes them, so that the CPU backend's logits
 * are llama.cpp's to the bit. */
#ifndef CHORD_ROWOPS_H
#define CHORD_ROWOPS_H

/* out = x / rms(x) * w over n values, the sum of squares in double, in
 * order, as ggml has it (out may be x). */
void rmsnorm(float *out, const float *x, const float *w, int n, float eps);
/* rmsnorm of rows rows, row r at x + r * xs, out + r * os (out may be x):
 * each row's floats as rmsnorm's, several rows' sums at once. */
void rmsnorm_rows(float *out, int os, const float *x, int xs, const float *w,
	int rows, int n, float eps);

/* ggml's fp16 GELU table; gelu_init before gelu or geglu (65536 tanhf). */
void gelu_init(void);
/* GELU from the table, saturated past +-10 (ggml_vec_geglu_f32). */
float gelu(float x);
/* SiLU with ggml's expf. */
float silu(float x);
/* dst = act(dst) * src over columns [lo, hi) of n rows, dst rows w apart,
 * src rows ws apart: gelu()'s and silu()'s floats, vector at a time. */
void geglu(float *d, const float *x, int n, int w, int ws, long lo, long hi);
void swiglu(float *d, const float *x, int n, int w, int ws, long lo, long hi);

#endif
