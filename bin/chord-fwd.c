/* chord-fwd: the transformer forward pass: token stream in, logits out. */
#define _GNU_SOURCE             /* F_SETPIPE_SZ */
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cache.h"
#include "cl.h"
#include "gguf.h"
#include "matmul.h"
#include "model.h"
#include "plan.h"
#include "stream.h"
#include "tok.h"
#include "tool.h"
#include "vocab.h"

static const char usage_line[] =
	"usage: chord-fwd [-h | --help] [-v] [-m FILE] [-c N] [-t N] [-b N] "
	"[--all-logits] [--top N] [--no-cache] [--device DEV] [--devices]";

#define CTX_CAP 4096    /* default context when the model's is larger */

static struct {
	const char *model, *device;
	int n_ctx, threads, batch, all, top, verbose, no_cache;
} opt = { .batch = 512 };

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct tok *tk;

/* The human mode: "pos token 'piece' -> id 'piece' logit ..." per frame. */
static void
print_top(int pos, int32_t token, const float *lg, int n_vocab)
{
	int best[64];
	char buf[256];
	int k, n = opt.top;

	for (int i = 0; i < n; i++)
		best[i] = -1;
	for (int v = 0; v < n_vocab; v++) {
		if (best[n - 1] >= 0 && lg[v] <= lg[best[n - 1]])
			continue;
		for (k = n - 1; k > 0 && (best[k - 1] < 0 || lg[v] > lg[best[k - 1]]);
		    k--)
			best[k] = best[k - 1];
		best[k] = v;
	}
	k = tk ? tok_piece(tk, token, 1, buf, sizeof buf - 1) : 0;
	printf("%d\t%d\t'%.*s'", pos, token, k > 0 ? k : 0, buf);
	for (int i = 0; i < n; i++) {
		k = tk ? tok_piece(tk, best[i], 1, buf, sizeof buf - 1) : 0;
		printf("\t%d '%.*s' %.4f", best[i], k > 0 ? k : 0, buf,
		    lg[best[i]]);
	}
	putchar('\n');
	if (fflush(stdout) == EOF)
		die("stdout:");
}

/* Every token reads every weight: map the pages it reads in one call per
 * range rather than one fault at a time (a 92 MB model is 23k pages; the
 * first token took them in about 2300 faults). Attached to the cache, the
 * matrices are read from their repacked copies, not from the image: those
 * copies and the image's other tensors. Best effort: only Linux 5.14 has
 * MADV_POPULATE_READ, and an image in private memory (a decoded .zst) has
 * its pages already. */
#define POPULATE_STEP ((uintptr_t)1 << 20)

static void
populate(const void *p, uint64_t n)
{
#ifdef MADV_POPULATE_READ
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p & ~(pg - 1), end = (uintptr_t)p + n;

	/* A MiB a call: the call holds the address space's lock, and a
	 * malloc or mmap of the main thread waits for it (a whole model's
	 * worth of it in one call kept the main thread waiting 3 ms). */
	for (; n && a < end; a += POPULATE_STEP)
		madvise((void *)a, (size_t)(end - a < POPULATE_STEP ?
		    end - a : POPULATE_STEP), MADV_POPULATE_READ);
#else
	(void)p;
	(void)n;
#endif
}

/* Populating takes a few ms (page tables for 23k pages), as long as the
 * first token's forward pass; a thread of its own does it while this one
 * reads the vocabulary, plans and starts computing, a few layers behind
 * it (what the forward pass reaches first it faults in itself). The
 * ranges, in the order the forward pass reads them; pf_join before the
 * mappings go. */
static struct {
	struct range {
		const void *p;
		uint64_t n;
	} *r;
	size_t n;
	pthread_t th;
	int running;
} pf;

static void *
pf_run(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < pf.n; i++)
		populate(pf.r[i].p, pf.r[i].n);
	return NULL;
}

static void
pf_add(const void *p, uint64_t n)
{
	pf.r[pf.n++] = (struct range){ p, n };
}

static void
pf_join(void)
{
	if (pf.running)
		pthread_join(pf.th, NULL);
	pf.running = 0;
	free(pf.r);
	pf.r = NULL;
	pf.n = 0;
}

static void
prefault(const struct gguf *g, const struct cache_seg *seg)
{
	const struct packs *pk = &seg->packs;

	if (!(pf.r = malloc((g->n_tensors + 1) * sizeof *pf.r))) {
		populate(g->base, g->size);
		return;
	}
	if (!seg->map || !pk->n) {
		pf_add(g->base, g->size);
	} else {
		uint64_t k = 0;

		pf_add(pk->area, pk->e[pk->n - 1].pack_off +
		    pk->e[pk->n - 1].size);
		/* the index lists the packed tensors in the image's order
		 * (packs_layout): one pass over both; were it in another,
		 * only more would be populated */
		for (uint64_t i = 0; i < g->n_tensors; i++) {
			const struct gguf_tensor *t = &g->tensors[i];

			if (k < pk->n && pk->e[k].data_off == (uint64_t)
			    ((const uint8_t *)t->data - g->base))
				k++;
			else
				pf_add(t->data, t->nbytes);
		}
	}
	/* no thread: populate here, as before */
	if (pthread_create(&pf.th, NULL, pf_run, NULL) != 0)
		pf_run(NULL);
	else
		pf.running = 1;
}

/* The model from the weight cache (cache.h): attached, or built and
 * attached; from the file when the cache is off or declines it. */
static struct gguf *
model_open(const char *path, struct cache_seg *seg, struct cerr *e)
{
	struct cache_opts co;
	struct gguf *g;
	int r = 0;

	if (!opt.no_cache && !cache_disabled_env()) {
		cache_opts_env(&co);
		if ((r = cache_attach(path, &co, seg, e)) < 0)
			return NULL;
	}
	if (r == 0)
		g = gguf_open(path, e);
	else if (!(g = gguf_open_mem(seg->image, seg->image_size, path, e)))
		cache_detach(seg);
	if (g)
		prefault(g, seg);
	return g;
}

/* -v: memory at the end, from /proc/self/status (kB): peak RSS, and what
 * is resident now, anonymous (private), file-backed and shared memory (the
 * cache's segment), against the KV cache's size. Linux only; silent
 * elsewhere. */
static void
report_memory(const struct plan *p, int n_ctx)
{
	const char *keys[] = { "VmHWM:", "RssAnon:", "RssFile:", "RssShmem:" };
	double kb[4] = { 0 }, kv;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return;
	while (fgets(line, sizeof line, f))
		for (int k = 0; k < 4; k++)
			if (!strncmp(line, keys[k], strlen(keys[k])))
				kb[k] = strtod(line + strlen(keys[k]), NULL);
	fclose(f);
	/* k and v, fp16, every layer and position (fwd_cpu.c) */
	kv = 2.0 * 2 * p->n_layer * n_ctx * p->width[B_K] / (1 << 20);
	fprintf(stderr, "chord-fwd: memory: peak RSS %.1f MB; now anon %.1f, "
	    "file %.1f, shmem %.1f MB; KV cache %.1f MB\n", kb[0] / 1024,
	    kb[1] / 1024, kb[2] / 1024, kb[3] / 1024, kv);
}

/* --devices: a line a device: name, platform, device, global memory in
 * MiB, compute units, tab-separated. */
static void
list_devices(void)
{
	struct cl_dev *v;
	struct cerr e;
	int n;

	if (cl_devices(&v, &n, &e) < 0)
		die_err(&e);
	for (int i = 0; i < n; i++) {
		char pn[256], dn[256];

		cvis(pn, sizeof pn, v[i].plat_name, strlen(v[i].plat_name));
		cvis(dn, sizeof dn, v[i].dev_name, strlen(v[i].dev_name));
		printf("%s\t%s\t%s\t%llu\t%d\n", v[i].name, pn, dn,
		    (unsigned long long)(v[i].mem >> 20), v[i].units);
	}
	free(v);
	stdout_close();
}

/* Frames for a chunk of n ids of the batch; the default frame (the batch's
 * last position) carries the whole batch as history. */
static void
emit(const struct logits_hdr *h, const struct backend *f, const int32_t *ids,
	int n, int chunk_last, const int32_t *batch, size_t n_batch)
{
	struct cerr e;
	int n_pos = backend_n_pos(f), pos0 = n_pos - n;
	const float *logits = backend_logits(f);

	if (opt.all) {
		for (int t = 0; t < n; t++) {
			const float *lg = logits + (size_t)t * h->n_vocab;
			uint32_t fl = chunk_last && t == n - 1 ? LOGITS_F_LAST : 0;

			if (opt.top)
				print_top(pos0 + t, ids[t], lg, (int)h->n_vocab);
			else if (logits_write_frame(stdout, h, (uint32_t)(pos0 + t),
			    ids[t], fl, &ids[t], 1, lg, &e) < 0)
				die_err(&e);
		}
		return;
	}
	if (!chunk_last)
		return;
	if (opt.top)
		print_top(n_pos - 1, ids[n - 1], logits, (int)h->n_vocab);
	else if (logits_write_frame(stdout, h, (uint32_t)(n_pos - 1),
	    ids[n - 1], LOGITS_F_LAST, batch, (uint32_t)n_batch, logits,
	    &e) < 0)
		die_err(&e);
}

int
main(int argc, char **argv)
{
	struct logits_hdr h = { .version = LOGITS_VERSION };
	struct tokstream ts;
	struct vocab vocab = { 0 };
	struct vocab_facts vf;
	struct model m;
	struct plan plan;
	struct backend_opts bo = { 0 };
	struct backend *f;
	struct cache_seg seg = { 0 };
	struct gguf *g;
	struct cerr e;
	double t0 = now(), t_first = 0, t_pp = 0, t_tg = 0;
	double tl[6];   /* -v: after open, model, vocab, tok, plan, backend */
	long long n_pp = 0, n_tg = 0, n_lines = 0;
	int r, i;

	tool_init(argv[0]);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\n", usage_line);
			return 0;
		} else if (!strcmp(a, "-v")) {
			opt.verbose = 1;
		} else if (!strcmp(a, "--no-cache")) {
			opt.no_cache = 1;
		} else if (!strcmp(a, "--devices")) {
			list_devices();
			return 0;
		} else if (!strcmp(a, "--device")) {
			if (i + 1 >= argc)
				usage_die(usage_line, "%s needs an argument", a);
			opt.device = argv[++i];
		} else if (!strcmp(a, "--all-logits")) {
			opt.all = 1;
		} else if (!strcmp(a, "-m") || !strcmp(a, "-c") ||
		    !strcmp(a, "-t") || !strcmp(a, "-b") || !strcmp(a, "--top")) {
			if (i + 1 >= argc)
				usage_die(usage_line, "%s needs an argument", a);
			if (a[1] == 'm')
				opt.model = argv[++i];
			else if (a[1] == 'c')
				opt.n_ctx = (int)opt_ll(usage_line, a, argv[++i], 1,
				    1 << 20);
			else if (a[1] == 't')
				opt.threads = (int)opt_ll(usage_line, a, argv[++i],
				    1, 1024);
			else if (a[1] == 'b')
				opt.batch = (int)opt_ll(usage_line, a, argv[++i], 1,
				    1 << 16);
			else
				opt.top = (int)opt_ll(usage_line, a, argv[++i], 1,
				    64);
		} else {
			usage_die(usage_line, "unknown option %s", a);
		}
	}
	if (i < argc)
		usage_die(usage_line, "no operands: tokens come on stdin");
	if (!opt.device)
		opt.device = getenv("CHORD_DEVICE");
	if (opt.device && !*opt.device)
		opt.device = NULL;
	if (opt.device && !backend_name_ok(opt.device))
		usage_die(usage_line, "--device: %s: not a device (cpu, cl or "
		    "cl:P.D)", opt.device);
	if (opt.threads)
		omp_set_num_threads(opt.threads);
	bo.portable = getenv("CHORD_NOSIMD") != NULL; /* for tests */
	bo.grouped = getenv("CHORD_CL_GROUPED") != NULL;  /* for tests */
	if (!(g = model_open(model_resolve(opt.model), &seg, &e)))
		die_err(&e);
	tl[0] = now();
	if (model_load(&m, g, &e) < 0)
		die_err(&e);
	tl[1] = now();
	/* Attached, the segment has what the streams need of the vocabulary
	 * (cache.h); --top prints pieces, so it loads the vocabulary. */
	if (seg.vocab && !opt.top) {
		vf = *seg.vocab;
	} else {
		if (vocab_load(&vocab, g, &e) < 0)
			die_err(&e);
		vocab_facts_of(&vocab, &vf);
	}
	tl[2] = now();
	if (opt.top && !(tk = tok_open(g, &vocab, &e)))
		die_err(&e);
	tl[3] = now();
	if (!opt.n_ctx)
		opt.n_ctx = m.hp.n_ctx_train < CTX_CAP ? m.hp.n_ctx_train : CTX_CAP;
	bo.n_ctx = opt.n_ctx;
	bo.device = opt.device;
	if (seg.map)
		bo.packs = &seg.packs;
	if (plan_build(&plan, &m, opt.n_ctx, &e) < 0)
		die_err(&e);
	tl[4] = now();
	if (!(f = backend_open(&plan, &bo, &e)))
		die_err(&e);
	tl[5] = now();
	h.n_vocab = (uint32_t)m.hp.n_vocab;
	h.vocab = vf.fingerprint;
	h.bos = vf.bos;
	h.eos = vf.eos;
	h.eot = vf.eot;
	h.n_eog = vf.n_eog;
	memcpy(h.eog, vf.eog, sizeof h.eog);
	/* A frame is n_vocab floats (192 KiB here): a pipe that holds one
	 * whole spares the generation loop several context switches a token.
	 * Best effort: not every stdout is a pipe. */
#ifdef F_SETPIPE_SZ
	fcntl(STDOUT_FILENO, F_SETPIPE_SZ, (int)(h.n_vocab * 4 + 4096));
#endif
	if (!opt.top && logits_write_header(stdout, &h, &e) < 0)
		die_err(&e);
	if (opt.verbose)
		fprintf(stderr, "chord-fwd: loaded %s in %.4f s: %d layers, dim "
		    "%d, context %d, %d threads, device %s, cache: %s%s%s\n",
		    g->path, now() - t0, m.hp.n_layer, m.hp.dim, opt.n_ctx,
		    omp_get_max_threads(), backend_device(f), !seg.map ? "none" : seg.rebuilt ?
		    "rebuilt" : seg.built ? "built" : "attached",
		    seg.map ? " " : "", seg.map ? seg.name : "");
	tokstream_init(&ts, stdin, "stdin");
	ts.expect_vocab = vf.fingerprint;
	ts.controls = 1;
	ts.expect_n_vocab = (uint32_t)(vf.n < (uint32_t)m.hp.n_vocab ?
	    vf.n : (uint32_t)m.hp.n_vocab);
	while ((r = tokstream_next(&ts, &e)) > 0) {
		if (r == 2) {
			if (backend_keep(f, (int)ts.keep, &e) < 0)
				die("stdin: line %llu: %s", (unsigned long long)
				    ts.lineno, e.msg);
			continue;
		}
		if (ts.n > (size_t)(backend_n_ctx(f) - backend_n_pos(f)))
			die("stdin: line %llu: %zu tokens overflow the context "
			    "(%d of %d positions used; use -c)",
			    (unsigned long long)ts.lineno, ts.n, backend_n_pos(f),
			    backend_n_ctx(f));
		double tb = now();

		for (size_t a = 0; a < ts.n; a += (size_t)opt.batch) {
			int n = (int)(ts.n - a < (size_t)opt.batch ? ts.n - a :
			    (size_t)opt.batch);

			if (backend_eval(f, ts.ids + a, n, opt.all, &e) < 0)
				die_err(&e);
			if (!opt.all && a + (size_t)n < ts.n)
				continue;
			if (opt.all || a + (size_t)n == ts.n)
				emit(&h, f, ts.ids + a, n, a + (size_t)n == ts.n,
				    ts.ids, ts.n);
		}
		if (opt.verbose && ++n_lines == 2)
			fprintf(stderr, "chord-fwd: line 2: %zu tokens in %.1f ms\n",
			    ts.n, (now() - tb) * 1e3);
		if (ts.n > 1) {
			t_pp += now() - tb;
			n_pp += (long long)ts.n;
		} else {
			t_tg += now() - tb;
			n_tg++;
		}
		if (!t_first) {
			t_first = now();
			if (opt.verbose)
				fprintf(stderr, "chord-fwd: first logits after "
				    "%.4f s (ms: open %.1f, model %.1f, vocab "
				    "%.1f, tok %.1f, plan %.1f, backend %.1f, "
				    "line 1 %.1f)\n", t_first - t0,
				    (tl[0] - t0) * 1e3, (tl[1] - tl[0]) * 1e3,
				    (tl[2] - tl[1]) * 1e3, (tl[3] - tl[2]) * 1e3,
				    (tl[4] - tl[3]) * 1e3, (tl[5] - tl[4]) * 1e3,
				    (t_first - tb) * 1e3);
		}
	}
	if (r < 0)
		die_err(&e);
	/* before -v's memory line, which counts what it mapped */
	pf_join();
	if (opt.verbose)
		fprintf(stderr, "chord-fwd: prompt %lld tokens in %.3f s (%.1f "
		    "t/s), generation %lld tokens in %.3f s (%.1f t/s)\n", n_pp,
		    t_pp, t_pp > 0 ? n_pp / t_pp : 0.0, n_tg, t_tg,
		    t_tg > 0 ? n_tg / t_tg : 0.0);
	if (opt.verbose && backend_launches(f))
		fprintf(stderr, "chord-fwd: %ld kernel launches in the last "
		    "batch\n", backend_launches(f));
	if (opt.verbose)
		report_memory(&plan, opt.n_ctx);
	stdout_close();
	/* What is left goes with the process. Closed here, the CPU
	 * backend's KV cache and the model's mapping (the segment, or the
	 * file) were munmap calls of some 300 MB while the backend's
	 * threads still ran, each a TLB shootdown on their CPUs; the exit
	 * unmaps them once, those threads gone. An OpenCL backend is
	 * closed: its driver may want to know. */
	if (strcmp(backend_device(f), "cpu") != 0)
		backend_close(f);
	return 0;
}
