/* pretok.c: BPE pre-tokenizers, each a list of steps as llama.cpp 0.3.36
 * has them (llm_tokenizer_bpe in llama-vocab.cpp, run by unicode.cpp).
 *
 * Every step splits each word of the step before it further: a regex keeps
 * both what it matches and the text between matches as words. Most steps
 * are regexes, run by the small backtracking matcher below exactly as
 * llama.cpp runs them through std::regex: a regex with a \p{..} class sees
 * the text "collapsed" (each codepoint above ASCII replaced by one stand-in
 * for its category, so \p{Lu} is any letter, as in llama.cpp), one without
 * sees codepoints (non-ASCII whitespace as \v). The regexes llama.cpp runs
 * with its own code instead (GPT-2, Llama 3, Qwen 2, Qwen 3.5, Kimi K2,
 * AFMoE digits, newline runs) are hand-coded here on codepoint categories,
 * as that code does: they differ from their regex on unassigned codepoints
 * and, for Kimi K2 and AFMoE, by design. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pretok.h"
#include "unicode.h"

/* ---- codepoints ---- */

#define IS_L(f) ((f) & UCAT_LETTER)
#define IS_N(f) ((f) & UCAT_NUMBER)
#define IS_M(f) ((f) & UCAT_MARK)
#define IS_WS(f) ((f) & UCAT_WHITESPACE)
/* [^\s\p{L}\p{N}] over assigned codepoints, as llama.cpp's own code tests it */
#define IS_OTHER(f) ((f) && !IS_WS(f) && !IS_L(f) && !IS_N(f))

static unsigned
fl(const uint32_t *cp, size_t i, size_t end)
{
	return i < end ? ucat(cp[i]) : 0;
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

/* Han as llama.cpp's unicode_cpt_is_han has it (CJK ideograph blocks) */
static int
is_han(uint32_t c)
{
	return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
	    (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2ebef) ||
	    (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/* Length of a contraction (?i:'s|'t|'re|'ve|'m|'ll|'d) at pos, or 0. */
static size_t
contraction(const uint32_t *cp, size_t pos, size_t end)
{
	uint32_t a, b;

	if (cp[pos] != '\'' || pos + 1 >= end)
		return 0;
	a = ascii_lower(cp[pos + 1]);
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return 2;
	if (pos + 2 >= end)
		return 0;
	b = ascii_lower(cp[pos + 2]);
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
	    (a == 'l' && b == 'l'))
		return 3;
	return 0;
}

/* \s*[\r\n]+ | \s+(?!\S) | \s+ at pos, else the one codepoint */
static size_t
space_word(const uint32_t *cp, size_t pos, size_t end)
{
	size_t k, last_nl = 0;

	for (k = 0; pos + k < end && IS_WS(fl(cp, pos + k, end)); k++)
		if (is_crlf(cp[pos + k]))
			last_nl = k + 1;
	if (last_nl)
		return last_nl;
	if (k > 1 && pos + k < end)     /* leave one for the word after */
		return k - 1;
	return k > 0 ? k : 1;
}

/* ---- the hand-coded regexes: length of the word at pos ---- */

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) */
static size_t
gpt2_word(const uint32_t *cp, size_t pos, size_t end)
{
	uint32_t ch = cp[pos];
	unsigned f = fl(cp, pos, end), f2;
	size_t j, k;

	if (ch == '\'' && pos + 1 < end) {
		uint32_t a = cp[pos + 1], b = pos + 2 < end ? cp[pos + 2] : 0;

		if (a == 's' || a == 't' || a == 'm' || a == 'd')
			return 2;
		if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
		    (a == 'l' && b == 'l'))
			return 3;
	}
	f2 = ch == ' ' ? fl(cp, pos + 1, end) : f;
	j = pos + (ch == ' ');
	if (IS_L(f2)) {
		while (j < end && IS_L(fl(cp, j, end)))
			j++;
		return j - pos;
	}
	if (IS_N(f2)) {
		while (j < end && IS_N(fl(cp, j, end)))
			j++;
		return j - pos;
	}
	if (IS_OTHER(f2)) {
		while (j < end && IS_OTHER(fl(cp, j, end)))
			j++;
		return j - pos;
	}
	for (k = 0; pos + k < end && IS_WS(fl(cp, pos + k, end)); k++)
		;
	if (k > 1 && pos + k < end)     /* \s+(?!\S): leave one for the word */
		return k - 1;
	return k > 0 ? k : 1;
}

/* Llama 3 (digits 3), Qwen 2 (digits 1), Qwen 3.5 (digits 1, marks: \p{M}
 * goes with the letters):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ |
 *   \p{N}{1,digits} | ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ |
 *   \s+(?!\S) | \s+ */
static size_t
llama3_word(const uint32_t *cp, size_t pos, size_t end, size_t digits,
	int marks)
{
	unsigned lm = UCAT_LETTER | (marks ? UCAT_MARK : 0);
	uint32_t ch = cp[pos];
	unsigned f = fl(cp, pos, end), f2;
	size_t j;

	if ((j = contraction(cp, pos, end)))
		return j;
	if (!is_crlf(ch) && !IS_N(f) && ((f & lm) || (fl(cp, pos + 1, end) & lm))) {
		for (j = pos + 1; j < end && (fl(cp, j, end) & lm); j++)
			;
		return j - pos;
	}
	if (IS_N(f)) {
		for (j = pos; j < end && j - pos < digits && IS_N(fl(cp, j, end));
		    j++)
			;
		return j - pos;
	}
	f2 = ch == ' ' ? fl(cp, pos + 1, end) : f;
	if (IS_OTHER(f2) && !(f2 & lm)) {
		j = pos + (ch == ' ');
		while (j < end && IS_OTHER(fl(cp, j, end)) &&
		    !(fl(cp, j, end) & lm))
			j++;
		while (j < end && is_crlf(cp[j]))
			j++;
		return j - pos;
	}
	return space_word(cp, pos, end);
}

/* Kimi K2, llama.cpp's own reading of
 *   [\p{Han}]+ | [^\r\n\p{L}\p{N}]?[\p{L}&&[^\p{Han}]]+(?i:'s|...)? |
 *   \p{N}{1,3} | ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 * (its letters take no \p{M}, and Han is is_han's blocks). */
static size_t
kimi_word(const uint32_t *cp, size_t pos, size_t end)
{
	uint32_t ch = cp[pos];
	unsigned f = fl(cp, pos, end), f2;
	size_t j = pos;

	if (is_han(ch)) {
		while (j < end && is_han(cp[j]))
			j++;
		return j - pos;
	}
	j = pos + (!is_crlf(ch) && !IS_L(f) && !IS_N(f));
	if (j < end && IS_L(fl(cp, j, end)) && !is_han(cp[j])) {
		while (j < end && IS_L(fl(cp, j, end)) && !is_han(cp[j]))
			j++;
		if (j < end)
			j += contraction(cp, j, end);
		return j - pos;
	}
	if (IS_N(f)) {
		for (j = pos; j < end && j - pos < 3 && IS_N(fl(cp, j, end)); j++)
			;
		return j - pos;
	}
	f2 = ch == ' ' ? fl(cp, pos + 1, end) : f;
	if (IS_OTHER(f2)) {
		j = pos + (ch == ' ');
		while (j < end && IS_OTHER(fl(cp, j, end)))
			j++;
		while (j < end && is_crlf(cp[j]))
			j++;
		return j - pos;
	}
	return space_word(cp, pos, end);
}

/* ---- a regex matcher: the subset llama.cpp's regexes use ----
 *
 * Alternation, groups (?:..) and (..) (nothing is captured), lookahead
 * (?=..) (?!..), greedy ? * + {n} {n,m}, $ (end of the word), classes
 * [..] [^..] with ranges, \s \S \d \r \n \t, \p{N L P M S Lu Ll Lt Lm Lo}.
 * Compiled to a program that a backtracking machine runs with a stack on
 * the heap, so a long word cannot exhaust the C stack. */

enum { I_CLS, I_SPLIT, I_JMP, I_LOOK, I_NLOOK, I_EOL, I_MATCH };

struct inst {
	int op;
	uint32_t x, y;          /* CLS: class; SPLIT: first, else; JMP: to;
	                         * LOOK: body at pc+1, then y */
};

struct cls {
	uint32_t (*r)[2];       /* ranges, inclusive */
	uint32_t n;
	int neg;
};

struct re {
	struct inst *in;
	uint32_t n, cap;
	struct cls *cl;
	uint32_t ncl, clcap;
	int collapse;           /* has a \p{..}: runs on the collapsed text */
	int oom;
};

/* Stand-ins of the collapsed text (llama.cpp's unicode_regex_split) */
enum { C_OTHER = 0xd0, C_N, C_L, C_P, C_M, C_S };

static uint32_t
emit(struct re *re, int op, uint32_t x, uint32_t y)
{
	if (re->n == re->cap) {
		uint32_t cap = re->cap ? re->cap * 2 : 64;
		struct inst *p = realloc(re->in, cap * sizeof *p);

		if (!p) {
			re->oom = 1;
			return re->n;
		}
		re->in = p;
		re->cap = cap;
	}
	re->in[re->n] = (struct inst){ op, x, y };
	return re->n++;
}

static uint32_t
cls_new(struct re *re, int neg)
{
	if (re->ncl == re->clcap) {
		uint32_t cap = re->clcap ? re->clcap * 2 : 16;
		struct cls *p = realloc(re->cl, cap * sizeof *p);

		if (!p) {
			re->oom = 1;
			return 0;
		}
		re->cl = p;
		re->clcap = cap;
	}
	re->cl[re->ncl] = (struct cls){ NULL, 0, neg };
	return re->ncl++;
}

static void
cls_add(struct re *re, uint32_t c, uint32_t lo, uint32_t hi)
{
	struct cls *k;
	uint32_t (*p)[2];

	if (re->oom)
		return;
	k = &re->cl[c];
	if (!(p = realloc(k->r, (k->n + 1) * sizeof *p))) {
		re->oom = 1;
		return;
	}
	k->r = p;
	k->r[k->n][0] = lo;
	k->r[k->n][1] = hi;
	k->n++;
}

static void
cls_str(struct re *re, uint32_t c, const char *pairs)
{
	for (; *pairs; pairs += 2)
		cls_add(re, c, (unsigned char)pairs[0], (unsigned char)pairs[1]);
}

/* \s as std::regex has it in the C locale */
#define SPACES "\t\r  "

/* \p{X}: its stand-in and its ASCII members, as llama.cpp collapses it */
static void
cls_prop(struct re *re, uint32_t c, const char *name, size_t len)
{
	if (len == 1 && name[0] == 'N') {
		cls_add(re, c, C_N, C_N);
		cls_str(re, c, "09");
	} else if (name[0] == 'L') {
		cls_add(re, c, C_L, C_L);
		cls_str(re, c, "AZaz");
	} else if (name[0] == 'P') {
		cls_add(re, c, C_P, C_P);
		cls_str(re, c, "!#%*,/:;?@[]__{{}}");
	} else if (name[0] == 'M') {
		cls_add(re, c, C_M, C_M);
	} else if (name[0] == 'S') {
		cls_add(re, c, C_S, C_S);
		cls_str(re, c, "$$++<>^^``||~~");
	}
}

static const char *
atom_end(const char *s, const char *e)
{
	int depth = 0;

	if (*s == '\\')
		return s[1] == 'p' ? strchr(s, '}') + 1 : s + 2;
	if (*s == '[') {
		for (s += 1 + (s[1] == '^'); s < e && *s != ']'; s++)
			if (*s == '\\')
				s++;
		return s + 1;
	}
	if (*s == '(') {
		do {
			if (*s == '\\' || *s == '[') {
				s = atom_end(s, e);
				continue;
			}
			depth += *s == '(' ? 1 : *s == ')' ? -1 : 0;
			s++;
		} while (depth > 0 && s < e);
		return s;
	}
	return s + utf8_valid(s, (size_t)(e - s));
}

/* One literal of a class or the regex at *s, escapes read; advances *s. */
static uint32_t
literal(const char **s, const char *e)
{
	uint32_t c;

	if (**s == '\\') {
		c = (unsigned char)(*s)[1];
		*s += 2;
		return c == 'r' ? '\r' : c == 'n' ? '\n' : c == 't' ? '\t' : c;
	}
	*s += utf8_decode(*s, (size_t)(e - *s), &c);
	return c;
}

static void
class_body(struct re *re, uint32_t c, const char *s, const char *e)
{
	while (s < e) {
		uint32_t lo, hi;

		if (s[0] == '\\' && s[1] == 'p') {
			const char *b = strchr(s, '}');

			cls_prop(re, c, s + 3, (size_t)(b - s - 3));
			s = b + 1;
			continue;
		}
		if (s[0] == '\\' && (s[1] == 's' || s[1] == 'd')) {
			cls_str(re, c, s[1] == 's' ? SPACES : "09");
			s += 2;
			continue;
		}
		lo = hi = literal(&s, e);
		if (s + 1 < e && *s == '-') {
			s++;
			hi = literal(&s, e);
		}
		cls_add(re, c, lo, hi);
	}
}

static void c_alt(struct re *re, const char *s, const char *e);

static void
c_atom(struct re *re, const char *s, const char *e)
{
	uint32_t c, at;

	switch (*s) {
	case '(':
		if (s[1] == '?' && (s[2] == '=' || s[2] == '!')) {
			at = emit(re, s[2] == '=' ? I_LOOK : I_NLOOK, 0, 0);
			c_alt(re, s + 3, e - 1);
			emit(re, I_MATCH, 0, 0);
			if (!re->oom)
				re->in[at].y = re->n;
		} else {
			c_alt(re, s + 1 + 2 * (s[1] == '?'), e - 1);
		}
		return;
	case '[':
		c = cls_new(re, s[1] == '^');
		class_body(re, c, s + 1 + (s[1] == '^'), e - 1);
		break;
	case '$':
		emit(re, I_EOL, 0, 0);
		return;
	case '\\':
		if (s[1] == 'p' || s[1] == 's' || s[1] == 'S' || s[1] == 'd') {
			static const char ws[] = "\\s";

			c = cls_new(re, s[1] == 'S');
			if (s[1] == 'S')
				class_body(re, c, ws, ws + 2);
			else
				class_body(re, c, s, e);
			break;
		}
		/* FALLTHROUGH */
	default:
		c = cls_new(re, 0);
		at = literal(&s, e);
		cls_add(re, c, at, at);
	}
	emit(re, I_CLS, c, 0);
}

/* Quantifier at s: *min, *max (UINT32_MAX: unbounded); returns its end. */
static const char *
quant(const char *s, const char *e, uint32_t *min, uint32_t *max)
{
	char *p;

	*min = *max = 1;
	if (s >= e)
		return s;
	if (*s == '?' || *s == '*' || *s == '+') {
		*min = *s == '+';
		*max = *s == '?' ? 1 : UINT32_MAX;
		return s + 1;
	}
	if (*s != '{')
		return s;
	*min = *max = (uint32_t)strtoul(s + 1, &p, 10);
	if (*p == ',')
		*max = (uint32_t)strtoul(p + 1, &p, 10);
	return p + 1;
}

static void
c_piece(struct re *re, const char *s, const char *e, uint32_t min,
	uint32_t max)
{
	uint32_t i, at, splits[16], k = 0;

	for (i = 0; i < min; i++)
		c_atom(re, s, e);
	if (max == UINT32_MAX) {        /* L: SPLIT body, out; body; JMP L */
		at = emit(re, I_SPLIT, re->n + 1, 0);
		c_atom(re, s, e);
		emit(re, I_JMP, at, 0);
		if (!re->oom)
			re->in[at].y = re->n;
		return;
	}
	for (i = min; i < max && k < 16; i++) {   /* (X(X..)?)? */
		splits[k++] = emit(re, I_SPLIT, re->n + 1, 0);
		c_atom(re, s, e);
	}
	for (i = 0; i < k && !re->oom; i++)
		re->in[splits[i]].y = re->n;
}

static void
c_seq(struct re *re, const char *s, const char *e)
{
	while (s < e) {
		const char *a = atom_end(s, e);
		uint32_t min, max;
		const char *q = quant(a, e, &min, &max);

		c_piece(re, s, a, min, max);
		s = q;
	}
}

static void
c_alt(struct re *re, const char *s, const char *e)
{
	const char *bar[32];
	uint32_t jmp[32], nb = 0, at;

	for (const char *p = s; p < e && nb < 32; p = atom_end(p, e))
		if (*p == '|')
			bar[nb++] = p;
	for (uint32_t i = 0; i <= nb; i++) {
		const char *a = i ? bar[i - 1] + 1 : s, *b = i < nb ? bar[i] : e;

		at = i < nb ? emit(re, I_SPLIT, re->n + 1, 0) : 0;
		c_seq(re, a, b);
		if (i < nb) {
			jmp[i] = emit(re, I_JMP, 0, 0);
			if (!re->oom)
				re->in[at].y = re->n;
		}
	}
	for (uint32_t i = 0; i < nb && !re->oom; i++)
		re->in[jmp[i]].x = re->n;
}

static int
re_compile(struct re *re, const char *src)
{
	memset(re, 0, sizeof *re);
	re->collapse = strstr(src, "\\p{") != NULL;
	c_alt(re, src, src + strlen(src));
	emit(re, I_MATCH, 0, 0);
	return re->oom ? -1 : 0;
}

static void
re_free(struct re *re)
{
	for (uint32_t i = 0; i < re->ncl; i++)
		free(re->cl[i].r);
	free(re->cl);
	free(re->in);
}

static int
cls_has(const struct cls *k, uint32_t c)
{
	for (uint32_t i = 0; i < k->n; i++)
		if (c >= k->r[i][0] && c <= k->r[i][1])
			return !k->neg;
	return k->neg;
}

struct bt {
	uint32_t pc;
	size_t pos;
};

struct stack {
	struct bt *v;
	size_t n, cap;
};

static int
push(struct stack *st, uint32_t pc, size_t pos)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 256;
		struct bt *p = realloc(st->v, cap * sizeof *p);

		if (!p)
			return -1;
		st->v = p;
		st->cap = cap;
	}
	st->v[st->n++] = (struct bt){ pc, pos };
	return 0;
}

/* Threads (pc, pos) known to fail, one row of bits a position from the
 * word's start: what llama.cpp's regexes have no captures or lookbehind
 * for, so a thread's fate depends on (pc, pos) alone, and a failed search
 * from one position spares the next the same work (\s+$ over a long run
 * of spaces would otherwise take quadratic time). */
struct memo {
	unsigned char *bits;    /* NULL: none */
	size_t start, row;      /* first position, bytes a row */
	size_t maxpos;          /* furthest position marked */
};

/* Match re's program from pc at pos, text ec up to end: 1 and *mend the
 * end of the first match in priority order, 0 for none, -1 out of memory.
 * m: the memo, NULL inside a lookahead (a thread there may be cut short
 * by the lookahead's success, not failed). */
static int
re_run(const struct re *re, const uint32_t *ec, size_t end, uint32_t pc,
	size_t pos, struct stack *st, struct memo *m, size_t *mend)
{
	size_t base = st->n, d;
	int r;

	if (push(st, pc, pos) < 0)
		return -1;
	while (st->n > base) {
		pc = st->v[--st->n].pc;
		pos = st->v[st->n].pos;
		for (;;) {
			const struct inst *in = &re->in[pc];

			if (m && m->bits) {
				unsigned char *b = &m->bits[(pos - m->start) *
				    m->row + pc / 8];

				if (*b & 1 << pc % 8)
					break;
				*b |= (unsigned char)(1 << pc % 8);
				if (pos > m->maxpos)
					m->maxpos = pos;
			}
			if (in->op == I_CLS) {
				if (pos >= end || !cls_has(&re->cl[in->x], ec[pos]))
					break;
				pos++;
				pc++;
			} else if (in->op == I_SPLIT) {
				if (push(st, in->y, pos) < 0)
					return -1;
				pc = in->x;
			} else if (in->op == I_JMP) {
				pc = in->x;
			} else if (in->op == I_EOL) {
				if (pos != end)
					break;
				pc++;
			} else if (in->op == I_LOOK || in->op == I_NLOOK) {
				if ((r = re_run(re, ec, end, pc + 1, pos, st, NULL,
				    &d)) < 0)
					return -1;
				if (r != (in->op == I_LOOK))
					break;
				pc = in->y;
			} else {        /* I_MATCH */
				st->n = base;
				*mend = pos;
				return 1;
			}
		}
	}
	return 0;
}

/* ---- the rule sets ---- */

enum step_kind { S_RE = 1, S_GPT2, S_LLAMA3, S_QWEN2, S_QWEN35, S_KIMI,
	S_AFMOE_DIGITS, S_NEWLINES };

#define MAXSTEPS 6
#define GPT2 { S_GPT2, NULL }
#define RE(x) { S_RE, x }
#define CONTRACT "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define UPPER_LOWER(L) \
	"[^\\r\\n\\p{L}\\p{N}]?((?=[" L "])([^a-z]))*((?=[" L "])([^A-Z]))+" \
	CONTRACT "?|[^\\r\\n\\p{L}\\p{N}]?((?=[" L "])([^a-z]))+" \
	"((?=[" L "])([^A-Z]))*" CONTRACT "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+" \
	"[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define DEEPSEEK3_WORDS(PUNCT_NL) \
	"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|" \
	"[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+" PUNCT_NL \
	"|\\s+(?!\\S)|\\s+"
#define BLOOM " ?[^(\\s|.,!?…。，、।۔،)]+"

enum set { P_DEFAULT, P_LLAMA3, P_JAIS2, P_DEEPSEEK_LLM, P_DEEPSEEK3,
	P_SPARK, P_YOUTU, P_DEEPSEEK_CODER, P_FALCON, P_STARCODER, P_GPT2,
	P_QWEN2, P_QWEN35, P_BLOOM, P_VIKING, P_TEKKEN, P_CHAMELEON, P_GPT4O,
	P_GRANITE_EMB, P_TINY_AYA, P_KIMI, P_SUPERBPE, P_BAILING, P_SEED,
	P_UFAKZEKA, P_AFMOE, P_LAGUNA, P_EXAONE_MOE, P_NEWLINES, P_MINICPM5,
	P_WHITESPACE };

static const struct step {
	enum step_kind kind;
	const char *re;
} sets[][MAXSTEPS] = {
	[P_DEFAULT] = { RE("[\\p{P}\\$\\+<=>\\^~\\|]+"), GPT2, RE("\\p{N}+"),
	    RE("[0-9][0-9][0-9]") },
	[P_LLAMA3] = { { S_LLAMA3, NULL } },
	[P_JAIS2] = { RE(CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
	    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|"
	    "\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|"
	    "\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}") },
	/* \u: codepoints an editor would change to their NFC form */
	[P_DEEPSEEK_LLM] = { RE("[\r\n]"),
	    RE("\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵ"
	    "Ϸ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛ"
	    "ὝὟ-\u1f7dᾀ-ᾴᾶ-ᾼ\u1fbeῂ-ῄῆ-ῌῐ-\u1fd3ῖ-\u1fdbῠ-Ῥῲ-ῴῶ"
	    "-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212a-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲ"
	    "ⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀"
	    "-𞥃]+"),
	    RE("\\s?[!-/:-~！-／：-～‘-‟　-。]+"), RE("\\s+$"),
	    RE("[一-龥ࠀ-一가-퟿]+"), RE("\\p{N}+") },
	[P_DEEPSEEK3] = { RE("\\p{N}{1,3}"), RE("[一-龥぀-ゟ゠-ヿ]+"),
	    RE(DEEPSEEK3_WORDS("[\r\n]*|\\s*[\r\n]+")) },
	[P_SPARK] = { RE("\\p{N}{1,3}"), RE("[一-龥぀-ゟ゠-ヿ]+"),
	    RE(DEEPSEEK3_WORDS("|[\r\n]")), RE("\\p{N}") },
	[P_YOUTU] = { RE("[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|"
	    "[一-龥぀-ゟ゠-ヿ]+"),
	    RE("[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*"
	    "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" CONTRACT "?|[^\\r\\n\\p{L}\\p{N}]?"
	    "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
	    CONTRACT "?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|"
	    "\\s+(?!\\S)|\\s+") },
	[P_DEEPSEEK_CODER] = { RE("[\r\n]"), RE("\\s?\\p{L}+"),
	    RE("\\s?\\p{P}+"), RE("[一-龥ࠀ-一가-퟿]+"), RE("\\p{N}") },
	[P_FALCON] = { RE("[\\p{P}\\$\\+<=>\\^~\\|`]+"), GPT2,
	    RE("[0-9][0-9][0-9]") },
	[P_STARCODER] = { RE("\\p{N}"), GPT2 },
	[P_GPT2] = { GPT2 },
	[P_QWEN2] = { { S_QWEN2, NULL } },
	[P_QWEN35] = { { S_QWEN35, NULL } },
	[P_BLOOM] = { RE(BLOOM) },
	[P_VIKING] = { RE(BLOOM), RE("\\p{N}") },
	[P_TEKKEN] = { RE("[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*"
	    "((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+"
	    "((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|"
	    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+") },
	[P_CHAMELEON] = { RE("<sentinel:[0-9]+>"),
	    RE("(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z"), RE("([\\t\\n]|    |  )"),
	    RE("\\p{N}"), RE("[\\p{P}!-/:-@\\[-`{-~]"), GPT2 },
	[P_GPT4O] = { RE(UPPER_LOWER("\\p{L}")) },
	[P_GRANITE_EMB] = { RE(UPPER_LOWER("\\p{L}\\p{M}")) },
	[P_TINY_AYA] = { { S_AFMOE_DIGITS, NULL },
	    RE("[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*"
	    "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" CONTRACT "?|[^\\r\\n\\p{L}\\p{N}]?"
	    "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
	    CONTRACT "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|"
	    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+") },
	[P_KIMI] = { { S_KIMI, NULL } },
	[P_SUPERBPE] = { RE("\\p{N}+"), RE("(?=(\\d{3})+(?!\\d))") },
	[P_BAILING] = { RE("'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|"
	    "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
	    "\\s*[\\r\\n]|\\s+(?!\\S)|\\s+") },
	[P_SEED] = { RE(CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}|"
	    " ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+") },
	[P_UFAKZEKA] = { RE("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
	    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+") },
	[P_AFMOE] = { { S_AFMOE_DIGITS, NULL },
	    RE("[一-鿿㐀-䶿豈-﫿぀-ゟ゠-ヿ･-ﾟ⼀-⿟เ-๿຀-໿ក-៿က-႟ꩠ-ꩿꧠ-꧿가-힯ᄀ-ᇿ]+"),
	    RE(DEEPSEEK3_WORDS("[\\r\\n]*|\\s*[\\r\\n]+")) },
	[P_LAGUNA] = { { S_NEWLINES, NULL }, { S_QWEN2, NULL } },
	[P_EXAONE_MOE] = { RE(CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?"
	    "(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}|"
	    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+") },
	[P_NEWLINES] = { { S_NEWLINES, NULL } },
	[P_MINICPM5] = { RE("\\p{N}{1,3}"), RE(CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?"
	    "\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
	    "\\s+(?!\\S)|\\s+") },
	[P_WHITESPACE] = { RE("\\S+") },
};

#define IM PRETOK_IGNORE_MERGES

/* tokenizer.ggml.pre -> rule set, as llama.cpp's llama_vocab::load maps
 * them; "gpt2" is chord's own name for the GPT-2 rules. */
static const struct {
	const char *name;
	enum set set;
	int flags;
} names[] = {
	{ "default", P_DEFAULT, 0 }, { "gpt2", P_GPT2, 0 },
	{ "minicpm5", P_MINICPM5, IM },
	{ "llama3", P_LLAMA3, IM }, { "llama-v3", P_LLAMA3, IM },
	{ "llama-bpe", P_LLAMA3, IM }, { "falcon3", P_LLAMA3, IM },
	{ "falcon-h1", P_LLAMA3, IM }, { "pixtral", P_LLAMA3, IM },
	{ "midm-2.0", P_LLAMA3, IM }, { "lfm2", P_LLAMA3, IM },
	{ "jina-v5-nano", P_LLAMA3, IM },
	{ "deepseek-llm", P_DEEPSEEK_LLM, 0 },
	{ "deepseek-coder", P_DEEPSEEK_CODER, 0 },
	{ "deepseek-v3", P_DEEPSEEK3, 0 }, { "spark2_5", P_SPARK, 0 },
	{ "youtu", P_YOUTU, IM }, { "falcon", P_FALCON, 0 },
	{ "mpt", P_GPT2, 0 }, { "starcoder", P_STARCODER, 0 },
	{ "gpt-2", P_GPT2, 0 }, { "phi-2", P_GPT2, 0 },
	{ "jina-es", P_GPT2, 0 }, { "jina-de", P_GPT2, 0 },
	{ "gigachat", P_GPT2, 0 }, { "jina-v2-es", P_GPT2, 0 },
	{ "jina-v2-de", P_GPT2, 0 }, { "a.x-4.0", P_GPT2, 0 },
	{ "mellum", P_GPT2, 0 }, { "modern-bert", P_GPT2, 0 },
	{ "jais-2", P_JAIS2, 0 },
	{ "gemma4", P_NEWLINES, PRETOK_RAW },
	{ "granite-embed-multi-311m", P_NEWLINES, PRETOK_RAW },
	{ "sarvam-moe", P_NEWLINES, PRETOK_RAW },
	{ "jina-v1-en", P_GPT2, 0 }, { "jina-v2-code", P_GPT2, 0 },
	{ "roberta-bpe", P_GPT2, 0 },
	{ "whitespace", P_WHITESPACE, PRETOK_RAW },
	{ "refact", P_STARCODER, 0 }, { "command-r", P_STARCODER, 0 },
	{ "qwen2", P_QWEN2, 0 }, { "deepseek-r1-qwen", P_QWEN2, 0 },
	{ "kormo", P_QWEN2, 0 }, { "f2llmv2", P_QWEN2, 0 },
	{ "qwen35", P_QWEN35, 0 }, { "stablelm2", P_QWEN2, 0 },
	{ "olmo", P_GPT2, 0 }, { "dbrx", P_LLAMA3, 0 },
	{ "smaug-bpe", P_LLAMA3, 0 }, { "poro-chat", P_BLOOM, 0 },
	{ "chatglm-bpe", P_LLAMA3, 0 }, { "glm4", P_LLAMA3, IM },
	{ "glm5", P_LLAMA3, IM }, { "viking", P_VIKING, 0 },
	{ "jais", P_GPT2, 0 }, { "tekken", P_TEKKEN, IM },
	{ "smollm", P_STARCODER, 0 }, { "codeshell", P_STARCODER, 0 },
	{ "bloom", P_BLOOM, 0 }, { "gpt3-finnish", P_BLOOM, 0 },
	{ "exaone", P_STARCODER, 0 }, { "exaone4", P_GPT2, 0 },
	{ "exaone-moe", P_EXAONE_MOE, 0 }, { "chameleon", P_CHAMELEON, 0 },
	{ "minerva-7b", P_STARCODER, 0 }, { "megrez", P_QWEN2, 0 },
	{ "gpt-4o", P_GPT4O, 0 }, { "llama4", P_GPT4O, 0 },
	{ "kanana2", P_GPT4O, 0 }, { "talkie", P_GPT4O, 0 },
	{ "granite-embed-multi-97m", P_GRANITE_EMB, IM },
	{ "tiny_aya", P_TINY_AYA, 0 }, { "cohere2moe", P_TINY_AYA, 0 },
	{ "superbpe", P_SUPERBPE, 0 }, { "trillion", P_GPT2, 0 },
	{ "granite-docling", P_GPT2, 0 }, { "bailingmoe", P_BAILING, 0 },
	{ "bailingmoe2", P_BAILING, 0 }, { "llada-moe", P_BAILING, 0 },
	{ "seed-coder", P_SEED, 0 }, { "hunyuan", P_QWEN2, 0 },
	{ "hunyuan-dense", P_DEEPSEEK3, 0 }, { "hy_v4", P_DEEPSEEK3, 0 },
	{ "joyai-llm", P_DEEPSEEK3, 0 }, { "kimi-k2", P_KIMI, 0 },
	{ "ufakzeka", P_UFAKZEKA, 0 }, { "grok-2", P_QWEN2, 0 },
	{ "afmoe", P_AFMOE, 0 }, { "laguna", P_LAGUNA, 0 },
	{ "minimax-m2", P_GPT4O, 0 }, { "solar-open", P_QWEN2, 0 },
	{ "mellum2", P_STARCODER, 0 },
};

struct pretok {
	const struct step *steps;
	struct re re[MAXSTEPS];
	int flags;
};

struct pretok *
pretok_open(const char *name, size_t len, struct cerr *e)
{
	struct pretok *p;
	size_t i;

	for (i = 0; i < sizeof names / sizeof *names; i++)
		if (strlen(names[i].name) == len &&
		    !memcmp(names[i].name, name, len))
			break;
	if (i == sizeof names / sizeof *names) {
		cerr_set(e, "pre-tokenizer '%.*s' not supported",
		    len > INT_MAX ? INT_MAX : (int)len, name);
		return NULL;
	}
	if (!(p = calloc(1, sizeof *p))) {
		cerr_set(e, "out of memory");
		return NULL;
	}
	p->steps = sets[names[i].set];
	p->flags = names[i].flags;
	for (int k = 0; k < MAXSTEPS && p->steps[k].kind; k++)
		if (p->steps[k].kind == S_RE &&
		    re_compile(&p->re[k], p->steps[k].re) < 0) {
			pretok_close(p);
			cerr_set(e, "out of memory");
			return NULL;
		}
	return p;
}

void
pretok_close(struct pretok *p)
{
	if (!p)
		return;
	for (int k = 0; k < MAXSTEPS; k++)
		re_free(&p->re[k]);
	free(p);
}

int
pretok_flags(const struct pretok *p)
{
	return p->flags;
}

/* ---- splitting ---- */

struct text {
	const uint32_t *cp;     /* codepoints */
	uint32_t *wide;         /* as a regex without \p{..} sees them */
	uint32_t *collapsed;    /* as a regex with \p{..} sees them */
};

static int
put(struct ids *out, size_t len)
{
	return len == 0 ? 0 : ids_push(out, (int32_t)len);
}

/* AFMoE's digits (also Tiny Aya's): a run of \p{N} in groups of three
 * from the right; the text before a run goes with its first group. */
static int
afmoe_digits(const uint32_t *cp, size_t s, size_t e, struct ids *out)
{
	size_t prev = s, pos = s;

	while (pos < e) {
		size_t start = pos, cur;

		if (!IS_N(ucat(cp[pos]))) {
			pos++;
			continue;
		}
		while (pos < e && IS_N(ucat(cp[pos])))
			pos++;
		cur = start + (pos - start) % 3;
		if (cur == start)
			cur += 3;
		for (; cur <= pos; cur += 3) {
			if (put(out, cur - prev) < 0)
				return -1;
			prev = cur;
		}
	}
	return put(out, e - prev);
}

/* The matches of re in [s, e), and the text between them. */
static int
re_split(const struct re *re, const uint32_t *ec, size_t s, size_t e,
	struct stack *st, struct ids *out)
{
	size_t at = s, pos = s, m;
	struct memo memo = { NULL, s, (re->n + 7) / 8, s };
	int r;

	/* a memo only where it stays small (not JAIS 2's \s{512} on 1 MB) */
	if ((e - s + 1) <= ((size_t)1 << 25) / memo.row)
		memo.bits = calloc(e - s + 1, memo.row);
	while (pos <= e) {
		if ((r = re_run(re, ec, e, 0, pos, st, &memo, &m)) < 0)
			goto oom;
		if (r == 0) {
			pos++;
			continue;
		}
		if (put(out, pos - at) < 0 || put(out, m - pos) < 0)
			goto oom;
		at = m;
		pos = m > pos ? m : pos + 1;
		/* threads the match cut short may yet succeed: forget them */
		if (memo.bits && memo.maxpos >= pos)
			memset(&memo.bits[(pos - s) * memo.row], 0,
			    (memo.maxpos - pos + 1) * memo.row);
		memo.maxpos = pos;
	}
	free(memo.bits);
	return put(out, e - at);
oom:
	free(memo.bits);
	return -1;
}

static int
split_step(const struct pretok *p, int k, const struct text *t, size_t s,
	size_t e, struct stack *st, struct ids *out)
{
	const struct step *sp = &p->steps[k];
	size_t len;

	switch (sp->kind) {
	case S_RE:
		return re_split(&p->re[k], p->re[k].collapse ? t->collapsed :
		    t->wide, s, e, st, out);
	case S_AFMOE_DIGITS:
		return afmoe_digits(t->cp, s, e, out);
	case S_NEWLINES:
		for (size_t pos = s; pos < e; pos += len) {
			int nl = t->cp[pos] == '\n';

			for (len = 1; pos + len < e && (t->cp[pos + len] == '\n') == nl;
			    len++)
				;
			if (put(out, len) < 0)
				return -1;
		}
		return 0;
	default:
		break;
	}
	for (size_t pos = s; pos < e; pos += len) {
		len = sp->kind == S_GPT2 ? gpt2_word(t->cp, pos, e) :
		    sp->kind == S_LLAMA3 ? llama3_word(t->cp, pos, e, 3, 0) :
		    sp->kind == S_QWEN2 ? llama3_word(t->cp, pos, e, 1, 0) :
		    sp->kind == S_QWEN35 ? llama3_word(t->cp, pos, e, 1, 1) :
		    kimi_word(t->cp, pos, e);
		if (put(out, len) < 0)
			return -1;
	}
	return 0;
}

/* What a codepoint is to a regex: collapsed or wide (see the top). */
static void
prepare(struct text *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t c = t->cp[i];
		unsigned f = ucat(c);

		t->wide[i] = c >= 128 && IS_WS(f) ? 0x0b : c;
		t->collapsed[i] = c < 128 ? c : IS_WS(f) ? 0x0b :
		    IS_N(f) ? C_N : IS_L(f) ? C_L : f & UCAT_PUNCT ? C_P :
		    IS_M(f) ? C_M : f & UCAT_SYMBOL ? C_S : C_OTHER;
	}
}

int
pretok_split(const struct pretok *p, const uint32_t *cp, size_t n,
	struct ids *out, struct cerr *e)
{
	struct text t = { cp, malloc((n + 1) * sizeof *t.wide),
	    malloc((n + 1) * sizeof *t.collapsed) };
	struct ids cur = { 0 }, next = { 0 };
	struct stack st = { 0 };
	int r = -1;

	if (!t.wide || !t.collapsed || put(&cur, n) < 0)
		goto done;
	prepare(&t, n);
	for (int k = 0; k < MAXSTEPS && p->steps[k].kind; k++) {
		size_t at = 0;

		next.n = 0;
		for (size_t i = 0; i < cur.n; i++) {
			if (split_step(p, k, &t, at, at + (size_t)cur.v[i], &st,
			    &next) < 0)
				goto done;
			at += (size_t)cur.v[i];
		}
		struct ids tmp = cur;
		cur = next;
		next = tmp;
	}
	for (size_t i = 0; i < cur.n; i++)
		if (ids_push(out, cur.v[i]) < 0)
			goto done;
	r = 0;
done:
	if (r < 0)
		cerr_set(e, "out of memory");
	free(t.wide);
	free(t.collapsed);
	ids_free(&cur);
	ids_free(&next);
	free(st.v);
	return r;
}
