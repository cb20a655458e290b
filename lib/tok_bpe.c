/* tok_bpe.c: byte-level BPE (tokenizer.ggml.model = gpt2).
 *
 * 1. Pre-tokenize: split the text into words with the rules that
 *    tokenizer.ggml.pre names (pretok.c).
 * 2. Map each byte of a word to a printable codepoint (GPT-2's
 *    bytes_to_unicode) so every byte string is a string of "characters".
 * 3. Merge adjacent symbols, always the pair of lowest merge rank first
 *    (leftmost among equals), until no pair has a rank. Llama 3's
 *    vocabularies (llama.cpp's ignore_merges) take a word that is a piece
 *    as it is, without merging: merges alone may not reach it.
 * 4. Each final symbol is a piece of the vocab; one that is not falls back
 *    to its single-byte pieces.
 * A few pre-tokenizers (whitespace, sarvam-moe, gemma4: PRETOK_RAW) skip
 * step 2: BPE runs on the UTF-8 characters, and bytes fall back to <0xXX>
 * pieces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pretok.h"
#include "tok_kind.h"
#include "unicode.h"

struct bpe {
	const struct vocab *v;
	const struct strmap *pieces;    /* piece text -> id (tok.c's) */
	struct pretok *pre;     /* from tokenizer.ggml.pre */
	int ignore_merges;      /* a word that is a piece is that piece */
	int raw;                /* no byte mapping (PRETOK_RAW) */
	struct strmap merges;   /* "left right" -> rank */
	int32_t byte_tok[256];  /* each byte's single-byte (raw: <0xXX>) piece */
};

/* ---- bytes <-> printable codepoints (GPT-2) ---- */

static uint32_t byte_cp[256];   /* byte -> codepoint */

static void
init_byte_map(void)
{
	uint32_t next = 256;

	for (int b = 0; b < 256; b++) {
		if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) ||
		    (b >= 0xae && b <= 0xff))
			byte_cp[b] = (uint32_t)b;
		else
			byte_cp[b] = next++;
	}
}

/* Length of the UTF-8 character lead byte c starts, as llama.cpp's
 * unicode_len_utf8 (a continuation byte counts as one). */
static size_t
utf8_lead_len(char c)
{
	unsigned char u = (unsigned char)c;

	return u < 0xc0 ? 1 : u < 0xe0 ? 2 : u < 0xf0 ? 3 : 4;
}

/* codepoint -> byte, -1 if cp is not in the map */
static int
cp_byte(uint32_t cp)
{
	if (cp < 256 && byte_cp[cp] == cp)
		return (int)cp;
	for (int b = 0; b < 256; b++)
		if (byte_cp[b] == cp)
			return b;
	return -1;
}

/* ---- init ---- */

static int
load_merges(struct bpe *t, const struct gguf *g, struct cerr *e)
{
	const struct gguf_kv *kv = gguf_kv_get(g, "tokenizer.ggml.merges");
	struct gguf_str *m;
	uint32_t n;

	if (!kv || kv->val.type != GGUF_ARRAY ||
	    kv->val.v.arr.type != GGUF_STRING || kv->val.v.arr.n > INT32_MAX)
		return cerr_set(e, "%s: tokenizer.ggml.merges: missing or not an "
		    "array of strings", g->path);
	n = (uint32_t)kv->val.v.arr.n;
	if (!(m = malloc((n + 1) * sizeof *m)) ||
	    strmap_init(&t->merges, n) < 0) {
		free(m);
		return cerr_set(e, "out of memory");
	}
	if (gguf_arr_strs(g, &kv->val, m, e) < 0) {
		free(m);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++)
		if (m[i].len <= UINT32_MAX)
			strmap_put(&t->merges, m[i].p, (uint32_t)m[i].len,
			    (int32_t)i);
	free(m);
	return 0;
}

struct bpe *
bpe_open(const struct gguf *g, const struct vocab *v,
	const struct strmap *pieces, struct cerr *e)
{
	struct bpe *t = calloc(1, sizeof *t);

	if (!t) {
		cerr_set(e, "out of memory");
		return NULL;
	}
	init_byte_map();
	t->v = v;
	t->pieces = pieces;
	if (!(t->pre = pretok_open(v->pre.p, (size_t)v->pre.len, e))) {
		cerr_prefix(e, "%s", g->path);
		goto fail;
	}
	t->ignore_merges = pretok_flags(t->pre) & PRETOK_IGNORE_MERGES;
	t->raw = (pretok_flags(t->pre) & PRETOK_RAW) != 0;
	if (load_merges(t, g, e) < 0)
		goto fail;
	for (int b = 0; b < 256; b++) {
		char s[8];
		int n = t->raw ? snprintf(s, sizeof s, "<0x%02X>", b) :
		    utf8_encode(byte_cp[b], s);

		t->byte_tok[b] = strmap_get(pieces, s, (uint32_t)n);
	}
	return t;
fail:
	bpe_close(t);
	return NULL;
}

void
bpe_close(struct bpe *t)
{
	if (!t)
		return;
	strmap_free(&t->merges);
	pretok_close(t->pre);
	free(t);
}

/* ---- merging ---- */

/* A symbol of the word being merged, in a doubly linked list. */
struct sym {
	uint32_t start, len;    /* bytes of the mapped word; len 0: merged away */
	int32_t prev, next;     /* neighbours, -1 at the ends */
};

/* A candidate merge of symbols left and right = sy[left].next. The queue
 * takes the lowest key first: the rank, then the leftmost, as llama.cpp's
 * comparator does. */
struct cand {
	uint64_t key;           /* rank << 32 | left */
	uint32_t size;          /* bytes of the pair when it was queued */
	int32_t right;
};

struct queue {
	struct cand *c;
	size_t n, cap;
};

static int
queue_push(struct queue *q, struct cand x)
{
	size_t i;

	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct cand *p = realloc(q->c, cap * sizeof *p);

		if (!p)
			return -1;
		q->c = p;
		q->cap = cap;
	}
	for (i = q->n++; i > 0 && x.key < q->c[(i - 1) / 2].key; i = (i - 1) / 2)
		q->c[i] = q->c[(i - 1) / 2];
	q->c[i] = x;
	return 0;
}

static struct cand
queue_pop(struct queue *q)
{
	struct cand top = q->c[0], last = q->c[--q->n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < q->n) {
		if (c + 1 < q->n && q->c[c + 1].key < q->c[c].key)
			c++;
		if (last.key <= q->c[c].key)
			break;
		q->c[i] = q->c[c];
		i = c;
	}
	if (q->n)
		q->c[i] = last;
	return top;
}

/* Queue the pair (l, r) if the merges have it. key has room for both. */
static int
queue_pair(const struct bpe *t, const char *w, const struct sym *sy,
	int32_t l, int32_t r, char *key, struct queue *q)
{
	const struct sym *a = &sy[l], *b = &sy[r];
	int32_t rank;

	if (l < 0 || r < 0)
		return 0;
	memcpy(key, w + a->start, a->len);
	key[a->len] = ' ';
	memcpy(key + a->len + 1, w + b->start, b->len);
	rank = strmap_get(&t->merges, key, a->len + 1 + b->len);
	if (rank < 0)
		return 0;
	return queue_push(q, (struct cand){ (uint64_t)rank << 32 | (uint32_t)l,
	    a->len + b->len, r });
}

/* BPE of one word given as raw bytes: the pair of lowest rank merges first
 * (leftmost among equals). Pairs wait in a queue; one whose sides changed
 * since it was queued is stale and skipped, so each merge costs O(log n). */
static int
bpe_word(const struct bpe *t, const char *s, size_t n, struct ids *out,
	struct cerr *e)
{
	char *w = malloc(4 * n + 1), *key = malloc(8 * n + 2);
	struct sym *sy = malloc(n * sizeof *sy);
	struct queue q = { 0 };
	size_t ns = 0, wl = 0;
	int r = -1;

	if (!w || !key || !sy) {
		cerr_set(e, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n;) {
		size_t k, used;

		if (t->raw) {   /* one UTF-8 character, by its lead byte */
			k = used = utf8_lead_len(s[i]) < n - i ?
			    utf8_lead_len(s[i]) : n - i;
			memcpy(w + wl, s + i, k);
		} else {
			k = (size_t)utf8_encode(byte_cp[(unsigned char)s[i]], w + wl);
			used = 1;
		}
		i += used;
		sy[ns] = (struct sym){ (uint32_t)wl, (uint32_t)k,
		    (int32_t)ns - 1, i < n ? (int32_t)ns + 1 : -1 };
		ns++;
		wl += k;
	}
	if (t->ignore_merges && wl <= UINT32_MAX &&
	    strmap_get(t->pieces, w, (uint32_t)wl) >= 0) {
		sy[0] = (struct sym){ 0, (uint32_t)wl, -1, -1 };
		ns = 1;
	}
	for (size_t i = 1; i < ns; i++)
		if (queue_pair(t, w, sy, (int32_t)i - 1, (int32_t)i, key, &q) < 0)
			goto oom;
	while (q.n) {
		struct cand c = queue_pop(&q);
		int32_t l = (int32_t)(uint32_t)c.key;
		struct sym *a = &sy[l], *b = &sy[c.right];

		if (a->len == 0 || b->len == 0 || a->len + b->len != c.size)
			continue;       /* stale: a side merged since */
		a->len += b->len;
		b->len = 0;
		a->next = b->next;
		if (b->next >= 0)
			sy[b->next].prev = l;
		if (queue_pair(t, w, sy, a->prev, l, key, &q) < 0 ||
		    queue_pair(t, w, sy, l, a->next, key, &q) < 0)
			goto oom;
	}
	for (int32_t i = ns ? 0 : -1; i >= 0; i = sy[i].next) {
		int32_t id = strmap_get(t->pieces, w + sy[i].start, sy[i].len);

		if (id >= 0) {
			if (ids_push(out, id) < 0)
				goto oom;
			continue;
		}
		for (uint32_t k = 0; k < sy[i].len;) {  /* byte fallback */
			uint32_t cp;
			int l = t->raw ? 1 : utf8_decode(w + sy[i].start + k,
			    sy[i].len - k, &cp);
			int b = t->raw ? (unsigned char)w[sy[i].start + k] :
			    cp_byte(cp);

			if (b >= 0 && t->byte_tok[b] >= 0 &&
			    ids_push(out, t->byte_tok[b]) < 0)
				goto oom;
			k += (uint32_t)l;
		}
	}
	r = 0;
	goto done;
oom:
	cerr_set(e, "out of memory");
done:
	free(w);
	free(key);
	free(sy);
	free(q.c);
	return r;
}

/* The codepoints of s and the byte offset of each (and of the end). */
struct cps {
	uint32_t *cp;
	uint32_t *off;
	size_t n;
};

static int
decode(const char *s, size_t n, struct cps *c)
{
	c->cp = malloc((n + 1) * sizeof *c->cp);
	c->off = malloc((n + 1) * sizeof *c->off);
	c->n = 0;
	if (!c->cp || !c->off || n > UINT32_MAX) {
		free(c->cp);
		free(c->off);
		return -1;
	}
	for (size_t i = 0; i < n;) {
		c->off[c->n] = (uint32_t)i;
		i += (size_t)utf8_decode(s + i, n - i, &c->cp[c->n]);
		c->n++;
	}
	c->off[c->n] = (uint32_t)n;
	return 0;
}

/* Pre-tokenize s; the words through BPE, or (pieces NULL, for tests)
 * their byte lengths to out. */
static int
encode(const struct bpe *t, const struct pretok *pre, const char *s, size_t n,
	struct ids *out, struct cerr *e)
{
	struct ids words = { 0 };
	struct cps c;
	size_t pos = 0;
	int r = -1;

	if (decode(s, n, &c) < 0)
		return cerr_set(e, "out of memory");
	if (pretok_split(pre, c.cp, c.n, &words, e) < 0)
		goto done;
	for (size_t i = 0; i < words.n; i++) {
		size_t a = c.off[pos], b = c.off[pos + (size_t)words.v[i]];

		pos += (size_t)words.v[i];
		if (!t) {
			if (ids_push(out, (int32_t)(b - a)) < 0) {
				cerr_set(e, "out of memory");
				goto done;
			}
		} else if (bpe_word(t, s + a, b - a, out, e) < 0) {
			goto done;
		}
	}
	r = 0;
done:
	ids_free(&words);
	free(c.cp);
	free(c.off);
	return r;
}

int
bpe_encode(const struct bpe *t, const char *s, size_t n, struct ids *out,
	struct cerr *e)
{
	return encode(t, t->pre, s, n, out, e);
}

/* The pre-tokenizer alone: byte lengths of the words of s, for tests. */
int
bpe_pretokenize(const char *name, const char *s, size_t n, struct ids *out,
	struct cerr *e)
{
	struct pretok *pre = pretok_open(name, strlen(name), e);
	int r;

	if (!pre)
		return -1;
	r = encode(NULL, pre, s, n, out, e);
	pretok_close(pre);
	return r;
}

int
bpe_piece(const struct bpe *t, int32_t id, char *buf, size_t cap)
{
	struct gguf_str p = t->v->text[id];
	size_t n = 0;
	unsigned b;

	if (t->raw) {   /* the text as it is; <0xXX> is that byte */
		if (p.len == 6 && !memcmp(p.p, "<0x", 3) && p.p[5] == '>' &&
		    sscanf(p.p + 3, "%2x", &b) == 1 && cap > 0) {
			buf[0] = (char)b;
			return 1;
		}
		n = p.len < cap ? (size_t)p.len : cap;
		memcpy(buf, p.p, n);
		return (int)n;
	}

	for (uint64_t i = 0; i < p.len && n < cap;) {
		uint32_t cp;
		int l = utf8_decode(p.p + i, (size_t)(p.len - i), &cp);
		int b = cp_byte(cp);

		if (b >= 0) {
			buf[n++] = (char)b;
		} else {        /* not byte-level: the text as it is */
			size_t k = (size_t)l <= cap - n ? (size_t)l : cap - n;

			memcpy(buf + n, p.p + i, k);
			n += k;
		}
		i += (uint64_t)l;
	}
	return (int)n;
}
