/* chord-spec: speculative decoding's loop, between two chord-fwd processes.
 *
 * The prompt (a token stream) comes on stdin, the accepted ids go to stdout,
 * one a line, as chord-sample writes them. The operands are four FIFOs that
 * chord-gen makes: the draft's token stream and logits, the target's token
 * stream and logits (the target runs with --all-logits). A round:
 *
 *   1. the draft proposes up to --draft-max ids, one forward step each,
 *      while its top probability stays at --draft-p-min or above (fewer
 *      than --draft-min: none);
 *   2. the target evaluates the last id and the proposals in one batch;
 *   3. each proposal is checked against the target's frame before it:
 *      greedy, it must be the target's pick; sampling, it is kept with
 *      probability min(1, p(x) / q(x)), else the target's id is drawn from
 *      max(0, p - q) normalised (Leviathan et al. 2023): the output follows
 *      the target's distribution either way;
 *   4. the kept prefix and the target's own next id go out; "#chord keep N"
 *      drops the rejected positions from both caches.
 *
 * Both models get the ids without a stream header: --check-vocab checks
 * the draft's vocabulary as llama.cpp does, which allows compatible
 * vocabularies whose fingerprints differ. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gguf.h"
#include "sample.h"
#include "stream.h"
#include "tool.h"
#include "vocab.h"

static const char usage_line[] =
	"usage: chord-spec [-h | --help] [-v] [-n N] [--draft-max N] "
	"[--draft-min N] [--draft-p-min P] [-s | --seed N] [--temp T] "
	"[--top-k K] [--top-p P] [--min-p P] [--typical P] "
	"[--repeat-penalty R] [--repeat-last-n N] [--frequency-penalty F] "
	"[--presence-penalty P] [--logit-bias ID+V]... [--ignore-eos] "
	"draft-in draft-logits target-in target-logits | --check-vocab DRAFT";

/* llama.cpp's common/speculative.cpp: how far the sizes may differ, and the
 * first id whose piece must agree (the ones below are often specials). */
#define SPEC_VOCAB_MAX_SIZE_DIFFERENCE 128
#define SPEC_VOCAB_CHECK_START_TOKEN_ID 5

static struct {
	long long n;
	int verbose, ignore_eos;
	int draft_max, draft_min;
	double p_min;
} opt = { .n = -1, .draft_max = 16, .p_min = 0.75 };

static struct sampler_opts so;

/* One model: its pipes, its stream header and last frame, its sampler. */
struct side {
	const char *name;       /* "draft", "target": for messages */
	FILE *in;               /* token stream to its chord-fwd */
	FILE *out;              /* logits from it */
	struct logits_hdr h;
	struct logits_frame fr;
	struct sampler s;
	size_t n_pos;           /* positions in its KV cache */
};

static struct side draft = { .name = "draft" }, target = { .name = "target" };

/* The ids so far (prompt and output), then the proposals of this round. */
static int32_t *hist;
static size_t n_hist, cap_hist;
static float *q;                /* (draft_max, draft n_vocab): sampling mode */
static float *pt, *resid;       /* (target n_vocab) */

static struct {
	long long drafted, accepted, made, rounds;
	double t_draft, t_target;       /* seconds in propose(), verify() */
} st;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		die("out of memory");
	return p;
}

static void
reserve_hist(size_t n)
{
	int32_t *p;

	if (n <= cap_hist)
		return;
	if (!(p = realloc(hist, n * 2 * sizeof *p)))
		die("out of memory");
	hist = p;
	cap_hist = n * 2;
}

/* ---- the vocabulary check (llama.cpp's common_speculative_are_compatible) */

static int
vocab_differs(const struct vocab *t, const struct vocab *d, char *why,
	size_t cap)
{
	uint32_t n = t->n < d->n ? t->n : d->n;

	if (t->kind != d->kind) {
		snprintf(why, cap, "tokenizer %.*s, the model's %.*s",
		    (int)d->model.len, d->model.p, (int)t->model.len,
		    t->model.p);
		return 1;
	}
	if (t->add_bos != d->add_bos || (t->add_bos && t->bos != d->bos)) {
		snprintf(why, cap, "BOS %d (added: %d), the model's %d (added: "
		    "%d)", d->bos, d->add_bos, t->bos, t->add_bos);
		return 1;
	}
	if (t->add_eos != d->add_eos || (t->add_eos && t->eos != d->eos)) {
		snprintf(why, cap, "EOS %d (added: %d), the model's %d (added: "
		    "%d)", d->eos, d->add_eos, t->eos, t->add_eos);
		return 1;
	}
	if ((t->n > d->n ? t->n - d->n : d->n - t->n) >
	    SPEC_VOCAB_MAX_SIZE_DIFFERENCE) {
		snprintf(why, cap, "%u tokens, the model's %u: more than %d "
		    "apart", d->n, t->n, SPEC_VOCAB_MAX_SIZE_DIFFERENCE);
		return 1;
	}
	for (uint32_t i = SPEC_VOCAB_CHECK_START_TOKEN_ID; i < n; i++)
		if (t->text[i].len != d->text[i].len ||
		    memcmp(t->text[i].p, d->text[i].p, t->text[i].len)) {
			snprintf(why, cap, "token %u differs", i);
			return 1;
		}
	return 0;
}

static void
check_vocab(const char *draft_path)
{
	struct gguf *gt, *gd;
	struct vocab vt, vd;
	struct cerr e;
	char why[256];

	if (!(gt = gguf_open(model_resolve(NULL), &e)) ||
	    vocab_load(&vt, gt, &e) < 0)
		die_err(&e);
	if (!(gd = gguf_open(draft_path, &e)) || vocab_load(&vd, gd, &e) < 0)
		die_err(&e);
	if (vocab_differs(&vt, &vd, why, sizeof why))
		die("%s: vocabulary differs from the model's (%s)", draft_path,
		    why);
	vocab_free(&vd);
	vocab_free(&vt);
	gguf_close(gd);
	gguf_close(gt);
}

/* ---- talking to the two chord-fwd processes ---- */

static void
feed(struct side *m, const int32_t *ids, size_t n)
{
	if (tokstream_write_batch(m->in, ids, n) < 0)
		die("%s model: cannot write its tokens:", m->name);
	m->n_pos += n;
}

/* Drop the cached positions past the first n. */
static void
keep(struct side *m, size_t n)
{
	if (n >= m->n_pos)
		return;
	if (fprintf(m->in, "#chord keep %zu\n", n) < 0 || fflush(m->in) == EOF)
		die("%s model: cannot write its tokens:", m->name);
	m->n_pos = n;
}

static void
next_frame(struct side *m)
{
	struct cerr e;
	int r = logits_read_frame(m->out, m->name, &m->h, &m->fr, &e);

	if (r < 0)
		die_err(&e);
	if (r == 0)
		die("%s model: its logits ended early", m->name);
	if (m->fr.pos >= m->n_pos)
		die("%s model: frame for position %u, %zu evaluated", m->name,
		    m->fr.pos, m->n_pos);
}

static void
open_side(struct side *m, const char *in, const char *out)
{
	struct sampler_opts o = so;
	struct cerr e;

	/* in before out: chord-fwd opens its stdin before its stdout */
	if (!(m->in = fopen(in, "w")))
		die("%s:", in);
	if (!(m->out = fopen(out, "r")))
		die("%s:", out);
	if (logits_read_header(m->out, out, &m->h, &e) < 0)
		die_err(&e);
	/* the two draw from different streams of the same seed */
	o.seed = m == &draft ? so.seed ^ 0x5bd1e9955bd1e995ull : so.seed;
	sampler_init(&m->s, &o);
}

/* ---- a round ---- */

/* Logits this far below the best add less than e^-TOP_CUT (2e-9) each to
 * the softmax's sum, which is at least 1: with 152k of them, the top
 * probability comes out at most 3e-4 (relative) high, which moves no
 * decision that matters (--draft-p-min only sets how far the draft runs
 * ahead). Skipped, as they are most of them: the exp of every logit took
 * about 1.3 ms of each 13 ms draft token. */
#define TOP_CUT 20.0f

/* The largest probability of softmax(logits), to within the cut: how sure
 * the draft is. */
static double
top_prob(const float *lg, size_t n, int32_t best)
{
	double sum = 0.0;
	float lo = lg[best] - TOP_CUT;

	for (size_t i = 0; i < n; i++)
		if (lg[i] > lo)
			sum += expf(lg[i] - lg[best]);
	return 1.0 / sum;
}

static double
max_of(const float *p, size_t n)
{
	float m = 0.0f;

	for (size_t i = 0; i < n; i++)
		if (p[i] > m)
			m = p[i];
	return m;
}

/* Propose up to max ids after hist[0..n_hist) into hist[n_hist..): returns
 * how many. In sampling mode q holds the draft's distribution of each. */
static size_t
propose(size_t max)
{
	size_t nv = draft.h.n_vocab, k;
	struct cerr e;

	if (max == 0)
		return 0;
	/* the ids the draft has not seen: at least the last one */
	feed(&draft, hist + draft.n_pos, n_hist - draft.n_pos);
	for (k = 0; k < max; k++) {
		int32_t id;
		double top;

		next_frame(&draft);
		if (so.temp <= 0.0f) {
			if ((id = sample(&draft.s, draft.fr.logits, nv, hist,
			    n_hist + k, &e)) < 0)
				die("draft model: %s", e.msg);
			top = top_prob(draft.fr.logits, nv, id);
		} else {
			float *qk = q + k * nv;

			if (sample_probs(&draft.s, draft.fr.logits, nv, hist,
			    n_hist + k, qk, &e) < 0)
				die("draft model: %s", e.msg);
			if ((id = sample_weights(&draft.s, qk, nv)) < 0)
				die("draft model: no candidate left");
			top = max_of(qk, nv);
		}
		/* unsure, or an id the target does not have: stop here */
		if (top < opt.p_min || (uint32_t)id >= target.h.n_vocab)
			break;
		hist[n_hist + k] = id;
		if (k + 1 < max)
			feed(&draft, &id, 1);
	}
	return k < (size_t)opt.draft_min ? 0 : k;
}

/* Check the k proposals at hist[n_hist..) with the target; returns how many
 * it accepts and puts its own next id in *next. */
static size_t
verify(size_t k, int32_t *next)
{
	size_t nv = target.h.n_vocab, nd = draft.h.n_vocab, acc = 0;
	int done = 0;
	struct cerr e;

	/* the last id (and the prompt, the first time) and the proposals */
	feed(&target, hist + target.n_pos, n_hist + k - target.n_pos);
	do {
		size_t i;

		next_frame(&target);
		if (done || target.fr.pos + 1 < n_hist)
			continue;       /* the prompt's, or past a rejection */
		i = target.fr.pos + 1 - n_hist;
		if (so.temp <= 0.0f) {
			int32_t id = sample(&target.s, target.fr.logits, nv,
			    hist, n_hist + i, &e);

			if (id < 0)
				die("target model: %s", e.msg);
			if (i < k && id == hist[n_hist + i]) {
				acc++;
				continue;
			}
			*next = id;
			done = 1;
			continue;
		}
		if (sample_probs(&target.s, target.fr.logits, nv, hist,
		    n_hist + i, pt, &e) < 0)
			die("target model: %s", e.msg);
		if (i < k) {
			int32_t x = hist[n_hist + i];
			const float *qi = q + i * nd;

			if (sampler_uniform(&target.s) <= pt[x] / qi[x]) {
				acc++;
				continue;
			}
			for (size_t j = 0; j < nv; j++)
				resid[j] = fmaxf(0.0f, pt[j] - (j < nd ? qi[j] :
				    0.0f));
			*next = sample_weights(&target.s, resid, nv);
		} else {
			*next = -1;
		}
		if (*next < 0)
			*next = sample_weights(&target.s, pt, nv);
		if (*next < 0)
			die("target model: no candidate left");
		done = 1;
	} while (!(target.fr.flags & LOGITS_F_LAST));
	if (!done)
		die("target model: its batch ended before position %zu",
		    n_hist + k - 1);
	return acc;
}

static int
is_eog(int32_t id)
{
	for (uint32_t i = 0; i < target.h.n_eog; i++)
		if (target.h.eog[i] == id)
			return 1;
	return 0;
}

/* Write the n ids; 0 when the output is complete (-n, or an end id). */
static int
put(const int32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!opt.ignore_eos && is_eog(ids[i]))
			return 0;
		if (tokstream_write_batch(stdout, &ids[i], 1) < 0)
			die("stdout:");
		if (++st.made == opt.n)
			return 0;
	}
	return 1;
}

static void
generate(void)
{
	for (;;) {
		size_t max = (size_t)opt.draft_max, k, acc;
		int32_t next;
		double t0, t1;

		/* no proposals past the last id wanted */
		if (opt.n >= 0 && (long long)max > opt.n - st.made - 1)
			max = (size_t)(opt.n - st.made - 1);
		reserve_hist(n_hist + max + 1);        /* proposals, next */
		t0 = now();
		k = propose(max);
		t1 = now();
		acc = verify(k, &next);
		st.t_draft += t1 - t0;
		st.t_target += now() - t1;
		st.rounds++;
		st.drafted += (long long)k;
		st.accepted += (long long)acc;
		hist[n_hist + acc] = next;
		if (!put(hist + n_hist, acc + 1))
			return;
		n_hist += acc + 1;
		/* the target holds the ids before next; the draft at most */
		keep(&target, n_hist - 1);
		keep(&draft, draft.n_pos < n_hist - 1 ? draft.n_pos :
		    n_hist - 1);
	}
}

static void
read_prompt(void)
{
	struct tokstream ts;
	struct cerr e;
	int r;

	tokstream_init(&ts, stdin, "stdin");
	ts.expect_vocab = target.h.vocab;
	ts.expect_n_vocab = target.h.n_vocab < draft.h.n_vocab ?
	    target.h.n_vocab : draft.h.n_vocab;
	while ((r = tokstream_next(&ts, &e)) > 0) {
		reserve_hist(n_hist + ts.n);
		memcpy(hist + n_hist, ts.ids, ts.n * sizeof *ts.ids);
		n_hist += ts.n;
	}
	if (r < 0)
		die_err(&e);
	if (n_hist == 0)
		die("stdin: no tokens to generate from");
	tokstream_free(&ts);
}

/* The sampler options chord-sample takes; mirostat has no fixed
 * distribution to compare draft and target by. */
static void
spec_sampler_opt(const char *a, const char *v)
{
	if (!strcmp(a, "--mirostat"))
		usage_die(usage_line, "--mirostat: not with a draft model");
	if (!strcmp(a, "--mirostat-ent") || !strcmp(a, "--mirostat-lr"))
		return;         /* mirostat's own: it is refused above */
	if (!sampler_opt(usage_line, &so, a, v))
		usage_die(usage_line, "unknown option %s", a);
}

static uint64_t
random_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^
	    (uint64_t)getpid() << 40;
}

static void
report(double t0)
{
	double dt = now() - t0;

	fprintf(stderr, "chord-spec: drafted %lld, accepted %lld (%.1f%%), "
	    "%lld rounds; %lld tokens in %.3f s (%.2f t/s); draft %.3f s, "
	    "target %.3f s\n", st.drafted, st.accepted, st.drafted ?
	    100.0 * st.accepted / st.drafted : 0.0, st.rounds, st.made, dt,
	    dt > 0 ? st.made / dt : 0.0, st.t_draft, st.t_target);
}

int
main(int argc, char **argv)
{
	const char *check = NULL;
	int i, seeded = 0;
	double t0;

	tool_init(argv[0]);
	sampler_defaults(&so);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\n", usage_line);
			return 0;
		} else if (!strcmp(a, "-v")) {
			opt.verbose = 1;
			continue;
		} else if (!strcmp(a, "--ignore-eos")) {
			opt.ignore_eos = 1;
			continue;
		}
		if (!v)
			usage_die(usage_line, "%s needs an argument", a);
		i++;
		if (!strcmp(a, "--check-vocab"))
			check = v;
		else if (!strcmp(a, "-n"))
			opt.n = opt_ll(usage_line, a, v, -1, 1LL << 40);
		else if (!strcmp(a, "--draft-max"))
			opt.draft_max = (int)opt_ll(usage_line, a, v, 0, 1024);
		else if (!strcmp(a, "--draft-min"))
			opt.draft_min = (int)opt_ll(usage_line, a, v, 0, 1024);
		else if (!strcmp(a, "--draft-p-min"))
			opt.p_min = opt_double(usage_line, a, v, 0, 1);
		else {
			if (!strcmp(a, "--seed") || !strcmp(a, "-s"))
				seeded = 1;
			spec_sampler_opt(a, v);
		}
	}
	if (check) {
		if (i < argc)
			usage_die(usage_line, "--check-vocab takes no operands");
		check_vocab(check);
		return 0;
	}
	if (argc - i != 4)
		usage_die(usage_line, "want 4 operands, not %d", argc - i);
	if (!seeded)
		so.seed = random_seed();
	/* open the FIFOs even for -n 0: both chord-fwd wait for the opens */
	open_side(&draft, argv[i], argv[i + 1]);
	open_side(&target, argv[i + 2], argv[i + 3]);
	for (size_t k = 0; k < so.n_bias; k++)
		if ((uint32_t)so.bias[k].id >= target.h.n_vocab)
			die("--logit-bias: token %d out of range (n_vocab %u)",
			    so.bias[k].id, target.h.n_vocab);
	pt = xcalloc(target.h.n_vocab, sizeof *pt);
	resid = xcalloc(target.h.n_vocab, sizeof *resid);
	if (so.temp > 0.0f)
		q = xcalloc((size_t)opt.draft_max * draft.h.n_vocab, sizeof *q);
	t0 = now();
	read_prompt();
	if (opt.n != 0)
		generate();
	if (opt.verbose)
		report(t0);
	fclose(draft.in);
	fclose(target.in);
	stdout_close();
	return 0;
}
