/* sample.h: choosing the next token from logits.
 *
 * The chain, in llama.cpp's default order: logit bias, repetition /
 * frequency / presence penalties over the last N tokens, top-k, typical,
 * top-p, min-p, temperature, then a seeded draw (or mirostat v2 in place of
 * the filters). Temperature 0 is greedy. */
#ifndef CHORD_SAMPLE_H
#define CHORD_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct bias {
	int32_t id;
	float v;
};

struct sampler_opts {
	float temp;             /* 0: greedy */
	int top_k;              /* 0: off */
	float top_p;            /* 1: off */
	float min_p;            /* 0: off */
	float typical;          /* 1: off */
	float repeat_penalty;   /* 1: off */
	int repeat_last_n;      /* tokens of history the penalties see */
	float freq_penalty;
	float presence_penalty;
	int mirostat;           /* 0 or 2 */
	float mirostat_tau, mirostat_eta;
	struct bias *bias;
	size_t n_bias;
	uint64_t seed;
};

void sampler_defaults(struct sampler_opts *o);

/* A token still in the draw. Probabilities are computed when needed, not
 * stored: with a vocabulary of 2^24 every byte here costs 16 MiB. */
struct cand {
	int32_t id;
	float logit;
};

struct sampler {
	struct sampler_opts o;
	uint64_t rng[4];
	float mu;               /* mirostat state */
	struct cand *c;         /* top-k candidates, or all with top-k off */
	size_t cap;
};

void sampler_init(struct sampler *s, const struct sampler_opts *o);
void sampler_free(struct sampler *s);

/* Pick a token. logits (n_vocab) is scratch: bias and penalties are applied
 * to it in place. history: the ids so far (oldest first). -1 with e filled
 * when no candidate is left (every logit NaN or -inf) or out of memory.
 * Memory: the candidates only; top-k K keeps K of them, not n_vocab. */
int32_t sample(struct sampler *s, float *logits, size_t n_vocab,
	const int32_t *history, size_t n_hist, struct cerr *e);

/* The distribution sample() draws from, as n_vocab probabilities in p
 * (0 for the tokens the chain cuts): bias, penalties, top-k, typical,
 * top-p, min-p and temperature; temperature 0 puts all the mass on the
 * greedy pick. For speculative decoding, which needs the target's and the
 * draft's probabilities of the same token. Mirostat has no fixed
 * distribution: -1. logits is scratch, as for sample(). */
int sample_probs(struct sampler *s, float *logits, size_t n_vocab,
	const int32_t *history, size_t n_hist, float *p, struct cerr *e);

/* Draw an index from the n weights w (>= 0, not all 0; need not sum to
 * 1). Returns -1 when they are all 0. */
int32_t sample_weights(struct sampler *s, const float *w, size_t n);

/* A uniform double in [0, 1) from the sampler's generator. */
double sampler_uniform(struct sampler *s);

#endif
