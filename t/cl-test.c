/* cl-test: the OpenCL pieces on their own.
 *
 *   cl-test build FILE [OPTIONS]
 *	build the OpenCL C of FILE on $CHORD_DEVICE (default "cl") through
 *	lib/cl.c's cache; prints "built", or the error and exits 1.
 *   cl-test layers [-r ROWS] MODEL N TOKEN...
 *	the model's plan cut to its first N layers on the CPU and on the
 *	OpenCL device, the tokens as one batch, then each token again
 *	alone; prints per evaluation the largest difference of the last
 *	row's logits, the CPU's logit range, both argmaxes and whether the
 *	logits are the same bytes. -r: the output matrix (and vocabulary)
 *	cut to its first ROWS rows, a count no kernel's group divides.
 *	$CHORD_CL_GROUPED: the GPU's work-group kernels on any device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cl.h"
#include "gguf.h"
#include "model.h"
#include "plan.h"
#include "tool.h"

static int
build(const char *file, const char *opts)
{
	const char *name = getenv("CHORD_DEVICE");
	struct cl_dev d;
	struct cerr e;
	cl_context ctx;
	cl_program prog;
	char *src;
	long n;
	FILE *f = fopen(file, "rb");

	if (!f)
		die("%s:", file);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (!(src = calloc(1, (size_t)n + 1)) ||
	    fread(src, 1, (size_t)n, f) != (size_t)n)
		die("%s: read failed", file);
	fclose(f);
	if (cl_pick(name && *name ? name : "cl", &d, &e) < 0)
		die_err(&e);
	if (!(ctx = clCreateContext(NULL, 1, &d.id, NULL, NULL, NULL)))
		die("no context");
	if (!(prog = cl_build(ctx, &d, src, opts, &e)))
		die_err(&e);
	printf("built\n");
	clReleaseProgram(prog);
	clReleaseContext(ctx);
	free(src);
	return 0;
}

static int
argmax(const float *v, int n)
{
	int b = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[b])
			b = i;
	return b;
}

static void
compare(const struct backend *a, const struct backend *b, int n_vocab)
{
	const float *x = backend_logits(a), *y = backend_logits(b);
	float d = 0.0f, lo = x[0], hi = x[0];

	for (int i = 0; i < n_vocab; i++) {
		float z = x[i] > y[i] ? x[i] - y[i] : y[i] - x[i];

		d = z > d ? z : d;
		lo = x[i] < lo ? x[i] : lo;
		hi = x[i] > hi ? x[i] : hi;
	}
	printf("max_abs=%.5f range=%.3f argmax cpu=%d cl=%d same=%d\n", d,
	    hi - lo, argmax(x, n_vocab), argmax(y, n_vocab),
	    !memcmp(x, y, (size_t)n_vocab * sizeof *x));
}

static int
layers(int argc, char **argv)
{
	struct backend_opts co = { .device = "cpu", .n_ctx = 64 };
	struct backend_opts lo = { .device = getenv("CHORD_DEVICE"),
	    .n_ctx = 64, .grouped = getenv("CHORD_CL_GROUPED") != NULL };
	struct backend *a, *b;
	struct gguf *g;
	struct model m;
	struct plan p;
	struct cerr e;
	int32_t tok[32];
	int n, nl, rows = 0;

	if (argc > 3 && !strcmp(argv[2], "-r")) {
		rows = atoi(argv[3]);
		argc -= 2;
		argv += 2;
	}
	n = argc - 4;
	if (n < 1 || n > 32)
		die("layers: 1 to 32 tokens");
	if (!lo.device || !*lo.device)
		lo.device = "cl";
	if (!(g = gguf_open(argv[2], &e)) || model_load(&m, g, &e) < 0 ||
	    plan_build(&p, &m, 64, &e) < 0)
		die_err(&e);
	nl = atoi(argv[3]);
	if (nl < 0 || nl > p.n_layer)
		die("layers: 0 to %d", p.n_layer);
	p.n_layer = nl;
	for (int i = 0; rows > 0 && i < p.n_out; i++)
		if (p.out[i].op == OP_MATMUL && rows < p.out[i].w.rows) {
			p.out[i].w.rows = rows;
			p.n_vocab = rows;
		}
	for (int i = 0; i < n; i++)
		tok[i] = atoi(argv[4 + i]);
	if (!(a = backend_open(&p, &co, &e)) || !(b = backend_open(&p, &lo, &e)))
		die_err(&e);
	if (backend_eval(a, tok, n, 0, &e) < 0 ||
	    backend_eval(b, tok, n, 0, &e) < 0)
		die_err(&e);
	compare(a, b, p.n_vocab);
	for (int i = 0; i < n; i++) {
		if (backend_eval(a, &tok[i], 1, 0, &e) < 0 ||
		    backend_eval(b, &tok[i], 1, 0, &e) < 0)
			die_err(&e);
		compare(a, b, p.n_vocab);
	}
	backend_close(a);
	backend_close(b);
	return 0;
}

int
main(int argc, char **argv)
{
	tool_init(argv[0]);
	if (argc >= 3 && !strcmp(argv[1], "build"))
		return build(argv[2], argc > 3 ? argv[3] : "");
	if (argc >= 5 && !strcmp(argv[1], "layers"))
		return layers(argc, argv);
	fprintf(stderr, "usage: cl-test build FILE [OPTIONS] | "
	    "cl-test layers [-r ROWS] MODEL N TOKEN...\n");
	return 2;
}
