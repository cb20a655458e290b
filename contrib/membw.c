/* membw: the machine's streaming read bandwidth, the roofline of
 * generation (every weight read once a token): GB/s of summing a buffer
 * far larger than the caches, on the threads OpenMP is given, best of
 * five passes.
 *   membw [MIB]            (default 512) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
	size_t n = mib << 17;   /* uint64_t words */
	uint64_t *p = malloc(n * sizeof *p), total = 0;
	double best = 0.0;

	if (!mib || !p) {
		fprintf(stderr, "membw: cannot have %zu MiB\n", mib);
		return 1;
	}
	#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		p[i] = i;
	for (int pass = 0; pass < 5; pass++) {
		double t0 = now(), gbs;
		uint64_t s = 0;

		#pragma omp parallel for simd schedule(static) reduction(+:s)
		for (size_t i = 0; i < n; i++)
			s += p[i];
		gbs = (double)(n * sizeof *p) / (now() - t0) / 1e9;
		best = gbs > best ? gbs : best;
		total += s;
	}
	printf("%.1f\n", best);
	return total == 1;      /* keeps the sums */
}
