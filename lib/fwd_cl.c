/* fwd_cl.c: the OpenCL backend: runs any plan (plan.h) on a batch of
 * tokens with the kernels of cl/fwd.cl, a kernel a step or a few steps
 * (phased mode): where a kernel holds the data the next step needs, it
 * does that step too, in the same order (step): a norm, the GLU or the
 * attention quantizes its output for the Q8 matmul after it; a Q8 matmul
 * adds its bias, and its output to the residual; Q, K and V (gate and up) are one
 * matmul of their matrices stacked at load; RoPE of Q and K is one
 * kernel, which stores K and V in the cache. SmolLM2: 9 kernels a layer.
 *
 * The host keeps what is cheap and exact there: the embedding rows
 * (mat_row_f32), the RoPE angles and GELU's table (as the CPU computes
 * them), uploaded once or each batch. Everything else runs on the device,
 * the KV cache in fp16, with the CPU backend's floats (cl/fwd.cl says
 * how): the logits are the CPU's bit for bit for the 32-value quant types
 * on a device with fp64 (without it, -v says so, the double sums are
 * float sums); K-quants, dequantized at load, only come close. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn.h"
#include "cl.h"
#include "fwd_cl.h"
#include "matmul.h"
#include "quant.h"

extern const char cl_src_fwd[];        /* cl/fwd.cl, embedded at build */

#define LANES_TB 4      /* tokens a work-item of k_matmul_lanes (TB) */

enum kern {
	K_MATMUL_Q8, K_MATMUL_LANES, K_MATMUL_F, K_MATMUL_FGROUP, K_NORM,
	K_HEAD_NORM, K_BIAS, K_ROPE, K_SCALE, K_KV_STORE, K_ATTN, K_ADD, K_GLU,
	K_SOFTCAP, K_ACT, K_GLU_Q8, K_ROPE_QK, N_KERN
};

static const char *const kern_name[N_KERN] = {
	"k_matmul_q8", "k_matmul_lanes", "k_matmul_f", "k_matmul_fgroup",
	"k_norm", "k_head_norm", "k_bias", "k_rope", "k_scale", "k_kv_store",
	"k_attn", "k_add", "k_glu", "k_softcap", "k_act", "k_glu_q8",
	"k_rope_qk",
};

/* A weight matrix on the device, in a type the matmul kernel reads. */
struct dmat {
	cl_mem buf;
	int type;               /* F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 */
	cl_ulong row_bytes;
	int rows, cols;
	int q8;                 /* takes 8-bit activations (ACT_Q8) */
	int rp;                 /* Q4_0 in ggml's repacked order (matmul.h) */
	int f32;                /* F32 in the file: ggml_vec_dot_f32's tail */
	int tiled;              /* in the lanes kernel's layout (tile_mats) */
	int n_mat;              /* matrices stacked (1..3): the plan's next
	                         * n_mat - 1 matmuls are this one's rows */
	int r1, r2;             /* where the second and third begin */
	cl_mem bias;            /* (rows): the plan's OP_BIAS after each
	                         * matrix, added by the matmul; NULL: none */
};

/* A step's device objects, parallel to the plan's steps. */
struct dstep {
	struct dmat w;          /* OP_MATMUL (none: stacked on an earlier) */
	cl_mem vec;             /* norm weight or bias */
};

struct fwd_cl {
	const struct plan *p;
	struct cl_dev dev;
	char desc[400];         /* fwd_cl_device() */
	cl_context ctx;
	cl_command_queue q;
	cl_program prog;
	cl_kernel k[N_KERN];
	size_t lsz;             /* work-group size of the reductions */
	size_t mlsz;            /* of the lanes matmul: 32 rows of 8 lanes,
	                         * fewer where the device takes less */
	int n_ctx;              /* KV cache positions */
	int n_pos;              /* positions filled */
	int cap;                /* batch rows the buffers hold */
	int rows;               /* rows live in the buffers now */
	cl_mem *kc, *vc;        /* (n_layer) of (n_ctx, kv_dim) fp16 */
	cl_mem buf[N_BUF];      /* (cap, width[b]) floats */
	cl_mem scratch;         /* (cap, dim) floats, for OP_OUT_ROWS */
	cl_mem act[N_BUF];      /* (cap, width[b]): buf[b] as matmuls take it */
	cl_mem act_sum[N_BUF];  /* (cap, width[b] / 32, 2): Q8 blocks' scale
	                         * and d * sum(q) */
	int act_form[N_BUF];    /* the form act[b] holds (matmul.h), -1: none */
	cl_mem cs[PLAN_MAX_ROPE]; /* (cap, dims) cos, sin pairs a rope */
	cl_mem gelu;            /* (65536) ushort: fp16 GELU at every fp16 */
	struct dstep **lsteps;  /* (n_layer) of (n_steps) */
	struct dstep *osteps;   /* (n_out) */
	float *hx;              /* (cap, dim) the batch's embeddings */
	float *hcs;             /* (n_rope, cap, rope dims) */
	int rd;                 /* the largest rope dims */
	float *logits;          /* (cap, n_vocab) */
	long launches;          /* kernels of the last eval */
	int failed;             /* a device error left the state unknown */
	int kv_stored;          /* this layer's K and V are in the cache */
	int grouped;            /* eight work-items a matmul row (GPUs),
	                         * else one (CPU devices) */
	/* $CHORD_CL_PROFILE: each launch's event, timed after each eval */
	int prof;
	cl_event *ev;
	unsigned char *ev_k;    /* the kernel of each */
	long n_ev, cap_ev;
	double k_ns[N_KERN];    /* time in each kernel, summed */
	long k_n[N_KERN];
	double busy_ns, span_ns; /* kernels' time; first start to last end */
	long evals;
};

/* ---- errors ---- */

static int
cl_err(struct fwd_cl *f, cl_int err, const char *what, struct cerr *e)
{
	return cerr_set(e, "%s: %s: %s", f->dev.name, what, cl_strerror(err));
}

/* ---- device memory ---- */

static cl_mem
dev_buf(struct fwd_cl *f, size_t bytes, const void *host, const char *what,
	struct cerr *e)
{
	cl_int err;
	cl_mem m;

	if (bytes > f->dev.max_alloc) {
		cerr_set(e, "%s: %s: %zu MiB in one buffer; the device takes at "
		    "most %llu MiB", f->dev.name, what, bytes >> 20,
		    (unsigned long long)(f->dev.max_alloc >> 20));
		return NULL;
	}
	m = clCreateBuffer(f->ctx, host ? CL_MEM_READ_WRITE |
	    CL_MEM_COPY_HOST_PTR : CL_MEM_READ_WRITE, bytes ? bytes : 4,
	    (void *)host, &err);
	if (!m)
		cl_err(f, err, what, e);
	return m;
}

static void
rel(cl_mem *m)
{
	if (*m)
		clReleaseMemObject(*m);
	*m = NULL;
}

/* Can the matmul kernel read this type as the file has it? */
static int
native(uint32_t t)
{
	return t == GGML_F32 || t == GGML_F16 || t == GGML_Q4_0 ||
	    t == GGML_Q4_1 || t == GGML_Q5_0 || t == GGML_Q5_1 ||
	    t == GGML_Q8_0;
}

/* The rows of w dequantized into floats, malloc'd; NULL: out of memory. */
static float *
dequant(const struct mat *w)
{
	float *out = malloc((size_t)w->rows * (size_t)w->cols * sizeof *out);

	for (int64_t r = 0; out && r < w->rows; r++)
		if (mat_row_f32(w, r, out + r * w->cols) < 0) {
			free(out);
			return NULL;
		}
	return out;
}

/* The blocks of the n matrices of v's matmul steps, stacked (the same
 * type and columns), in the lanes kernel's tiled layout (cl/fwd.cl,
 * phase_matmul_lanes), malloc'd, *bytes long: each field of the blocks
 * in a plane of its own, block by block, row by row within a block.
 * NULL: out of memory. */
static void *
tile_mats(const struct step *v, int n, size_t *bytes)
{
	const struct mat *w = &v[0].w;
	int t = (int)w->type, q5 = t == GGML_Q5_0 || t == GGML_Q5_1;
	int min = t == GGML_Q4_1 || t == GGML_Q5_1;
	size_t qw = t == GGML_Q8_0 ? 32 : 16;   /* quant bytes a block */
	size_t nb = (size_t)w->cols / 32, rows = 0, bb = w->row_bytes / nb;
	size_t qs_at = 2 + (min ? 2 : 0) + (q5 ? 4 : 0), plane, r = 0;
	unsigned char *out, *qs, *qh, *d, *m;

	for (int i = 0; i < n; i++)
		rows += (size_t)v[i].w.rows;
	plane = nb * rows;
	*bytes = plane * (qw + (q5 ? 4 : 0) + 2 + (min ? 2 : 0));
	if (!(out = malloc(*bytes)))
		return NULL;
	qs = out;
	qh = qs + plane * qw;
	d = qh + (q5 ? plane * 4 : 0);
	m = d + plane * 2;
	for (int i = 0; i < n; i++)
		for (int64_t ri = 0; ri < v[i].w.rows; ri++, r++)
			for (size_t b = 0; b < nb; b++) {
				const unsigned char *blk = (const unsigned char *)
				    v[i].w.data + ri * v[i].w.row_bytes + b * bb;
				size_t k = b * rows + r;

				memcpy(qs + k * qw, blk + qs_at, qw);
				memcpy(d + k * 2, blk, 2);
				if (min)
					memcpy(m + k * 2, blk + 2, 2);
				if (q5)
					memcpy(qh + k * 4, blk + (min ? 4 : 2),
					    4);
			}
	return out;
}

/* The rows of the n matrices of v's matmul steps, stacked, malloc'd
 * (NULL: out of memory). */
static void *
stack_mats(const struct step *v, int n, size_t *bytes)
{
	unsigned char *out, *at;

	*bytes = 0;
	for (int i = 0; i < n; i++)
		*bytes += (size_t)v[i].w.rows * v[i].w.row_bytes;
	if (!(out = malloc(*bytes)))
		return NULL;
	at = out;
	for (int i = 0; i < n; i++) {
		memcpy(at, v[i].w.data, (size_t)v[i].w.rows * v[i].w.row_bytes);
		at += (size_t)v[i].w.rows * v[i].w.row_bytes;
	}
	return out;
}

/* How many matmul steps from v[0] (of n) one kernel can do, stacked:
 * up to three of the same input, type, order and columns, 8-bit
 * activations, each writing a buffer of its own. */
static int
stackable(const struct step *v, int n)
{
	const struct mat *w = &v[0].w;
	int k = 1;

	if (v[0].op != OP_MATMUL || mat_act_form(w) != ACT_Q8)
		return 1;
	for (; k < n && k < 3; k++) {
		const struct mat *x = &v[k].w;
		int seen = v[k].dst == v[0].src;

		for (int j = 0; j < k; j++)
			seen |= v[j].dst == v[k].dst;
		if (v[k].op != OP_MATMUL || v[k].src != v[0].src || seen ||
		    x->type != w->type || x->cols != w->cols ||
		    x->repacked != w->repacked)
			break;
	}
	return k;
}

/* The matrices of v's n matmul steps (n > 1: stackable's) onto the
 * device, as the kernel reads them. */
static int
upload_mat(struct fwd_cl *f, const struct step *v, int n, struct dmat *d,
	struct cerr *e)
{
	const struct mat *w = &v[0].w;
	const struct qtype *qt = qtype_get(w->type);
	float *conv;
	size_t bytes;

	d->n_mat = n;
	d->rows = 0;
	for (int i = 0; i < n; i++) {
		d->r1 = i == 1 ? d->rows : d->r1;
		d->r2 = i == 2 ? d->rows : d->r2;
		d->rows += (int)v[i].w.rows;
	}
	d->r1 = n < 2 ? d->rows : d->r1;
	d->r2 = n < 3 ? d->rows : d->r2;
	d->cols = (int)w->cols;
	d->q8 = mat_act_form(w) == ACT_Q8;
	d->rp = w->type == GGML_Q4_0 && w->repacked;
	d->f32 = w->type == GGML_F32;
	if (w->cols % 32)
		return cerr_set(e, "%s: a matrix of %lld columns (the kernels "
		    "take multiples of 32)", f->dev.name, (long long)w->cols);
	d->tiled = f->grouped && d->q8;
	if (d->tiled || n > 1) {
		void *t = d->tiled ? tile_mats(v, n, &bytes) :
		    stack_mats(v, n, &bytes);

		if (!t)
			return cerr_set(e, "out of memory");
		d->type = (int)w->type;
		d->row_bytes = w->row_bytes;
		d->buf = dev_buf(f, bytes, t, "weights", e);
		free(t);
		return d->buf ? 0 : -1;
	}
	if (native(w->type)) {
		d->type = (int)w->type;
		d->row_bytes = w->row_bytes;
		bytes = (size_t)w->rows * w->row_bytes;
		d->buf = dev_buf(f, bytes, w->data, "weights", e);
		return d->buf ? 0 : -1;
	}
	if (!qt || !qt->to_f32)
		return cerr_set(e, "%s: weights of type %s not supported",
		    f->dev.name, qt ? qt->name : "unknown");
	/* F32, not F16: a K-quant's d * scale * q needs more bits than F16
	 * has, and the CPU multiplies these types with exact floats */
	if (!(conv = dequant(w)))
		return cerr_set(e, "out of memory");
	d->type = GGML_F32;
	d->row_bytes = (cl_ulong)w->cols * sizeof(float);
	bytes = (size_t)w->rows * d->row_bytes;
	d->buf = dev_buf(f, bytes, conv, "weights", e);
	free(conv);
	return d->buf ? 0 : -1;
}

/* Do the k matmul steps of v (of n) take 8-bit activations and have
 * an OP_BIAS each right after them, in their order? */
static int
biased(const struct step *v, int k, int n)
{
	if (mat_act_form(&v[0].w) != ACT_Q8 || 2 * k > n)
		return 0;
	for (int j = 0; j < k; j++)
		if (v[k + j].op != OP_BIAS || v[k + j].dst != v[j].dst ||
		    !v[k + j].vec)
			return 0;
	return 1;
}

/* The biases of the k matmuls of v (biased) as one vector of d's rows. */
static int
upload_bias(struct fwd_cl *f, const struct step *v, int k, struct dmat *d,
	struct cerr *e)
{
	float *b = malloc((size_t)d->rows * sizeof *b), *at = b;

	if (!b)
		return cerr_set(e, "out of memory");
	for (int j = 0; j < k; j++) {
		memcpy(at, v[k + j].vec, (size_t)v[j].w.rows * sizeof *b);
		at += v[j].w.rows;
	}
	d->bias = dev_buf(f, (size_t)d->rows * sizeof *b, b, "weights", e);
	free(b);
	return d->bias ? 0 : -1;
}

/* The device objects of step v[0] (of n), and of those stacked on it:
 * the steps done, or -1. */
static int
upload_step(struct fwd_cl *f, const struct step *v, int n, struct dstep *d,
	struct cerr *e)
{
	const struct plan *p = f->p;
	const struct step *s = v;
	int k = stackable(v, n);
	size_t len = 0;

	if (s->op == OP_MATMUL) {
		if (upload_mat(f, v, k, &d->w, e) < 0)
			return -1;
		if (!biased(v, k, n))
			return k;
		return upload_bias(f, v, k, &d->w, e) < 0 ? -1 : 2 * k;
	}
	if (s->op == OP_NORM)
		len = (size_t)p->width[s->src];
	else if (s->op == OP_HEAD_NORM)
		len = (size_t)p->head_dim;
	else if (s->op == OP_BIAS)
		len = (size_t)p->width[s->dst];
	if (!len || !s->vec)
		return 1;
	d->vec = dev_buf(f, len * sizeof(float), s->vec, "weights", e);
	return d->vec ? 1 : -1;
}

/* ---- $CHORD_CL_PROFILE ---- */

/* Room for one more launch's event (-1: none; that launch goes untimed). */
static int
prof_room(struct fwd_cl *f)
{
	long cap = f->cap_ev ? 2 * f->cap_ev : 1024;
	cl_event *ev;
	unsigned char *k;

	if (f->n_ev < f->cap_ev)
		return 0;
	if (!(ev = realloc(f->ev, (size_t)cap * sizeof *ev)))
		return -1;
	f->ev = ev;
	if (!(k = realloc(f->ev_k, (size_t)cap)))
		return -1;
	f->ev_k = k;
	f->cap_ev = cap;
	return 0;
}

/* The finished eval's kernels: their times into the sums. */
static void
prof_take(struct fwd_cl *f)
{
	cl_ulong first = 0, last = 0;

	for (long i = 0; i < f->n_ev; i++) {
		cl_ulong t0 = 0, t1 = 0;

		clGetEventProfilingInfo(f->ev[i], CL_PROFILING_COMMAND_START,
		    sizeof t0, &t0, NULL);
		clGetEventProfilingInfo(f->ev[i], CL_PROFILING_COMMAND_END,
		    sizeof t1, &t1, NULL);
		clReleaseEvent(f->ev[i]);
		if (t1 < t0)
			continue;
		f->k_ns[f->ev_k[i]] += (double)(t1 - t0);
		f->k_n[f->ev_k[i]]++;
		f->busy_ns += (double)(t1 - t0);
		first = !first || t0 < first ? t0 : first;
		last = t1 > last ? t1 : last;
	}
	if (f->n_ev)
		f->span_ns += (double)(last - first);
	f->evals += f->n_ev > 0;
	f->n_ev = 0;
}

/* At close, to stderr: the time in each kernel, per eval, and how much of
 * the evals' span on the device the kernels filled. */
static void
prof_report(const struct fwd_cl *f)
{
	if (!f->evals)
		return;
	fprintf(stderr, "chord-fwd: OpenCL profile, %ld evals: kernels busy "
	    "%.1f us an eval of a span of %.1f us (%.0f%%)\n", f->evals,
	    f->busy_ns / 1e3 / (double)f->evals, f->span_ns / 1e3 /
	    (double)f->evals, f->span_ns > 0 ? 100 * f->busy_ns / f->span_ns :
	    0.0);
	for (int k = 0; k < N_KERN; k++)
		if (f->k_n[k])
			fprintf(stderr, "chord-fwd:   %-14s %7.1f launches "
			    "%9.1f us an eval (%4.1f%%), %7.2f us a launch\n",
			    kern_name[k], (double)f->k_n[k] / (double)f->evals,
			    f->k_ns[k] / 1e3 / (double)f->evals, 100 *
			    f->k_ns[k] / f->busy_ns, f->k_ns[k] / 1e3 /
			    (double)f->k_n[k]);
}

/* ---- open, close ---- */

/* The device's bytes for weights: what a matmul step uploads. */
static size_t
weight_bytes(const struct step *s)
{
	if (s->op != OP_MATMUL)
		return 0;
	if (native(s->w.type))
		return (size_t)s->w.rows * s->w.row_bytes;
	return (size_t)s->w.rows * (size_t)s->w.cols * sizeof(float);
}

/* Does the context fit the device, with the weights? */
static int
fits(struct fwd_cl *f, struct cerr *e)
{
	const struct plan *p = f->p;
	size_t layer = (size_t)f->n_ctx * (size_t)p->width[B_K] * 2;
	size_t kv = 2 * layer * (size_t)p->n_layer, w = 0;

	for (int l = 0; l < p->n_layer; l++)
		for (int i = 0; i < p->layers[l].n_steps; i++)
			w += weight_bytes(&p->layers[l].steps[i]);
	for (int i = 0; i < p->n_out; i++)
		w += weight_bytes(&p->out[i]);
	if (layer > f->dev.max_alloc || kv + w > f->dev.mem)
		return cerr_set(e, "%s: a context of %d needs %zu MiB of KV "
		    "cache and the weights %zu MiB; the device holds %llu MiB "
		    "(use a smaller -c)", f->dev.name, f->n_ctx, kv >> 20,
		    w >> 20, (unsigned long long)(f->dev.mem >> 20));
	return 0;
}

static int
build(struct fwd_cl *f, struct cerr *e)
{
	const struct plan *p = f->p;
	char opts[200];
	int hd_max;
	cl_int err;

	f->lsz = 64;
	while (f->lsz > f->dev.max_wg)
		f->lsz /= 2;
	if (f->lsz < 8)
		return cerr_set(e, "%s: work-groups of %zu (the kernels need 8)",
		    f->dev.name, f->dev.max_wg);
	for (f->mlsz = 256; f->mlsz > f->dev.max_wg; f->mlsz /= 2)
		;
	hd_max = (p->head_dim + (int)f->lsz - 1) / (int)f->lsz * (int)f->lsz;
	/* FP64: the CPU's double sums and exact divisions; else at least
	 * divisions and square roots rounded as the CPU rounds them */
	snprintf(opts, sizeof opts, "-cl-std=CL1.2 -DLSZ=%zu -DHD_MAX=%d "
	    "-DMROWS=%zu -DTB=%d%s%s", f->lsz, hd_max, f->mlsz / 8, LANES_TB,
	    f->dev.fp64 ? " -DFP64" : "", f->dev.crdiv ?
	    " -cl-fp32-correctly-rounded-divide-sqrt" : "");
	if (!(f->prog = cl_build(f->ctx, &f->dev, cl_src_fwd, opts, e)))
		return -1;
	for (int i = 0; i < N_KERN; i++)
		if (!(f->k[i] = clCreateKernel(f->prog, kern_name[i], &err)))
			return cl_err(f, err, kern_name[i], e);
	return 0;
}

/* ggml's GELU table (GGML_GELU_FP16) as fwd_cpu.c makes it: the tanh
 * approximation at every fp16 value, rounded to fp16; onto the device if
 * a step takes it, else a stand-in the kernel never reads. */
static int
upload_gelu(struct fwd_cl *f, struct cerr *e)
{
	const struct plan *p = f->p;
	const float a = 0.044715f, s = 0.79788456080286535587989211986876f;
	uint16_t *tab;
	int need = 0;

	for (int l = 0; l < p->n_layer; l++)
		for (int i = 0; i < p->layers[l].n_steps; i++)
			need |= p->layers[l].steps[i].op == OP_GLU &&
			    p->layers[l].steps[i].act == ACT_GELU;
	if (!need) {
		f->gelu = dev_buf(f, 4, NULL, "GELU table", e);
		return f->gelu ? 0 : -1;
	}
	if (!(tab = malloc((1 << 16) * sizeof *tab)))
		return cerr_set(e, "out of memory");
	for (int i = 0; i < 1 << 16; i++) {
		float x = fp16_to_f32((uint16_t)i);

		tab[i] = f32_to_fp16(0.5f * x * (1.0f + tanhf(s * x *
		    fmaf(a * x, x, 1.0f))));
	}
	f->gelu = dev_buf(f, (1 << 16) * sizeof *tab, tab, "GELU table", e);
	free(tab);
	return f->gelu ? 0 : -1;
}

struct fwd_cl *
fwd_cl_open(const struct plan *p, const struct fwd_cl_opts *o,
	struct cerr *e)
{
	size_t kvb = (size_t)o->n_ctx * (size_t)p->width[B_K] * 2;
	struct fwd_cl *f = calloc(1, sizeof *f);
	cl_int err;

	if (!f)
		return cerr_set(e, "out of memory"), NULL;
	f->p = p;
	f->n_ctx = o->n_ctx;
	for (int r = 0; r < p->n_rope; r++)
		f->rd = p->rope[r].dims > f->rd ? p->rope[r].dims : f->rd;
	if (cl_pick(o->device, &f->dev, e) < 0 || fits(f, e) < 0)
		goto fail;
	f->grouped = f->dev.gpu || o->grouped;
	snprintf(f->desc, sizeof f->desc, "%s (%s: %s%s)", f->dev.name,
	    f->dev.plat_name, f->dev.dev_name, f->dev.fp64 ? "" :
	    "; no fp64: sums in float, close to the CPU's, not equal");
	if (!(f->ctx = clCreateContext(NULL, 1, &f->dev.id, NULL, NULL, &err))) {
		cl_err(f, err, "context", e);
		goto fail;
	}
	f->prof = getenv("CHORD_CL_PROFILE") && *getenv("CHORD_CL_PROFILE") &&
	    strcmp(getenv("CHORD_CL_PROFILE"), "0") != 0;
	if (!(f->q = clCreateCommandQueue(f->ctx, f->dev.id, f->prof ?
	    CL_QUEUE_PROFILING_ENABLE : 0, &err))) {
		cl_err(f, err, "queue", e);
		goto fail;
	}
	if (build(f, e) < 0 || upload_gelu(f, e) < 0)
		goto fail;
	if (!(f->kc = calloc((size_t)p->n_layer, sizeof *f->kc)) ||
	    !(f->vc = calloc((size_t)p->n_layer, sizeof *f->vc)) ||
	    !(f->lsteps = calloc((size_t)p->n_layer, sizeof *f->lsteps)) ||
	    !(f->osteps = calloc((size_t)p->n_out + 1, sizeof *f->osteps))) {
		cerr_set(e, "out of memory");
		goto fail;
	}
	for (int l = 0; l < p->n_layer; l++) {
		const struct plan_layer *pl = &p->layers[l];

		if (!(f->kc[l] = dev_buf(f, kvb, NULL, "KV cache", e)) ||
		    !(f->vc[l] = dev_buf(f, kvb, NULL, "KV cache", e)))
			goto fail;
		if (!(f->lsteps[l] = calloc((size_t)pl->n_steps + 1,
		    sizeof **f->lsteps))) {
			cerr_set(e, "out of memory");
			goto fail;
		}
		for (int i = 0, k; i < pl->n_steps; i += k)
			if ((k = upload_step(f, &pl->steps[i], pl->n_steps - i,
			    &f->lsteps[l][i], e)) < 0)
				goto fail;
	}
	for (int i = 0, k; i < p->n_out; i += k)
		if ((k = upload_step(f, &p->out[i], p->n_out - i,
		    &f->osteps[i], e)) < 0)
			goto fail;
	/* the uploads done: no host copy is needed any more */
	if ((err = clFinish(f->q)) != CL_SUCCESS) {
		cl_err(f, err, "weights", e);
		goto fail;
	}
	return f;
fail:
	fwd_cl_close(f);
	return NULL;
}

static void
free_steps(struct dstep *d, int n)
{
	for (int i = 0; d && i < n; i++) {
		rel(&d[i].w.buf);
		rel(&d[i].w.bias);
		rel(&d[i].vec);
	}
	free(d);
}

void
fwd_cl_close(struct fwd_cl *f)
{
	const struct plan *p;

	if (!f)
		return;
	p = f->p;
	if (f->q)
		clFinish(f->q);
	if (f->prof) {
		prof_take(f);
		prof_report(f);
	}
	free(f->ev);
	free(f->ev_k);
	for (int l = 0; l < p->n_layer; l++) {
		if (f->kc)
			rel(&f->kc[l]);
		if (f->vc)
			rel(&f->vc[l]);
		if (f->lsteps)
			free_steps(f->lsteps[l], p->layers[l].n_steps);
	}
	free_steps(f->osteps, p->n_out);
	free(f->lsteps);
	free(f->kc);
	free(f->vc);
	for (int b = 0; b < N_BUF; b++) {
		rel(&f->buf[b]);
		rel(&f->act[b]);
		rel(&f->act_sum[b]);
	}
	for (int r = 0; r < PLAN_MAX_ROPE; r++)
		rel(&f->cs[r]);
	rel(&f->scratch);
	rel(&f->gelu);
	for (int i = 0; i < N_KERN; i++)
		if (f->k[i])
			clReleaseKernel(f->k[i]);
	if (f->prog)
		clReleaseProgram(f->prog);
	if (f->q)
		clReleaseCommandQueue(f->q);
	if (f->ctx)
		clReleaseContext(f->ctx);
	free(f->hx);
	free(f->hcs);
	free(f->logits);
	free(f);
}

const float *
fwd_cl_logits(const struct fwd_cl *f)
{
	return f->logits;
}

int
fwd_cl_keep(struct fwd_cl *f, int n, struct cerr *e)
{
	if (n < 0 || n > f->n_pos)
		return cerr_set(e, "keep %d: only %d positions are filled", n,
		    f->n_pos);
	f->n_pos = n;           /* the next batch overwrites the rest */
	return 0;
}

int
fwd_cl_n_pos(const struct fwd_cl *f)
{
	return f->n_pos;
}

int
fwd_cl_n_ctx(const struct fwd_cl *f)
{
	return f->n_ctx;
}

long
fwd_cl_launches(const struct fwd_cl *f)
{
	return f->launches;
}

const char *
fwd_cl_device(const struct fwd_cl *f)
{
	return f->desc;
}

/* Grow the per-batch buffers to n rows. */
static int
reserve(struct fwd_cl *f, int n, struct cerr *e)
{
	const struct plan *p = f->p;
	void *a, *b, *c;

	if (n <= f->cap)
		return 0;
	for (int i = 0; i < N_BUF; i++) {
		size_t bytes = (size_t)n * (size_t)p->width[i] * sizeof(float);

		rel(&f->buf[i]);
		rel(&f->act[i]);
		rel(&f->act_sum[i]);
		if (!(f->buf[i] = dev_buf(f, bytes, NULL, "activations", e)) ||
		    !(f->act[i] = dev_buf(f, bytes, NULL, "activations", e)) ||
		    !(f->act_sum[i] = dev_buf(f, bytes / 16 + 8, NULL,
		    "activations", e)))
			return -1;
	}
	rel(&f->scratch);
	if (!(f->scratch = dev_buf(f, (size_t)n * (size_t)p->dim *
	    sizeof(float), NULL, "activations", e)))
		return -1;
	for (int r = 0; r < p->n_rope; r++) {
		rel(&f->cs[r]);
		if (!(f->cs[r] = dev_buf(f, (size_t)n * (size_t)p->rope[r].dims *
		    sizeof(float), NULL, "activations", e)))
			return -1;
	}
	a = realloc(f->hx, (size_t)n * (size_t)p->dim * sizeof(float));
	if (a)
		f->hx = a;
	b = realloc(f->hcs, (size_t)(p->n_rope ? p->n_rope : 1) * (size_t)n *
	    (size_t)(f->rd ? f->rd : 1) * sizeof(float));
	if (b)
		f->hcs = b;
	c = realloc(f->logits, (size_t)n * (size_t)p->n_vocab * sizeof(float));
	if (c)
		f->logits = c;
	if (!a || !b || !c)
		return cerr_set(e, "out of memory");
	f->cap = n;
	return 0;
}

/* ---- the steps ---- */

/* Set kernel k's arguments: n (size, pointer) pairs. */
static cl_int
args(cl_kernel k, int n, ...)
{
	va_list ap;
	cl_int err = CL_SUCCESS;

	va_start(ap, n);
	for (int i = 0; i < n && err == CL_SUCCESS; i++) {
		size_t size = va_arg(ap, size_t);
		const void *v = va_arg(ap, const void *);

		err = clSetKernelArg(k, (cl_uint)i, size, v);
	}
	va_end(ap);
	return err;
}

#define A(v) sizeof(v), (const void *)&(v)

/* Enqueue kernel k over global size g (dims values), work-groups of
 * (local, 1, ..), or of the device's choice where local is 0. */
static int
launch(struct fwd_cl *f, int k, cl_int set, int dims, size_t g0, size_t g1,
	size_t g2, size_t local, struct cerr *e)
{
	size_t g[3] = { g0, g1, g2 }, l[3] = { local, 1, 1 };
	cl_int err = set;
	cl_event *ev = NULL;

	if (g0 == 0 || g1 == 0 || g2 == 0)
		return 0;
	if (f->prof && prof_room(f) == 0) {
		ev = &f->ev[f->n_ev];
		f->ev_k[f->n_ev] = (unsigned char)k;
	}
	if (err == CL_SUCCESS)
		err = clEnqueueNDRangeKernel(f->q, f->k[k], (cl_uint)dims, NULL,
		    g, local ? l : NULL, 0, NULL, ev);
	if (err != CL_SUCCESS)
		return cl_err(f, err, kern_name[k], e);
	f->n_ev += ev != NULL;
	f->launches++;
	return 0;
}

/* cos and sin of each rotated pair's angle at position pos, as the CPU
 * backend (and ggml's rope cache) computes them: angles by repeated
 * products. */
static void
rope_angles(float *cs, const struct rope *r, int pos)
{
	float theta_scale = powf(r->base, -2.0f / (float)r->dims);
	float theta = (float)pos;

	for (int i = 0; i < r->dims; i += 2) {
		float ff = r->freqs ? r->freqs[i / 2] : 1.0f;
		float t = r->scale * (theta / ff);

		cs[i] = cosf(t) * r->mscale;
		cs[i + 1] = sinf(t) * r->mscale;
		theta *= theta_scale;
	}
}

/* Keep the last `keep` rows of buffer b (through the scratch buffer: the
 * regions may overlap). */
static int
keep_last(struct fwd_cl *f, int b, int keep, struct cerr *e)
{
	size_t w = (size_t)f->p->width[b] * sizeof(float);
	size_t from = (size_t)(f->rows - keep) * w, n = (size_t)keep * w;
	cl_int err;

	if ((err = clEnqueueCopyBuffer(f->q, f->buf[b], f->scratch, from, 0, n,
	    0, NULL, NULL)) != CL_SUCCESS ||
	    (err = clEnqueueCopyBuffer(f->q, f->scratch, f->buf[b], 0, 0, n, 0,
	    NULL, NULL)) != CL_SUCCESS)
		return cl_err(f, err, "copy", e);
	return 0;
}

/* The matmul input of s in the form the CPU gives its weights (so the
 * device computes with the CPU's values): *src becomes that buffer,
 * converted once per write of the input. */
static int
act_of(struct fwd_cl *f, const struct step *s, cl_mem *src, struct cerr *e)
{
	int form = mat_act_form(&s->w), b = s->src, w = f->p->width[b];
	int blk = form == ACT_Q8 ? 32 : form == ACT_Q8K ? 256 : 1;

	if (form == ACT_F32)
		return 0;
	if (f->act_form[b] != form) {
		if (w % blk)
			return cerr_set(e, "%s: a matmul input of %d values",
			    f->dev.name, w);
		if (launch(f, K_ACT, args(f->k[K_ACT], 4, A(f->buf[b]),
		    A(f->act[b]), A(f->act_sum[b]), A(form)), 1, (size_t)f->rows * (size_t)w /
		    (size_t)blk, 1, 1, 0, e) < 0)
			return -1;
		f->act_form[b] = form;
	}
	*src = f->act[b];
	return 0;
}

/* y = W x for the live rows, x in w's form (act_of; xs its Q8 scales),
 * in the CPU's order: a work-item a row, or on GPUs eight, a lane each
 * (rp rows are one chain, which lane 0 runs on the lanes' integer dots);
 * float weights on GPUs a work-group of 64 a row where that keeps the
 * order (fwd.cl). ys: the outputs of the n_mat matrices stacked in w
 * (plus w->bias where w has one). res: y added to it as well (the
 * residual add after), or ys[0] itself: none; only for 8-bit
 * activations (w->q8). */
static int
dmatmul(struct fwd_cl *f, const struct dmat *w, cl_mem x, cl_mem xs,
	const cl_mem *ys, cl_mem res, struct cerr *e)
{
	size_t n = (size_t)f->rows, rows = (size_t)w->rows, lsz = f->lsz;
	cl_mem y = ys[0], y1 = ys[w->n_mat > 1], y2 = ys[w->n_mat > 2 ? 2 : 0];
	cl_mem b = w->bias ? w->bias : y;       /* a stand-in, unread */
	int has_b = w->bias != NULL;
	int tile = n >= 2 && w->rows % 4 == 0 && w->cols % 16 == 0, k;

	if (w->tiled) {
		size_t m = f->mlsz;

		k = K_MATMUL_LANES;
		return launch(f, k, args(f->k[k], 16, A(w->buf), A(w->type),
		    A(x), A(xs), A(y), A(y1), A(y2), A(w->r1), A(w->r2), A(b),
		    A(has_b), A(res), A(w->cols), A(w->rows), A(w->rp),
		    A(f->rows)), 2,
		    (rows * 8 + m - 1) / m * m, (n + LANES_TB - 1) / LANES_TB,
		    1, m, e);
	}
	if (w->q8) {
		k = K_MATMUL_Q8;
		return launch(f, k, args(f->k[k], 16, A(w->buf),
		    A(w->row_bytes), A(w->type), A(w->rp), A(x), A(xs), A(y),
		    A(y1), A(y2), A(w->r1), A(w->r2), A(b), A(has_b), A(res),
		    A(w->cols), A(w->rows)), 2, rows, n, 1, 0, e);
	}
	if (f->grouped && lsz == 64 && (tile || w->cols % 64 == 0)) {
		k = K_MATMUL_FGROUP;
		return launch(f, k, args(f->k[k], 8, A(w->buf), A(w->row_bytes),
		    A(w->type), A(x), A(y), A(w->cols), A(w->rows), A(tile)), 2,
		    rows * lsz, n, 1, lsz, e);
	}
	k = K_MATMUL_F;
	return launch(f, k, args(f->k[k], 9, A(w->buf), A(w->row_bytes),
	    A(w->type), A(x), A(y), A(w->cols), A(w->rows), A(tile),
	    A(w->f32)), 2, rows, n, 1, 0, e);
}

/* Does the step after s (nx, NULL: none) multiply s's output as 8-bit
 * blocks? Then the kernel of s writes that form too (act_of's), where
 * it can: outputs of blocks of 32. */
static int
feeds_q8(const struct fwd_cl *f, const struct step *s, const struct step *nx)
{
	return nx && nx->op == OP_MATMUL && nx->src == s->dst &&
	    mat_act_form(&nx->w) == ACT_Q8 && f->p->width[s->dst] % 32 == 0;
}

/* The index of the OP_ADD right after matmul step i of v (n steps) that
 * adds its output to another buffer, past an OP_OUT_ROWS that drops no
 * rows; 0: none. The matmul's kernel then does that add. */
static int
add_after(const struct fwd_cl *f, const struct step *v, int i, int n,
	int l, int keep)
{
	int j = i + 1;

	if (mat_act_form(&v[i].w) != ACT_Q8)
		return 0;
	if (j < n && v[j].op == OP_OUT_ROWS && (l != f->p->n_layer - 1 ||
	    keep == f->rows))
		j++;
	return j < n && v[j].op == OP_ADD && v[j].src == v[i].dst &&
	    v[j].dst != v[i].dst ? j : 0;
}

/* OP_ATTN s of layer l: K and V into the cache (unless the RoPE kernel
 * stored them), then the attention of each head; quant: its output
 * quantized too, for the Q8 matmul after. */
static int
attention(struct fwd_cl *f, const struct step *s, int l, int pos0,
	int quant, struct cerr *e)
{
	const struct plan *p = f->p;
	const struct plan_layer *pl = &p->layers[l];
	int group = p->n_head / p->n_head_kv, hd = p->head_dim;
	int kvd = p->width[B_K], n = f->rows;
	int tiled = n >= ATTN_TILE;     /* the CPU's choice (attn.h) */
	cl_mem dst = f->buf[s->dst], src = f->buf[s->src];
	cl_mem q = f->act[s->dst], qs = f->act_sum[s->dst];
	cl_kernel *k = f->k;

	if (!f->kv_stored && launch(f, K_KV_STORE, args(k[K_KV_STORE], 6,
	    A(f->buf[B_K]), A(f->buf[B_V]), A(f->kc[l]), A(f->vc[l]), A(kvd),
	    A(pos0)), 2, (size_t)kvd, (size_t)n, 1, 0, e) < 0)
		return -1;
	f->kv_stored = 0;
	if (launch(f, K_ATTN, args(k[K_ATTN], 15, A(src), A(f->kc[l]),
	    A(f->vc[l]), A(dst), A(p->n_head), A(hd), A(kvd), A(group),
	    A(pos0), A(pl->n_swa), A(pl->attn_scale), A(tiled), A(quant),
	    A(q), A(qs)), 2, (size_t)p->n_head * f->lsz, (size_t)n, 1, f->lsz,
	    e) < 0)
		return -1;
	if (quant)
		f->act_form[s->dst] = ACT_Q8;
	return 0;
}

/* One step of layer l (-1: the output) over the live rows, its own
 * kernels only. keep: rows whose output is wanted, for OP_OUT_ROWS in
 * the last layer. */
static int
plain_step(struct fwd_cl *f, const struct step *s, const struct dstep *d,
	int l, int pos0, int keep, struct cerr *e)
{
	const struct plan *p = f->p;
	const struct plan_layer *pl = l >= 0 ? &p->layers[l] : NULL;
	int n = f->rows, w = p->width[s->dst], ws = p->width[s->src];
	int hd = p->head_dim, no = 0;
	size_t lsz = f->lsz, all = (size_t)n * (size_t)w;
	cl_mem dst = f->buf[s->dst], src = f->buf[s->src];
	cl_kernel *k = f->k;

	switch (s->op) {
	case OP_NORM:
		return launch(f, K_NORM, args(k[K_NORM], 9, A(src), A(ws),
		    A(d->vec), A(dst), A(w), A(p->eps), A(no), A(dst), A(dst)),
		    2, lsz, (size_t)n, 1, lsz, e);
	case OP_HEAD_NORM:
		return launch(f, K_HEAD_NORM, args(k[K_HEAD_NORM], 5, A(dst),
		    A(w), A(hd), A(d->vec), A(p->eps)), 2,
		    (size_t)(w / hd) * lsz, (size_t)n, 1, lsz, e);
	case OP_MATMUL:
		if (act_of(f, s, &src, e) < 0)
			return -1;
		return dmatmul(f, &d->w, src, f->act_sum[s->src], &dst, dst, e);
	case OP_BIAS:
		return launch(f, K_BIAS, args(k[K_BIAS], 3, A(dst), A(w),
		    A(d->vec)), 2, (size_t)w, (size_t)n, 1, 0, e);
	case OP_ROPE: {
		const struct rope *r = &p->rope[pl->rope];

		return launch(f, K_ROPE, args(k[K_ROPE], 6, A(dst), A(w), A(hd),
		    A(f->cs[pl->rope]), A(r->neox), A(r->dims)), 3,
		    (size_t)r->dims / 2, (size_t)(w / hd), (size_t)n, 0, e);
	}
	case OP_SCALE:
		return launch(f, K_SCALE, args(k[K_SCALE], 2, A(dst), A(s->f)),
		    1, all, 1, 1, 0, e);
	case OP_ATTN:
		return attention(f, s, l, pos0, 0, e);
	case OP_OUT_ROWS:
		if (l != p->n_layer - 1 || keep == n)
			return 0;
		if (keep_last(f, B_X, keep, e) < 0 ||
		    keep_last(f, B_CUR, keep, e) < 0)
			return -1;
		f->rows = keep;
		return 0;
	case OP_ADD:
		return launch(f, K_ADD, args(k[K_ADD], 2, A(dst), A(src)), 1,
		    all, 1, 1, 0, e);
	case OP_GLU:
		return launch(f, K_GLU, args(k[K_GLU], 4, A(dst), A(src),
		    A(s->act), A(f->gelu)), 1, all, 1, 1, 0, e);
	case OP_SOFTCAP:
		return launch(f, K_SOFTCAP, args(k[K_SOFTCAP], 2, A(dst),
		    A(s->f)), 1, all, 1, 1, 0, e);
	}
	return 0;
}

/* Are K and V final after step i of v (n steps): no step writes them
 * before the attention that reads them? */
static int
kv_final(const struct step *v, int i, int n)
{
	for (int j = i + 1; j < n; j++) {
		if (v[j].op == OP_ATTN)
			return 1;
		if (v[j].dst == B_K || v[j].dst == B_V)
			return 0;
	}
	return 0;
}

/* RoPE of Q (if s rotates it) and of K (if s or nx does) in one kernel,
 * which stores K and V in the cache where they are final then: the
 * steps done, or -1. */
static int
rope_qk(struct fwd_cl *f, const struct step *v, int i, int n_steps, int l,
	int pos0, struct cerr *e)
{
	const struct plan *p = f->p;
	const struct rope *r = &p->rope[p->layers[l].rope];
	int both = v[i].dst == B_Q && i + 1 < n_steps &&
	    v[i + 1].op == OP_ROPE && v[i + 1].dst == B_K;
	int kat = both ? i + 1 : v[i].dst == B_K ? i : -1;
	int store = kat >= 0 && kv_final(v, kat, n_steps);
	int hd = p->head_dim, wq = p->width[B_Q], wk = p->width[B_K];
	int nq = v[i].dst == B_Q ? wq / hd : 0, nk = kat >= 0 ? wk / hd : 0;
	cl_mem cs = f->cs[p->layers[l].rope];

	if (launch(f, K_ROPE_QK, args(f->k[K_ROPE_QK], 14, A(f->buf[B_Q]),
	    A(wq), A(nq), A(f->buf[B_K]), A(wk), A(hd), A(cs), A(r->neox),
	    A(r->dims), A(store), A(f->buf[B_V]), A(f->kc[l]), A(f->vc[l]),
	    A(pos0)), 3, (size_t)hd / 2, (size_t)(nq + nk), (size_t)f->rows,
	    0, e) < 0)
		return -1;
	f->kv_stored = store;
	f->act_form[B_K] = -1;
	return both ? 2 : 1;
}

/* Step i of v (n steps) of layer l (-1: the output), with what the
 * steps after it let its kernel do as well (feeds_q8, add_after): the
 * number of steps done, or -1. */
static int
step(struct fwd_cl *f, const struct step *v, const struct dstep *dv, int i,
	int n_steps, int l, int pos0, int keep, struct cerr *e)
{
	const struct plan *p = f->p;
	const struct step *s = &v[i], *nx = i + 1 < n_steps ? &v[i + 1] : NULL;
	const struct dstep *d = &dv[i];
	int n = f->rows, w = p->width[s->dst], ws = p->width[s->src], j;
	int yes = 1;
	cl_mem dst = f->buf[s->dst], src = f->buf[s->src];
	cl_mem q = f->act[s->dst], qs = f->act_sum[s->dst];
	cl_kernel *k = f->k;

	f->act_form[s->dst] = -1;       /* rewritten */
	if (s->op == OP_NORM && ws == w && feeds_q8(f, s, nx)) {
		if (launch(f, K_NORM, args(k[K_NORM], 9, A(src), A(ws),
		    A(d->vec), A(dst), A(w), A(p->eps), A(yes), A(q), A(qs)),
		    2, f->lsz, (size_t)n, 1, f->lsz, e) < 0)
			return -1;
		f->act_form[s->dst] = ACT_Q8;
		return 1;
	}
	if (s->op == OP_ATTN && p->head_dim % 32 == 0 &&
	    w == p->n_head * p->head_dim && feeds_q8(f, s, nx))
		return attention(f, s, l, pos0, 1, e) < 0 ? -1 : 1;
	if (s->op == OP_GLU && feeds_q8(f, s, nx)) {
		if (launch(f, K_GLU_Q8, args(k[K_GLU_Q8], 6, A(dst), A(src),
		    A(s->act), A(f->gelu), A(q), A(qs)), 1,
		    (size_t)n * (size_t)w / 32, 1, 1, 0, e) < 0)
			return -1;
		f->act_form[s->dst] = ACT_Q8;
		return 1;
	}
	if (s->op == OP_ROPE && (s->dst == B_Q || s->dst == B_K) &&
	    p->width[B_V] == p->width[B_K])
		return rope_qk(f, v, i, n_steps, l, pos0, e);
	if (s->op == OP_MATMUL && d->w.n_mat == 1 && !d->w.bias &&
	    (j = add_after(f, v, i, n_steps, l, keep))) {
		if (act_of(f, s, &src, e) < 0)
			return -1;
		f->act_form[v[j].dst] = -1;
		if (dmatmul(f, &d->w, src, f->act_sum[s->src], &dst,
		    f->buf[v[j].dst], e) < 0)
			return -1;
		return j - i + 1;
	}
	if (s->op == OP_MATMUL && (d->w.n_mat > 1 || d->w.bias)) {
		cl_mem ys[3];

		for (j = 0; j < d->w.n_mat; j++) {
			ys[j] = f->buf[v[i + j].dst];
			f->act_form[v[i + j].dst] = -1;
		}
		if (act_of(f, s, &src, e) < 0 ||
		    dmatmul(f, &d->w, src, f->act_sum[s->src], ys, dst, e) < 0)
			return -1;
		return d->w.n_mat * (d->w.bias ? 2 : 1);
	}
	if (plain_step(f, s, d, l, pos0, keep, e) < 0)
		return -1;
	if (s->op == OP_OUT_ROWS)
		for (int b = 0; b < N_BUF; b++)
			f->act_form[b] = -1;
	return 1;
}

/* The batch's embeddings and RoPE tables onto the device. The host copies
 * stay untouched until the logits come back, which waits for them. */
static int
upload_batch(struct fwd_cl *f, const int32_t *tokens, int n, int pos0,
	struct cerr *e)
{
	const struct plan *p = f->p;
	cl_int err;

	for (int t = 0; t < n; t++) {
		float *x = f->hx + (size_t)t * p->dim;

		if (tokens[t] < 0 || tokens[t] >= p->n_vocab)
			return cerr_set(e, "token %d out of range (n_vocab %d)",
			    tokens[t], p->n_vocab);
		if (mat_row_f32(&p->embd, tokens[t], x) < 0)
			return cerr_set(e, "token_embd: type %s not supported",
			    qtype_get(p->embd.type)->name);
		if (p->embd_scale)
			for (int i = 0; i < p->dim; i++)
				x[i] *= p->embd_scale;
	}
	if ((err = clEnqueueWriteBuffer(f->q, f->buf[B_X], CL_FALSE, 0,
	    (size_t)n * (size_t)p->dim * sizeof(float), f->hx, 0, NULL,
	    NULL)) != CL_SUCCESS)
		return cl_err(f, err, "embeddings", e);
	for (int r = 0; r < p->n_rope; r++) {
		int dims = p->rope[r].dims;
		float *cs = f->hcs + (size_t)r * f->cap * f->rd;

		for (int t = 0; t < n; t++)
			rope_angles(cs + (size_t)t * dims, &p->rope[r], pos0 + t);
		if ((err = clEnqueueWriteBuffer(f->q, f->cs[r], CL_FALSE, 0,
		    (size_t)n * (size_t)dims * sizeof(float), cs, 0, NULL,
		    NULL)) != CL_SUCCESS)
			return cl_err(f, err, "rope", e);
	}
	return 0;
}

static int
run(struct fwd_cl *f, const int32_t *tokens, int n, int all, int pos0,
	struct cerr *e)
{
	const struct plan *p = f->p;
	cl_int err;

	if (upload_batch(f, tokens, n, pos0, e) < 0)
		return -1;
	for (int b = 0; b < N_BUF; b++)
		f->act_form[b] = -1;
	f->kv_stored = 0;
	for (int l = 0; l < p->n_layer; l++)
		for (int i = 0, k; i < p->layers[l].n_steps; i += k)
			if ((k = step(f, p->layers[l].steps, f->lsteps[l], i,
			    p->layers[l].n_steps, l, pos0, all ? n : 1, e)) < 0)
				return -1;
	for (int i = 0, k; i < p->n_out; i += k)
		if ((k = step(f, p->out, f->osteps, i, p->n_out, -1, pos0,
		    f->rows, e)) < 0)
			return -1;
	if ((err = clEnqueueReadBuffer(f->q, f->buf[B_LOGITS], CL_TRUE, 0,
	    (size_t)f->rows * (size_t)p->n_vocab * sizeof(float), f->logits,
	    0, NULL, NULL)) != CL_SUCCESS)
		return cl_err(f, err, "logits", e);
	if (f->prof)
		prof_take(f);
	return 0;
}

int
fwd_cl_eval(struct fwd_cl *f, const int32_t *tokens, int n, int all,
	struct cerr *e)
{
	if (n <= 0)
		return 0;
	if (f->failed)
		return cerr_set(e, "%s: an earlier device error", f->dev.name);
	if (n > f->n_ctx - f->n_pos)
		return cerr_set(e, "context full: %d positions, %d more asked "
		    "(use -c)", f->n_ctx, n + f->n_pos - f->n_ctx);
	if (reserve(f, n, e) < 0)
		return -1;
	f->rows = n;
	f->launches = 0;
	if (run(f, tokens, n, all, f->n_pos, e) < 0) {
		clFinish(f->q);         /* nothing may still read hx */
		f->failed = 1;
		return -1;
	}
	f->n_pos += n;
	return 0;
}
