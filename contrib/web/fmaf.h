/* fmaf.h: a fused multiply-add for the browser build, in place of libc's.
 *
 * wasm has no fma instruction, so fmaf is a library call, and the
 * attention and RoPE loops of lib/ (written with fmaf to sum as ggml's
 * FMA kernels do) spent a fifth of a prompt in it, one element at a time.
 * make wasm includes this header before every file (-include), so that
 * fmaf is this inline function, branch-free, and those loops vectorise.
 *
 * The product of two floats is exact in a double; the sum with z is
 * rounded once there, and its error (two-sum, exact) says which way the
 * exact value lies. Rounded to odd instead (the last bit set when the sum
 * is inexact, moving one step toward the exact value if that bit was 0),
 * a double carries enough for the conversion to float to round the exact
 * value once, to nearest even, subnormal results included: the correctly
 * rounded fma of IEEE 754, as an FMA instruction gives it. */
#ifndef CHORD_WEB_FMAF_H
#define CHORD_WEB_FMAF_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define fmaf chord_fmaf

static inline float
chord_fmaf(float x, float y, float z)
{
	double xy = (double)x * (double)y;      /* exact */
	double s = xy + (double)z;
	double bz = s - xy;
	double err = (xy - (s - bz)) + ((double)z - bz);
	uint64_t u;
	int64_t step;

	memcpy(&u, &s, sizeof u);
	/* +1 moves away from zero, -1 toward it; none when exact, even
	 * (already odd), or not finite (err is NaN then, s kept as is) */
	step = (err > 0) == (s > 0) ? 1 : -1;
	if (err != 0 && err == err && !(u & 1))
		u += (uint64_t)step;
	memcpy(&s, &u, sizeof s);
	return (float)s;
}

#endif
