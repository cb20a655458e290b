/* tok_spm.c: SentencePiece-style tokenizing (tokenizer.ggml.model = llama).
 *
 * Spaces become U+2581 ('▁'); the text starts as one symbol per UTF-8
 * character; the adjacent pair whose concatenation is the piece of highest
 * score merges first (leftmost among equals), until no concatenation is a
 * piece. A final symbol that is no piece falls back to its bytes, <0xNN>. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_kind.h"
#include "unicode.h"

struct spm {
	const struct vocab *v;
	const struct strmap *pieces;    /* piece text -> id (tok.c's) */
	int add_space_prefix;   /* tokenizer.ggml.add_space_prefix (default 1) */
};

struct spm *
spm_open(const struct gguf *g, const struct vocab *v,
	const struct strmap *pieces, struct cerr *e)
{
	struct spm *t = calloc(1, sizeof *t);
	struct cerr ignore;
	int b;

	if (!t) {
		cerr_set(e, "out of memory");
		return NULL;
	}
	t->v = v;
	t->pieces = pieces;
	t->add_space_prefix = gguf_get_bool(g, "tokenizer.ggml.add_space_prefix",
	    &b, &ignore) < 0 ? 1 : b;
	return t;
}

void
spm_close(struct spm *t)
{
	free(t);
}

struct ssym {
	int prev, next;
	uint32_t start, len;    /* bytes of the escaped text; len 0: merged away */
};

struct bigram {
	float score;
	int left, right;
	uint32_t size;
};

struct heap {
	struct bigram *b;
	size_t n, cap;
};

/* b1 before b2: higher score, then the leftmost. */
static int
before(const struct bigram *b1, const struct bigram *b2)
{
	return b1->score > b2->score ||
	    (b1->score == b2->score && b1->left < b2->left);
}

static int
heap_push(struct heap *h, struct bigram x)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct bigram *p = realloc(h->b, cap * sizeof *p);

		if (!p)
			return -1;
		h->b = p;
		h->cap = cap;
	}
	for (i = h->n++; i > 0 && before(&x, &h->b[(i - 1) / 2]); i = (i - 1) / 2)
		h->b[i] = h->b[(i - 1) / 2];
	h->b[i] = x;
	return 0;
}

static struct bigram
heap_pop(struct heap *h)
{
	struct bigram top = h->b[0], last = h->b[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(&h->b[c + 1], &h->b[c]))
			c++;
		if (!before(&h->b[c], &last))
			break;
		h->b[i] = h->b[c];
		i = c;
	}
	if (h->n)
		h->b[i] = last;
	return top;
}

static int
try_bigram(const struct spm *t, const char *w, struct ssym *s, int l, int r,
	struct heap *h)
{
	int32_t id;

	if (l < 0 || r < 0)
		return 0;
	id = strmap_get(t->pieces, w + s[l].start, s[l].len + s[r].len);
	if (id < 0)
		return 0;
	return heap_push(h, (struct bigram){ t->v->scores ? t->v->scores[id] :
	    0.0f, l, r, s[l].len + s[r].len });
}

static int
emit(const struct spm *t, const char *w, const struct ssym *s, struct ids *out)
{
	int32_t id = strmap_get(t->pieces, w + s->start, s->len);

	if (id >= 0)
		return ids_push(out, id);
	for (uint32_t i = 0; i < s->len; i++) {     /* byte fallback */
		char name[8];

		snprintf(name, sizeof name, "<0x%02X>",
		    (unsigned char)w[s->start + i]);
		id = strmap_get(t->pieces, name, 6);
		if (id < 0)
			id = t->v->unk;
		if (id >= 0 && ids_push(out, id) < 0)
			return -1;
	}
	return 0;
}

int
spm_encode(const struct spm *t, const char *s, size_t n, int first,
	struct ids *out, struct cerr *e)
{
	size_t cap = 3 * (n + 1), wl = 0;
	char *w = malloc(cap);
	struct ssym *sy = NULL;
	struct heap h = { 0 };
	int ns = 0, r = -1;

	if (!w)
		return cerr_set(e, "out of memory");
	if (t->add_space_prefix && first) {
		memcpy(w, "\xe2\x96\x81", 3);
		wl = 3;
	}
	for (size_t i = 0; i < n; i++) {       /* ' ' -> U+2581 */
		if (s[i] == ' ') {
			memcpy(w + wl, "\xe2\x96\x81", 3);
			wl += 3;
		} else {
			w[wl++] = s[i];
		}
	}
	if (!(sy = malloc((wl + 1) * sizeof *sy)))
		goto oom;
	for (size_t i = 0; i < wl; ns++) {
		int l = utf8_valid(w + i, wl - i);

		l = l ? l : 1;
		sy[ns] = (struct ssym){ ns - 1, 0, (uint32_t)i, (uint32_t)l };
		i += (size_t)l;
	}
	for (int i = 0; i < ns; i++)
		sy[i].next = i + 1 < ns ? i + 1 : -1;
	for (int i = 1; i < ns; i++)
		if (try_bigram(t, w, sy, i - 1, i, &h) < 0)
			goto oom;
	while (h.n) {
		struct bigram b = heap_pop(&h);
		struct ssym *l = &sy[b.left], *rt = &sy[b.right];

		if (l->len == 0 || rt->len == 0 || l->len + rt->len != b.size)
			continue;       /* stale: one side merged since */
		l->len += rt->len;
		rt->len = 0;
		l->next = rt->next;
		if (rt->next >= 0)
			sy[rt->next].prev = b.left;
		if (try_bigram(t, w, sy, l->prev, b.left, &h) < 0 ||
		    try_bigram(t, w, sy, b.left, l->next, &h) < 0)
			goto oom;
	}
	for (int i = ns ? 0 : -1; i >= 0; i = sy[i].next)
		if (emit(t, w, &sy[i], out) < 0)
			goto oom;
	r = 0;
	goto done;
oom:
	cerr_set(e, "out of memory");
done:
	free(w);
	free(sy);
	free(h.b);
	return r;
}

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte of a piece that is exactly "<0xHH>", or -1. The piece's bytes
 * lie in the mapped file with no NUL after them: only its len are read. */
static int
byte_piece(const struct gguf_str *p)
{
	int hi, lo;

	if (p->len != 6 || memcmp(p->p, "<0x", 3) != 0 || p->p[5] != '>')
		return -1;
	if ((hi = hexdigit(p->p[3])) < 0 || (lo = hexdigit(p->p[4])) < 0)
		return -1;
	return hi << 4 | lo;
}

/* A token of type BYTE whose piece is not <0xHH> is shown as its text, as
 * any other piece: a malformed byte token is no byte. */
int
spm_piece(const struct spm *t, int32_t id, char *buf, size_t cap)
{
	struct gguf_str p = t->v->text[id];
	size_t n = 0;
	int b;

	if (t->v->types && t->v->types[id] == TOKTYPE_BYTE &&
	    (b = byte_piece(&p)) >= 0 && cap > 0) {
		buf[0] = (char)b;
		return 1;
	}
	for (uint64_t i = 0; i < p.len && n < cap;) {
		if (p.len - i >= 3 && memcmp(p.p + i, "\xe2\x96\x81", 3) == 0) {
			buf[n++] = ' ';
			i += 3;
		} else {
			buf[n++] = p.p[i++];
		}
	}
	return (int)n;
}
