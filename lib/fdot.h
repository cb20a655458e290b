/* fdot.h: float dot products summed in the orders of ggml's AVX-512 build,
 * so that results are its to the bit (on any machine: the lanes are plain
 * C, fused multiply-adds included).
 *
 * ggml_vec_dot_f16/_f32 (one token, attention's one-row kernel): 64 lanes
 * of fused multiply-adds, folded 4 -> 1 registers, then 16 -> 1 lanes by
 * halves. tinyBLAS (llamafile_sgemm, batches of two or more): 16 lanes,
 * then 16 -> 1 by halves. */
#ifndef CHORD_FDOT_H
#define CHORD_FDOT_H

/* x . y, n values, as ggml_vec_dot_f16 (tail past 64k in double). */
float fdot_vec(const float *x, const float *y, int n);
/* x . y, n a multiple of 16, as tinyBLAS's 16-lane kernel. */
float fdot_tile(const float *x, const float *y, int n);
/* The 16 lanes of a register added by halves (_mm512_reduce_add_ps). */
float fdot_hsum16(const float *v);

#endif
