/* jinja.c: the Jinja2 subset of jinja.h. The template is lexed into tokens
 * once; statements run straight off the token array (a for loop jumps back
 * to its body's first token), so there is no syntax tree. Every value lives
 * in one arena freed at the end; an error longjmps out of any depth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja.h"

/* Bounds that keep a hostile template from hanging or exhausting memory:
 * nesting, steps run (statements and expression terms) and bytes held. */
enum { MAX_DEPTH = 200 };
#define MAX_STEPS 20000000L
#define MAX_BYTES ((size_t)256 << 20)

/* ---- values ---- */

enum vt { V_UNDEF, V_NONE, V_BOOL, V_INT, V_STR, V_LIST, V_DICT };

struct list;
struct dict;

struct val {
	enum vt t;
	long long i;            /* BOOL, INT */
	const char *s;          /* STR */
	size_t n;
	struct list *l;         /* LIST */
	struct dict *d;         /* DICT (shared: a namespace is changed in place) */
};

struct list {
	struct val *v;
	size_t n, cap;
};

struct dict {
	struct val *k, *v;      /* k: strings */
	size_t n, cap;
};

/* ---- tokens ---- */

enum tk { T_TEXT, T_OPEN_EXPR, T_CLOSE_EXPR, T_OPEN_STMT, T_CLOSE_STMT,
	T_NAME, T_STR, T_INT, T_OP, T_END };

struct jtok {
	enum tk t;
	const char *p;          /* TEXT, NAME, STR (unescaped), OP */
	size_t n;
	long long i;            /* INT */
	size_t at;              /* byte offset in the template */
};

struct arena {
	struct arena *next;
	size_t used, cap;
	max_align_t mem[];
};

struct jinja {
	const char *src;
	size_t len;
	struct jtok *tk;
	size_t ntk, captk, pos;
	struct arena *arena;
	struct dict *scope[MAX_DEPTH];  /* innermost last */
	int nscope, depth;
	char *out;
	size_t nout, capout;
	const char *probe;      /* a string whose reading is noted */
	int probe_read;
	struct macro {
		const struct jtok *name;
		size_t param[16];       /* token of each parameter's name */
		int nparam;
		size_t body;            /* token after the macro's %} */
	} macro[64];
	int nmacro;
	long steps;
	size_t bytes;           /* held by the arena and the output */
	size_t lexat;           /* where the lexer is, while lexing */
	int lexing;
	struct cerr *e;
	jmp_buf fail;
};

static void fail(struct jinja *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void
fail(struct jinja *j, const char *fmt, ...)
{
	char msg[512];
	size_t at = j->lexing ? j->lexat :
	    j->pos < j->ntk ? j->tk[j->pos].at : j->len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cerr_set(j->e, "chat template: at byte %zu: %s", at, msg);
	longjmp(j->fail, 1);
}

static void *
alloc(struct jinja *j, size_t n)
{
	struct arena *a = j->arena;
	size_t k = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t);

	if (n > MAX_BYTES || (j->bytes += n) > MAX_BYTES)
		fail(j, "more than %zu MiB of values", MAX_BYTES >> 20);
	if (!a || a->cap - a->used < k) {
		size_t cap = k > 4096 ? k : 4096;

		if (!(a = malloc(sizeof *a + cap * sizeof(max_align_t)))) {
			cerr_set(j->e, "out of memory");
			longjmp(j->fail, 1);
		}
		a->next = j->arena;
		a->used = 0;
		a->cap = cap;
		j->arena = a;
	}
	a->used += k;
	return a->mem + a->used - k;
}

/* Grow *p (of *cap elements of size sz) to hold one more than n. */
static void *
grow(struct jinja *j, void *p, size_t n, size_t *cap, size_t sz)
{
	void *q;

	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 8;
	q = alloc(j, *cap * sz);
	if (n)
		memcpy(q, p, n * sz);
	return q;
}

static struct val
str(struct jinja *j, const char *s, size_t n)
{
	char *p = alloc(j, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return (struct val){ .t = V_STR, .s = p, .n = n };
}

static struct val
cstr(const char *s)
{
	return (struct val){ .t = V_STR, .s = s, .n = strlen(s) };
}

static struct val
num(enum vt t, long long i)
{
	return (struct val){ .t = t, .i = i };
}

static struct val
newlist(struct jinja *j)
{
	struct list *l = alloc(j, sizeof *l);

	memset(l, 0, sizeof *l);
	return (struct val){ .t = V_LIST, .l = l };
}

static void
push(struct jinja *j, struct val l, struct val v)
{
	l.l->v = grow(j, l.l->v, l.l->n, &l.l->cap, sizeof v);
	l.l->v[l.l->n++] = v;
}

static struct val
newdict(struct jinja *j)
{
	struct dict *d = alloc(j, sizeof *d);

	memset(d, 0, sizeof *d);
	return (struct val){ .t = V_DICT, .d = d };
}

static struct val *
dict_get(const struct dict *d, const char *k, size_t n)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->k[i].n == n && memcmp(d->k[i].s, k, n) == 0)
			return &d->v[i];
	return NULL;
}

static void
dict_set(struct jinja *j, struct dict *d, struct val k, struct val v)
{
	struct val *at = dict_get(d, k.s, k.n);

	if (at) {
		*at = v;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct val *nk = alloc(j, cap * sizeof *nk);
		struct val *nv = alloc(j, cap * sizeof *nv);

		if (d->n) {
			memcpy(nk, d->k, d->n * sizeof *nk);
			memcpy(nv, d->v, d->n * sizeof *nv);
		}
		d->k = nk, d->v = nv, d->cap = cap;
	}
	d->k[d->n] = k;
	d->v[d->n++] = v;
}

static int
truthy(struct val v)
{
	switch (v.t) {
	case V_BOOL: case V_INT: return v.i != 0;
	case V_STR: return v.n > 0;
	case V_LIST: return v.l->n > 0;
	case V_DICT: return v.d->n > 0;
	default: return 0;
	}
}

/* ---- text out, and values as text ---- */

static void
emit(struct jinja *j, const char *s, size_t n)
{
	if (n >= j->capout - j->nout || !j->out) {
		size_t cap = j->capout ? j->capout : 1024;
		char *p;

		while (cap - j->nout <= n)
			if ((cap *= 2) > MAX_BYTES)
				fail(j, "output over %zu MiB", MAX_BYTES >> 20);
		if (!(p = realloc(j->out, cap))) {
			cerr_set(j->e, "out of memory");
			longjmp(j->fail, 1);
		}
		j->out = p;
		j->capout = cap;
	}
	memcpy(j->out + j->nout, s, n);
	j->nout += n;
	j->out[j->nout] = '\0';
}

static void print(struct jinja *j, struct val v, int repr, int json);

static void
print_str(struct jinja *j, struct val v, int repr, int json)
{
	if (!repr) {
		emit(j, v.s, v.n);
		return;
	}
	emit(j, json ? "\"" : "'", 1);
	for (size_t i = 0; i < v.n; i++) {
		unsigned char c = (unsigned char)v.s[i];
		char esc[8];

		if (c == '\\' || (json ? c == '"' : c == '\'')) {
			esc[0] = '\\', esc[1] = (char)c;
			emit(j, esc, 2);
		} else if (c == '\n') {
			emit(j, "\\n", 2);
		} else if (c == '\t') {
			emit(j, "\\t", 2);
		} else if (c == '\r') {
			emit(j, "\\r", 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, json ? "\\u%04x" : "\\x%02x", c);
			emit(j, esc, strlen(esc));
		} else {
			emit(j, v.s + i, 1);
		}
	}
	emit(j, json ? "\"" : "'", 1);
}

/* A value as {{ }} writes it (repr 0), or inside a list (repr 1: strings
 * quoted), or as tojson (json 1). */
static void
print(struct jinja *j, struct val v, int repr, int json)
{
	char b[32];

	switch (v.t) {
	case V_UNDEF:
		if (json)
			emit(j, "null", 4);
		break;
	case V_NONE:
		emit(j, json ? "null" : "None", 4);
		break;
	case V_BOOL:
		if (json)
			emit(j, v.i ? "true" : "false", v.i ? 4 : 5);
		else
			emit(j, v.i ? "True" : "False", v.i ? 4 : 5);
		break;
	case V_INT:
		snprintf(b, sizeof b, "%lld", v.i);
		emit(j, b, strlen(b));
		break;
	case V_STR:
		print_str(j, v, repr || json, json);
		break;
	case V_LIST:
		emit(j, "[", 1);
		for (size_t i = 0; i < v.l->n; i++) {
			if (i)
				emit(j, ", ", 2);
			print(j, v.l->v[i], 1, json);
		}
		emit(j, "]", 1);
		break;
	case V_DICT:
		emit(j, "{", 1);
		for (size_t i = 0; i < v.d->n; i++) {
			if (i)
				emit(j, ", ", 2);
			print(j, v.d->k[i], 1, json);
			emit(j, ": ", 2);
			print(j, v.d->v[i], 1, json);
		}
		emit(j, "}", 1);
		break;
	}
}

/* What was written since mark, taken back out as a string value. */
static struct val
take(struct jinja *j, size_t mark)
{
	struct val r = str(j, j->out ? j->out + mark : "", j->nout - mark);

	j->nout = mark;
	return r;
}

/* v as a string value. */
static struct val
tostr(struct jinja *j, struct val v, int json)
{
	size_t mark = j->nout;

	if (v.t == V_STR && !json)
		return v;
	print(j, v, 0, json);
	return take(j, mark);
}

/* ---- lexer ---- */

static void
addtok(struct jinja *j, struct jtok t)
{
	if (j->ntk == j->captk) {
		size_t cap = j->captk ? j->captk * 2 : 256;
		struct jtok *p = alloc(j, cap * sizeof *p);

		if (j->ntk)
			memcpy(p, j->tk, j->ntk * sizeof *p);
		j->tk = p;
		j->captk = cap;
	}
	j->tk[j->ntk++] = t;
}

static int
space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int
at(const struct jinja *j, size_t p, const char *s)
{
	size_t n = strlen(s);

	return p <= j->len && n <= j->len - p && memcmp(j->src + p, s, n) == 0;
}

/* Text from p to the next tag, trimmed as llama.cpp's lexer does: a block
 * tag that starts a line takes the line's indent (lstrip_blocks); a newline
 * right after %} or #} goes (trim_blocks); - strips all white space. */
static size_t
lex_text(struct jinja *j, size_t p)
{
	size_t start = p, end;
	const char *s = j->src;

	while (p < j->len && !(s[p] == '{' && p + 1 < j->len &&
	    (s[p + 1] == '%' || s[p + 1] == '{' || s[p + 1] == '#')))
		p++;
	end = p;
	if (p + 1 < j->len && (s[p + 1] == '%' || s[p + 1] == '#')) {
		size_t c = end;

		while (c > start && s[c - 1] != '\n' && space(s[c - 1]))
			c--;
		if ((c > start && s[c - 1] == '\n') || c == 0)
			end = c;
	}
	if (start >= 2 && (s[start - 2] == '%' || s[start - 2] == '#' ||
	    s[start - 2] == '-') && s[start - 1] == '}' && start < end &&
	    s[start] == '\n' && j->ntk)
		start++;
	if (start >= 3 && s[start - 3] == '-' && s[start - 1] == '}' &&
	    (s[start - 2] == '%' || s[start - 2] == '}' || s[start - 2] == '#'))
		while (start < end && space(s[start]))
			start++;
	if (p + 2 < j->len && s[p + 2] == '-')
		while (end > start && space(s[end - 1]))
			end--;
	if (end > start)
		addtok(j, (struct jtok){ T_TEXT, s + start, end - start, 0,
		    start });
	return p;
}

static size_t
lex_string(struct jinja *j, size_t p)
{
	char q = j->src[p], *buf = alloc(j, j->len - p + 1);
	size_t n = 0, from = p++;

	while (p < j->len && j->src[p] != q) {
		char c = j->src[p++];

		if (c == '\\' && p < j->len) {
			c = j->src[p++];
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' :
			    c;
		}
		buf[n++] = c;
	}
	if (p >= j->len) {
		j->lexat = from;
		fail(j, "unterminated string");
	}
	buf[n] = '\0';
	addtok(j, (struct jtok){ T_STR, buf, n, 0, from });
	return p + 1;
}

/* Inside {{ }} or {% %}, from p; returns the offset after the closing tag. */
static size_t
lex_tag(struct jinja *j, size_t p, const char *close)
{
	static const char *const ops[] = { "==", "!=", "<=", ">=", "//", "**",
		"(", ")", "[", "]", "{", "}", ".", ",", ":", "|", "+", "-", "*",
		"/", "%", "~", "<", ">", "=" };
	const char *s = j->src;
	size_t open = p - 2;

	for (;;) {
		size_t k;

		while (p < j->len && space(s[p]))
			p++;
		if (p >= j->len) {
			j->lexat = open;
			fail(j, "tag not closed");
		}
		j->lexat = p;
		if (at(j, p, close) || (s[p] == '-' && at(j, p + 1, close))) {
			p += s[p] == '-';
			addtok(j, (struct jtok){ close[0] == '}' ? T_CLOSE_EXPR :
			    T_CLOSE_STMT, s + p, 2, 0, p });
			return p + 2;
		}
		if (s[p] == '\'' || s[p] == '"') {
			p = lex_string(j, p);
		} else if (s[p] >= '0' && s[p] <= '9') {
			long long v = 0;
			size_t from = p;

			for (; p < j->len && s[p] >= '0' && s[p] <= '9'; p++) {
				if (v > (long long)1e17) {
					j->lexat = from;
					fail(j, "number too large");
				}
				v = v * 10 + (s[p] - '0');
			}
			addtok(j, (struct jtok){ T_INT, s + from, p - from, v,
			    from });
		} else if (s[p] == '_' || ((s[p] | 0x20) >= 'a' &&
		    (s[p] | 0x20) <= 'z')) {
			size_t from = p;

			while (p < j->len && (s[p] == '_' || (s[p] >= '0' &&
			    s[p] <= '9') || ((s[p] | 0x20) >= 'a' &&
			    (s[p] | 0x20) <= 'z')))
				p++;
			addtok(j, (struct jtok){ T_NAME, s + from, p - from, 0,
			    from });
		} else {
			for (k = 0; k < sizeof ops / sizeof *ops; k++)
				if (at(j, p, ops[k]))
					break;
			if (k == sizeof ops / sizeof *ops) {
				j->lexat = p;
				fail(j, "unexpected character 0x%02x",
				    (unsigned char)s[p]);
			}
			addtok(j, (struct jtok){ T_OP, ops[k], strlen(ops[k]), 0,
			    p });
			p += strlen(ops[k]);
		}
	}
}

static void
lex(struct jinja *j)
{
	size_t p = 0;

	j->lexing = 1;
	while (p < j->len) {
		p = lex_text(j, p);
		if (p >= j->len)
			break;
		if (at(j, p, "{#")) {
			const char *end = NULL;

			for (size_t q = p + 2; q + 1 < j->len && !end; q++)
				if (j->src[q] == '#' && j->src[q + 1] == '}')
					end = j->src + q;
			if (!end) {
				j->lexat = p;
				fail(j, "comment not closed");
			}
			p = (size_t)(end - j->src) + 2;
			continue;
		}
		int is_expr = j->src[p + 1] == '{';

		addtok(j, (struct jtok){ is_expr ? T_OPEN_EXPR : T_OPEN_STMT,
		    j->src + p, 2, 0, p });
		p += 2 + (p + 2 < j->len && j->src[p + 2] == '-');
		p = lex_tag(j, p, is_expr ? "}}" : "%}");
	}
	addtok(j, (struct jtok){ T_END, "", 0, 0, j->len });
	j->lexing = 0;
}

/* ---- expressions ---- */

static struct jtok *
cur(struct jinja *j)
{
	return &j->tk[j->pos];
}

static int
is_op(struct jinja *j, const char *op)
{
	struct jtok *t = cur(j);

	return t->t == T_OP && t->n == strlen(op) && !memcmp(t->p, op, t->n);
}

static int
is_name(struct jinja *j, const char *name)
{
	struct jtok *t = cur(j);

	return t->t == T_NAME && t->n == strlen(name) &&
	    !memcmp(t->p, name, t->n);
}

static void
expect_op(struct jinja *j, const char *op)
{
	if (!is_op(j, op))
		fail(j, "expected '%s'", op);
	j->pos++;
}

static struct val expr(struct jinja *j);
static struct val unary(struct jinja *j);
static int test_named(struct jinja *j, const char *name, size_t n,
	struct val v, struct val arg);

static struct val
lookup(struct jinja *j, const char *name, size_t n)
{
	for (int s = j->nscope - 1; s >= 0; s--) {
		struct val *v = dict_get(j->scope[s], name, n);

		if (v)
			return *v;
	}
	return (struct val){ .t = V_UNDEF };
}

static int
equal(struct val a, struct val b)
{
	if ((a.t == V_BOOL || a.t == V_INT) && (b.t == V_BOOL || b.t == V_INT))
		return a.i == b.i;
	if (a.t != b.t)
		return 0;
	switch (a.t) {
	case V_STR:
		return a.n == b.n && !memcmp(a.s, b.s, a.n);
	case V_LIST:
		if (a.l->n != b.l->n)
			return 0;
		for (size_t i = 0; i < a.l->n; i++)
			if (!equal(a.l->v[i], b.l->v[i]))
				return 0;
		return 1;
	case V_DICT:
		return a.d == b.d;
	default:
		return 1;
	}
}

static struct val
index_val(struct jinja *j, struct val a, struct val k)
{
	if (a.t == V_DICT && k.t == V_STR) {
		struct val *v = dict_get(a.d, k.s, k.n);

		if (v && v->t == V_STR && v->s == j->probe)
			j->probe_read = 1;
		return v ? *v : (struct val){ .t = V_UNDEF };
	}
	if ((a.t == V_LIST || a.t == V_STR) && k.t == V_INT) {
		long long n = a.t == V_LIST ? (long long)a.l->n : (long long)a.n;
		long long i = k.i < 0 ? k.i + n : k.i;

		if (i < 0 || i >= n)
			return (struct val){ .t = V_UNDEF };
		return a.t == V_LIST ? a.l->v[i] : str(j, a.s + i, 1);
	}
	return (struct val){ .t = V_UNDEF };
}

static struct val
slice(struct jinja *j, struct val a, struct val lo, struct val hi)
{
	long long n, from, to;
	struct val r;

	if (a.t != V_LIST && a.t != V_STR)
		fail(j, "slice of a non-sequence");
	n = a.t == V_LIST ? (long long)a.l->n : (long long)a.n;
	from = lo.t == V_INT ? lo.i : 0;
	to = hi.t == V_INT ? hi.i : n;
	from = from < 0 ? from + n : from;
	to = to < 0 ? to + n : to;
	from = from < 0 ? 0 : from > n ? n : from;
	to = to < from ? from : to > n ? n : to;
	if (a.t == V_STR)
		return str(j, a.s + from, (size_t)(to - from));
	r = newlist(j);
	for (long long i = from; i < to; i++)
		push(j, r, a.l->v[i]);
	return r;
}

/* Arguments of a call, after its '(': positional into pos, name=value
 * into kw (may be NULL: then none allowed). */
static void
args(struct jinja *j, struct val pos, struct val *kw)
{
	while (!is_op(j, ")")) {
		if (cur(j)->t == T_NAME && j->tk[j->pos + 1].t == T_OP &&
		    j->tk[j->pos + 1].n == 1 && j->tk[j->pos + 1].p[0] == '=') {
			struct val k = str(j, cur(j)->p, cur(j)->n);

			if (!kw)
				fail(j, "keyword arguments not supported here");
			j->pos += 2;
			dict_set(j, kw->d, k, expr(j));
		} else {
			push(j, pos, expr(j));
		}
		if (!is_op(j, ","))
			break;
		j->pos++;
	}
	expect_op(j, ")");
}

static struct val
arg(struct jinja *j, struct val a, size_t i, enum vt t, const char *what)
{
	if (i >= a.l->n || a.l->v[i].t != t)
		fail(j, "%s: argument %zu missing or of the wrong type", what,
		    i + 1);
	return a.l->v[i];
}

static struct val
strip(struct jinja *j, struct val v, int left, int right)
{
	size_t a = 0, b = v.n;

	if (v.t != V_STR)
		fail(j, "strip of a non-string");
	while (left && a < b && space(v.s[a]))
		a++;
	while (right && b > a && space(v.s[b - 1]))
		b--;
	return str(j, v.s + a, b - a);
}

/* upper (1), lower (2), title (3), capitalize (4) */
static struct val
recase(struct jinja *j, struct val v, int how)
{
	struct val r;
	char *p;
	int start = 1;

	if (v.t != V_STR)
		fail(j, "case change of a non-string");
	r = str(j, v.s, v.n);
	p = (char *)r.s;
	for (size_t i = 0; i < r.n; i++) {
		char c = p[i];
		int up = how == 1 || (how >= 3 && start);

		if (c >= 'a' && c <= 'z' && up)
			p[i] = (char)(c - 32);
		else if (c >= 'A' && c <= 'Z' && !up && how != 1 &&
		    (how != 4 || i > 0))
			p[i] = (char)(c + 32);
		if (how == 3)
			start = !((c | 0x20) >= 'a' && (c | 0x20) <= 'z') &&
			    !(c >= '0' && c <= '9');
		else if (how == 4)
			start = 0;
	}
	return r;
}

static struct val
items(struct jinja *j, struct val d, int what)
{
	struct val r = newlist(j);

	if (d.t != V_DICT)
		fail(j, "items/keys/values of a non-mapping");
	for (size_t i = 0; i < d.d->n; i++) {
		if (what == 0) {
			struct val kv = newlist(j);

			push(j, kv, d.d->k[i]);
			push(j, kv, d.d->v[i]);
			push(j, r, kv);
		} else {
			push(j, r, what == 1 ? d.d->k[i] : d.d->v[i]);
		}
	}
	return r;
}

static struct val
method(struct jinja *j, struct val self, const char *m, size_t mn)
{
	struct val a = newlist(j), r;

#define M(s) (mn == strlen(s) && !memcmp(m, s, mn))
	args(j, a, NULL);
	if (M("strip") || M("lstrip") || M("rstrip"))
		return strip(j, self, !M("rstrip"), !M("lstrip"));
	if (M("upper"))
		return recase(j, self, 1);
	if (M("lower"))
		return recase(j, self, 2);
	if (M("title"))
		return recase(j, self, 3);
	if (M("startswith") || M("endswith")) {
		struct val x = arg(j, a, 0, V_STR, "startswith");

		if (self.t != V_STR)
			fail(j, "startswith of a non-string");
		return num(V_BOOL, x.n <= self.n && !memcmp(M("startswith") ?
		    self.s : self.s + self.n - x.n, x.s, x.n));
	}
	if (M("split")) {
		struct val x = a.l->n ? arg(j, a, 0, V_STR, "split") :
		    cstr(" ");
		size_t from = 0;

		if (self.t != V_STR || !x.n)
			fail(j, "split of a non-string or by \"\"");
		r = newlist(j);
		for (size_t i = 0; i + x.n <= self.n; i++)
			if (!memcmp(self.s + i, x.s, x.n)) {
				push(j, r, str(j, self.s + from, i - from));
				from = i + x.n;
				i = from - 1;
			}
		push(j, r, str(j, self.s + from, self.n - from));
		return r;
	}
	if (M("replace")) {
		struct val x = arg(j, a, 0, V_STR, "replace");
		struct val y = arg(j, a, 1, V_STR, "replace");
		struct val out = cstr("");

		if (self.t != V_STR || !x.n)
			fail(j, "replace in a non-string or of \"\"");
		for (size_t i = 0, from = 0; i <= self.n; i++) {
			if (i == self.n || (i + x.n <= self.n &&
			    !memcmp(self.s + i, x.s, x.n))) {
				size_t n = out.n + (i - from) +
				    (i < self.n ? y.n : 0);
				char *p = alloc(j, n + 1);

				memcpy(p, out.s, out.n);
				memcpy(p + out.n, self.s + from, i - from);
				if (i < self.n)
					memcpy(p + out.n + (i - from), y.s, y.n);
				p[n] = '\0';
				out = (struct val){ .t = V_STR, .s = p, .n = n };
				if (i == self.n)
					break;
				from = i + x.n;
				i = from - 1;
			}
		}
		return out;
	}
	if (M("items"))
		return items(j, self, 0);
	if (M("keys"))
		return items(j, self, 1);
	if (M("values"))
		return items(j, self, 2);
	if (M("get")) {
		struct val k = arg(j, a, 0, V_STR, "get");

		r = self.t == V_DICT ? index_val(j, self, k) :
		    (struct val){ .t = V_UNDEF };
		if (r.t == V_UNDEF)
			r = a.l->n > 1 ? a.l->v[1] : num(V_NONE, 0);
		return r;
	}
#undef M
	fail(j, "unknown method '%.*s'", (int)mn, m);
}

static int
is_seq(struct val v)
{
	return v.t == V_LIST || v.t == V_STR;
}

static struct val
filter(struct jinja *j, struct val v)
{
	struct jtok *t = cur(j);
	const char *f = t->p;
	size_t fn = t->n;
	struct val a = newlist(j), kw = newdict(j);

	if (t->t != T_NAME)
		fail(j, "filter name expected");
	j->pos++;
	if (is_op(j, "(")) {
		j->pos++;
		args(j, a, &kw);
	}
#define F(s) (fn == strlen(s) && !memcmp(f, s, fn))
	if (F("trim") || F("strip"))
		return strip(j, v, 1, 1);
	if (F("upper"))
		return recase(j, v, 1);
	if (F("lower"))
		return recase(j, v, 2);
	if (F("title"))
		return recase(j, v, 3);
	if (F("capitalize"))
		return recase(j, v, 4);
	if (F("length") || F("count")) {
		if (v.t == V_DICT)
			return num(V_INT, (long long)v.d->n);
		if (!is_seq(v))
			fail(j, "length of a non-sequence");
		return num(V_INT, (long long)(v.t == V_LIST ? v.l->n : v.n));
	}
	if (F("first") || F("last")) {
		if (!is_seq(v))
			fail(j, "first/last of a non-sequence");
		return index_val(j, v, num(V_INT, F("first") ? 0 : -1));
	}
	if (F("string"))
		return tostr(j, v, 0);
	if (F("tojson"))
		return tostr(j, v, 1);
	if (F("default") || F("d")) {
		int none_too = a.l->n > 1 && truthy(a.l->v[1]);

		if (v.t == V_UNDEF || (none_too && !truthy(v)))
			return a.l->n ? a.l->v[0] : cstr("");
		return v;
	}
	if (F("join")) {
		struct val sep = a.l->n ? arg(j, a, 0, V_STR, "join") : cstr("");
		struct val r = cstr("");

		if (v.t != V_LIST)
			fail(j, "join of a non-list");
		for (size_t i = 0; i < v.l->n; i++) {
			struct val s = tostr(j, v.l->v[i], 0);
			size_t n = r.n + (i ? sep.n : 0) + s.n;
			char *p = alloc(j, n + 1);

			memcpy(p, r.s, r.n);
			if (i)
				memcpy(p + r.n, sep.s, sep.n);
			memcpy(p + n - s.n, s.s, s.n);
			p[n] = '\0';
			r = (struct val){ .t = V_STR, .s = p, .n = n };
		}
		return r;
	}
	if (F("items"))
		return items(j, v, 0);
	if (F("selectattr") || F("rejectattr") || F("select") ||
	    F("reject")) {
		int attr = F("selectattr") || F("rejectattr");
		int keep = F("selectattr") || F("select");
		struct val r = newlist(j), name = { .t = V_UNDEF }, tn;
		size_t k = 0;

		if (v.t != V_LIST)
			fail(j, "select of a non-list");
		if (attr)
			name = arg(j, a, k++, V_STR, "selectattr");
		tn = k < a.l->n ? arg(j, a, k, V_STR, "select") : cstr("");
		for (size_t i = 0; i < v.l->n; i++) {
			struct val x = attr ? index_val(j, v.l->v[i], name) :
			    v.l->v[i];
			int ok = tn.n ? test_named(j, tn.s, tn.n, x,
			    k + 1 < a.l->n ? a.l->v[k + 1] :
			    (struct val){ .t = V_UNDEF }) : truthy(x);

			if (ok == keep)
				push(j, r, v.l->v[i]);
		}
		return r;
	}
	if (F("map")) {
		struct val *at = dict_get(kw.d, "attribute", 9);
		struct val r = newlist(j);

		if (v.t != V_LIST || !at || at->t != V_STR)
			fail(j, "map takes a list and attribute=");
		for (size_t i = 0; i < v.l->n; i++)
			push(j, r, index_val(j, v.l->v[i], *at));
		return r;
	}
	if (F("list") || F("reverse")) {
		struct val r = newlist(j);

		if (v.t == V_DICT)
			v = items(j, v, 1);
		if (!is_seq(v))
			fail(j, "list of a non-sequence");
		for (size_t i = 0, n = v.t == V_LIST ? v.l->n : v.n; i < n;
		    i++)
			push(j, r, index_val(j, v, num(V_INT, F("reverse") ?
			    (long long)(n - 1 - i) : (long long)i)));
		return r;
	}
#undef F
	fail(j, "unknown filter '%.*s'", (int)fn, f);
}

/* Test NAME (n bytes) of v; arg for those that take one. */
static int
test_named(struct jinja *j, const char *name, size_t n, struct val v,
	struct val arg)
{
#define T(s) (n == strlen(s) && !memcmp(name, s, n))
	if (T("defined"))
		return v.t != V_UNDEF;
	if (T("undefined"))
		return v.t == V_UNDEF;
	if (T("none"))
		return v.t == V_NONE;
	if (T("string"))
		return v.t == V_STR;
	if (T("number") || T("integer"))
		return v.t == V_INT;
	if (T("boolean"))
		return v.t == V_BOOL;
	if (T("true") || T("false"))
		return v.t == V_BOOL && v.i == T("true");
	if (T("mapping"))
		return v.t == V_DICT;
	if (T("iterable"))
		return is_seq(v) || v.t == V_DICT;
	if (T("sequence"))
		return is_seq(v);
	if (T("equalto") || T("eq") || T("=="))
		return equal(v, arg);
	if (T("ne") || T("!="))
		return !equal(v, arg);
#undef T
	fail(j, "unknown test '%.*s'", (int)n, name);
}

static int
takes_arg(const struct jtok *t)
{
	return (t->n == 7 && !memcmp(t->p, "equalto", 7)) ||
	    (t->n == 2 && (!memcmp(t->p, "eq", 2) || !memcmp(t->p, "ne", 2)));
}

static int
test(struct jinja *j, struct val v)
{
	struct jtok *t = cur(j);
	struct val a = { .t = V_UNDEF };

	if (t->t != T_NAME)
		fail(j, "test name expected");
	j->pos++;
	if (takes_arg(t)) {
		if (is_op(j, "(")) {
			struct val l = newlist(j);

			j->pos++;
			args(j, l, NULL);
			a = arg(j, l, 0, l.l->n ? l.l->v[0].t : V_NONE, "test");
		} else {
			a = unary(j);
		}
	}
	return test_named(j, t->p, t->n, v, a);
}

static int exec(struct jinja *j, const char *const *stops, int n);
static void push_scope(struct jinja *j);

/* A macro's body run with its parameters bound to a's values; what it
 * writes is its value. */
static struct val
call_macro(struct jinja *j, const struct macro *mc, struct val a)
{
	static const char *const end[] = { "endmacro" };
	size_t mark = j->nout, pos = j->pos;
	int nscope = j->nscope;

	push_scope(j);
	for (int i = 0; i < mc->nparam; i++) {
		const struct jtok *t = &j->tk[mc->param[i]];

		dict_set(j, j->scope[j->nscope - 1], str(j, t->p, t->n),
		    (size_t)i < a.l->n ? a.l->v[i] :
		    (struct val){ .t = V_UNDEF });
	}
	j->pos = mc->body;
	exec(j, end, 1);
	j->pos = pos;
	j->nscope = nscope;
	return take(j, mark);
}

static struct val
call(struct jinja *j, const char *f, size_t fn)
{
	struct val a = newlist(j), kw = newdict(j);

	args(j, a, &kw);
	for (int i = j->nmacro - 1; i >= 0; i--)
		if (j->macro[i].name->n == fn &&
		    !memcmp(j->macro[i].name->p, f, fn))
			return call_macro(j, &j->macro[i], a);
	if (fn == 15 && !memcmp(f, "raise_exception", 15)) {
		struct val m = a.l->n ? tostr(j, a.l->v[0], 0) : cstr("");

		fail(j, "raise_exception: %.*s", (int)m.n, m.s);
	}
	if (fn == 9 && !memcmp(f, "namespace", 9))
		return kw;
	if (fn == 5 && !memcmp(f, "range", 5)) {
		struct val r = newlist(j);
		long long lo = 0, hi = arg(j, a, 0, V_INT, "range").i;

		if (a.l->n > 1)
			lo = hi, hi = arg(j, a, 1, V_INT, "range").i;
		if (hi - lo > 1 << 20)
			fail(j, "range too long");
		for (long long i = lo; i < hi; i++)
			push(j, r, num(V_INT, i));
		return r;
	}
	fail(j, "unknown function '%.*s'", (int)fn, f);
}

static struct val
primary(struct jinja *j)
{
	struct jtok *t = cur(j);
	struct val v;

	if (++j->steps > MAX_STEPS)
		fail(j, "more than %ld steps", MAX_STEPS);
	if (t->t == T_STR) {
		v = (struct val){ .t = V_STR, .s = t->p, .n = t->n };
		j->pos++;
		while (cur(j)->t == T_STR) {    /* 'a' 'b' is 'ab' */
			struct jtok *w = cur(j);
			char *p = alloc(j, v.n + w->n + 1);

			memcpy(p, v.s, v.n);
			memcpy(p + v.n, w->p, w->n + 1);
			v = (struct val){ .t = V_STR, .s = p, .n = v.n + w->n };
			j->pos++;
		}
		return v;
	}
	if (t->t == T_INT) {
		j->pos++;
		return num(V_INT, t->i);
	}
	if (t->t == T_NAME) {
		j->pos++;
#define N(s) (t->n == strlen(s) && !memcmp(t->p, s, t->n))
		if (N("true") || N("True"))
			return num(V_BOOL, 1);
		if (N("false") || N("False"))
			return num(V_BOOL, 0);
		if (N("none") || N("None"))
			return num(V_NONE, 0);
#undef N
		if (is_op(j, "(")) {
			j->pos++;
			return call(j, t->p, t->n);
		}
		return lookup(j, t->p, t->n);
	}
	if (is_op(j, "(")) {
		j->pos++;
		v = expr(j);
		if (is_op(j, ",")) {    /* a tuple, as a list */
			struct val l = newlist(j);

			push(j, l, v);
			while (is_op(j, ",")) {
				j->pos++;
				if (is_op(j, ")"))
					break;
				push(j, l, expr(j));
			}
			v = l;
		}
		expect_op(j, ")");
		return v;
	}
	if (is_op(j, "[")) {
		j->pos++;
		v = newlist(j);
		while (!is_op(j, "]")) {
			push(j, v, expr(j));
			if (!is_op(j, ","))
				break;
			j->pos++;
		}
		expect_op(j, "]");
		return v;
	}
	if (is_op(j, "{")) {
		j->pos++;
		v = newdict(j);
		while (!is_op(j, "}")) {
			struct val k = expr(j);

			if (k.t != V_STR)
				fail(j, "dict keys must be strings");
			expect_op(j, ":");
			dict_set(j, v.d, k, expr(j));
			if (!is_op(j, ","))
				break;
			j->pos++;
		}
		expect_op(j, "}");
		return v;
	}
	fail(j, "expression expected");
}

static struct val
postfix(struct jinja *j)
{
	struct val v = primary(j);

	for (;;) {
		if (is_op(j, ".")) {
			struct jtok *t;

			j->pos++;
			if ((t = cur(j))->t != T_NAME)
				fail(j, "attribute name expected");
			j->pos++;
			if (is_op(j, "(")) {
				j->pos++;
				v = method(j, v, t->p, t->n);
			} else {
				v = index_val(j, v, str(j, t->p, t->n));
			}
		} else if (is_op(j, "[")) {
			struct val k = { .t = V_UNDEF }, hi = { .t = V_UNDEF };

			j->pos++;
			if (!is_op(j, ":"))
				k = expr(j);
			if (is_op(j, ":")) {
				j->pos++;
				if (!is_op(j, "]"))
					hi = expr(j);
				expect_op(j, "]");
				v = slice(j, v, k, hi);
			} else {
				expect_op(j, "]");
				v = index_val(j, v, k);
			}
		} else if (is_op(j, "|")) {
			j->pos++;
			v = filter(j, v);
		} else {
			return v;
		}
	}
}

static struct val
unary(struct jinja *j)
{
	struct val v;
	int neg = 0;

	for (; is_op(j, "-"); j->pos++)
		neg = !neg;
	v = postfix(j);
	if (neg && v.t != V_INT)
		fail(j, "minus of a non-number");
	return neg ? num(V_INT, -v.i) : v;
}

static struct val
arith(struct jinja *j, const char *op, struct val a, struct val b)
{
	if (a.t == V_INT && b.t == V_INT) {
		if (*op == '+')
			return num(V_INT, a.i + b.i);
		if (*op == '-')
			return num(V_INT, a.i - b.i);
		if (*op == '*')
			return num(V_INT, a.i * b.i);
		if (b.i == 0)
			fail(j, "division by zero");
		return num(V_INT, *op == '%' ? a.i % b.i : a.i / b.i);
	}
	if (*op == '+' && a.t == V_STR && b.t == V_STR) {
		char *p = alloc(j, a.n + b.n + 1);

		memcpy(p, a.s, a.n);
		memcpy(p + a.n, b.s, b.n);
		p[a.n + b.n] = '\0';
		return (struct val){ .t = V_STR, .s = p, .n = a.n + b.n };
	}
	if (*op == '+' && a.t == V_LIST && b.t == V_LIST) {
		struct val r = newlist(j);

		for (size_t i = 0; i < a.l->n; i++)
			push(j, r, a.l->v[i]);
		for (size_t i = 0; i < b.l->n; i++)
			push(j, r, b.l->v[i]);
		return r;
	}
	fail(j, "'%s' of these types", op);
}

static struct val
mul(struct jinja *j)
{
	struct val v = unary(j);

	while (is_op(j, "*") || is_op(j, "/") || is_op(j, "//") ||
	    is_op(j, "%")) {
		const char *op = cur(j)->p;

		j->pos++;
		v = arith(j, op, v, unary(j));
	}
	return v;
}

static struct val
concat(struct jinja *j)
{
	struct val v = mul(j);

	while (is_op(j, "~")) {
		j->pos++;
		v = arith(j, "+", tostr(j, v, 0), tostr(j, mul(j), 0));
	}
	return v;
}

static struct val
add(struct jinja *j)
{
	struct val v = concat(j);

	while (is_op(j, "+") || is_op(j, "-")) {
		const char *op = cur(j)->p;

		j->pos++;
		v = arith(j, op, v, concat(j));
	}
	return v;
}

static int
contains(struct val hay, struct val x)
{
	if (hay.t == V_STR && x.t == V_STR) {
		for (size_t i = 0; x.n <= hay.n && i <= hay.n - x.n; i++)
			if (!memcmp(hay.s + i, x.s, x.n))
				return 1;
		return 0;
	}
	if (hay.t == V_LIST) {
		for (size_t i = 0; i < hay.l->n; i++)
			if (equal(hay.l->v[i], x))
				return 1;
		return 0;
	}
	if (hay.t == V_DICT && x.t == V_STR)
		return dict_get(hay.d, x.s, x.n) != NULL;
	return 0;
}

static struct val
compare(struct jinja *j)
{
	struct val v = add(j);

	for (;;) {
		if (is_name(j, "is")) {
			int neg = 0;

			j->pos++;
			if (is_name(j, "not"))
				neg = 1, j->pos++;
			v = num(V_BOOL, test(j, v) != neg);
		} else if (is_name(j, "in") || (is_name(j, "not") &&
		    j->tk[j->pos + 1].t == T_NAME && j->tk[j->pos + 1].n == 2 &&
		    !memcmp(j->tk[j->pos + 1].p, "in", 2))) {
			int neg = is_name(j, "not");

			j->pos += 1 + neg;
			v = num(V_BOOL, contains(add(j), v) != neg);
		} else if (is_op(j, "==") || is_op(j, "!=")) {
			int ne = cur(j)->p[0] == '!';

			j->pos++;
			v = num(V_BOOL, equal(v, add(j)) != ne);
		} else if (is_op(j, "<") || is_op(j, ">") || is_op(j, "<=") ||
		    is_op(j, ">=")) {
			struct jtok *op = cur(j);
			struct val w;
			int c;

			j->pos++;
			w = add(j);
			if (v.t == V_INT && w.t == V_INT)
				c = (v.i > w.i) - (v.i < w.i);
			else if (v.t == V_STR && w.t == V_STR)
				c = memcmp(v.s, w.s, v.n < w.n ? v.n : w.n) ?
				    memcmp(v.s, w.s, v.n < w.n ? v.n : w.n) :
				    (v.n > w.n) - (v.n < w.n);
			else
				fail(j, "comparison of these types");
			v = num(V_BOOL, op->p[0] == '<' ? (op->n == 2 ? c <= 0 :
			    c < 0) : (op->n == 2 ? c >= 0 : c > 0));
		} else {
			return v;
		}
	}
}

static struct val
not_(struct jinja *j)
{
	int neg = 0;

	for (; is_name(j, "not"); j->pos++)
		neg = !neg;
	if (!neg)
		return compare(j);
	return num(V_BOOL, !truthy(compare(j)));
}

static struct val
and_(struct jinja *j)
{
	struct val v = not_(j);

	while (is_name(j, "and")) {
		struct val w;

		j->pos++;
		w = not_(j);
		v = truthy(v) ? w : v;
	}
	return v;
}

static struct val
or_(struct jinja *j)
{
	struct val v = and_(j);

	while (is_name(j, "or")) {
		struct val w;

		j->pos++;
		w = and_(j);
		v = truthy(v) ? v : w;
	}
	return v;
}

static struct val
expr(struct jinja *j)
{
	struct val v;

	if (++j->depth > MAX_DEPTH)
		fail(j, "nested too deep");
	v = or_(j);
	if (is_name(j, "if")) {
		struct val c, w = { .t = V_UNDEF };

		j->pos++;
		c = or_(j);
		if (is_name(j, "else")) {
			j->pos++;
			w = expr(j);
		}
		v = truthy(c) ? v : w;
	}
	j->depth--;
	return v;
}

/* ---- statements ---- */

static void
close_stmt(struct jinja *j)
{
	if (cur(j)->t != T_CLOSE_STMT)
		fail(j, "expected '%%}'");
	j->pos++;
}

/* Is the token at p "{% KW" for a KW among the n of kws? Its index, or -1. */
static int
block_kw(struct jinja *j, size_t p, const char *const *kws, int n)
{
	if (j->tk[p].t != T_OPEN_STMT || j->tk[p + 1].t != T_NAME)
		return -1;
	for (int k = 0; k < n; k++)
		if (j->tk[p + 1].n == strlen(kws[k]) &&
		    !memcmp(j->tk[p + 1].p, kws[k], j->tk[p + 1].n))
			return k;
	return -1;
}

/* Skip to the "{% KW" among stops at this nesting level; pos after KW. */
static int
skip(struct jinja *j, const char *const *stops, int n)
{
	static const char *const opens[] = { "if", "for", "macro", "call",
		"filter", "raw", "generation" };
	static const char *const ends[] = { "endif", "endfor", "endmacro",
		"endcall", "endfilter", "endraw", "endgeneration" };
	int level = 0, k;

	for (; j->tk[j->pos].t != T_END; j->pos++) {
		if (level == 0 && (k = block_kw(j, j->pos, stops, n)) >= 0) {
			j->pos += 2;
			return k;
		}
		if (block_kw(j, j->pos, opens, 7) >= 0)
			level++;
		else if (block_kw(j, j->pos, ends, 7) >= 0)
			level--;
	}
	fail(j, "'{%% %s %%}' missing", stops[n - 1]);
}

static int exec(struct jinja *j, const char *const *stops, int n);

static void
stmt_if(struct jinja *j)
{
	static const char *const branch[] = { "elif", "else", "endif" };
	int k;

	for (;;) {
		int c = truthy(expr(j));

		close_stmt(j);
		if (c) {
			for (k = exec(j, branch, 3); k != 2;)
				k = skip(j, branch, 3);
			close_stmt(j);
			return;
		}
		if ((k = skip(j, branch, 3)) == 0)
			continue;       /* elif: its condition next */
		close_stmt(j);
		if (k == 1) {
			exec(j, branch + 2, 1);
			close_stmt(j);
		}
		return;
	}
}

static void
push_scope(struct jinja *j)
{
	if (j->nscope == MAX_DEPTH)
		fail(j, "nested too deep");
	j->scope[j->nscope++] = newdict(j).d;
}

static void
stmt_for(struct jinja *j)
{
	static const char *const body_end[] = { "else", "endfor" };
	struct jtok *a, *b = NULL;
	struct val seq;
	size_t body, n;
	int k = 1;

	if ((a = cur(j))->t != T_NAME)
		fail(j, "loop variable expected");
	j->pos++;
	if (is_op(j, ",")) {
		j->pos++;
		if ((b = cur(j))->t != T_NAME)
			fail(j, "loop variable expected");
		j->pos++;
	}
	if (!is_name(j, "in"))
		fail(j, "expected 'in'");
	j->pos++;
	seq = expr(j);
	close_stmt(j);
	if (seq.t == V_DICT)
		seq = items(j, seq, 1);
	if (seq.t == V_UNDEF || seq.t == V_NONE)
		seq = newlist(j);
	if (seq.t != V_LIST)
		fail(j, "for over a non-list");
	body = j->pos;
	n = seq.l->n;
	for (size_t i = 0; i < n; i++) {
		struct val loop = newdict(j), it = seq.l->v[i];
		struct dict *s;

		push_scope(j);
		s = j->scope[j->nscope - 1];
		dict_set(j, loop.d, cstr("index0"), num(V_INT, (long long)i));
		dict_set(j, loop.d, cstr("index"), num(V_INT, (long long)i + 1));
		dict_set(j, loop.d, cstr("revindex0"),
		    num(V_INT, (long long)(n - 1 - i)));
		dict_set(j, loop.d, cstr("revindex"),
		    num(V_INT, (long long)(n - i)));
		dict_set(j, loop.d, cstr("first"), num(V_BOOL, i == 0));
		dict_set(j, loop.d, cstr("last"), num(V_BOOL, i == n - 1));
		dict_set(j, loop.d, cstr("length"), num(V_INT, (long long)n));
		dict_set(j, s, cstr("loop"), loop);
		if (b) {
			if (it.t != V_LIST || it.l->n != 2)
				fail(j, "cannot unpack into two names");
			dict_set(j, s, str(j, a->p, a->n), it.l->v[0]);
			dict_set(j, s, str(j, b->p, b->n), it.l->v[1]);
		} else {
			dict_set(j, s, str(j, a->p, a->n), it);
		}
		j->pos = body;
		k = exec(j, body_end, 2);
		j->nscope--;
	}
	if (n == 0 && skip(j, body_end, 2) == 0) {
		close_stmt(j);          /* else: runs when there was nothing */
		exec(j, body_end + 1, 1);
	} else if (n > 0 && k == 0) {
		skip(j, body_end + 1, 1);
	}
	close_stmt(j);
}

static void
stmt_set(struct jinja *j)
{
	struct jtok *name = cur(j), *attr = NULL;
	struct val v;

	if (name->t != T_NAME)
		fail(j, "name expected after set");
	j->pos++;
	if (is_op(j, ".")) {
		j->pos++;
		if ((attr = cur(j))->t != T_NAME)
			fail(j, "attribute name expected");
		j->pos++;
	}
	expect_op(j, "=");
	v = expr(j);
	close_stmt(j);
	if (attr) {
		struct val ns = lookup(j, name->p, name->n);

		if (ns.t != V_DICT)
			fail(j, "set of an attribute of a non-namespace");
		dict_set(j, ns.d, str(j, attr->p, attr->n), v);
	} else {
		dict_set(j, j->scope[j->nscope - 1], str(j, name->p, name->n),
		    v);
	}
}

static void
stmt_macro(struct jinja *j)
{
	static const char *const end[] = { "endmacro" };
	struct macro *mc;

	if (j->nmacro == (int)(sizeof j->macro / sizeof *j->macro))
		fail(j, "too many macros");
	mc = &j->macro[j->nmacro];
	if (cur(j)->t != T_NAME)
		fail(j, "macro name expected");
	mc->name = cur(j);
	mc->nparam = 0;
	j->pos++;
	expect_op(j, "(");
	while (cur(j)->t == T_NAME) {
		if (mc->nparam == 16)
			fail(j, "too many macro parameters");
		mc->param[mc->nparam++] = j->pos++;
		if (!is_op(j, ","))
			break;
		j->pos++;
	}
	expect_op(j, ")");
	close_stmt(j);
	mc->body = j->pos;
	j->nmacro++;
	skip(j, end, 1);
	close_stmt(j);
}

/* Run from pos to a "{% KW" among stops (pos then after KW) or, with no
 * stops, to the end. Returns the KW's index. */
static int
exec(struct jinja *j, const char *const *stops, int n)
{
	if (++j->depth > MAX_DEPTH)
		fail(j, "nested too deep");
	for (;;) {
		struct jtok *t = cur(j);
		int k;

		if (++j->steps > MAX_STEPS)
			fail(j, "more than %ld steps", MAX_STEPS);
		if (t->t == T_END) {
			if (n)
				fail(j, "'{%% %s %%}' missing", stops[n - 1]);
			j->depth--;
			return -1;
		}
		if (t->t == T_TEXT) {
			emit(j, t->p, t->n);
			j->pos++;
		} else if (t->t == T_OPEN_EXPR) {
			j->pos++;
			print(j, expr(j), 0, 0);
			if (cur(j)->t != T_CLOSE_EXPR)
				fail(j, "expected '}}'");
			j->pos++;
		} else if (t->t != T_OPEN_STMT || j->tk[j->pos + 1].t != T_NAME) {
			fail(j, "statement expected");
		} else if ((k = block_kw(j, j->pos, stops, n)) >= 0) {
			j->pos += 2;
			j->depth--;
			return k;
		} else {
			struct jtok *kw = &j->tk[j->pos + 1];

			j->pos += 2;
#define K(s) (kw->n == strlen(s) && !memcmp(kw->p, s, kw->n))
			if (K("if"))
				stmt_if(j);
			else if (K("for"))
				stmt_for(j);
			else if (K("set"))
				stmt_set(j);
			else if (K("macro"))
				stmt_macro(j);
			else if (K("generation") || K("endgeneration"))
				close_stmt(j);
			else {
				j->pos -= 2;    /* the message points at the tag */
				fail(j, "'{%% %.*s %%}' not supported",
				    (int)kw->n, kw->p);
			}
#undef K
		}
	}
}

static void
run(struct jinja *j, const struct chat_turn *m, size_t n, int add_prompt,
	const char *bos, const char *eos)
{
	struct val msgs;

	lex(j);
	push_scope(j);
	msgs = newlist(j);
	for (size_t i = 0; i < n; i++) {
		struct val d = newdict(j);

		dict_set(j, d.d, cstr("role"), cstr(m[i].role));
		dict_set(j, d.d, cstr("content"), str(j, m[i].content,
		    m[i].len));
		if (i == 0)
			j->probe = dict_get(d.d, "content", 7)->s;
		push(j, msgs, d);
	}
	dict_set(j, j->scope[0], cstr("messages"), msgs);
	dict_set(j, j->scope[0], cstr("add_generation_prompt"),
	    num(V_BOOL, add_prompt));
	dict_set(j, j->scope[0], cstr("bos_token"), cstr(bos));
	dict_set(j, j->scope[0], cstr("eos_token"), cstr(eos));
	j->pos = 0;
	exec(j, NULL, 0);
	emit(j, "", 0);
}

/* Render into *out; -1 and e filled on an error. *read: whether the first
 * message's content was read. */
static int
render(const char *tmpl, size_t tlen, const struct chat_turn *m, size_t n,
	int add_prompt, const char *bos, const char *eos, char **out,
	size_t *outlen, int *read, struct cerr *e)
{
	/* on the heap: what longjmp comes back to must not be an automatic
	 * object changed since setjmp */
	struct jinja *j = calloc(1, sizeof *j);
	volatile int r = -1;

	if (!j)
		return cerr_set(e, "out of memory");
	j->src = tmpl, j->len = tlen, j->e = e;
	if (setjmp(j->fail) == 0) {
		run(j, m, n, add_prompt, bos, eos);
		*out = j->out;
		*outlen = j->nout;
		j->out = NULL;
		r = 0;
	}
	if (read)
		*read = j->probe_read;
	free(j->out);
	while (j->arena) {
		struct arena *next = j->arena->next;

		free(j->arena);
		j->arena = next;
	}
	free(j);
	return r;
}

/* Does the template read a system message? llama.cpp's caps check: a
 * system and a user message rendered (errors or not), the system's content
 * read or not. */
static int
reads_system(const char *tmpl, size_t tlen, const char *bos, const char *eos)
{
	static const struct chat_turn probe[] = {
		{ "system", "System message", 14 },
		{ "user", "User message", 12 },
	};
	struct cerr e;
	char *out = NULL;
	size_t n;
	int read = 0;

	if (render(tmpl, tlen, probe, 2, 0, bos, eos, &out, &n, &read, &e) == 0)
		free(out);
	return read;
}

int
jinja_render(const char *tmpl, size_t tlen, const struct chat_turn *m,
	size_t n, int add_prompt, const char *bos, const char *eos, char **out,
	size_t *outlen, struct cerr *e)
{
	struct chat_turn *mm;
	char *merged = NULL;
	int r;

	if (n == 0 || strcmp(m[0].role, "system") ||
	    reads_system(tmpl, tlen, bos, eos))
		return render(tmpl, tlen, m, n, add_prompt, bos, eos, out,
		    outlen, NULL, e);
	/* llama.cpp's workaround: the system text heads the next message,
	 * "\n" between, or goes if it is alone */
	if (!(mm = malloc(n * sizeof *mm)))
		return cerr_set(e, "out of memory");
	memcpy(mm, m + 1, (n - 1) * sizeof *mm);
	if (n > 1) {
		size_t len = m[0].len + 1 + m[1].len;

		if (!(merged = malloc(len + 1))) {
			free(mm);
			return cerr_set(e, "out of memory");
		}
		memcpy(merged, m[0].content, m[0].len);
		merged[m[0].len] = '\n';
		memcpy(merged + m[0].len + 1, m[1].content, m[1].len);
		merged[len] = '\0';
		mm[0].content = merged;
		mm[0].len = len;
	}
	r = render(tmpl, tlen, mm, n - 1, add_prompt, bos, eos, out, outlen,
	    NULL, e);
	free(merged);
	free(mm);
	return r;
}
