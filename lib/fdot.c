/* fdot.c: float dot products in ggml's summation orders (see fdot.h).
 * The loops marked simd are lane-parallel: vectorising them changes no bit. */
#include <string.h>
#include <math.h>

#include "fdot.h"

float
fdot_hsum16(const float *v)
{
	float t[8];

	for (int i = 0; i < 8; i++)
		t[i] = v[i + 8] + v[i];
	for (int i = 0; i < 4; i++)
		t[i] = t[i + 4] + t[i];
	return (t[0] + t[2]) + (t[1] + t[3]);
}

float
fdot_vec(const float *x, const float *y, int n)
{
	float acc[64], t[16];
	int np = n & ~63;
	double sum;

	memset(acc, 0, sizeof acc);
	for (int i = 0; i < np; i += 64) {
		#pragma omp simd
		for (int j = 0; j < 64; j++)
			acc[j] = fmaf(x[i + j], y[i + j], acc[j]);
	}
	/* registers 0+2 and 1+3, then the two */
	for (int l = 0; l < 16; l++)
		t[l] = (acc[l] + acc[32 + l]) + (acc[16 + l] + acc[48 + l]);
	sum = fdot_hsum16(t);
	for (int i = np; i < n; i++)
		sum += (double)(x[i] * y[i]);
	return (float)sum;
}

float
fdot_tile(const float *x, const float *y, int n)
{
	float acc[16];

	memset(acc, 0, sizeof acc);
	for (int i = 0; i < n; i += 16) {
		#pragma omp simd
		for (int j = 0; j < 16; j++)
			acc[j] = fmaf(x[i + j], y[i + j], acc[j]);
	}
	return fdot_hsum16(acc);
}
