/* tok.c: what every vocabulary shares: the piece map, special tokens split
 * out of the text before the model's own algorithm runs, BOS/EOS, pieces. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "tok.h"

int
ids_push(struct ids *l, int32_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		int32_t *p = realloc(l->v, cap * sizeof *p);

		if (!p)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

void
ids_free(struct ids *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* ---- string map ---- */

int
strmap_init(struct strmap *m, uint32_t n)
{
	uint32_t cap = 64;

	while (cap < 2 * n)
		cap *= 2;
	m->cap = cap;
	m->key = calloc(cap, sizeof *m->key);
	m->klen = calloc(cap, sizeof *m->klen);
	m->val = calloc(cap, sizeof *m->val);
	return m->key && m->klen && m->val ? 0 : -1;
}

void
strmap_free(struct strmap *m)
{
	free(m->key);
	free(m->klen);
	free(m->val);
	memset(m, 0, sizeof *m);
}

static uint32_t
slot(const struct strmap *m, const char *k, uint32_t len)
{
	uint32_t i = (uint32_t)XXH3_64bits(k, len) & (m->cap - 1);

	while (m->key[i] && (m->klen[i] != len || memcmp(m->key[i], k, len)))
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* Keys are not copied. The first value stored for a key wins, as when
 * llama.cpp maps a duplicated piece to its first id. */
int
strmap_put(struct strmap *m, const char *k, uint32_t len, int32_t v)
{
	uint32_t i = slot(m, k, len);

	if (m->key[i])
		return 0;
	m->key[i] = k ? k : "";
	m->klen[i] = len;
	m->val[i] = v;
	return 0;
}

int32_t
strmap_get(const struct strmap *m, const char *k, uint32_t len)
{
	uint32_t i = slot(m, k, len);

	return m->key[i] ? m->val[i] : -1;
}

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
	return v->types && (v->types[i] == TOKTYPE_CONTROL ||
	    v->types[i] == TOKTYPE_USER_DEFINED ||
	    v->types[i] == TOKTYPE_UNKNOWN) && v->text[i].len > 0;
}

struct tok *
tok_open(const struct gguf *g, const struct vocab *v, struct cerr *e)
{
	struct tok *t = calloc(1, sizeof *t);
	int r;

	if (!t || strmap_init(&t->pieces, v->n) < 0 ||
	    !(t->special = malloc(v->n * sizeof *t->special))) {
		cerr_set(e, "out of memory");
		goto fail;
	}
	t->v = v;
	for (uint32_t i = 0; i < v->n; i++) {
		if (v->text[i].len > UINT32_MAX)
			continue;
		strmap_put(&t->pieces, v->text[i].p, (uint32_t)v->text[i].len,
		    (int32_t)i);
		if (is_special(v, i))
			t->special[t->n_special++] = (int32_t)i;
	}
	sort_vocab = v;
	qsort(t->special, t->n_special, sizeof *t->special, by_length_desc);
	r = v->kind == VOCAB_BPE ? bpe_init(t, g, e) : spm_init(t, g, e);
	if (r < 0)
		goto fail;
	return t;
fail:
	tok_close(t);
	return NULL;
}

void
tok_close(struct tok *t)
{
	if (!t)
		return;
	bpe_free(t);
	strmap_free(&t->pieces);
	free(t->special);
	free(t);
}

/* ---- encode ---- */

struct enc {
	struct tok *t;
	int parse_special;
	int first;              /* no text fragment encoded yet */
	struct ids *out;
	struct cerr *e;
};

static int
encode_text(struct enc *c, const char *s, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	r = c->t->v->kind == VOCAB_BPE ? bpe_encode(c->t, s, n, c->out, c->e) :
	    spm_encode(c->t, s, n, c->first, c->out, c->e);
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

/* Split s at every occurrence of special token k (longest tokens first),
 * then look in the pieces between for the tokens after k. Control tokens
 * count only with parse_special; user-defined ones always (llama.cpp). */
static int
partition(struct enc *c, const char *s, size_t n, uint32_t k)
{
	const struct vocab *v = c->t->v;

	for (; k < c->t->n_special; k++) {
		int32_t id = c->t->special[k];
		const char *at;

		if (!c->parse_special && v->types[id] != TOKTYPE_USER_DEFINED)
			continue;
		if (!(at = find_bytes(s, n, v->text[id].p, v->text[id].len)))
			continue;
		while (at) {
			if (partition(c, s, (size_t)(at - s), k + 1) < 0)
				return -1;
			if (ids_push(c->out, id) < 0)
				return cerr_set(c->e, "out of memory");
			c->first = 0;
			n -= (size_t)(at - s) + v->text[id].len;
			s = at + v->text[id].len;
			at = find_bytes(s, n, v->text[id].p, v->text[id].len);
		}
		return partition(c, s, n, k + 1);
	}
	return encode_text(c, s, n);
}

int
tok_encode(struct tok *t, const char *text, size_t len, int add_special,
	int parse_special, struct ids *out, struct cerr *e)
{
	struct enc c = { t, parse_special, 1, out, e };
	const struct vocab *v = t->v;

	if (add_special && v->add_bos && v->bos >= 0 && ids_push(out, v->bos) < 0)
		return cerr_set(e, "out of memory");
	if (partition(&c, text, len, 0) < 0)
		return -1;
	if (add_special && v->add_eos && v->eos >= 0 && ids_push(out, v->eos) < 0)
		return cerr_set(e, "out of memory");
	return 0;
}

int
tok_piece(const struct tok *t, int32_t id, int special, char *buf, size_t cap)
{
	const struct vocab *v = t->v;

	if (id < 0 || (uint32_t)id >= v->n)
		return -1;
	if (v->types && (v->types[id] == TOKTYPE_CONTROL ||
	    v->types[id] == TOKTYPE_UNKNOWN || v->types[id] == TOKTYPE_UNUSED) &&
	    !special)
		return 0;
	if (v->types && (v->types[id] == TOKTYPE_CONTROL ||
	    v->types[id] == TOKTYPE_USER_DEFINED ||
	    v->types[id] == TOKTYPE_UNKNOWN)) {
		size_t n = v->text[id].len < cap ? (size_t)v->text[id].len : cap;

		memcpy(buf, v->text[id].p, n);
		return (int)n;
	}
	return v->kind == VOCAB_BPE ? bpe_piece(t, id, buf, cap) :
	    spm_piece(t, id, buf, cap);
}
