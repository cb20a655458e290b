/* blocks.h: the quant blocks of GGUF tensors as C structs, the layouts of
 * ggml-common.h, each with its size asserted (no padding anywhere).
 *
 * A row of a quantized tensor is an array of blocks; block i of a row at p
 * is ((const struct block_q4_0 *)p)[i]. fp16 fields are uint16_t in IEEE
 * half bits (read them with fp16_to_f32).
 *
 * Byte order: GGUF is little-endian and the fp16 fields are read in host
 * order, so chord builds only on little-endian hosts (the #error below).
 *
 * Alignment: every struct here needs at most 2 bytes (4 for block_q8_K),
 * and every block size is even. GGUF tensor data lies at a multiple of
 * general.alignment (32 unless the file says otherwise) in an mmap that
 * starts on a page, and rows are whole blocks, so with any alignment of 2
 * or more every block and every uint16_t field is 2-byte aligned and is
 * read directly, without memcpy. (A file may set general.alignment to 1;
 * llama.cpp reads such tensors through the same structs. F32 tensors
 * already need 4.)
 *
 * Block sizes and bits per weight (bpw = 8 * bytes / values):
 *
 *   type   values bytes  bpw      x =
 *   q4_0    32     18   4.5      d * (q4 - 8)
 *   q4_1    32     20   5.0      d * q4 + m
 *   q5_0    32     22   5.5      d * (q5 - 16)
 *   q5_1    32     24   6.0      d * q5 + m
 *   q8_0    32     34   8.5      d * q8
 *   q8_1    32     36   9.0      d * q8            (activations)
 *   q2_K   256     84   2.625    d * sc * q2 - dmin * m
 *   q3_K   256    110   3.4375   d * (sc - 32) * q3
 *   q4_K   256    144   4.5      d * sc * q4 - dmin * m
 *   q5_K   256    176   5.5      d * sc * q5 - dmin * m
 *   q6_K   256    210   6.5625   d * sc * (q6 - 32)
 *   q8_K   256    292   9.125    d * q8            (activations)
 *
 * Where each value's bits sit inside qs, qh and scales is drawn at the
 * dequantizers (quant_q.c, quant_k.c), the specification of every kernel. */
#ifndef CHORD_BLOCKS_H
#define CHORD_BLOCKS_H

#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "blocks.h: fp16 fields are read in host order; GGUF is little-endian"
#endif

/* ---- blocks of 32 ---- */

#define QK4_0 32
/* x = d * (q - 8): 4.5 bpw */
struct block_q4_0 {
	uint16_t d;             /* fp16 scale */
	uint8_t qs[QK4_0 / 2];  /* value j in the low nibble of qs[j], j + 16
	                         * in the high one */
};
_Static_assert(sizeof(struct block_q4_0) == 18, "q4_0 block: 18 bytes");

#define QK4_1 32
/* x = d * q + m: 5.0 bpw */
struct block_q4_1 {
	uint16_t d;             /* fp16 scale */
	uint16_t m;             /* fp16 minimum */
	uint8_t qs[QK4_1 / 2];  /* nibbles, as in q4_0 */
};
_Static_assert(sizeof(struct block_q4_1) == 20, "q4_1 block: 20 bytes");

#define QK5_0 32
/* x = d * (q - 16): 5.5 bpw */
struct block_q5_0 {
	uint16_t d;             /* fp16 scale */
	uint8_t qh[4];          /* fifth bits: bit j (of 32, little-endian) for
	                         * value j */
	uint8_t qs[QK5_0 / 2];  /* low four bits, as q4_0's nibbles */
};
_Static_assert(sizeof(struct block_q5_0) == 22, "q5_0 block: 22 bytes");

#define QK5_1 32
/* x = d * q + m: 6.0 bpw */
struct block_q5_1 {
	uint16_t d;             /* fp16 scale */
	uint16_t m;             /* fp16 minimum */
	uint8_t qh[4];          /* fifth bits, as in q5_0 */
	uint8_t qs[QK5_1 / 2];  /* low four bits, as in q5_0 */
};
_Static_assert(sizeof(struct block_q5_1) == 24, "q5_1 block: 24 bytes");

#define QK8_0 32
/* x = d * q: 8.5 bpw */
struct block_q8_0 {
	uint16_t d;             /* fp16 scale */
	int8_t qs[QK8_0];       /* values */
};
_Static_assert(sizeof(struct block_q8_0) == 34, "q8_0 block: 34 bytes");

#define QK8_1 32
/* x = d * q, with s = d * sum(q): 9.0 bpw; ggml's activations for q4_1
 * and q5_1 (chord keeps its own, struct qblk in matmul.h) */
struct block_q8_1 {
	uint16_t d;             /* fp16 scale */
	uint16_t s;             /* fp16 d * sum of qs */
	int8_t qs[QK8_1];       /* values */
};
_Static_assert(sizeof(struct block_q8_1) == 36, "q8_1 block: 36 bytes");

/* ---- K-quants: super-blocks of QK_K values in sub-blocks of 16 or 32 ---- */

#define QK_K 256
#define K_SCALE_SIZE 12         /* q4_K, q5_K: 8 scales and 8 mins, 6 bits */

/* 16 sub-blocks of 16: x = d * sc * q - dmin * m, sc and m 4 bits each:
 * 2.625 bpw */
struct block_q2_K {
	uint8_t scales[QK_K / 16];      /* sub-block j: sc in the low nibble,
	                                 * m in the high one */
	uint8_t qs[QK_K / 4];           /* 2-bit values, four a byte: byte l
	                                 * of each 32 holds values l, l + 32,
	                                 * l + 64, l + 96 of its 128 */
	uint16_t d;                     /* fp16 scale of the scales */
	uint16_t dmin;                  /* fp16 scale of the mins */
};
_Static_assert(sizeof(struct block_q2_K) == 84, "q2_K block: 84 bytes");

/* 16 sub-blocks of 16: x = d * (sc - 32) * q, q = q2 - (high bit ? 0 : 4),
 * sc 6 bits: 3.4375 bpw */
struct block_q3_K {
	uint8_t hmask[QK_K / 8];        /* high bits: bit k of hmask[l] for
	                                 * value 32 k + l */
	uint8_t qs[QK_K / 4];           /* low 2 bits, as q2_K's qs */
	uint8_t scales[12];             /* 16 6-bit scales: low nibbles in
	                                 * bytes 0..7, high 2 bits in 8..11 */
	uint16_t d;                     /* fp16 scale of the scales */
};
_Static_assert(sizeof(struct block_q3_K) == 110, "q3_K block: 110 bytes");

/* 8 sub-blocks of 32: x = d * sc * q - dmin * m, sc and m 6 bits each:
 * 4.5 bpw */
struct block_q4_K {
	uint16_t d;                     /* fp16 scale of the scales */
	uint16_t dmin;                  /* fp16 scale of the mins */
	uint8_t scales[K_SCALE_SIZE];   /* 8 scales and 8 mins, 6 bits each */
	uint8_t qs[QK_K / 2];           /* 4-bit values: 32 bytes for each
	                                 * 64, low nibbles first */
};
_Static_assert(sizeof(struct block_q4_K) == 144, "q4_K block: 144 bytes");

/* As q4_K with a fifth bit a value: 5.5 bpw */
struct block_q5_K {
	uint16_t d;                     /* fp16 scale of the scales */
	uint16_t dmin;                  /* fp16 scale of the mins */
	uint8_t scales[K_SCALE_SIZE];   /* as in q4_K */
	uint8_t qh[QK_K / 8];           /* fifth bits: bit k of qh[l] for
	                                 * value 32 k + l */
	uint8_t qs[QK_K / 2];           /* low four bits, as q4_K's qs */
};
_Static_assert(sizeof(struct block_q5_K) == 176, "q5_K block: 176 bytes");

/* 16 sub-blocks of 16: x = d * sc * (q - 32), sc 8 bits signed:
 * 6.5625 bpw */
struct block_q6_K {
	uint8_t ql[QK_K / 2];           /* low four bits of each value */
	uint8_t qh[QK_K / 4];           /* high two bits, four a byte */
	int8_t scales[QK_K / 16];       /* sub-block scales */
	uint16_t d;                     /* fp16 scale of the scales */
};
_Static_assert(sizeof(struct block_q6_K) == 210, "q6_K block: 210 bytes");

/* x = d * q, float d: 9.125 bpw; ggml's activations for the K-quants
 * (chord keeps its own, struct q8k in matmul.h) */
struct block_q8_K {
	float d;                        /* scale */
	int8_t qs[QK_K];                /* values */
	int16_t bsums[QK_K / 16];       /* sums of each 16 values */
};
_Static_assert(sizeof(struct block_q8_K) == 292, "q8_K block: 292 bytes");

#endif
