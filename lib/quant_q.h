/* quant_q.h: float and 32-block types (quant_q.c), hooked into quant.h. */
#ifndef CHORD_QUANT_Q_H
#define CHORD_QUANT_Q_H

#include <stdint.h>

void dequant_f32(const void *x, float *y, int64_t n);
void dequant_f16(const void *x, float *y, int64_t n);
void dequant_bf16(const void *x, float *y, int64_t n);
void dequant_q4_0(const void *x, float *y, int64_t n);
void dequant_q4_1(const void *x, float *y, int64_t n);
void dequant_q5_0(const void *x, float *y, int64_t n);
void dequant_q5_1(const void *x, float *y, int64_t n);
void dequant_q8_0(const void *x, float *y, int64_t n);

void quant_f32(const float *x, void *y, int64_t n);
void quant_f16(const float *x, void *y, int64_t n);
void quant_bf16(const float *x, void *y, int64_t n);
void quant_q4_0(const float *x, void *y, int64_t n);
void quant_q4_1(const float *x, void *y, int64_t n);
void quant_q5_0(const float *x, void *y, int64_t n);
void quant_q5_1(const float *x, void *y, int64_t n);
void quant_q8_0(const float *x, void *y, int64_t n);

#endif
