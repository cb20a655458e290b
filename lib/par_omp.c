/* par_omp.c: par.h on OpenMP: one parallel region, its barriers. Built
 * without OpenMP (the fuzzers), a team of one. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "par.h"

#ifdef _OPENMP
void
par_run(par_fn *fn, void *arg)
{
	#pragma omp parallel
	fn(arg, omp_get_thread_num(), omp_get_num_threads());
}

void
par_barrier(void)
{
	#pragma omp barrier
}

int
par_threads(void)
{
	return omp_get_max_threads();
}

void
par_set_threads(int n)
{
	if (n > 0)
		omp_set_num_threads(n);
}
#else
void
par_run(par_fn *fn, void *arg)
{
	fn(arg, 0, 1);
}

void
par_barrier(void)
{
}

int
par_threads(void)
{
	return 1;
}

void
par_set_threads(int n)
{
	(void)n;
}
#endif

void
par_split(long n, long unit, int ith, int nth, long *lo, long *hi)
{
	long units = (n + unit - 1) / unit;
	long a = units * ith / nth, b = units * (ith + 1) / nth;

	*lo = a * unit < n ? a * unit : n;
	*hi = b * unit < n ? b * unit : n;
}
