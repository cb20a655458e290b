/* backend.h: the backend a device name picks, behind one set of calls:
 * "cpu" runs the CPU backend (fwd.h), "cl" and "cl:P.D" the OpenCL one
 * (fwd_cl.h). */
#ifndef CHORD_BACKEND_H
#define CHORD_BACKEND_H

#include <stdint.h>

#include "err.h"
#include "fwd.h"
#include "plan.h"

struct backend;

struct backend_opts {
	const char *device;     /* "cpu" (NULL too), "cl", "cl:P.D" */
	int n_ctx;              /* KV cache positions */
	int portable;           /* CPU: the portable C kernels (tests) */
	int grouped;            /* OpenCL: the GPU's kernels anywhere (tests) */
	const struct packs *packs;  /* CPU: repacked matrices made already */
};

/* Is name a device's form (it may still not exist)? */
int backend_name_ok(const char *name);

struct backend *backend_open(const struct plan *p,
	const struct backend_opts *o, struct cerr *e);
void backend_close(struct backend *b);
int backend_eval(struct backend *b, const int32_t *tokens, int n, int all,
	struct cerr *e);
const float *backend_logits(const struct backend *b);
int backend_keep(struct backend *b, int n, struct cerr *e);
int backend_n_pos(const struct backend *b);
int backend_n_ctx(const struct backend *b);
/* "cpu", or the OpenCL device in words. */
const char *backend_device(const struct backend *b);
/* Kernel launches of the last eval (0 on the CPU). */
long backend_launches(const struct backend *b);

#endif
