/* tok_wpm.c: BERT's WordPiece (tokenizer.ggml.model = bert), as llama.cpp's
 * llm_tokenizer_wpm does it.
 *
 * The text is cut into words: at whitespace, and around every punctuation
 * mark, ASCII symbol and CJK ideograph, each a word of its own; control
 * characters, NUL and invalid bytes go. With tokenizer.ggml.normalizer.
 * lowercase (default on) letters are lowercased; with .strip_accents
 * (default: as lowercase) each codepoint becomes the first codepoint of its
 * NFD and marks go. Each word, with U+2581 ('▁') before it, is then cut
 * greedily into the longest pieces from its start; a word with a position
 * no piece begins at is one unknown token. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tok_kind.h"
#include "unicode.h"

struct wpm {
	const struct vocab *v;
	const struct strmap *pieces;    /* piece text -> id (tok.c's) */
	size_t max_len;         /* longest piece, bytes */
	int lowercase;          /* tokenizer.ggml.normalizer.lowercase */
	int strip_accents;      /* tokenizer.ggml.normalizer.strip_accents */
};

struct wpm *
wpm_open(const struct gguf *g, const struct vocab *v,
	const struct strmap *pieces, struct cerr *e)
{
	struct wpm *t = calloc(1, sizeof *t);
	struct cerr ignore;
	int b;

	if (!t) {
		cerr_set(e, "out of memory");
		return NULL;
	}
	t->v = v;
	t->pieces = pieces;
	for (uint32_t i = 0; i < v->n; i++)
		if (v->text[i].len > t->max_len)
			t->max_len = (size_t)v->text[i].len;
	t->lowercase = gguf_get_bool(g, "tokenizer.ggml.normalizer.lowercase",
	    &b, &ignore) < 0 ? 1 : b;
	t->strip_accents = gguf_get_bool(g,
	    "tokenizer.ggml.normalizer.strip_accents", &b, &ignore) < 0 ?
	    t->lowercase : b;
	return t;
}

void
wpm_close(struct wpm *t)
{
	free(t);
}

/* CJK ideographs, by llama.cpp's (and HF's) blocks, 0x2B920 included. */
static int
is_cjk(uint32_t c)
{
	return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
	    (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f) ||
	    (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
	    (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/* Cut word w (wl bytes, U+2581 first) into the longest pieces from the
 * left; none at some position: the whole word is unk. */
static int
word(const struct wpm *t, const char *w, size_t wl, struct ids *out)
{
	size_t mark = out->n;

	for (size_t i = 0; i < wl;) {
		size_t j = wl - i < t->max_len ? wl : i + t->max_len;
		int32_t id = -1;

		for (; j > i; j--)
			if ((id = strmap_get(t->pieces, w + i,
			    (uint32_t)(j - i))) >= 0)
				break;
		if (id < 0) {
			out->n = mark;
			break;
		}
		if (ids_push(out, id) < 0)
			return -1;
		i = j;
	}
	if (out->n == mark && t->v->unk >= 0 && ids_push(out, t->v->unk) < 0)
		return -1;
	return 0;
}

int
wpm_encode(const struct wpm *t, const char *s, size_t n, struct ids *out,
	struct cerr *e)
{
	char *w = malloc(3 + 4 * n);    /* ▁, then each codepoint in 4 bytes */
	size_t wl = 3;

	if (!w)
		return cerr_set(e, "out of memory");
	memcpy(w, "\xe2\x96\x81", 3);
	for (size_t i = 0; i <= n;) {
		uint32_t c = 0;
		unsigned f = UCAT_WHITESPACE;   /* the end ends the last word */
		int alone;

		if (i < n) {
			i += (size_t)utf8_decode(s + i, n - i, &c);
			if (t->strip_accents)
				c = ucp_nfd_first(c);
			f = ucat(c);
		} else {
			i++;
		}
		if (f & UCAT_WHITESPACE) {
			if (wl > 3 && word(t, w, wl, out) < 0)
				goto oom;
			wl = 3;
			continue;
		}
		if (c == 0 || c == 0xfffd || (f & UCAT_CONTROL) ||
		    (t->strip_accents && (f & UCAT_MARK)))
			continue;
		alone = (f & UCAT_PUNCT) || (c < 0x7f && (f & UCAT_SYMBOL)) ||
		    is_cjk(c);
		if (alone && wl > 3) {
			if (word(t, w, wl, out) < 0)
				goto oom;
			wl = 3;
		}
		wl += (size_t)utf8_encode(t->lowercase ? ucp_tolower(c) : c,
		    w + wl);
		if (alone) {
			if (word(t, w, wl, out) < 0)
				goto oom;
			wl = 3;
		}
	}
	free(w);
	return 0;
oom:
	free(w);
	return cerr_set(e, "out of memory");
}

/* The piece with U+2581 as a space, a BYTE token <0xHH> as its byte: the
 * detokenizing llama.cpp shares among SPM, WPM and UGM. */
int
sp_piece(const struct vocab *v, int32_t id, char *buf, size_t cap)
{
	struct gguf_str p = v->text[id];
	size_t n = 0;

	if (v->types[id] == TOKTYPE_BYTE && p.len == 6 &&
	    memcmp(p.p, "<0x", 3) == 0 && p.p[5] == '>' &&
	    isxdigit((unsigned char)p.p[3]) &&
	    isxdigit((unsigned char)p.p[4]) && cap > 0) {
		char hex[3] = { p.p[3], p.p[4], 0 };

		buf[0] = (char)strtoul(hex, NULL, 16);
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
