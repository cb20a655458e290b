/* tok_bpe.c: byte-level BPE (tokenizer.ggml.model = gpt2).
 *
 * 1. Pre-tokenize: split the text into words with the regexes that
 *    tokenizer.ggml.pre names (hand-coded, on codepoint categories).
 * 2. Map each byte of a word to a printable codepoint (GPT-2's
 *    bytes_to_unicode) so every byte string is a string of "characters".
 * 3. Merge adjacent symbols, always the pair of lowest merge rank first
 *    (leftmost among equals), until no pair has a rank. Llama 3's
 *    vocabularies (llama.cpp's ignore_merges) take a word that is a piece
 *    as it is, without merging: merges alone may not reach it.
 * 4. Each final symbol is a piece of the vocab; one that is not falls back
 *    to its single-byte pieces. */
#include <stdlib.h>
#include <string.h>

#include "tok_kind.h"
#include "unicode.h"

enum bpe_pre {
	PRE_GPT2 = 1,           /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|... */
	PRE_SMOLLM,             /* \p{N} alone first, then GPT-2 */
	PRE_LLAMA3,             /* (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|... */
	PRE_QWEN2,              /* the same with \p{N} one digit at a time */
};

static const struct {
	const char *name;
	int pre;
} pre_names[] = {
	{ "default", PRE_GPT2 }, { "gpt2", PRE_GPT2 }, { "gpt-2", PRE_GPT2 },
	{ "smollm", PRE_SMOLLM }, { "starcoder", PRE_SMOLLM },
	{ "refact", PRE_SMOLLM }, { "codeshell", PRE_SMOLLM },
	{ "llama3", PRE_LLAMA3 }, { "llama-v3", PRE_LLAMA3 },
	{ "llama-bpe", PRE_LLAMA3 }, { "qwen2", PRE_QWEN2 },
};

struct bpe {
	const struct vocab *v;
	const struct strmap *pieces;    /* piece text -> id (tok.c's) */
	int pre;                /* enum bpe_pre, from tokenizer.ggml.pre */
	int ignore_merges;      /* a word that is a piece is that piece */
	struct strmap merges;   /* "left right" -> rank; empty: split only */
	int32_t byte_tok[256];  /* id of each byte's single-byte piece */
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
pre_kind(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof pre_names / sizeof *pre_names; i++)
		if (strlen(pre_names[i].name) == len &&
		    !memcmp(pre_names[i].name, name, len))
			return pre_names[i].pre;
	return 0;
}

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
	if (!(t->pre = pre_kind(v->pre.p, (size_t)v->pre.len))) {
		cerr_set(e, "%s: pre-tokenizer '%.*s' not supported", g->path,
		    (int)v->pre.len, v->pre.p);
		goto fail;
	}
	t->ignore_merges = t->pre == PRE_LLAMA3;
	if (load_merges(t, g, e) < 0)
		goto fail;
	for (int b = 0; b < 256; b++) {
		char s[4];
		int n = utf8_encode(byte_cp[b], s);

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
	free(t);
}

/* ---- pre-tokenizer ---- */

struct cps {
	uint32_t *cp;           /* codepoints of the text */
	uint32_t *off;          /* byte offset of each, plus one past the end */
	size_t n;
};

static unsigned
fl(const struct cps *c, size_t i, size_t end)
{
	return i < end ? ucat(c->cp[i]) : 0;
}

#define IS_L(f) ((f) & UCAT_LETTER)
#define IS_N(f) ((f) & UCAT_NUMBER)
#define IS_WS(f) ((f) & UCAT_WHITESPACE)
/* [^\s\p{L}\p{N}] over assigned codepoints, as llama.cpp tests it */
#define IS_OTHER(f) ((f) && !IS_WS(f) && !IS_L(f) && !IS_N(f))

/* Length of the GPT-2 word starting at pos, within [pos, end). */
static size_t
gpt2_word(const struct cps *c, size_t pos, size_t end)
{
	uint32_t ch = c->cp[pos];
	unsigned f = fl(c, pos, end), f2;
	size_t j, k;

	if (ch == '\'' && pos + 1 < end) {
		uint32_t a = c->cp[pos + 1], b = pos + 2 < end ? c->cp[pos + 2] : 0;

		if (a == 's' || a == 't' || a == 'm' || a == 'd')
			return 2;
		if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
		    (a == 'l' && b == 'l'))
			return 3;
	}
	f2 = ch == ' ' ? fl(c, pos + 1, end) : f;
	j = pos + (ch == ' ');
	if (IS_L(f2)) {
		while (j < end && IS_L(fl(c, j, end)))
			j++;
		return j - pos;
	}
	if (IS_N(f2)) {
		while (j < end && IS_N(fl(c, j, end)))
			j++;
		return j - pos;
	}
	if (IS_OTHER(f2)) {
		while (j < end && IS_OTHER(fl(c, j, end)))
			j++;
		return j - pos;
	}
	for (k = 0; pos + k < end && IS_WS(fl(c, pos + k, end)); k++)
		;
	if (k > 1 && pos + k < end)     /* \s+(?!\S): leave one for the word */
		return k - 1;
	return k > 0 ? k : 1;
}

static uint32_t
ascii_lower(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
is_crlf(uint32_t c)
{
	return c == '\r' || c == '\n';
}

/* Length of the Llama 3 word at pos (Qwen 2: max_digits 1):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ |
 *   \p{N}{1,max_digits} | ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ |
 *   \s+(?!\S) | \s+ */
static size_t
llama3_word(const struct cps *c, size_t pos, size_t end, int max_digits)
{
	uint32_t ch = c->cp[pos];
	unsigned f = fl(c, pos, end), f2;
	size_t j, k, last_nl = 0;

	if (ch == '\'' && pos + 1 < end) {
		uint32_t a = ascii_lower(c->cp[pos + 1]);
		uint32_t b = pos + 2 < end ? ascii_lower(c->cp[pos + 2]) : 0;

		if (a == 's' || a == 't' || a == 'm' || a == 'd')
			return 2;
		if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
		    (a == 'l' && b == 'l'))
			return 3;
	}
	if (!is_crlf(ch) && !IS_N(f) && (IS_L(f) || IS_L(fl(c, pos + 1, end)))) {
		for (j = pos + 1; j < end && IS_L(fl(c, j, end)); j++)
			;
		return j - pos;
	}
	if (IS_N(f)) {
		for (j = pos; j < end && j - pos < (size_t)max_digits &&
		    IS_N(fl(c, j, end)); j++)
			;
		return j - pos;
	}
	f2 = ch == ' ' ? fl(c, pos + 1, end) : f;
	if (IS_OTHER(f2) && f) {
		j = pos + (ch == ' ');
		while (j < end && IS_OTHER(fl(c, j, end)))
			j++;
		while (j < end && is_crlf(c->cp[j]))
			j++;
		return j - pos;
	}
	for (k = 0; pos + k < end && IS_WS(fl(c, pos + k, end)); k++)
		if (is_crlf(c->cp[pos + k]))
			last_nl = k + 1;
	if (last_nl)                    /* \s*[\r\n]+ */
		return last_nl;
	if (k > 1 && pos + k < end)     /* \s+(?!\S) */
		return k - 1;
	return k > 0 ? k : 1;
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
	for (size_t i = 0; i < n; i++) {
		int k = utf8_encode(byte_cp[(unsigned char)s[i]], w + wl);

		sy[ns] = (struct sym){ (uint32_t)wl, (uint32_t)k,
		    (int32_t)ns - 1, i + 1 < n ? (int32_t)ns + 1 : -1 };
		ns++;
		wl += (size_t)k;
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
			int l = utf8_decode(w + sy[i].start + k, sy[i].len - k,
			    &cp);
			int b = cp_byte(cp);

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

/* The words of [start, end) of the codepoints, each through BPE. */
static int
gpt2_split(const struct bpe *t, const char *s, const struct cps *c, size_t start,
	size_t end, struct ids *out, struct cerr *e)
{
	for (size_t pos = start; pos < end;) {
		size_t len = t->pre == PRE_LLAMA3 ? llama3_word(c, pos, end, 3) :
		    t->pre == PRE_QWEN2 ? llama3_word(c, pos, end, 1) :
		    gpt2_word(c, pos, end);

		if (!t->merges.cap) {   /* pre-tokenizing only (tests) */
			if (ids_push(out, (int32_t)(c->off[pos + len] -
			    c->off[pos])) < 0)
				return cerr_set(e, "out of memory");
			pos += len;
			continue;
		}

		if (bpe_word(t, s + c->off[pos], c->off[pos + len] - c->off[pos],
		    out, e) < 0)
			return -1;
		pos += len;
	}
	return 0;
}

int
bpe_encode(const struct bpe *t, const char *s, size_t n, struct ids *out,
	struct cerr *e)
{
	struct cps c = { malloc((n + 1) * sizeof *c.cp),
	    malloc((n + 1) * sizeof *c.off), 0 };
	int r = 0;

	if (!c.cp || !c.off) {
		free(c.cp);
		free(c.off);
		return cerr_set(e, "out of memory");
	}
	for (size_t i = 0; i < n;) {
		c.off[c.n] = (uint32_t)i;
		i += (size_t)utf8_decode(s + i, n - i, &c.cp[c.n]);
		c.n++;
	}
	c.off[c.n] = (uint32_t)n;
	if (t->pre == PRE_SMOLLM) {
		/* \p{N} first: every digit its own piece, then GPT-2 on each
		 * piece between them. */
		size_t a = 0;

		for (size_t i = 0; i <= c.n && r == 0; i++) {
			if (i < c.n && !IS_N(ucat(c.cp[i])))
				continue;
			r = gpt2_split(t, s, &c, a, i, out, e);
			if (r == 0 && i < c.n)
				r = gpt2_split(t, s, &c, i, i + 1, out, e);
			a = i + 1;
		}
	} else {
		r = gpt2_split(t, s, &c, 0, c.n, out, e);
	}
	free(c.cp);
	free(c.off);
	return r;
}

/* The pre-tokenizer alone: byte lengths of the words of s, for tests. */
int
bpe_pretokenize(const char *pre, const char *s, size_t n, struct ids *out,
	struct cerr *e)
{
	struct bpe t;

	memset(&t, 0, sizeof t);
	if (!(t.pre = pre_kind(pre, strlen(pre))))
		return cerr_set(e, "pre-tokenizer '%s' not supported", pre);
	return bpe_encode(&t, s, n, out, e);
}

int
bpe_piece(const struct bpe *t, int32_t id, char *buf, size_t cap)
{
	struct gguf_str p = t->v->text[id];
	size_t n = 0;

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
