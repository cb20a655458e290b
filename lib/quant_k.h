/* quant_k.h: K-quant dequantizers (quant_k.c) and reference quantizers
 * (quant_k_ref.c), hooked into quant.h's table. */
#ifndef CHORD_QUANT_K_H
#define CHORD_QUANT_K_H

#include <stdint.h>

void dequant_q2_k(const void *x, float *y, int64_t n);
void dequant_q3_k(const void *x, float *y, int64_t n);
void dequant_q4_k(const void *x, float *y, int64_t n);
void dequant_q5_k(const void *x, float *y, int64_t n);
void dequant_q6_k(const void *x, float *y, int64_t n);

void quant_q2_k(const float *x, void *y, int64_t n);
void quant_q3_k(const float *x, void *y, int64_t n);
void quant_q4_k(const float *x, void *y, int64_t n);
void quant_q5_k(const float *x, void *y, int64_t n);
void quant_q6_k(const float *x, void *y, int64_t n);

#endif
