/* par-test: lib/par_pool.c's regions and barriers, run natively (the wasm
 * build uses it; native tools use OpenMP). Teams of 1 to 4 run many
 * regions of several phases; in each phase every thread writes its slot,
 * and after the barrier every thread checks every other thread's slot of
 * that phase. Also: each ith runs once a region, nested regions get a team
 * of one, par_split covers its range, and workers that went to sleep
 * between regions wake up. Prints "par-test: ok" and exits 0, else the
 * first failure and exits 1. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "par.h"

#define MAXT 4
#define PHASES 5
#define ROUNDS 500

static struct {
	int round;
	int slot[PHASES][MAXT];         /* written in phase p, read after */
	atomic_int seen[MAXT];          /* regions each ith ran */
	atomic_int bad;
	atomic_int nested_ok;
	long sum[MAXT];                 /* par_split shares */
} st;

static void
fail(const char *what, int nth, int round)
{
	fprintf(stderr, "par-test: %s (team of %d, round %d)\n", what, nth,
	    round);
	exit(1);
}

static void
nested(void *arg, int ith, int nth)
{
	(void)arg;
	if (ith == 0 && nth == 1)
		atomic_fetch_add(&st.nested_ok, 1);
	par_barrier();          /* a team of one: returns at once */
}

static void
region(void *arg, int ith, int nth)
{
	int want = *(int *)arg;
	long lo, hi;

	if (nth != want || ith < 0 || ith >= nth) {
		atomic_store(&st.bad, 1);
		return;
	}
	atomic_fetch_add(&st.seen[ith], 1);
	for (int p = 0; p < PHASES; p++) {
		st.slot[p][ith] = st.round * 100 + p * 10 + ith;
		par_barrier();
		for (int j = 0; j < nth; j++)
			if (st.slot[p][j] != st.round * 100 + p * 10 + j)
				atomic_store(&st.bad, 1);
	}
	/* the next region must not start while someone still reads */
	par_split(1000, 7, ith, nth, &lo, &hi);
	st.sum[ith] = 0;
	for (long i = lo; i < hi; i++)
		st.sum[ith] += i;
	if (ith == nth - 1)
		par_run(nested, NULL);
}

static void
check_team(int nth, int rounds, int nap)
{
	long total;

	par_set_threads(nth);
	if (par_threads() != nth)
		fail("par_threads is not what par_set_threads set", nth, 0);
	for (int t = 0; t < MAXT; t++)
		atomic_store(&st.seen[t], 0);
	atomic_store(&st.nested_ok, 0);
	for (int r = 0; r < rounds; r++) {
		st.round = r;
		par_run(region, &nth);
		if (atomic_load(&st.bad))
			fail("a thread read a slot not yet written, or a wrong "
			    "ith/nth", nth, r);
		total = 0;
		for (int t = 0; t < nth; t++)
			total += st.sum[t];
		if (total != 999L * 1000 / 2)
			fail("par_split's shares do not add up", nth, r);
		if (nap) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };

			nanosleep(&ts, NULL);   /* let the workers sleep */
		}
	}
	for (int t = 0; t < MAXT; t++)
		if (atomic_load(&st.seen[t]) != (t < nth ? rounds : 0))
			fail("a thread ran a region other than once", nth, 0);
	if (atomic_load(&st.nested_ok) != rounds)
		fail("a nested region did not get a team of one", nth, 0);
}

int
main(void)
{
	long lo, hi;

	par_split(10, 4, 2, 3, &lo, &hi);
	if (lo != 8 || hi != 10)
		fail("par_split(10, 4, 2, 3) is not [8, 10)", 3, 0);
	for (int nth = 1; nth <= MAXT; nth++)
		check_team(nth, ROUNDS, 0);
	/* smaller teams after larger ones, and sleeping workers */
	check_team(2, ROUNDS, 0);
	check_team(3, 10, 1);
	check_team(1, 10, 0);
	check_team(4, ROUNDS, 0);
	puts("par-test: ok");
	return 0;
}
