/* tok.c: what every vocabulary shares: the piece map, special tokens split
 * out of the text before the model's own algorithm runs, BOS/EOS/SEP,
 * pieces. */
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "tok.h"
#include "tok_kind.h"

/* What tok.h shows, then the dispatcher's state and the kind's. */
struct tokenizer {
	struct tok pub;         /* first: a struct tok * points here */
	struct strmap pieces;   /* piece text -> id */
	int32_t *special;       /* control/user-defined ids, longest first */
	uint32_t n_special;
	struct bpe *bpe;        /* one of these four, by v->kind */
	struct spm *spm;
	struct wpm *wpm;
	struct ugm *ugm;
};

/* ---- open ---- */

static const struct vocab *sort_vocab;

static int
by_length_desc(const void *a, const void *b)
{
	uint64_t la = sort_vocab->text[*(const int32_t *)a].len;
	uint64_t lb = sort_vocab->text[*(const int32_t *)b].len;

	if (la != lb)
		return la < lb ? 1 : -1;
	return *(const int32_t *)a - *(const int32_t *)b;
}

static int
is_special(const struct vocab *v, uint32_t i)
{
	return (v->types[i] == TOKTYPE_CONTROL ||
	    v->types[i] == TOKTYPE_USER_DEFINED ||
	    v->types[i] == TOKTYPE_UNKNOWN) && v->text[i].len > 0;
}

static int
open_kind(struct tokenizer *t, const struct gguf *g, struct cerr *e)
{
	const struct vocab *v = t->pub.v;

	switch (v->kind) {
	case VOCAB_BPE:
		return (t->bpe = bpe_open(g, v, &t->pieces, e)) ? 0 : -1;
	case VOCAB_WPM:
		return (t->wpm = wpm_open(g, v, &t->pieces, e)) ? 0 : -1;
	case VOCAB_UGM:
		return (t->ugm = ugm_open(g, v, e)) ? 0 : -1;
	default:
		return (t->spm = spm_open(g, v, &t->pieces, e)) ? 0 : -1;
	}
}

struct tok *
tok_open(const struct gguf *g, const struct vocab *v, struct cerr *e)
{
	struct tokenizer *t = calloc(1, sizeof *t);

	if (!t) {
		cerr_set(e, "out of memory");
		return NULL;
	}
	if (strmap_init(&t->pieces, v->n) < 0 ||
	    !(t->special = malloc(v->n * sizeof *t->special))) {
		cerr_set(e, "out of memory");
		goto fail;
	}
	t->pub.v = v;
	/* Backwards, so a duplicated text maps to its last id, as llama.cpp's
	 * token_to_id[text] = id keeps it. */
	for (uint32_t i = v->n; i-- > 0;)
		if (v->text[i].len <= UINT32_MAX)
			strmap_put(&t->pieces, v->text[i].p,
			    (uint32_t)v->text[i].len, (int32_t)i);
	for (uint32_t i = 0; i < v->n; i++)
		if (is_special(v, i))
			t->special[t->n_special++] = (int32_t)i;
	sort_vocab = v;
	qsort(t->special, t->n_special, sizeof *t->special, by_length_desc);
	if (open_kind(t, g, e) < 0)
		goto fail;
	return &t->pub;
fail:
	tok_close(&t->pub);
	return NULL;
}

void
tok_close(struct tok *pub)
{
	struct tokenizer *t = (struct tokenizer *)pub;

	if (!t)
		return;
	bpe_close(t->bpe);
	spm_close(t->spm);
	wpm_close(t->wpm);
	ugm_close(t->ugm);
	strmap_free(&t->pieces);
	free(t->special);
	free(t);
}

/* ---- encode ---- */

struct enc {
	const struct tokenizer *t;
	int parse_special;
	int first;              /* no text fragment since the start or since a
	                         * special token */
	struct ids *out;
	struct cerr *e;
};

static int
encode_text(struct enc *c, const char *s, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if (c->t->bpe)
		r = bpe_encode(c->t->bpe, s, n, c->out, c->e);
	else if (c->t->wpm)
		r = wpm_encode(c->t->wpm, s, n, c->out, c->e);
	else if (c->t->ugm)
		r = ugm_encode(c->t->ugm, s, n, c->out, c->e);
	else
		r = spm_encode(c->t->spm, s, n, c->first, c->out, c->e);
	c->first = 0;
	return r;
}

static void *
find_bytes(const char *s, size_t n, const char *p, size_t m)
{
	if (m == 0 || m > n)
		return NULL;
	for (const char *q = s; (q = memchr(q, p[0], n - m + 1 -
	    (size_t)(q - s))) != NULL; q++)
		if (memcmp(q, p, m) == 0)
			return (void *)q;
	return NULL;
}

/* isspace() in the C locale, as llama.cpp strips around special tokens */
static int
is_space(char ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

/* Split s at every occurrence of special token k (longest tokens first),
 * then look in the pieces between for the tokens after k. Control tokens
 * count only with parse_special; user-defined ones always (llama.cpp). A
 * token with lstrip/rstrip takes the whitespace before/after it along. */
static int
partition(struct enc *c, const char *s, size_t n, uint32_t k)
{
	const struct vocab *v = c->t->pub.v;

	for (; k < c->t->n_special; k++) {
		int32_t id = c->t->special[k];
		size_t len = (size_t)v->text[id].len, left;
		const char *at;

		if (!c->parse_special && v->types[id] != TOKTYPE_USER_DEFINED)
			continue;
		if (!(at = find_bytes(s, n, v->text[id].p, len)))
			continue;
		while (at) {
			left = (size_t)(at - s);
			if (v->strip[id] & VOCAB_LSTRIP)
				while (left > 0 && is_space(s[left - 1]))
					left--;
			if (partition(c, s, left, k + 1) < 0)
				return -1;
			if (ids_push(c->out, id) < 0)
				return cerr_set(c->e, "out of memory");
			/* SentencePiece's space prefix goes on the text after
			 * every special token, as on the first (llama.cpp) */
			c->first = 1;
			n -= (size_t)(at - s) + len;
			s = at + len;
			if (v->strip[id] & VOCAB_RSTRIP)
				for (; n > 0 && is_space(*s); n--)
					s++;
			at = find_bytes(s, n, v->text[id].p, len);
		}
		return partition(c, s, n, k + 1);
	}
	return encode_text(c, s, n);
}

int
tok_encode(struct tok *pub, const char *text, size_t len, int add_special,
	int parse_special, struct ids *out, struct cerr *e)
{
	const struct tokenizer *t = (const struct tokenizer *)pub;
	struct enc c = { t, parse_special, 1, out, e };
	const struct vocab *v = pub->v;

	if (add_special && v->add_bos && v->bos >= 0 && ids_push(out, v->bos) < 0)
		return cerr_set(e, "out of memory");
	if (partition(&c, text, len, 0) < 0)
		return -1;
	if (add_special && v->add_eos && v->eos >= 0 && ids_push(out, v->eos) < 0)
		return cerr_set(e, "out of memory");
	if (add_special && v->add_sep && v->sep >= 0 && ids_push(out, v->sep) < 0)
		return cerr_set(e, "out of memory");
	return 0;
}

int
tok_piece(const struct tok *pub, int32_t id, int special, char *buf,
	size_t cap)
{
	const struct tokenizer *t = (const struct tokenizer *)pub;
	const struct vocab *v = pub->v;

	if (id < 0 || (uint32_t)id >= v->n)
		return -1;
	if ((v->types[id] == TOKTYPE_CONTROL ||
	    v->types[id] == TOKTYPE_UNKNOWN || v->types[id] == TOKTYPE_UNUSED) &&
	    !special)
		return 0;
	if ((v->types[id] == TOKTYPE_CONTROL ||
	    v->types[id] == TOKTYPE_USER_DEFINED ||
	    v->types[id] == TOKTYPE_UNKNOWN)) {
		size_t n = v->text[id].len < cap ? (size_t)v->text[id].len : cap;

		memcpy(buf, v->text[id].p, n);
		return (int)n;
	}
	if (t->bpe)
		return bpe_piece(t->bpe, id, buf, cap);
	if (t->spm)
		return spm_piece(t->spm, id, buf, cap);
	return sp_piece(v, id, buf, cap);
}
