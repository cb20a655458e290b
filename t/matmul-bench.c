/* matmul-bench: the cost of matmul_rows on each matrix shape of a model
 * (layer 0's, and the output unless -o), one thread, at n activation rows
 * (default 1 2 4 8 16 64 512), through the kernels the CPU backend picks
 * (the packed copy where the build makes one). Activations are random.
 * Prints, per matrix and n, the median of -r repetitions of microseconds
 * a token (thread CPU time: the machine is shared), that over the first
 * n's, and the fastest repetition.
 * Built by make tprogs, run by hand:
 *   matmul-bench [-o] [-r reps] model.gguf [n ...]
 * Not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "gguf.h"
#include "matmul.h"
#include "model.h"
#include "quant.h"
#include "tool.h"

static uint32_t rng = 2463534242u;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median seconds of one matmul_rows call over reps runs of at least
 * 0.05 s each, and in *min the fastest (the least disturbed by other
 * work on the machine). */
static double
time_mat(const struct mat *w, const void *pk, const void *a, int n,
	float *y, int reps, double *min)
{
	double t[64];

	for (int k = 0; k < reps; k++) {
		double t0 = now(), e;
		int calls = 0;

		do {
			if (matmul_rows(w, pk, a, n, y, (int)w->rows, 0,
			    w->rows) < 0)
				die("matmul_rows failed");
			calls++;
		} while ((e = now() - t0) < 0.05);
		t[k] = e / calls;
	}
	qsort(t, (size_t)reps, sizeof *t, cmpd);
	*min = t[0];
	return t[reps / 2];
}

static void
bench(const char *name, const struct mat *w, const int *ns, int nn,
	int reps)
{
	size_t psize = mat_act_form(w) == ACT_Q8 ? pack_size(w) :
	    mat_act_form(w) == ACT_Q8K ? pack_size_k(w) : 0;
	void *pk = NULL;
	int nmax = 0;
	double t1 = 0;

	for (int i = 0; i < nn; i++)
		nmax = ns[i] > nmax ? ns[i] : nmax;
	if (psize) {
		if (!(pk = aligned_alloc(64, (psize + 63) / 64 * 64)))
			die("out of memory");
		if (mat_act_form(w) == ACT_Q8)
			pack_mat(w, pk);
		else
			pack_k(w, pk);
	}
	float *x = malloc(sizeof(float) * (size_t)nmax * (size_t)w->cols);
	float *y = malloc(sizeof(float) * (size_t)nmax * (size_t)w->rows);
	void *a = malloc(act_form_size(mat_act_form(w), nmax, (int)w->cols));

	if (!x || !y || !a)
		die("out of memory");
	for (size_t i = 0; i < (size_t)nmax * (size_t)w->cols; i++)
		x[i] = (float)(rnd() % 2001) / 1000.0f - 1.0f;
	act_convert(mat_act_form(w), x, nmax, (int)w->cols, a);
	for (int i = 0; i < nn; i++) {
		double mn, t = time_mat(w, pk, a, ns[i], y, reps, &mn);

		if (i == 0)
			t1 = t / ns[i];
		printf("%-8s %-5s %6lldx%-6lld n=%-4d %9.2f us/token %6.3f"
		    " (min %.2f)\n", name, qtype_get(w->type)->name,
		    (long long)w->rows, (long long)w->cols, ns[i],
		    t / ns[i] * 1e6, t / ns[i] / t1, mn / ns[i] * 1e6);
		fflush(stdout);
	}
	free(pk);
	free(x);
	free(y);
	free(a);
}

static const char usage_line[] =
    "usage: matmul-bench [-o] [-r reps] model.gguf [n ...]";

int
main(int argc, char **argv)
{
	static const int defns[] = { 1, 2, 4, 8, 16, 64, 512 };
	int ns[32], nn = 0, reps = 5, out = 1, c;
	struct cerr e = { 0 };
	struct gguf *g;
	struct model m;

	tool_init(argv[0]);
	while ((c = getopt(argc, argv, "or:")) != -1)
		switch (c) {
		case 'o':
			out = 0;
			break;
		case 'r':
			reps = (int)opt_ll(usage_line, "-r", optarg, 1, 64);
			break;
		default:
			usage_die(usage_line, "unknown option");
		}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage_die(usage_line, "no model");
	for (int i = 1; i < argc && nn < 32; i++)
		ns[nn++] = (int)opt_ll(usage_line, "n", argv[i], 1, 4096);
	if (!nn)
		for (nn = 0; nn < (int)(sizeof defns / sizeof *defns); nn++)
			ns[nn] = defns[nn];
	if (!(g = gguf_open(argv[0], &e)) || model_load(&m, g, &e) < 0)
		die_err(&e);
	{
		const struct layer *l = &m.layers[0];
		const struct { const char *name; const struct mat *w; } mats[] = {
			{ "wq", &l->wq }, { "wk", &l->wk }, { "wv", &l->wv },
			{ "wo", &l->wo }, { "gate", &l->w_gate },
			{ "up", &l->w_up }, { "down", &l->w_down },
			{ "output", &m.output },
		};

		for (size_t i = 0; i < sizeof mats / sizeof *mats; i++) {
			if (!mats[i].w->data || (!out && i == 7))
				continue;
			bench(mats[i].name, mats[i].w, ns, nn, reps);
		}
	}
	model_free(&m);
	gguf_close(g);
	return 0;
}
