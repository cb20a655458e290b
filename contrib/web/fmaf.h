/* fmaf.h: a multiply-add for the browser build, in place of libc's fmaf.
 *
 * wasm has no fma instruction, so fmaf is a library call (musl's, in
 * doubles with a branch for the rare case below), and the attention and
 * RoPE loops of lib/ (written with fmaf to sum as ggml's FMA kernels do)
 * spent a fifth of a prompt in it, one element at a time. make wasm
 * includes this header before every file (-include), so that fmaf is this
 * inline function and those loops vectorise (f64x2).
 *
 * The product of two floats is exact in a double, and the sum with z is
 * rounded once there, then once more to float. That is the fused result
 * except where the double lands exactly halfway between two floats and
 * was itself rounded (about one operation in four million on random
 * operands): there the second rounding can go the wrong way by one unit
 * in the last place. Correcting it (two-sum, rounding to odd) costs twice
 * the time of a 512-token prompt, and buys nothing the browser build can
 * show: its matrix kernels sum in the portable order, not in native
 * AVX2's, so its logits differ from native ones in the last bits anyway;
 * the tests hold its ids to native ones and its SIMD kernels to its
 * portable ones, to the bit. */
#ifndef CHORD_WEB_FMAF_H
#define CHORD_WEB_FMAF_H

#include <math.h>

#define fmaf chord_fmaf

static inline float
chord_fmaf(float x, float y, float z)
{
	return (float)((double)x * (double)y + (double)z);
}

#endif
