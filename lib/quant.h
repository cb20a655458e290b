/* quant.h: ggml tensor types: the one table of names, block sizes and the
 * functions that convert and multiply each type.
 *
 * Every quantized type packs `blck` consecutive values of a row into a block
 * of `size` bytes. The plain C dequantizer of each type is its specification;
 * SIMD kernels are tested against it. */
#ifndef CHORD_QUANT_H
#define CHORD_QUANT_H

#include <stddef.h>
#include <stdint.h>

enum ggml_type {
	GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q4_1 = 3,
	/* 4, 5: Q4_2, Q4_3, removed */
	GGML_Q5_0 = 6, GGML_Q5_1 = 7, GGML_Q8_0 = 8, GGML_Q8_1 = 9,
	GGML_Q2_K = 10, GGML_Q3_K = 11, GGML_Q4_K = 12, GGML_Q5_K = 13,
	GGML_Q6_K = 14, GGML_Q8_K = 15,
	GGML_IQ2_XXS = 16, GGML_IQ2_XS = 17, GGML_IQ3_XXS = 18, GGML_IQ1_S = 19,
	GGML_IQ4_NL = 20, GGML_IQ3_S = 21, GGML_IQ2_S = 22, GGML_IQ4_XS = 23,
	GGML_I8 = 24, GGML_I16 = 25, GGML_I32 = 26, GGML_I64 = 27,
	GGML_F64 = 28, GGML_IQ1_M = 29, GGML_BF16 = 30,
	/* 31..33: Q4_0_4_4 etc., removed */
	GGML_TQ1_0 = 34, GGML_TQ2_0 = 35,
	/* 36..38 removed */
	GGML_MXFP4 = 39,
	GGML_NTYPES
};

/* Dequantize n values (n a multiple of blck) from x into y. */
typedef void (*to_f32_fn)(const void *x, float *y, int64_t n);
/* Quantize n floats into blocks (reference rounding, bit-exact with ggml). */
typedef void (*from_f32_fn)(const float *x, void *y, int64_t n);
/* Dot product of n values: x of this type, y of the type's vec_dot_type. */
typedef float (*vec_dot_fn)(const void *x, const void *y, int64_t n);

struct qtype {
	const char *name;       /* as ggml prints it: "q4_1", "f32", ... */
	int blck;               /* values per block (0: not a known type) */
	int size;               /* bytes per block */
	int is_quant;
	to_f32_fn to_f32;       /* NULL: not supported (yet) */
	from_f32_fn from_f32;
	vec_dot_fn vec_dot;
	enum ggml_type vec_dot_type;    /* what activations are quantized to */
};

/* The entry for t, or NULL if t is outside the table or a removed id. */
const struct qtype *qtype_get(uint32_t t);
/* Find by name (case-insensitive, "Q4_1" or "q4_1"); -1 if unknown. */
int qtype_by_name(const char *name);
/* Bytes of a row of ne0 values, or 0 if ne0 is not a multiple of blck or t
 * is unknown. */
uint64_t qtype_row_size(uint32_t t, uint64_t ne0);

/* IEEE half and bfloat16 conversions (round to nearest even). */
float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
void fp16_row_to_f32(const uint16_t *h, float *f, size_t n);
void f32_row_round16(float *f, size_t n);

#endif
