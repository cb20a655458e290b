/* chord-sample: logits stream in, one token id per line out (flushed at
 * once); or, with --score, the perplexity of the ids the frames carry. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sample.h"
#include "stream.h"
#include "tool.h"

static const char usage_line[] =
	"usage: chord-sample [-h | --help] [-n N] [-s | --seed N] [--temp T] "
	"[--top-k K] [--top-p P] [--min-p P] [--typical P] [--repeat-penalty R] "
	"[--repeat-last-n N] [--frequency-penalty F] [--presence-penalty P] "
	"[--mirostat 2] [--mirostat-ent TAU] [--mirostat-lr ETA] "
	"[--logit-bias ID+V]... [--ignore-eos | --mark-eog] "
	"[--score [--score-from POS]]";

static struct {
	long long n;
	int ignore_eos, mark_eog, score;
	long long score_from;
} opt = { .n = -1 };

static struct sampler_opts so;
static int32_t *hist;
static size_t n_hist, cap_hist;

static void
remember(const int32_t *ids, size_t n)
{
	if (n == 0)
		return;
	if (n_hist + n > cap_hist) {
		size_t cap = (n_hist + n) * 2;
		int32_t *p = realloc(hist, cap * sizeof *p);

		if (!p)
			die("out of memory");
		hist = p;
		cap_hist = cap;
	}
	memcpy(hist + n_hist, ids, n * sizeof *ids);
	n_hist += n;
}

static int
is_eog(const struct logits_hdr *h, int32_t id)
{
	for (uint32_t i = 0; i < h->n_eog; i++)
		if (h->eog[i] == id)
			return 1;
	return 0;
}

static double
logsumexp(const float *x, uint32_t n)
{
	float max = -INFINITY;
	double sum = 0.0;

	for (uint32_t i = 0; i < n; i++)
		if (x[i] > max)
			max = x[i];
	for (uint32_t i = 0; i < n; i++)
		sum += exp((double)(x[i] - max));
	return (double)max + log(sum);
}

/* Each frame's logits predict the token of the next frame. */
static void
score(const struct logits_hdr *h)
{
	struct logits_frame fr = { 0 };
	float *prev = malloc((size_t)h->n_vocab * sizeof *prev);
	double nll = 0.0;
	long long count = 0;
	int have = 0, r;
	struct cerr e;

	if (!prev)
		die("out of memory");
	while ((r = logits_read_frame(stdin, "stdin", h, &fr, &e)) == 1) {
		if (have && (long long)fr.pos >= opt.score_from) {
			/* the reader checked fr.token < n_vocab */
			nll += logsumexp(prev, h->n_vocab) - prev[fr.token];
			count++;
		}
		memcpy(prev, fr.logits, (size_t)h->n_vocab * sizeof *prev);
		have = 1;
	}
	if (r < 0)
		die_err(&e);
	if (count == 0)
		die("stdin: nothing to score (use chord-fwd --all-logits)");
	printf("tokens=%lld nll_sum=%.6f nll=%.6f ppl=%.4f\n", count, nll,
	    nll / (double)count, exp(nll / (double)count));
	free(prev);
	logits_frame_free(&fr);
}

static void
generate(const struct logits_hdr *h)
{
	struct logits_frame fr = { 0 };
	struct sampler s;
	struct cerr e;
	long long made = 0;
	int r;

	sampler_init(&s, &so);
	while (opt.n != 0 &&
	    (r = logits_read_frame(stdin, "stdin", h, &fr, &e)) == 1) {
		int32_t id;

		remember(fr.ids, fr.n_new);
		if ((id = sample(&s, fr.logits, h->n_vocab, hist, n_hist,
		    &e)) < 0)
			die("stdin: frame at position %u: %s", fr.pos, e.msg);
		if (opt.mark_eog && is_eog(h, id)) {
			/* a turn ends; a comment line to token readers, and go
			 * on with the frames the next turn brings */
			if (printf("#eog %d\n", id) < 0 || fflush(stdout) == EOF)
				die("stdout:");
			continue;
		}
		if (!opt.ignore_eos && is_eog(h, id))
			break;
		if (tokstream_write_batch(stdout, &id, 1) < 0)
			die("stdout:");
		if (++made == opt.n)
			break;
	}
	if (opt.n != 0 && r < 0)
		die_err(&e);
	sampler_free(&s);
	logits_frame_free(&fr);
}

static uint64_t
random_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^
	    (uint64_t)getpid() << 40;
}

int
main(int argc, char **argv)
{
	struct logits_hdr h;
	struct cerr e;
	int i, seeded = 0;

	tool_init(argv[0]);
	sampler_defaults(&so);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\n", usage_line);
			return 0;
		} else if (!strcmp(a, "--ignore-eos")) {
			opt.ignore_eos = 1;
			continue;
		} else if (!strcmp(a, "--mark-eog")) {
			opt.mark_eog = 1;
			continue;
		} else if (!strcmp(a, "--score")) {
			opt.score = 1;
			continue;
		}
		if (!v)
			usage_die(usage_line, a[0] == '-' ? "%s needs an argument" :
			    "unknown operand %s", a);
		i++;
		if (!strcmp(a, "-n"))
			opt.n = opt_ll(usage_line, a, v, -1, 1LL << 40);
		else if (!strcmp(a, "--score-from"))
			opt.score_from = opt_ll(usage_line, a, v, 0, INT32_MAX);
		else if (sampler_opt(usage_line, &so, a, v)) {
			if (!strcmp(a, "--seed") || !strcmp(a, "-s"))
				seeded = 1;
		} else
			usage_die(usage_line, "unknown option %s", a);
	}
	if (so.mirostat == 1)
		usage_die(usage_line, "--mirostat: only 2 (v2) is supported");
	if (!seeded)
		so.seed = random_seed();
	if (logits_read_header(stdin, "stdin", &h, &e) < 0)
		die_err(&e);
	for (size_t k = 0; k < so.n_bias; k++)
		if ((uint32_t)so.bias[k].id >= h.n_vocab)
			die("--logit-bias: token %d out of range (n_vocab %u)",
			    so.bias[k].id, h.n_vocab);
	if (opt.score)
		score(&h);
	else
		generate(&h);
	free(hist);
	free(so.bias);
	stdout_close();
	return 0;
}
