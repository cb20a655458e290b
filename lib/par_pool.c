/* par_pool.c: par.h on a pool of pthreads made once, for builds without
 * OpenMP that have threads (make wasm's threaded module).
 *
 * A region: the caller publishes fn, arg and the team size, then bumps a
 * generation counter; each worker spins a while on that counter, then
 * sleeps on a condition variable until it moves. The caller is thread 0;
 * the region ends with a barrier. Workers ith >= nth of a smaller team sit
 * the region out but count themselves out, so that none lags a region
 * behind, reading the next one's fields as they are written.
 *
 * The barrier reverses a sense: the last thread to arrive resets the count
 * and flips the shared sense, the others spin, then yield, then sleep until
 * it equals theirs (sleeping matters when the machine has fewer free cores
 * than the team has threads: a spinning thread holds back the one it waits
 * for). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "par.h"

#define MAX_THREADS 64
#ifdef __wasm__
/* wasm has no pause instruction: a poll is a load, about a nanosecond, and
 * a sleep (Atomics.wait) and its wake-up cost tens of microseconds. With
 * 2000 polls, one of two threads slept at 130 of a token's 151 barriers
 * (SmolLM2-135M); with 100000 (about 0.1 ms), at 2 to 7, and generation
 * on 2 threads went from 60 to 76 t/s (node, relaxed build, a loaded
 * 2-core machine). */
#define SPIN_WAKE 100000
#define SPIN_BARRIER 100000
#else
#define SPIN_WAKE 2000          /* polls of the generation before sleeping */
#define SPIN_BARRIER 2000       /* polls of the sense before yielding */
#endif
#define YIELD_BARRIER 20        /* yields before sleeping */

static struct {
	pthread_mutex_t mu;     /* guards gen's increments and the sleeping */
	pthread_cond_t cv;
	atomic_uint gen;        /* bumped once per region */
	atomic_int left;        /* workers off the team yet to see it */
	par_fn *fn;             /* the region: written before gen moves */
	void *arg;
	int nth;                /* its team size */
	int want;               /* par_set_threads */
	int made;               /* workers created (threads 1..made) */
	unsigned start[MAX_THREADS];    /* gen when worker i was made */
	atomic_int count;       /* threads at the barrier */
	atomic_int sense;       /* flips when all have arrived */
	atomic_int asleep;      /* threads asleep at the barrier (under mu) */
	pthread_cond_t bcv;
} pool = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.bcv = PTHREAD_COND_INITIALIZER,
	.want = 1,
};

static _Thread_local int my_sense;      /* this thread's barrier sense */
static _Thread_local int my_nth = 1;    /* its team's size */
static _Thread_local int in_region;     /* nested regions get a team of one */

static void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Worker ith: wait for each region, run it if it is on the team. */
static void *
worker(void *p)
{
	int ith = (int)(long)p;
	unsigned seen = pool.start[ith];

	in_region = 1;
	for (;;) {
		unsigned g = atomic_load_explicit(&pool.gen,
		    memory_order_acquire);

		for (int i = 0; g == seen && i < SPIN_WAKE; i++) {
			cpu_relax();
			g = atomic_load_explicit(&pool.gen, memory_order_acquire);
		}
		if (g == seen) {
			pthread_mutex_lock(&pool.mu);
			while ((g = atomic_load(&pool.gen)) == seen)
				pthread_cond_wait(&pool.cv, &pool.mu);
			pthread_mutex_unlock(&pool.mu);
		}
		seen = g;
		if (ith < pool.nth) {
			my_sense = atomic_load(&pool.sense);
			my_nth = pool.nth;
			pool.fn(pool.arg, ith, my_nth);
			par_barrier();  /* the region's end */
		} else {
			atomic_fetch_sub_explicit(&pool.left, 1,
			    memory_order_release);
		}
	}
	return NULL;
}

/* Make threads 1..n-1 if not yet made; the team size we get: n, or fewer
 * if the system will not make more threads. */
static int
grow_to(int n)
{
	while (pool.made < n - 1) {
		int i = pool.made + 1;
		pthread_t t;

		pool.start[i] = atomic_load(&pool.gen);
		if (pthread_create(&t, NULL, worker, (void *)(long)i) != 0)
			break;
		pthread_detach(t);
		pool.made++;
	}
	return n < pool.made + 1 ? n : pool.made + 1;
}

void
par_run(par_fn *fn, void *arg)
{
	int nth;

	if (in_region || (nth = grow_to(pool.want)) == 1) {
		int was = in_region, was_nth = my_nth;

		in_region = 1;
		my_nth = 1;
		fn(arg, 0, 1);
		in_region = was;
		my_nth = was_nth;
		return;
	}
	/* no worker reads these until gen moves (release below) */
	pool.fn = fn;
	pool.arg = arg;
	pool.nth = nth;
	atomic_store(&pool.count, 0);
	atomic_store(&pool.left, pool.made - (nth - 1));
	my_sense = atomic_load(&pool.sense);
	my_nth = nth;
	pthread_mutex_lock(&pool.mu);
	atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);

	in_region = 1;
	fn(arg, 0, nth);
	par_barrier();
	in_region = 0;
	my_nth = 1;
	while (atomic_load_explicit(&pool.left, memory_order_acquire) > 0)
		sched_yield();
}

void
par_barrier(void)
{
	int nth = my_nth, s;

	if (nth <= 1)
		return;
	s = my_sense = !my_sense;
	if (atomic_fetch_add_explicit(&pool.count, 1, memory_order_acq_rel) ==
	    nth - 1) {
		atomic_store_explicit(&pool.count, 0, memory_order_relaxed);
		/* seq_cst, as the sleeper's asleep++ then sense check: one
		 * of the two sees the other */
		atomic_store(&pool.sense, s);
		if (atomic_load(&pool.asleep) > 0) {
			pthread_mutex_lock(&pool.mu);
			pthread_cond_broadcast(&pool.bcv);
			pthread_mutex_unlock(&pool.mu);
		}
		return;
	}
	for (int i = 0; atomic_load_explicit(&pool.sense,
	    memory_order_acquire) != s; i++)
		if (i < SPIN_BARRIER) {
			cpu_relax();
		} else if (i < SPIN_BARRIER + YIELD_BARRIER) {
			sched_yield();
		} else {
			pthread_mutex_lock(&pool.mu);
			atomic_fetch_add(&pool.asleep, 1);
			while (atomic_load(&pool.sense) != s)
				pthread_cond_wait(&pool.bcv, &pool.mu);
			atomic_fetch_sub(&pool.asleep, 1);
			pthread_mutex_unlock(&pool.mu);
		}
}

int
par_threads(void)
{
	return pool.want;
}

void
par_set_threads(int n)
{
	if (n > 0)
		pool.want = n < MAX_THREADS ? n : MAX_THREADS;
}

void
par_split(long n, long unit, int ith, int nth, long *lo, long *hi)
{
	long units = (n + unit - 1) / unit;
	long a = units * ith / nth, b = units * (ith + 1) / nth;

	*lo = a * unit < n ? a * unit : n;
	*hi = b * unit < n ? b * unit : n;
}
