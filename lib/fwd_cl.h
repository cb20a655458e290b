/* fwd_cl.h: the OpenCL backend: runs a model's plan (plan.h) on an OpenCL
 * device, the same calls as the CPU backend (fwd.h).
 *
 * Weights go to the device once at open: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1
 * and Q8_0 as the file has them (the kernels read those blocks; on GPUs
 * the 8-bit-activation types tiled for the lanes kernel, cl/fwd.cl), every
 * other type (K-quants, BF16, ...) dequantized on the host to F32, exact
 * (F16 would round a K-quant's values).
 * The KV cache (fp16, as the CPU's) and the activations stay on the device;
 * only the logits asked for come back. Phased mode: a kernel a step or a
 * few (fwd_cl.c), in one in-order queue, no wait between steps. The logits are the CPU
 * backend's bit for bit (cl/README.md), but for K-quants and on a device
 * without fp64 (fwd_cl_device says so), where they come close. */
#ifndef CHORD_FWD_CL_H
#define CHORD_FWD_CL_H

#include <stdint.h>

#include "err.h"
#include "plan.h"

struct fwd_cl;

struct fwd_cl_opts {
	int n_ctx;              /* KV cache positions */
	const char *device;     /* "cl" or "cl:P.D" (cl.h) */
	int grouped;            /* the GPU's work-group kernels on any device
	                         * (tests: PoCL is a CPU) */
};

struct fwd_cl *fwd_cl_open(const struct plan *p, const struct fwd_cl_opts *o,
	struct cerr *e);
void fwd_cl_close(struct fwd_cl *f);
int fwd_cl_eval(struct fwd_cl *f, const int32_t *tokens, int n, int all,
	struct cerr *e);
const float *fwd_cl_logits(const struct fwd_cl *f);
int fwd_cl_keep(struct fwd_cl *f, int n, struct cerr *e);
int fwd_cl_n_pos(const struct fwd_cl *f);
int fwd_cl_n_ctx(const struct fwd_cl *f);

/* Kernels the last fwd_cl_eval launched. */
long fwd_cl_launches(const struct fwd_cl *f);
/* "cl:P.D (platform: device)", for -v; "; no fp64: ..." inside the
 * parentheses where the results are only close to the CPU's. */
const char *fwd_cl_device(const struct fwd_cl *f);

#endif
