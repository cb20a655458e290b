/* par_omp.c: par.h on OpenMP: one parallel region, its barriers. Built
 * without OpenMP (the fuzzers), a team of one. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "par.h"

#ifdef _OPENMP
#include <sched.h>

/* The region's barrier: a count of arrivals and a generation the last
 * arrival bumps. libgomp's costs a few times more on a token's ~300; a
 * waiter spins a while, then yields, so that a machine with more threads
 * than cores still makes progress. */
static struct {
	_Alignas(64) unsigned arrived;
	_Alignas(64) unsigned gen;      /* its own line: waiters spin on it */
	int nth;
} bar;

enum { SPINS = 1 << 14 };

static inline void
relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

void
par_run(par_fn *fn, void *arg)
{
	#pragma omp parallel
	{
		#pragma omp single
		{
			bar.arrived = 0;
			bar.nth = omp_get_num_threads();
		}       /* single's own barrier publishes them */
		fn(arg, omp_get_thread_num(), omp_get_num_threads());
	}
}

void
par_barrier(void)
{
	unsigned g = __atomic_load_n(&bar.gen, __ATOMIC_ACQUIRE);

	if (bar.nth <= 1)
		return;
	if (__atomic_add_fetch(&bar.arrived, 1, __ATOMIC_ACQ_REL) ==
	    (unsigned)bar.nth) {
		__atomic_store_n(&bar.arrived, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&bar.gen, g + 1, __ATOMIC_RELEASE);
		return;
	}
	for (unsigned i = 0; __atomic_load_n(&bar.gen, __ATOMIC_ACQUIRE) == g;
	    i++)
		if (i < SPINS)
			relax();
		else
			sched_yield();
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
