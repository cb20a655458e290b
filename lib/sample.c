/* sample.c: the sampler chain (sample.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

void
sampler_defaults(struct sampler_opts *o)
{
	memset(o, 0, sizeof *o);
	o->temp = 0.8f;                 /* llama.cpp's defaults */
	o->top_k = 40;
	o->top_p = 0.95f;
	o->min_p = 0.05f;
	o->typical = 1.0f;
	o->repeat_penalty = 1.0f;
	o->repeat_last_n = 64;
	o->mirostat_tau = 5.0f;
	o->mirostat_eta = 0.1f;
}

/* xoshiro256**, seeded through splitmix64 */
static uint64_t
rotl(uint64_t x, int k)
{
	return x << k | x >> (64 - k);
}

static uint64_t
next64(uint64_t *s)
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

double
sampler_uniform(struct sampler *s)
{
	return (double)(next64(s->rng) >> 11) * (1.0 / 9007199254740992.0);
}

void
sampler_init(struct sampler *s, const struct sampler_opts *o)
{
	uint64_t z = o->seed;

	memset(s, 0, sizeof *s);
	s->o = *o;
	for (int i = 0; i < 4; i++) {
		uint64_t x = (z += 0x9e3779b97f4a7c15ull);

		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
		s->rng[i] = x ^ (x >> 31);
	}
	s->mu = 2.0f * o->mirostat_tau;
}

void
sampler_free(struct sampler *s)
{
	free(s->c);
	s->c = NULL;
	s->cap = 0;
}

static int
reserve(struct sampler *s, size_t n)
{
	struct cand *p;

	if (n <= s->cap)
		return 0;
	if (!(p = realloc(s->c, n * sizeof *p)))
		return -1;
	s->c = p;
	s->cap = n;
	return 0;
}

static int
by_logit(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->logit != y->logit)
		return x->logit < y->logit ? 1 : -1;
	return x->id - y->id;
}

/* Restore the min-heap (worst kept candidate at the root) below j. */
static void
sift_down(struct cand *c, size_t k, size_t j)
{
	for (;;) {
		size_t l = 2 * j + 1, w = j;

		if (l < k && by_logit(&c[l], &c[w]) > 0)
			w = l;
		if (l + 1 < k && by_logit(&c[l + 1], &c[w]) > 0)
			w = l + 1;
		if (w == j)
			return;
		struct cand t = c[j];

		c[j] = c[w];
		c[w] = t;
		j = w;
	}
}

/* Sort c into by_logit order (best first), in place: a heapsort, for qsort
 * may take scratch memory as large as the candidates. */
static void
sort_cands(struct cand *c, size_t n)
{
	for (size_t j = n / 2; j-- > 0;)
		sift_down(c, n, j);
	for (size_t k = n; k > 1; k--) {
		struct cand t = c[0];

		c[0] = c[k - 1];
		c[k - 1] = t;
		sift_down(c, k - 1, 0);
	}
}

/* The k best of the n logits that are above -inf, in O(n log k) and k
 * candidates of memory: a min-heap (worst kept at the root) of the best
 * seen so far. Returns how many were kept (fewer than k if fewer finite). */
static size_t
select_top(struct cand *c, const float *logits, size_t n, size_t k)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		struct cand x = { (int32_t)i, logits[i] };

		if (!(x.logit > -INFINITY))
			continue;
		if (m < k) {
			c[m++] = x;
			if (m == k)
				for (size_t j = k / 2; j-- > 0;)
					sift_down(c, k, j);
		} else if (by_logit(&x, &c[0]) < 0) {
			c[0] = x;
			sift_down(c, k, 0);
		}
	}
	return m;
}

/* softmax(logit / 1) over the n candidates (sorted, max first): the sum
 * of exp(logit - max), then prob() of each. */
static double
softmax(const struct cand *c, size_t n)
{
	double sum = 0.0;

	for (size_t i = 0; i < n; i++)
		sum += expf(c[i].logit - c[0].logit);
	return sum;
}

static float
prob(float logit, float max, double sum)
{
	return (float)(expf(logit - max) / sum);
}

/* Penalise the ids of the last repeat_last_n tokens, in place. */
static void
penalties(const struct sampler_opts *o, float *logits, const int32_t *h,
	size_t nh, size_t n_vocab)
{
	size_t from = nh > (size_t)o->repeat_last_n ? nh - (size_t)o->repeat_last_n : 0;

	if (o->repeat_penalty == 1.0f && o->freq_penalty == 0.0f &&
	    o->presence_penalty == 0.0f)
		return;
	for (size_t i = from; i < nh; i++) {
		int32_t id = h[i];
		int count = 0, seen = 0;

		if (id < 0 || (size_t)id >= n_vocab)
			continue;
		for (size_t j = from; j < nh; j++) {   /* first occurrence only */
			if (h[j] == id) {
				if (j < i)
					seen = 1;
				count++;
			}
		}
		if (seen)
			continue;
		if (logits[id] <= 0)
			logits[id] *= o->repeat_penalty;
		else
			logits[id] /= o->repeat_penalty;
		logits[id] -= (float)count * o->freq_penalty + o->presence_penalty;
	}
}

static size_t
top_p(struct cand *c, size_t n, float p)
{
	double cum = 0.0, sum;

	if (p >= 1.0f)
		return n;
	sum = softmax(c, n);
	for (size_t i = 0; i < n; i++) {
		cum += prob(c[i].logit, c[0].logit, sum);
		if (cum >= p)
			return i + 1;
	}
	return n;
}

static size_t
min_p(struct cand *c, size_t n, float p)
{
	size_t k = 1;
	double sum;

	if (p <= 0.0f)
		return n;
	sum = softmax(c, n);
	while (k < n && prob(c[k].logit, c[0].logit, sum) >=
	    p * prob(c[0].logit, c[0].logit, sum))
		k++;
	return k;
}

/* Locally typical sampling: keep the tokens whose surprise is closest to
 * the entropy, up to mass p. */
static size_t
typical(struct cand *c, size_t n, float p)
{
	double ent = 0.0, cum = 0.0, sum;
	float max = c[0].logit, *pr, *score;
	size_t k;

	if (p >= 1.0f || n < 2 || !(pr = malloc(2 * n * sizeof *pr)))
		return n;
	score = pr + n;
	sum = softmax(c, n);
	for (size_t i = 0; i < n; i++)
		pr[i] = prob(c[i].logit, max, sum);
	for (size_t i = 0; i < n; i++)
		if (pr[i] > 0)
			ent -= pr[i] * log(pr[i]);
	for (size_t i = 0; i < n; i++)
		score[i] = (float)fabs(-log(pr[i]) - ent);
	/* selection sort by score: n is already cut by top-k in practice */
	for (k = 0; k < n; k++) {
		size_t best = k;

		for (size_t j = k + 1; j < n; j++)
			if (score[j] < score[best])
				best = j;
		struct cand t = c[k];
		float ts = score[k], tp = pr[k];

		c[k] = c[best];
		c[best] = t;
		score[k] = score[best];
		score[best] = ts;
		pr[k] = pr[best];
		pr[best] = tp;
		cum += pr[k];
		if (cum >= p) {
			k++;
			break;
		}
	}
	free(pr);
	sort_cands(c, k);
	return k;
}

static size_t
draw(struct sampler *s, struct cand *c, size_t n)
{
	double r = sampler_uniform(s), cum = 0.0, sum = softmax(c, n);

	for (size_t i = 0; i < n; i++) {
		cum += prob(c[i].logit, c[0].logit, sum);
		if (r < cum)
			return i;
	}
	return n - 1;
}

/* Mirostat v2: cut tokens more surprising than mu, draw, move mu toward
 * the target surprise tau. */
static size_t
mirostat2(struct sampler *s, struct cand *c, size_t n)
{
	size_t k = 1, pick;
	double sum = softmax(c, n);
	float surprise;

	while (k < n && -log2f(prob(c[k].logit, c[0].logit, sum)) <= s->mu)
		k++;
	pick = draw(s, c, k);
	surprise = -log2f(prob(c[pick].logit, c[0].logit, sum));
	s->mu -= s->o.mirostat_eta * (surprise - s->o.mirostat_tau);
	return pick;
}

/* NaN is -inf; bias and penalties; if any logit is +inf, only those
 * count, as equals. Returns how many are left above -inf. */
static size_t
prepare(const struct sampler_opts *o, float *logits, size_t n_vocab,
	const int32_t *history, size_t n_hist)
{
	size_t n = 0, n_inf = 0;

	for (size_t i = 0; i < n_vocab; i++)
		if (isnan(logits[i]))
			logits[i] = -INFINITY;
	for (size_t i = 0; i < o->n_bias; i++)
		if (o->bias[i].id >= 0 && (size_t)o->bias[i].id < n_vocab)
			logits[o->bias[i].id] += o->bias[i].v;
	penalties(o, logits, history, n_hist, n_vocab);
	for (size_t i = 0; i < n_vocab; i++) {
		if (isnan(logits[i]))   /* inf - inf from a bias */
			logits[i] = -INFINITY;
		n += logits[i] > -INFINITY;
		n_inf += logits[i] == INFINITY;
	}
	if (n_inf == 0)
		return n;
	for (size_t i = 0; i < n_vocab; i++)
		logits[i] = logits[i] == INFINITY ? 0.0f : -INFINITY;
	return n_inf;
}

int32_t
sample(struct sampler *s, float *logits, size_t n_vocab,
	const int32_t *history, size_t n_hist, struct cerr *e)
{
	const struct sampler_opts *o = &s->o;
	struct cand *c;
	size_t n = prepare(o, logits, n_vocab, history, n_hist);

	if (n == 0)
		return cerr_set(e, "no candidate left: every logit is NaN or "
		    "-inf");
	if (o->temp <= 0.0f) {          /* greedy: the first of the largest */
		size_t best = 0;

		for (size_t i = 1; i < n_vocab; i++)
			if (logits[i] > logits[best])
				best = i;
		return (int32_t)best;
	}
	if (o->mirostat != 2 && o->top_k > 0 && (size_t)o->top_k < n)
		n = (size_t)o->top_k;
	if (reserve(s, n) < 0)
		return cerr_set(e, "out of memory");
	c = s->c;
	n = select_top(c, logits, n_vocab, n);
	sort_cands(c, n);
	if (o->mirostat == 2) {
		for (size_t i = 0; i < n; i++)
			c[i].logit /= o->temp;
		return c[mirostat2(s, c, n)].id;
	}
	n = typical(c, n, o->typical);
	n = top_p(c, n, o->top_p);
	n = min_p(c, n, o->min_p);
	for (size_t i = 0; i < n; i++)
		c[i].logit /= o->temp;
	return c[draw(s, c, n)].id;
}

int
sample_probs(struct sampler *s, float *logits, size_t n_vocab,
	const int32_t *history, size_t n_hist, float *p, struct cerr *e)
{
	struct sampler_opts o = s->o;
	struct cand *c;
	double sum;
	size_t n;

	if (o.mirostat == 2)
		return cerr_set(e, "mirostat has no fixed distribution");
	memset(p, 0, n_vocab * sizeof *p);
	if (o.temp <= 0.0f) {
		/* sample() applies bias and penalties, then takes the max */
		int32_t id = sample(s, logits, n_vocab, history, n_hist, e);

		if (id < 0)
			return -1;
		p[id] = 1.0f;
		return 0;
	}
	if ((n = prepare(&o, logits, n_vocab, history, n_hist)) == 0)
		return cerr_set(e, "no candidate left: every logit is NaN or "
		    "-inf");
	if (o.top_k > 0 && (size_t)o.top_k < n)
		n = (size_t)o.top_k;
	if (reserve(s, n) < 0)
		return cerr_set(e, "out of memory");
	c = s->c;
	n = select_top(c, logits, n_vocab, n);
	sort_cands(c, n);
	n = typical(c, n, o.typical);
	n = top_p(c, n, o.top_p);
	n = min_p(c, n, o.min_p);
	for (size_t i = 0; i < n; i++)
		c[i].logit /= o.temp;
	sum = softmax(c, n);
	for (size_t i = 0; i < n; i++)
		p[c[i].id] = prob(c[i].logit, c[0].logit, sum);
	return 0;
}

int32_t
sample_weights(struct sampler *s, const float *w, size_t n)
{
	double sum = 0.0, cum = 0.0, r;
	size_t last = n;

	for (size_t i = 0; i < n; i++)
		if (w[i] > 0.0f) {
			sum += w[i];
			last = i;
		}
	if (last == n)
		return -1;
	r = sampler_uniform(s) * sum;
	for (size_t i = 0; i < n; i++) {
		cum += w[i] > 0.0f ? w[i] : 0.0f;
		if (w[i] > 0.0f && r < cum)
			return (int32_t)i;
	}
	return (int32_t)last;
}
