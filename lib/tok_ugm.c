/* tok_ugm.c: T5's Unigram (tokenizer.ggml.model = t5), as llama.cpp's
 * llm_tokenizer_ugm does it.
 *
 * Normalize first, one prefix at a time: a user-defined piece stays as it
 * is; else the longest prefix that tokenizer.ggml.precompiled_charsmap
 * holds becomes its replacement; else a valid UTF-8 character stays and an
 * invalid byte becomes U+FFFD. Spaces become U+2581 ('▁'), one before the
 * text with tokenizer.ggml.add_space_prefix, runs of them one before each
 * word with tokenizer.ggml.remove_extra_whitespaces.
 *
 * Then Viterbi: of every cut of the text into normal, user-defined (score
 * 0) and unused pieces, the one of highest total score; a character no
 * piece of its own covers may be the unknown token, scored 10 below the
 * lowest normal piece. Runs of unknown tokens come out as one. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "tok_kind.h"
#include "unicode.h"

/* tokenizer.ggml.precompiled_charsmap, SentencePiece's: u32le the size of
 * the XCDA blob, then the blob (u32le nodes), then the NUL-terminated
 * replacement strings the nodes' values index.
 *
 * An XOR-compressed double array node (Kanda 2018):
 *	bit  31     set in value nodes (part of LCHECK, so no label matches)
 *	bits 10-30  BASE, shifted left 8 more where bit 9 is set
 *	bit  9      BASE shift flag
 *	bit  8      LEAF: the node's BASE leads to a value node
 *	bits 0-7    LCHECK: the byte that leads to the node
 * A value node's bits 0-30 are an offset into the replacement strings. */
struct charsmap {
	uint32_t *node;         /* (n_node) */
	size_t n_node;
	const char *repl;       /* replacement strings, in the copy of node */
	size_t n_repl;
	char *buf;              /* the key's bytes, copied */
};

struct ugm {
	const struct vocab *v;
	struct strmap match;    /* normal, user-defined, unused piece -> id */
	struct strmap user;     /* user-defined piece -> id */
	size_t max_len, max_user;       /* their longest, bytes */
	double unk_score;       /* lowest normal score - 10 */
	int add_space_prefix;   /* tokenizer.ggml.add_space_prefix (default 0) */
	int merge_spaces;       /* tokenizer.ggml.remove_extra_whitespaces */
	struct charsmap cm;
};

static int
load_charsmap(struct charsmap *cm, const struct gguf *g, struct cerr *e)
{
	const struct gguf_kv *kv = gguf_kv_get(g,
	    "tokenizer.ggml.precompiled_charsmap");
	const unsigned char *p;
	size_t n;
	uint32_t blob;

	if (!kv)
		return 0;
	if (kv->val.type != GGUF_ARRAY || (kv->val.v.arr.type != GGUF_UINT8 &&
	    kv->val.v.arr.type != GGUF_INT8) ||
	    kv->val.v.arr.n > g->size - kv->val.v.arr.off)
		return cerr_set(e, "%s: tokenizer.ggml.precompiled_charsmap: "
		    "not an array of bytes", g->path);
	n = (size_t)kv->val.v.arr.n;
	if (n == 0)
		return 0;
	p = g->base + kv->val.v.arr.off;
	blob = n >= 4 ? (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
	if (n < 4 || blob > n - 4)
		return cerr_set(e, "%s: tokenizer.ggml.precompiled_charsmap: "
		    "XCDA size %u past its end", g->path, n < 4 ? 0 : blob);
	cm->n_node = blob / 4;
	if (!(cm->buf = malloc(n)) ||
	    !(cm->node = malloc((cm->n_node + 1) * sizeof *cm->node)))
		return cerr_set(e, "out of memory");
	memcpy(cm->buf, p, n);
	for (size_t i = 0; i < cm->n_node; i++) {
		const unsigned char *q = p + 4 + 4 * i;

		cm->node[i] = (uint32_t)q[0] | (uint32_t)q[1] << 8 |
		    (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
	}
	cm->repl = cm->buf + 4 + blob;
	cm->n_repl = n - 4 - blob;
	return 0;
}

static int
normal_like(const struct vocab *v, uint32_t i)
{
	return v->types[i] == TOKTYPE_NORMAL ||
	    v->types[i] == TOKTYPE_USER_DEFINED ||
	    v->types[i] == TOKTYPE_UNUSED;
}

struct ugm *
ugm_open(const struct gguf *g, const struct vocab *v, struct cerr *e)
{
	struct ugm *u = calloc(1, sizeof *u);
	struct cerr ignore;
	double lo = FLT_MAX;
	int b;

	if (!u) {
		cerr_set(e, "out of memory");
		return NULL;
	}
	u->v = v;
	if (strmap_init(&u->match, v->n) < 0 ||
	    strmap_init(&u->user, v->n) < 0) {
		cerr_set(e, "out of memory");
		goto fail;
	}
	/* backwards: of duplicates the last id, as llama.cpp's trie */
	for (uint32_t i = v->n; i-- > 0;) {
		size_t len = (size_t)v->text[i].len;

		if (v->types[i] == TOKTYPE_NORMAL && v->scores &&
		    v->scores[i] < lo)
			lo = v->scores[i];
		if (!normal_like(v, i) || len == 0 || len > UINT32_MAX)
			continue;
		strmap_put(&u->match, v->text[i].p, (uint32_t)len, (int32_t)i);
		u->max_len = len > u->max_len ? len : u->max_len;
		if (v->types[i] != TOKTYPE_USER_DEFINED)
			continue;
		strmap_put(&u->user, v->text[i].p, (uint32_t)len, (int32_t)i);
		u->max_user = len > u->max_user ? len : u->max_user;
	}
	if (!v->scores)
		lo = 0;
	u->unk_score = lo - 10.0;
	u->add_space_prefix = gguf_get_bool(g,
	    "tokenizer.ggml.add_space_prefix", &b, &ignore) < 0 ? 0 : b;
	u->merge_spaces = gguf_get_bool(g,
	    "tokenizer.ggml.remove_extra_whitespaces", &b, &ignore) < 0 ? 0 : b;
	if (load_charsmap(&u->cm, g, e) < 0)
		goto fail;
	return u;
fail:
	ugm_close(u);
	return NULL;
}

void
ugm_close(struct ugm *u)
{
	if (!u)
		return;
	strmap_free(&u->match);
	strmap_free(&u->user);
	free(u->cm.node);
	free(u->cm.buf);
	free(u);
}

/* ---- normalize ---- */

/* The longest key of m that s (n bytes) starts with, at most max bytes. */
static size_t
longest(const struct strmap *m, size_t max, const char *s, size_t n)
{
	for (size_t l = n < max ? n : max; l > 0; l--)
		if (strmap_get(m, s, (uint32_t)l) >= 0)
			return l;
	return 0;
}

/* The replacement of the longest prefix of s the charsmap holds: *out and
 * its length; 0 for none; -1 for a charsmap that points out of itself. */
static int
charsmap_match(const struct charsmap *cm, const char *s, size_t n,
	const char **out, size_t *olen, size_t *used, struct cerr *e)
{
	uint32_t at, nd;
	size_t best = 0, val = 0;

#define BASE(x) (((x) >> 10) << (((x) & (1u << 9)) >> 6))
	if (cm->n_node == 0)
		return 0;
	at = BASE(cm->node[0]);
	for (size_t i = 0; i < n && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		at ^= c;
		if (at >= cm->n_node)
			goto bad;
		nd = cm->node[at];
		if ((nd & (1u << 31 | 0xff)) != c)
			break;
		at ^= BASE(nd);
		if (nd >> 8 & 1) {      /* leaf: the value node is at */
			if (at >= cm->n_node)
				goto bad;
			best = i + 1;
			val = cm->node[at] & ~(1u << 31);
		}
	}
#undef BASE
	if (best == 0)
		return 0;
	if (val >= cm->n_repl ||
	    !memchr(cm->repl + val, '\0', cm->n_repl - val))
		goto bad;
	*out = cm->repl + val;
	*olen = strlen(*out);
	*used = best;
	return 1;
bad:
	return cerr_set(e, "tokenizer.ggml.precompiled_charsmap: index out "
	    "of range");
}

struct buf {
	char *p;
	size_t n, cap;
};

static int
put(struct buf *b, const char *s, size_t n)
{
	if (n > b->cap - b->n) {
		size_t cap = b->cap * 2 + n;
		char *p = realloc(b->p, cap);

		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	return 0;
}

static int
normalize(const struct ugm *u, const char *s, size_t n, struct buf *out,
	struct cerr *e)
{
	int prepended = 0, in_word = 0;

	for (size_t i = 0; i < n;) {
		const char *r = s + i;
		size_t rl, used = 1;
		int m;

		if ((rl = longest(&u->user, u->max_user, s + i, n - i)) > 0) {
			used = rl;
		} else if ((m = charsmap_match(&u->cm, s + i, n - i, &r, &rl,
		    &used, e)) < 0) {
			return -1;
		} else if (m == 0) {
			int l = utf8_valid(s + i, n - i);

			if (l == 0)
				r = "\xef\xbf\xbd", rl = 3, used = 1;
			else
				rl = used = (size_t)l;
		}
		for (size_t k = 0; k < rl; k++) {
			if (r[k] == ' ') {
				in_word = 0;
				if (!u->merge_spaces &&
				    put(out, "\xe2\x96\x81", 3) < 0)
					goto oom;
				continue;
			}
			if (!in_word && ((u->add_space_prefix && !prepended) ||
			    u->merge_spaces)) {
				if (put(out, "\xe2\x96\x81", 3) < 0)
					goto oom;
				prepended = 1;
			}
			in_word = 1;
			if (put(out, r + k, 1) < 0)
				goto oom;
		}
		i += used;
	}
	return 0;
oom:
	return cerr_set(e, "out of memory");
}

/* ---- Viterbi ---- */

struct best {
	int32_t id;
	size_t from;            /* where the piece starts */
	double score;           /* of the best cut up to here */
};

/* The length of the UTF-8 character byte c starts, by its high bits, as
 * llama.cpp's unicode_len_utf8. */
static size_t
char_len(unsigned char c)
{
	return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

static void
challenge(struct best *b, int32_t id, size_t from, double score)
{
	if (score > b->score)
		*b = (struct best){ id, from, score };
}

static int
viterbi(const struct ugm *u, const char *w, size_t n, struct ids *out)
{
	const struct vocab *v = u->v;
	struct best *best = malloc((n + 1) * sizeof *best);
	size_t mark = out->n;
	int prev_unk = 0;

	if (!best)
		return -1;
	for (size_t i = 0; i <= n; i++)
		best[i] = (struct best){ v->unk, 0, i ? -DBL_MAX : 0 };
	for (size_t i = 0; i < n;) {
		size_t cl = char_len((unsigned char)w[i]), max;
		int whole = 0;

		cl = cl < n - i ? cl : n - i;
		max = n - i < u->max_len ? n - i : u->max_len;
		for (size_t l = 1; l <= max; l++) {
			int32_t id = strmap_get(&u->match, w + i, (uint32_t)l);

			if (id < 0)
				continue;
			whole |= l == cl;
			challenge(&best[i + l], id, i, best[i].score +
			    (v->types[id] == TOKTYPE_USER_DEFINED || !v->scores ?
			    0.0 : (double)v->scores[id]));
		}
		if (!whole)
			challenge(&best[i + cl], v->unk, i,
			    best[i].score + u->unk_score);
		i += cl;
	}
	for (size_t at = n;;) {     /* backwards from the end */
		int unk = best[at].id == v->unk;

		if (!(prev_unk && unk) && best[at].id >= 0 &&
		    ids_push(out, best[at].id) < 0) {
			free(best);
			return -1;
		}
		if (best[at].from == 0)
			break;
		prev_unk = unk;
		at = best[at].from;
	}
	for (size_t i = mark, j = out->n; i + 1 < j; i++, j--) {
		int32_t t = out->v[i];

		out->v[i] = out->v[j - 1];
		out->v[j - 1] = t;
	}
	free(best);
	return 0;
}

int
ugm_encode(const struct ugm *u, const char *s, size_t n, struct ids *out,
	struct cerr *e)
{
	struct buf w = { 0 };
	int r = 0;

	if (normalize(u, s, n, &w, e) < 0)
		r = -1;
	else if (w.n > 0 && viterbi(u, w.p, w.n, out) < 0)
		r = cerr_set(e, "out of memory");
	free(w.p);
	return r;
}
