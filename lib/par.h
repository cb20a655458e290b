/* par.h: a team of threads running one function, with barriers inside it.
 * The CPU backend runs a whole batch in one region (fwd_cpu.c), so a token
 * pays a barrier where a step reads what another thread wrote, not a fork
 * and join per step. Native builds run it on OpenMP (par_omp.c); the
 * browser build on a pool of pthreads (par_pool.c). */
#ifndef CHORD_PAR_H
#define CHORD_PAR_H

/* The body of a region: thread ith of nth. */
typedef void par_fn(void *arg, int ith, int nth);

/* Run fn on the team (the calling thread is one of them) and return when
 * all are done. */
void par_run(par_fn *fn, void *arg);
/* Inside fn: wait until every thread of the team has reached it. */
void par_barrier(void);
/* Threads a region gets (par_set_threads, or the runtime's default). */
int par_threads(void);
void par_set_threads(int n);

/* Thread ith's share [*lo, *hi) of n items, split in whole units of
 * `unit` (the last share takes the remainder). */
void par_split(long n, long unit, int ith, int nth, long *lo, long *hi);

#endif
