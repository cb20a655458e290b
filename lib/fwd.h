/* fwd.h: a backend runs a model's plan (plan.h) on batches of tokens. It
 * owns the run state of one sequence (KV cache, buffers) and the weight
 * layout it wants. The CPU backend (fwd_cpu.c) is the reference. */
#ifndef CHORD_FWD_H
#define CHORD_FWD_H

#include <stdint.h>

#include "err.h"
#include "packs.h"
#include "plan.h"

struct fwd;

struct fwd_opts {
	int n_ctx;              /* KV cache positions */
	int portable;           /* the portable C kernels, not SIMD (tests) */
	const struct packs *packs;  /* repacked matrices made already (the
	                             * weight cache's), or NULL: made at open */
};

/* The backend's state for plan p (p must outlive it). */
struct fwd *fwd_open(const struct plan *p, const struct fwd_opts *o,
	struct cerr *e);
void fwd_close(struct fwd *f);

/* Evaluate n tokens at positions fwd_n_pos().. as one batch; the logits of
 * its last position, or of every position when all, become fwd_logits()'s
 * rows. */
int fwd_eval(struct fwd *f, const int32_t *tokens, int n, int all,
	struct cerr *e);
const float *fwd_logits(const struct fwd *f);
/* Drop the cached positions past the first n (n <= fwd_n_pos()). */
int fwd_keep(struct fwd *f, int n, struct cerr *e);
int fwd_n_pos(const struct fwd *f);
int fwd_n_ctx(const struct fwd *f);

#endif
