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

int
sampler_init(struct sampler *s, const struct sampler_opts *o, size_t n_vocab,
	struct cerr *e)
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
	if (!(s->c = malloc(n_vocab * sizeof *s->c)))
		return cerr_set(e, "out of memory");
	s->cap = n_vocab;
	return 0;
}

void
sampler_free(struct sampler *s)
{
	free(s->c);
	s->c = NULL;
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

/* Move the k best candidates (in by_logit order) to the front, in O(n log k):
 * a min-heap of the best seen so far. Returns k. */
static size_t
select_top(struct cand *c, size_t n, size_t k)
{
	for (size_t i = k / 2; i-- > 0;)
		sift_down(c, k, i);
	for (size_t i = k; i < n; i++) {
		if (by_logit(&c[i], &c[0]) >= 0)
			continue;
		c[0] = c[i];
		sift_down(c, k, 0);
	}
	return k;
}

/* p = softmax(logit / 1) over the n candidates (sorted, max first). */
static void
softmax(struct cand *c, size_t n)
{
	double sum = 0.0;

	for (size_t i = 0; i < n; i++) {
		c[i].p = expf(c[i].logit - c[0].logit);
		sum += c[i].p;
	}
	for (size_t i = 0; i < n; i++)
		c[i].p = (float)(c[i].p / sum);
}

static void
penalties(const struct sampler_opts *o, struct cand *c, const int32_t *h,
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
		if (c[id].logit <= 0)
			c[id].logit *= o->repeat_penalty;
		else
			c[id].logit /= o->repeat_penalty;
		c[id].logit -= (float)count * o->freq_penalty + o->presence_penalty;
	}
}

static size_t
top_p(struct cand *c, size_t n, float p)
{
	double cum = 0.0;

	if (p >= 1.0f)
		return n;
	softmax(c, n);
	for (size_t i = 0; i < n; i++) {
		cum += c[i].p;
		if (cum >= p)
			return i + 1;
	}
	return n;
}

static size_t
min_p(struct cand *c, size_t n, float p)
{
	size_t k = 1;

	if (p <= 0.0f)
		return n;
	softmax(c, n);
	while (k < n && c[k].p >= p * c[0].p)
		k++;
	return k;
}

/* Locally typical sampling: keep the tokens whose surprise is closest to
 * the entropy, up to mass p. */
static size_t
typical(struct cand *c, size_t n, float p)
{
	double ent = 0.0, cum = 0.0;
	size_t k;
	float *score;

	if (p >= 1.0f || n < 2 || !(score = malloc(n * sizeof *score)))
		return n;
	softmax(c, n);
	for (size_t i = 0; i < n; i++)
		if (c[i].p > 0)
			ent -= c[i].p * log(c[i].p);
	for (size_t i = 0; i < n; i++)
		score[i] = (float)fabs(-log(c[i].p) - ent);
	/* selection sort by score: n is already cut by top-k in practice */
	for (k = 0; k < n; k++) {
		size_t best = k;

		for (size_t j = k + 1; j < n; j++)
			if (score[j] < score[best])
				best = j;
		struct cand t = c[k];
		float ts = score[k];

		c[k] = c[best];
		c[best] = t;
		score[k] = score[best];
		score[best] = ts;
		cum += c[k].p;
		if (cum >= p) {
			k++;
			break;
		}
	}
	free(score);
	qsort(c, k, sizeof *c, by_logit);
	return k;
}

static size_t
draw(struct sampler *s, struct cand *c, size_t n)
{
	double r = sampler_uniform(s), cum = 0.0;

	softmax(c, n);
	for (size_t i = 0; i < n; i++) {
		cum += c[i].p;
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
	float surprise;

	softmax(c, n);
	while (k < n && -log2f(c[k].p) <= s->mu)
		k++;
	pick = draw(s, c, k);
	softmax(c, n);
	surprise = -log2f(c[pick].p);
	s->mu -= s->o.mirostat_eta * (surprise - s->o.mirostat_tau);
	return pick;
}

int32_t
sample(struct sampler *s, const float *logits, size_t n_vocab,
	const int32_t *history, size_t n_hist, struct cerr *e)
{
	const struct sampler_opts *o = &s->o;
	struct cand *c = s->c;
	size_t n = 0;

	for (size_t i = 0; i < n_vocab; i++) {
		float l = logits[i];

		c[i] = (struct cand){ (int32_t)i, isnan(l) ? -INFINITY : l, 0 };
	}
	for (size_t i = 0; i < o->n_bias; i++)
		if (o->bias[i].id >= 0 && (size_t)o->bias[i].id < n_vocab)
			c[o->bias[i].id].logit += o->bias[i].v;
	penalties(o, c, history, n_hist, n_vocab);
	for (size_t i = 0; i < n_vocab; i++)    /* drop -inf (and NaN) */
		if (c[i].logit > -INFINITY)
			c[n++] = c[i];
	if (n == 0)
		return cerr_set(e, "no candidate left: every logit is NaN or "
		    "-inf");
	for (size_t i = 0; i < n; i++)          /* +inf: only those count */
		if (isinf(c[i].logit)) {
			size_t k = 0;

			for (size_t j = 0; j < n; j++)
				if (isinf(c[j].logit))
					c[k++] = (struct cand){ c[j].id, 0.0f, 0 };
			n = k;
			break;
		}
	if (o->temp <= 0.0f) {          /* greedy: no need to sort */
		size_t best = 0;

		for (size_t i = 1; i < n; i++)
			if (by_logit(&c[i], &c[best]) < 0)
				best = i;
		return c[best].id;
	}
	if (o->mirostat != 2 && o->top_k > 0 && (size_t)o->top_k < n)
		n = select_top(c, n, (size_t)o->top_k);
	qsort(c, n, sizeof *c, by_logit);
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
