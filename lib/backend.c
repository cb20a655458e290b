/* backend.c: the device name's backend behind one set of calls. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cl.h"
#include "fwd_cl.h"

struct backend {
	struct fwd *cpu;
	struct fwd_cl *cl;
};

static int
is_cpu(const char *name)
{
	return !name || !strcmp(name, "cpu");
}

int
backend_name_ok(const char *name)
{
	return is_cpu(name) || cl_name_ok(name);
}

struct backend *
backend_open(const struct plan *p, const struct backend_opts *o,
	struct cerr *e)
{
	struct backend *b = calloc(1, sizeof *b);

	if (!b)
		return cerr_set(e, "out of memory"), NULL;
	if (is_cpu(o->device)) {
		struct fwd_opts fo = { .n_ctx = o->n_ctx,
		    .portable = o->portable, .packs = o->packs };

		b->cpu = fwd_open(p, &fo, e);
	} else if (cl_name_ok(o->device)) {
		struct fwd_cl_opts co = { .n_ctx = o->n_ctx,
		    .device = o->device, .grouped = o->grouped };

		b->cl = fwd_cl_open(p, &co, e);
	} else {
		cerr_set(e, "%s: not a device (cpu, cl or cl:P.D)", o->device);
	}
	if (!b->cpu && !b->cl) {
		free(b);
		return NULL;
	}
	return b;
}

void
backend_close(struct backend *b)
{
	if (!b)
		return;
	fwd_close(b->cpu);
	fwd_cl_close(b->cl);
	free(b);
}

int
backend_eval(struct backend *b, const int32_t *tokens, int n, int all,
	struct cerr *e)
{
	return b->cl ? fwd_cl_eval(b->cl, tokens, n, all, e) :
	    fwd_eval(b->cpu, tokens, n, all, e);
}

const float *
backend_logits(const struct backend *b)
{
	return b->cl ? fwd_cl_logits(b->cl) : fwd_logits(b->cpu);
}

int
backend_keep(struct backend *b, int n, struct cerr *e)
{
	return b->cl ? fwd_cl_keep(b->cl, n, e) : fwd_keep(b->cpu, n, e);
}

int
backend_n_pos(const struct backend *b)
{
	return b->cl ? fwd_cl_n_pos(b->cl) : fwd_n_pos(b->cpu);
}

int
backend_n_ctx(const struct backend *b)
{
	return b->cl ? fwd_cl_n_ctx(b->cl) : fwd_n_ctx(b->cpu);
}

const char *
backend_device(const struct backend *b)
{
	return b->cl ? fwd_cl_device(b->cl) : "cpu";
}

long
backend_launches(const struct backend *b)
{
	return b->cl ? fwd_cl_launches(b->cl) : 0;
}
