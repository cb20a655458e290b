/* gguf.c: a GGUF reader that trusts nothing in the file, and a writer.
 *
 * Every read goes through struct cur, a bounds-checked cursor: a field is
 * read only after `n <= size - off` holds, and every size is computed with
 * overflow-checked 64-bit arithmetic. Errors say what and where:
 * "model.gguf: tensor 12 (blk.0.attn_q.weight): data past end of file
 * (at byte 880)". */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "quant.h"
#include "unpack.h"

/* Limits on what a file may ask of us, far above any real model. */
#define MAX_NEST 8              /* arrays of arrays of ... */
#define MAX_KEY_LEN 65535

/* ---- the cursor ---- */

struct cur {
	const uint8_t *base;
	uint64_t size;
	uint64_t off;
	const char *name;
	struct cerr *e;
	int past_end;           /* the last failure ran past the end */
};

static int
cur_fail(struct cur *c, const char *fmt, const char *what)
{
	cerr_set(c->e, fmt, c->name, what, c->off);
	return -1;
}

static int
need(struct cur *c, uint64_t n, const char *what)
{
	if (n > c->size - c->off) {
		c->past_end = 1;
		return cur_fail(c, "%s: truncated file: %s past end of file "
		    "(at byte %" PRIu64 ")", what);
	}
	return 0;
}

static int
rd(struct cur *c, void *dst, uint64_t n, const char *what)
{
	if (need(c, n, what) < 0)
		return -1;
	memcpy(dst, c->base + c->off, n);
	c->off += n;
	return 0;
}

static int
rd_u32(struct cur *c, uint32_t *v, const char *what)
{
	uint8_t b[4];

	if (rd(c, b, 4, what) < 0)
		return -1;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
	return 0;
}

static int
rd_u64(struct cur *c, uint64_t *v, const char *what)
{
	uint32_t lo, hi;

	if (rd_u32(c, &lo, what) < 0 || rd_u32(c, &hi, what) < 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static int
rd_str(struct cur *c, struct gguf_str *s, const char *what)
{
	uint64_t at = c->off;

	if (rd_u64(c, &s->len, what) < 0)
		return -1;
	if (s->len > c->size - c->off) {
		c->past_end = 1;
		return cerr_set(c->e, "%s: %s: string of %" PRIu64 " bytes past "
		    "end of file (at byte %" PRIu64 ")", c->name, what, s->len,
		    at);
	}
	s->p = (const char *)c->base + c->off;
	c->off += s->len;
	return 0;
}

static int
mul_ok(uint64_t a, uint64_t b, uint64_t *r)
{
	if (a && b > UINT64_MAX / a)
		return 0;
	*r = a * b;
	return 1;
}

/* ---- metadata values ---- */

static const uint8_t scalar_size[GGUF_NTYPES] = {
	[GGUF_UINT8] = 1, [GGUF_INT8] = 1, [GGUF_UINT16] = 2,
	[GGUF_INT16] = 2, [GGUF_UINT32] = 4, [GGUF_INT32] = 4,
	[GGUF_FLOAT32] = 4, [GGUF_BOOL] = 1, [GGUF_UINT64] = 8,
	[GGUF_INT64] = 8, [GGUF_FLOAT64] = 8,
};

static const char *const vtype_names[GGUF_NTYPES] = {
	"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr",
	"u64", "i64", "f64",
};

const char *
gguf_vtype_name(uint32_t t)
{
	return t < GGUF_NTYPES ? vtype_names[t] : "?";
}

/* Decode a scalar of type t at p (bounds already checked). */
static void
decode_scalar(uint32_t t, const uint8_t *p, struct gguf_value *v)
{
	uint64_t u = 0;
	int n = scalar_size[t];

	for (int i = n - 1; i >= 0; i--)
		u = u << 8 | p[i];
	v->type = t;
	switch (t) {
	case GGUF_INT8:  v->v.i = (int8_t)u; break;
	case GGUF_INT16: v->v.i = (int16_t)u; break;
	case GGUF_INT32: v->v.i = (int32_t)u; break;
	case GGUF_INT64: v->v.i = (int64_t)u; break;
	case GGUF_FLOAT32: {
		uint32_t w = (uint32_t)u;
		float f;

		memcpy(&f, &w, 4);
		v->v.f = f;
		break;
	}
	case GGUF_FLOAT64:
		memcpy(&v->v.f, &u, 8);
		break;
	default:
		v->v.u = u;
	}
}

/* Step over n strings (an array's: a vocabulary's 49k to 262k tokens and
 * its merges) with the checks of rd_str in a loop of their own: through
 * rd_str, a call and a copy a field, they were most of a cached model's
 * open. A string that fails is read again by rd_str, for its message. */
static int
skip_strs(struct cur *c, uint64_t n, const char *what)
{
	const uint8_t *b = c->base;
	uint64_t off = c->off, size = c->size, len;
	struct gguf_str s;

	for (uint64_t i = 0; i < n; i++) {
		if (size - off < 8)
			break;
		memcpy(&len, b + off, 8);       /* one load, not eight */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		len = __builtin_bswap64(len);
#endif
		if (len > size - off - 8)
			break;
		off += 8 + len;
		if (i + 1 == n) {
			c->off = off;
			return 0;
		}
	}
	c->off = off;
	return n ? rd_str(c, &s, what) : 0;
}

/* Parse (and validate) one value of type t at the cursor. */
static int
parse_value(struct cur *c, uint32_t t, struct gguf_value *v, int depth,
	const char *what)
{
	v->type = t;
	if (t >= GGUF_NTYPES)
		return cerr_set(c->e, "%s: %s: bad value type %" PRIu32
		    " (at byte %" PRIu64 ")", c->name, what, t, c->off - 4);
	if (t == GGUF_STRING)
		return rd_str(c, &v->v.s, what);
	if (t != GGUF_ARRAY) {
		if (need(c, scalar_size[t], what) < 0)
			return -1;
		decode_scalar(t, c->base + c->off, v);
		if (t == GGUF_BOOL && v->v.u > 1)
			return cerr_set(c->e, "%s: %s: bad bool %" PRIu64
			    " (at byte %" PRIu64 ")", c->name, what, v->v.u,
			    c->off);
		c->off += scalar_size[t];
		return 0;
	}
	if (depth >= MAX_NEST)
		return cerr_set(c->e, "%s: %s: arrays nested too deep "
		    "(at byte %" PRIu64 ")", c->name, what, c->off);
	uint64_t at = c->off;
	if (rd_u32(c, &v->v.arr.type, what) < 0 ||
	    rd_u64(c, &v->v.arr.n, what) < 0)
		return -1;
	if (v->v.arr.type >= GGUF_NTYPES)
		return cerr_set(c->e, "%s: %s: bad array element type %" PRIu32
		    " (at byte %" PRIu64 ")", c->name, what, v->v.arr.type, at);
	v->v.arr.off = c->off;
	if (v->v.arr.type != GGUF_STRING && v->v.arr.type != GGUF_ARRAY) {
		uint64_t bytes;

		if (!mul_ok(v->v.arr.n, scalar_size[v->v.arr.type], &bytes) ||
		    bytes > c->size - c->off) {
			c->off = at + 4;
			c->past_end = 1;
			return cerr_set(c->e, "%s: %s: array of %" PRIu64
			    " elements past end of file (at byte %" PRIu64 ")",
			    c->name, what, v->v.arr.n, c->off);
		}
		if (v->v.arr.type == GGUF_BOOL)
			for (uint64_t i = 0; i < v->v.arr.n; i++)
				if (c->base[c->off + i] > 1)
					return cerr_set(c->e, "%s: %s: bad bool "
					    "(at byte %" PRIu64 ")", c->name,
					    what, c->off + i);
		c->off += bytes;
		return 0;
	}
	/* Strings and arrays are at least 8 bytes each: a cheap bound before
	 * walking them. */
	if (v->v.arr.n > (c->size - c->off) / 8) {
		c->past_end = 1;
		return cerr_set(c->e, "%s: %s: array of %" PRIu64 " elements "
		    "past end of file (at byte %" PRIu64 ")", c->name, what,
		    v->v.arr.n, at + 4);
	}
	if (v->v.arr.type == GGUF_STRING)
		return skip_strs(c, v->v.arr.n, what);
	for (uint64_t i = 0; i < v->v.arr.n; i++) {
		struct gguf_value el;

		if (parse_value(c, GGUF_ARRAY, &el, depth + 1, what) < 0)
			return -1;
	}
	return 0;
}

/* ---- open ---- */

static int
check_kvs(struct gguf *g, struct cur *c)
{
	for (uint64_t i = 0; i < g->n_kv; i++) {
		struct gguf_kv *kv = &g->kv[i];
		char what[96];
		uint32_t t;

		kv->off = c->off;
		snprintf(what, sizeof what, "key %" PRIu64, i);
		if (rd_str(c, &kv->key, what) < 0)
			return -1;
		if (kv->key.len == 0 || kv->key.len > MAX_KEY_LEN)
			return cerr_set(c->e, "%s: %s: bad key length %" PRIu64
			    " (at byte %" PRIu64 ")", c->name, what,
			    kv->key.len, kv->off);
		if (memchr(kv->key.p, '\0', kv->key.len))
			return cerr_set(c->e, "%s: %s: NUL in key (at byte %"
			    PRIu64 ")", c->name, what, kv->off);
		cvis(what, 81, kv->key.p, (size_t)kv->key.len);
		for (uint64_t j = 0; j < i; j++)
			if (g->kv[j].key.len == kv->key.len &&
			    memcmp(g->kv[j].key.p, kv->key.p, kv->key.len) == 0)
				return cerr_set(c->e, "%s: duplicate key %s "
				    "(at byte %" PRIu64 ")", c->name, what,
				    kv->off);
		if (rd_u32(c, &t, what) < 0 ||
		    parse_value(c, t, &kv->val, 0, what) < 0)
			return -1;
	}
	return 0;
}

static int
check_alignment(struct gguf *g, struct cur *c)
{
	const struct gguf_kv *kv = gguf_kv_get(g, "general.alignment");

	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	if (!kv)
		return 0;
	if (kv->val.type != GGUF_UINT32)
		return cerr_set(c->e, "%s: general.alignment: expected u32, "
		    "found %s (at byte %" PRIu64 ")", c->name,
		    gguf_vtype_name(kv->val.type), kv->off);
	if (kv->val.v.u == 0 || (kv->val.v.u & (kv->val.v.u - 1)))
		return cerr_set(c->e, "%s: general.alignment: %" PRIu64
		    " is not a power of two (at byte %" PRIu64 ")", c->name,
		    kv->val.v.u, kv->off);
	if (kv->val.v.u > GGUF_MAX_ALIGNMENT)
		return cerr_set(c->e, "%s: general.alignment: %" PRIu64
		    " is larger than %d (at byte %" PRIu64 ")", c->name,
		    kv->val.v.u, GGUF_MAX_ALIGNMENT, kv->off);
	g->alignment = kv->val.v.u;
	return 0;
}

/* ---- tensors by name ---- */

/* FNV-1a, 64 bits. */
static uint64_t
name_hash(const char *p, uint64_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	while (n--)
		h = (h ^ (uint8_t)*p++) * UINT64_C(0x100000001b3);
	return h;
}

/* The slot of name in g->by_name: where its tensor's index + 1 is, or the
 * empty slot where it would go. The table is never full (slots >= 2 n). */
static uint64_t *
name_slot(const struct gguf *g, const char *p, uint64_t n)
{
	uint64_t k = name_hash(p, n) & g->by_name_mask;

	for (;; k = (k + 1) & g->by_name_mask) {
		uint64_t *s = &g->by_name[k];
		const struct gguf_str *o;

		if (!*s)
			return s;
		o = &g->tensors[*s - 1].name;
		if (o->len == n && memcmp(o->p, p, n) == 0)
			return s;
	}
}

static int
name_table(struct gguf *g)
{
	uint64_t slots = 16;

	while (slots < 2 * g->n_tensors)
		slots *= 2;
	if (!(g->by_name = calloc(slots, sizeof *g->by_name)))
		return -1;
	g->by_name_mask = slots - 1;
	return 0;
}

/* ---- tensor infos ---- */

/* One tensor info; named: messages name the tensor ("tensor 3
 * (output.weight)"), otherwise they are only set to be made again. */
static int
tensor_info(struct gguf *g, struct cur *c, uint64_t i, int named)
{
	struct gguf_tensor *t = &g->tensors[i];
	uint64_t at = c->off, rowsz, nrows = 1;
	const struct qtype *q;
	char what[160] = "", name[81];

	if (named)
		snprintf(what, sizeof what, "tensor %" PRIu64, i);
	if (rd_str(c, &t->name, what) < 0)
		return -1;
	if (t->name.len == 0 || t->name.len > MAX_KEY_LEN)
		return cerr_set(c->e, "%s: %s: bad name length %" PRIu64
		    " (at byte %" PRIu64 ")", c->name, what, t->name.len, at);
	if (named) {
		cvis(name, sizeof name, t->name.p, (size_t)t->name.len);
		snprintf(what, sizeof what, "tensor %" PRIu64 " (%s)", i, name);
	}
	if (*name_slot(g, t->name.p, t->name.len))
		return cerr_set(c->e, "%s: %s: duplicate tensor name "
		    "(at byte %" PRIu64 ")", c->name, what, at);
	at = c->off;
	if (rd_u32(c, &t->n_dims, what) < 0)
		return -1;
	if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
		return cerr_set(c->e, "%s: %s: bad number of dimensions %"
		    PRIu32 " (at byte %" PRIu64 ")", c->name, what, t->n_dims,
		    at);
	t->nelem = 1;
	for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
		t->ne[d] = 1;
		if (d >= t->n_dims)
			continue;
		at = c->off;
		if (rd_u64(c, &t->ne[d], what) < 0)
			return -1;
		if (t->ne[d] == 0 || t->ne[d] > INT64_MAX ||
		    !mul_ok(t->nelem, t->ne[d], &t->nelem) ||
		    t->nelem > INT64_MAX)
			return cerr_set(c->e, "%s: %s: bad dimension %" PRIu64
			    " (at byte %" PRIu64 ")", c->name, what, t->ne[d],
			    at);
		if (d > 0)
			nrows *= t->ne[d];
	}
	at = c->off;
	if (rd_u32(c, &t->type, what) < 0)
		return -1;
	if (!(q = qtype_get(t->type)))
		return cerr_set(c->e, "%s: %s: unknown tensor type %" PRIu32
		    " (at byte %" PRIu64 ")", c->name, what, t->type, at);
	if (!(rowsz = qtype_row_size(t->type, t->ne[0])))
		return cerr_set(c->e, "%s: %s: row of %" PRIu64 " is not a "
		    "multiple of the %s block size %d (at byte %" PRIu64 ")",
		    c->name, what, t->ne[0], q->name, q->blck, at);
	if (!mul_ok(rowsz, nrows, &t->nbytes))
		return cerr_set(c->e, "%s: %s: size overflows (at byte %"
		    PRIu64 ")", c->name, what, at);
	at = c->off;
	if (rd_u64(c, &t->offset, what) < 0)
		return -1;
	if (t->offset % g->alignment)
		return cerr_set(c->e, "%s: %s: data offset %" PRIu64 " not "
		    "aligned to %" PRIu64 " (at byte %" PRIu64 ")", c->name,
		    what, t->offset, g->alignment, at);
	*name_slot(g, t->name.p, t->name.len) = i + 1;
	return 0;
}

/* A tensor info, read without naming the tensor in messages-to-be (a
 * snprintf and a cvis a tensor were a sixth of a cached model's parse);
 * a failure reads it again, named, for the message. */
static int
parse_tensor_info(struct gguf *g, struct cur *c, uint64_t i)
{
	uint64_t at = c->off;

	if (tensor_info(g, c, i, 0) == 0)
		return 0;
	c->off = at;
	c->past_end = 0;
	return tensor_info(g, c, i, 1);
}

/* A tensor's data range, for finding overlaps. */
struct span {
	uint64_t start, end, i;
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Tensor data must lie inside the file, and no two tensors may share bytes:
 * one range under many names would let a file of a few MB stand for a model
 * of a GB (llama.cpp goes further and wants them packed in order). */
static int
check_tensor_data(struct gguf *g, struct cur *c)
{
	uint64_t room = g->size - g->data_off;
	struct span *sp;
	char a[81], b[81];

	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct gguf_tensor *t = &g->tensors[i];

		if (t->offset > room || t->nbytes > room - t->offset) {
			cvis(a, sizeof a, t->name.p, (size_t)t->name.len);
			return cerr_set(c->e, "%s: tensor %" PRIu64 " (%s): "
			    "data past end of file (at byte %" PRIu64 ")",
			    c->name, i, a, g->data_off + t->offset);
		}
		t->data = g->base + g->data_off + t->offset;
	}
	if (g->n_tensors < 2)
		return 0;
	if (!(sp = calloc(g->n_tensors, sizeof *sp)))
		return cerr_set(c->e, "%s: out of memory", c->name);
	for (uint64_t i = 0; i < g->n_tensors; i++)
		sp[i] = (struct span){ g->tensors[i].offset,
		    g->tensors[i].offset + g->tensors[i].nbytes, i };
	qsort(sp, g->n_tensors, sizeof *sp, span_cmp);
	for (uint64_t k = 1; k < g->n_tensors; k++) {
		const struct gguf_tensor *t = &g->tensors[sp[k].i];
		const struct gguf_tensor *o = &g->tensors[sp[k - 1].i];

		if (sp[k - 1].end <= sp[k].start)
			continue;
		cvis(a, sizeof a, t->name.p, (size_t)t->name.len);
		cvis(b, sizeof b, o->name.p, (size_t)o->name.len);
		cerr_set(c->e, "%s: tensor %" PRIu64 " (%s): data overlaps "
		    "tensor %" PRIu64 " (%s) (at byte %" PRIu64 ")", c->name,
		    sp[k].i, a, sp[k - 1].i, b, g->data_off + t->offset);
		free(sp);
		return -1;
	}
	free(sp);
	return 0;
}

/* Everything before the tensor data: fixed fields, metadata, tensor infos,
 * padding. Failures for want of bytes set c->past_end. */
static int
parse_header(struct gguf *g, struct cur *c)
{
	uint32_t magic;
	uint64_t pad;

	if (rd(c, &magic, 4, "magic") < 0)
		return -1;
	if (memcmp(&magic, "GGUF", 4) != 0)
		return cerr_set(c->e, "%s: not a GGUF file (bad magic, at byte "
		    "0)", g->path);
	if (rd_u32(c, &g->version, "version") < 0)
		return -1;
	if (g->version != 2 && g->version != 3)
		return cerr_set(c->e, "%s: GGUF version %" PRIu32 " not "
		    "supported (at byte 4)", g->path, g->version);
	if (rd_u64(c, &g->n_tensors, "tensor count") < 0 ||
	    rd_u64(c, &g->n_kv, "key count") < 0)
		return -1;
	/* A key takes at least 8+1+4+1 bytes, a tensor info 8+1+4+8+4+8. */
	c->past_end = 1;
	if (g->n_kv > (g->size - c->off) / 14)
		return cerr_set(c->e, "%s: key count %" PRIu64 " too large for "
		    "the file (at byte 16)", g->path, g->n_kv);
	if (g->n_tensors > (g->size - c->off) / 33)
		return cerr_set(c->e, "%s: tensor count %" PRIu64 " too large "
		    "for the file (at byte 8)", g->path, g->n_tensors);
	c->past_end = 0;
	g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
	g->tensors = calloc(g->n_tensors ? g->n_tensors : 1,
	    sizeof *g->tensors);
	if (!g->kv || !g->tensors || name_table(g) < 0)
		return cerr_set(c->e, "%s: out of memory", g->path);
	if (check_kvs(g, c) < 0 || check_alignment(g, c) < 0)
		return -1;
	for (uint64_t i = 0; i < g->n_tensors; i++)
		if (parse_tensor_info(g, c, i) < 0)
			return -1;
	pad = (g->alignment - c->off % g->alignment) % g->alignment;
	if (g->n_tensors && pad > g->size - c->off) {
		c->past_end = 1;
		return cerr_set(c->e, "%s: truncated file: data section past "
		    "end of file (at byte %" PRIu64 ")", g->path, c->off);
	}
	g->data_off = c->off + (pad <= g->size - c->off ? pad : 0);
	return 0;
}

static int
parse(struct gguf *g, struct cerr *e)
{
	struct cur c = { g->base, g->size, 0, g->path, e, 0 };

	if (parse_header(g, &c) < 0)
		return -1;
	return check_tensor_data(g, &c);
}

static uint64_t align_up(uint64_t x, uint64_t a);

int
gguf_declared_size(const void *buf, uint64_t n, const char *name,
	uint64_t *size, struct cerr *e)
{
	struct gguf g = { .path = name, .base = buf, .size = n };
	struct cur c = { buf, n, 0, name, e, 0 };
	uint64_t end = 0, head;
	int r = 0;

	if (parse_header(&g, &c) < 0) {
		r = c.past_end ? 0 : -1;
		goto done;
	}
	for (uint64_t i = 0; i < g.n_tensors; i++) {
		const struct gguf_tensor *t = &g.tensors[i];

		if (t->offset > UINT64_MAX / 2 || t->nbytes > UINT64_MAX / 2) {
			r = cerr_set(e, "%s: tensor %" PRIu64 ": data past any "
			    "file's end", name, i);
			goto done;
		}
		if (t->offset + t->nbytes > end)
			end = t->offset + t->nbytes;
	}
	head = align_up(c.off, g.alignment);
	end = align_up(end, g.alignment);
	if (end > UINT64_MAX - head) {
		r = cerr_set(e, "%s: tensor data past any file's end", name);
		goto done;
	}
	*size = head + end;
	r = 1;
done:
	free(g.kv);
	free(g.tensors);
	free(g.by_name);
	return r;
}

struct gguf *
gguf_open_mem(const void *buf, uint64_t size, const char *name,
	struct cerr *e)
{
	struct gguf *g = calloc(1, sizeof *g);

	if (!g) {
		cerr_set(e, "%s: out of memory", name);
		return NULL;
	}
	g->path = name;
	g->base = buf;
	g->size = size;
	if (parse(g, e) < 0) {
		gguf_close(g);
		return NULL;
	}
	return g;
}

struct gguf *
gguf_open(const char *path, struct cerr *e)
{
	struct stat st;
	struct gguf *g;
	void *buf = NULL;
	uint64_t size = 0;
	char magic[4];
	int fd, r;

	if ((fd = open(path, O_RDONLY)) < 0) {
		cerr_set(e, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cerr_set(e, "%s: %s", path, S_ISDIR(st.st_mode) ?
		    "is a directory" : "not a regular file");
		close(fd);
		return NULL;
	}
	if (st.st_size < 4 || pread(fd, magic, 4, 0) != 4) {
		cerr_set(e, "%s: not a GGUF file (too short: %lld bytes)", path,
		    (long long)st.st_size);
		close(fd);
		return NULL;
	}
	if (memcmp(magic, "GGUF", 4) != 0) {
		close(fd);
		r = unpack_model(path, &buf, &size, e);
		if (r < 0)
			return NULL;
		if (r == 0) {
			cerr_set(e, "%s: not a GGUF file (bad magic, at byte 0)",
			    path);
			return NULL;
		}
		if (!(g = gguf_open_mem(buf, size, path, e))) {
			unpack_free(buf, size);
			return NULL;
		}
		g->mapped = 2;
		return g;
	}
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED) {
		cerr_set(e, "%s: mmap: %s", path, strerror(errno));
		return NULL;
	}
	if (!(g = gguf_open_mem(buf, (uint64_t)st.st_size, path, e))) {
		munmap(buf, (size_t)st.st_size);
		return NULL;
	}
	g->mapped = 1;
	return g;
}

void
gguf_close(struct gguf *g)
{
	if (!g)
		return;
	if (g->mapped == 1)
		munmap((void *)g->base, (size_t)g->size);
	else if (g->mapped == 2)
		unpack_free((void *)g->base, g->size);
	free(g->kv);
	free(g->tensors);
	free(g->by_name);
	free(g);
}

/* ---- lookups ---- */

int
gguf_str_eq(struct gguf_str s, const char *c)
{
	size_t n = strlen(c);

	return s.len == n && memcmp(s.p, c, n) == 0;
}

int64_t
gguf_find_key(const struct gguf *g, const char *key)
{
	for (uint64_t i = 0; i < g->n_kv; i++)
		if (gguf_str_eq(g->kv[i].key, key))
			return (int64_t)i;
	return -1;
}

const struct gguf_kv *
gguf_kv_get(const struct gguf *g, const char *key)
{
	int64_t i = gguf_find_key(g, key);

	return i < 0 ? NULL : &g->kv[i];
}

int64_t
gguf_find_tensor(const struct gguf *g, const char *name)
{
	uint64_t k = *name_slot(g, name, strlen(name));

	return k ? (int64_t)(k - 1) : -1;
}

const struct gguf_tensor *
gguf_tensor_get(const struct gguf *g, const char *name)
{
	int64_t i = gguf_find_tensor(g, name);

	return i < 0 ? NULL : &g->tensors[i];
}

static int
is_uint(uint32_t t)
{
	return t == GGUF_UINT8 || t == GGUF_UINT16 || t == GGUF_UINT32 ||
	    t == GGUF_UINT64 || t == GGUF_BOOL;
}

static int
is_sint(uint32_t t)
{
	return t == GGUF_INT8 || t == GGUF_INT16 || t == GGUF_INT32 ||
	    t == GGUF_INT64;
}

static const struct gguf_kv *
get_kv(const struct gguf *g, const char *key, struct cerr *e)
{
	const struct gguf_kv *kv = gguf_kv_get(g, key);

	if (!kv)
		cerr_set(e, "%s: no key %s", g->path, key);
	return kv;
}

static int
wrong(const struct gguf *g, const char *key, const char *want,
	const struct gguf_value *v, struct cerr *e)
{
	return cerr_set(e, "%s: %s: expected %s, found %s", g->path, key, want,
	    gguf_vtype_name(v->type));
}

static int
value_u64(const struct gguf_value *v, uint64_t *out)
{
	if (is_uint(v->type)) {
		*out = v->v.u;
		return 0;
	}
	if (is_sint(v->type) && v->v.i >= 0) {
		*out = (uint64_t)v->v.i;
		return 0;
	}
	return -1;
}

int
gguf_get_u64(const struct gguf *g, const char *key, uint64_t *out,
	struct cerr *e)
{
	const struct gguf_kv *kv = get_kv(g, key, e);

	if (!kv)
		return -1;
	if (value_u64(&kv->val, out) < 0)
		return wrong(g, key, "a non-negative integer", &kv->val, e);
	return 0;
}

int
gguf_get_i64(const struct gguf *g, const char *key, int64_t *out,
	struct cerr *e)
{
	const struct gguf_kv *kv = get_kv(g, key, e);

	if (!kv)
		return -1;
	if (is_sint(kv->val.type)) {
		*out = kv->val.v.i;
		return 0;
	}
	if (is_uint(kv->val.type) && kv->val.v.u <= INT64_MAX) {
		*out = (int64_t)kv->val.v.u;
		return 0;
	}
	return wrong(g, key, "an integer", &kv->val, e);
}

int
gguf_get_f64(const struct gguf *g, const char *key, double *out,
	struct cerr *e)
{
	const struct gguf_kv *kv = get_kv(g, key, e);

	if (!kv)
		return -1;
	if (kv->val.type == GGUF_FLOAT32 || kv->val.type == GGUF_FLOAT64)
		*out = kv->val.v.f;
	else if (is_sint(kv->val.type))
		*out = (double)kv->val.v.i;
	else if (is_uint(kv->val.type))
		*out = (double)kv->val.v.u;
	else
		return wrong(g, key, "a number", &kv->val, e);
	return 0;
}

int
gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *out,
	struct cerr *e)
{
	const struct gguf_kv *kv = get_kv(g, key, e);

	if (!kv)
		return -1;
	if (kv->val.type != GGUF_STRING)
		return wrong(g, key, "a string", &kv->val, e);
	*out = kv->val.v.s;
	return 0;
}

int
gguf_get_bool(const struct gguf *g, const char *key, int *out,
	struct cerr *e)
{
	const struct gguf_kv *kv = get_kv(g, key, e);

	if (!kv)
		return -1;
	if (kv->val.type != GGUF_BOOL)
		return wrong(g, key, "a bool", &kv->val, e);
	*out = kv->val.v.u != 0;
	return 0;
}

int
gguf_get_arr(const struct gguf *g, const char *key, uint32_t *elem_type,
	uint64_t *n, struct cerr *e)
{
	const struct gguf_kv *kv = get_kv(g, key, e);

	if (!kv)
		return -1;
	if (kv->val.type != GGUF_ARRAY)
		return wrong(g, key, "an array", &kv->val, e);
	*elem_type = kv->val.v.arr.type;
	*n = kv->val.v.arr.n;
	return 0;
}

/* Skip one element of type t at the cursor (the file is already valid). */
static void
skip_elem(struct cur *c, uint32_t t)
{
	struct gguf_value v;

	parse_value(c, t, &v, 0, "element");
}

int
gguf_arr_elem(const struct gguf *g, const struct gguf_value *v, uint64_t i,
	struct gguf_value *out, struct cerr *e)
{
	struct cur c = { g->base, g->size, 0, g->path, e, 0 };
	uint32_t t;

	if (v->type != GGUF_ARRAY || i >= v->v.arr.n)
		return cerr_set(e, "%s: array index %" PRIu64 " out of range",
		    g->path, i);
	t = v->v.arr.type;
	c.off = v->v.arr.off;
	if (t != GGUF_STRING && t != GGUF_ARRAY) {
		c.off += i * scalar_size[t];
		decode_scalar(t, g->base + c.off, out);
		return 0;
	}
	for (uint64_t k = 0; k < i; k++)
		skip_elem(&c, t);
	if (t == GGUF_STRING) {
		out->type = GGUF_STRING;
		return rd_str(&c, &out->v.s, "element");
	}
	return parse_value(&c, GGUF_ARRAY, out, 0, "element");
}

int
gguf_arr_next(const struct gguf *g, const struct gguf_value *v,
	struct gguf_arr_it *it, struct gguf_value *out)
{
	struct cur c = { g->base, g->size, 0, g->path, NULL, 0 };
	uint32_t t = v->v.arr.type;

	if (v->type != GGUF_ARRAY || it->i >= v->v.arr.n)
		return 0;
	c.off = it->i == 0 ? v->v.arr.off : it->off;
	if (parse_value(&c, t, out, 0, "element") < 0)
		return 0;       /* cannot happen: the file was validated */
	it->off = c.off;
	it->i++;
	return 1;
}

int
gguf_arr_strs(const struct gguf *g, const struct gguf_value *v,
	struct gguf_str *out, struct cerr *e)
{
	struct cur c = { g->base, g->size, 0, g->path, e, 0 };

	if (v->type != GGUF_ARRAY || v->v.arr.type != GGUF_STRING)
		return cerr_set(e, "%s: expected an array of strings", g->path);
	c.off = v->v.arr.off;
	for (uint64_t i = 0; i < v->v.arr.n; i++)
		if (rd_str(&c, &out[i], "element") < 0)
			return -1;
	return 0;
}

static int
arr_num(const struct gguf *g, const struct gguf_value *v, float *f,
	int64_t *l, struct cerr *e)
{
	uint32_t t = v->v.arr.type;

	if (v->type != GGUF_ARRAY || t == GGUF_STRING || t == GGUF_ARRAY)
		return cerr_set(e, "%s: expected an array of numbers", g->path);
	for (uint64_t i = 0; i < v->v.arr.n; i++) {
		struct gguf_value x;

		decode_scalar(t, g->base + v->v.arr.off + i * scalar_size[t], &x);
		if (f)
			f[i] = t == GGUF_FLOAT32 || t == GGUF_FLOAT64 ?
			    (float)x.v.f : is_sint(t) ? (float)x.v.i :
			    (float)x.v.u;
		if (l) {
			if (t == GGUF_FLOAT32 || t == GGUF_FLOAT64)
				return cerr_set(e, "%s: expected an array of "
				    "integers", g->path);
			if (t == GGUF_UINT64 && x.v.u > INT64_MAX)
				return cerr_set(e, "%s: array value out of "
				    "range", g->path);
			l[i] = is_sint(t) ? x.v.i : (int64_t)x.v.u;
		}
	}
	return 0;
}

int
gguf_arr_f32(const struct gguf *g, const struct gguf_value *v, float *out,
	struct cerr *e)
{
	return arr_num(g, v, out, NULL, e);
}

int
gguf_arr_i64(const struct gguf *g, const struct gguf_value *v, int64_t *out,
	struct cerr *e)
{
	return arr_num(g, v, NULL, out, e);
}

/* ---- writer ---- */

/* A metadata entry is kept serialized (key, type, value) in file order. */
struct wkv {
	char *key;
	uint8_t *bytes;
	size_t len;
};

struct wtensor {
	char *name;
	uint32_t n_dims;
	uint64_t ne[GGUF_MAX_DIMS];
	uint32_t type;
	const void *data;
	uint64_t nbytes;
	gguf_fill_fn fill;              /* or made by fill when written */
	void *fill_ctx;
};

struct gguf_writer {
	uint32_t version;
	uint64_t alignment;
	struct wkv *kv;
	size_t n_kv, cap_kv;
	struct wtensor *t;
	size_t n_t, cap_t;
};

/* A growable byte buffer for serializing one entry. */
struct buf {
	uint8_t *p;
	size_t n, cap;
	int oom;
};

static void
buf_put(struct buf *b, const void *src, size_t n)
{
	if (b->oom)
		return;
	if (n > b->cap - b->n) {
		size_t cap = b->cap ? b->cap : 64;
		uint8_t *p;

		while (cap - b->n < n)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
}

static void
buf_u32(struct buf *b, uint32_t v)
{
	uint8_t w[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 24) };

	buf_put(b, w, 4);
}

static void
buf_u64(struct buf *b, uint64_t v)
{
	buf_u32(b, (uint32_t)v);
	buf_u32(b, (uint32_t)(v >> 32));
}

static void
buf_str(struct buf *b, const char *s, size_t n)
{
	buf_u64(b, n);
	buf_put(b, s, n);
}

struct gguf_writer *
gguf_writer_new(uint32_t version, uint64_t alignment)
{
	struct gguf_writer *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->version = version == 2 ? 2 : 3;
	w->alignment = alignment && !(alignment & (alignment - 1)) &&
	    alignment <= GGUF_MAX_ALIGNMENT ? alignment : GGUF_DEFAULT_ALIGNMENT;
	return w;
}

void
gguf_writer_free(struct gguf_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_kv; i++) {
		free(w->kv[i].key);
		free(w->kv[i].bytes);
	}
	for (size_t i = 0; i < w->n_t; i++)
		free(w->t[i].name);
	free(w->kv);
	free(w->t);
	free(w);
}

static int64_t
wfind(const struct gguf_writer *w, const char *key)
{
	for (size_t i = 0; i < w->n_kv; i++)
		if (strcmp(w->kv[i].key, key) == 0)
			return (int64_t)i;
	return -1;
}

/* Store a serialized entry under key, replacing one that exists. */
static int
wput(struct gguf_writer *w, const char *key, struct buf *b, struct cerr *e)
{
	int64_t i = wfind(w, key);
	char *k;

	if (b->oom || !(k = strdup(key))) {
		free(b->p);
		return cerr_set(e, "out of memory");
	}
	if (i >= 0) {
		free(w->kv[i].key);
		free(w->kv[i].bytes);
	} else {
		if (w->n_kv == w->cap_kv) {
			size_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
			struct wkv *p = realloc(w->kv, cap * sizeof *p);

			if (!p) {
				free(k);
				free(b->p);
				return cerr_set(e, "out of memory");
			}
			w->kv = p;
			w->cap_kv = cap;
		}
		i = (int64_t)w->n_kv++;
	}
	w->kv[i].key = k;
	w->kv[i].bytes = b->p;
	w->kv[i].len = b->n;
	if (strcmp(key, "general.alignment") == 0 && b->n == 8 + strlen(key) +
	    4 + 4) {
		uint8_t *v = b->p + b->n - 4;
		uint32_t a = (uint32_t)v[0] | (uint32_t)v[1] << 8 |
		    (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;

		if (a && !(a & (a - 1)) && a <= GGUF_MAX_ALIGNMENT)
			w->alignment = a;
	}
	return 0;
}

static void
buf_key(struct buf *b, const char *key, uint32_t type)
{
	buf_str(b, key, strlen(key));
	buf_u32(b, type);
}

int
gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf *src,
	const struct gguf_kv *kv, struct cerr *e)
{
	struct cur c = { src->base, src->size, kv->off, src->path, e, 0 };
	struct gguf_value v;
	struct gguf_str key;
	struct buf b = { 0 };
	uint32_t t;
	char *k;
	int r;

	if (rd_str(&c, &key, "key") < 0 || rd_u32(&c, &t, "key") < 0 ||
	    parse_value(&c, t, &v, 0, "key") < 0)
		return -1;
	buf_put(&b, src->base + kv->off, c.off - kv->off);
	if (!(k = strndup(key.p, key.len))) {
		free(b.p);
		return cerr_set(e, "out of memory");
	}
	r = wput(w, k, &b, e);
	free(k);
	return r;
}

static int
int_type(uint32_t t)
{
	return is_uint(t) || is_sint(t);
}

int
gguf_writer_set_u64(struct gguf_writer *w, const char *key, uint32_t type,
	uint64_t v, struct cerr *e)
{
	struct buf b = { 0 };
	uint8_t le[8];

	if (!int_type(type))
		return cerr_set(e, "%s: type %s is not an integer type", key,
		    gguf_vtype_name(type));
	buf_key(&b, key, type);
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	buf_put(&b, le, scalar_size[type]);
	return wput(w, key, &b, e);
}

int
gguf_writer_set_i64(struct gguf_writer *w, const char *key, uint32_t type,
	int64_t v, struct cerr *e)
{
	return gguf_writer_set_u64(w, key, type, (uint64_t)v, e);
}

int
gguf_writer_set_f64(struct gguf_writer *w, const char *key, uint32_t type,
	double v, struct cerr *e)
{
	struct buf b = { 0 };

	if (type == GGUF_FLOAT32) {
		float f = (float)v;
		uint32_t u;

		memcpy(&u, &f, 4);
		buf_key(&b, key, type);
		buf_u32(&b, u);
	} else if (type == GGUF_FLOAT64) {
		uint64_t u;

		memcpy(&u, &v, 8);
		buf_key(&b, key, type);
		buf_u64(&b, u);
	} else {
		return cerr_set(e, "%s: type %s is not a float type", key,
		    gguf_vtype_name(type));
	}
	return wput(w, key, &b, e);
}

int
gguf_writer_set_str(struct gguf_writer *w, const char *key, const char *s,
	size_t len, struct cerr *e)
{
	struct buf b = { 0 };

	buf_key(&b, key, GGUF_STRING);
	buf_str(&b, s, len);
	return wput(w, key, &b, e);
}

int
gguf_writer_set_arr(struct gguf_writer *w, const char *key,
	uint32_t elem_type, const void *data, uint64_t n, struct cerr *e)
{
	struct buf b = { 0 };
	uint64_t bytes;

	if (elem_type >= GGUF_NTYPES || elem_type == GGUF_STRING ||
	    elem_type == GGUF_ARRAY)
		return cerr_set(e, "%s: bad array element type", key);
	if (!mul_ok(n, scalar_size[elem_type], &bytes) || bytes > SIZE_MAX)
		return cerr_set(e, "%s: array too large", key);
	buf_key(&b, key, GGUF_ARRAY);
	buf_u32(&b, elem_type);
	buf_u64(&b, n);
	buf_put(&b, data, (size_t)bytes);
	return wput(w, key, &b, e);
}

int
gguf_writer_set_arr_str(struct gguf_writer *w, const char *key,
	const struct gguf_str *strs, uint64_t n, struct cerr *e)
{
	struct buf b = { 0 };

	buf_key(&b, key, GGUF_ARRAY);
	buf_u32(&b, GGUF_STRING);
	buf_u64(&b, n);
	for (uint64_t i = 0; i < n; i++)
		buf_str(&b, strs[i].p, (size_t)strs[i].len);
	return wput(w, key, &b, e);
}

int
gguf_writer_del(struct gguf_writer *w, const char *key)
{
	int64_t i = wfind(w, key);

	if (i < 0)
		return -1;
	free(w->kv[i].key);
	free(w->kv[i].bytes);
	memmove(&w->kv[i], &w->kv[i + 1], (w->n_kv - (size_t)i - 1) *
	    sizeof *w->kv);
	w->n_kv--;
	return 0;
}

static struct wtensor *
add_tensor(struct gguf_writer *w, const char *name, uint32_t n_dims,
	const uint64_t *ne, uint32_t type, uint64_t nbytes, struct cerr *e)
{
	struct wtensor *t;
	uint64_t rows = 1, rowsz;

	if (n_dims == 0 || n_dims > GGUF_MAX_DIMS) {
		cerr_set(e, "%s: bad number of dimensions %" PRIu32, name,
		    n_dims);
		return NULL;
	}
	for (uint32_t d = 1; d < n_dims; d++)
		if (!mul_ok(rows, ne[d], &rows)) {
			cerr_set(e, "%s: size overflows", name);
			return NULL;
		}
	if (!(rowsz = qtype_row_size(type, ne[0])) ||
	    !mul_ok(rowsz, rows, &rowsz) || rowsz != nbytes) {
		cerr_set(e, "%s: %" PRIu64 " bytes do not fit its type and "
		    "shape", name, nbytes);
		return NULL;
	}
	for (size_t i = 0; i < w->n_t; i++)
		if (strcmp(w->t[i].name, name) == 0) {
			cerr_set(e, "%s: duplicate tensor name", name);
			return NULL;
		}
	if (w->n_t == w->cap_t) {
		size_t cap = w->cap_t ? w->cap_t * 2 : 64;
		struct wtensor *p = realloc(w->t, cap * sizeof *p);

		if (!p) {
			cerr_set(e, "out of memory");
			return NULL;
		}
		w->t = p;
		w->cap_t = cap;
	}
	t = &w->t[w->n_t];
	memset(t, 0, sizeof *t);
	if (!(t->name = strdup(name))) {
		cerr_set(e, "out of memory");
		return NULL;
	}
	t->n_dims = n_dims;
	for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
		t->ne[d] = d < n_dims ? ne[d] : 1;
	t->type = type;
	t->nbytes = nbytes;
	w->n_t++;
	return t;
}

int
gguf_writer_add_tensor(struct gguf_writer *w, const char *name,
	uint32_t n_dims, const uint64_t *ne, uint32_t type, const void *data,
	uint64_t nbytes, struct cerr *e)
{
	struct wtensor *t = add_tensor(w, name, n_dims, ne, type, nbytes, e);

	if (!t)
		return -1;
	t->data = data;
	return 0;
}

int
gguf_writer_add_tensor_fill(struct gguf_writer *w, const char *name,
	uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t nbytes,
	gguf_fill_fn fill, void *ctx, struct cerr *e)
{
	struct wtensor *t = add_tensor(w, name, n_dims, ne, type, nbytes, e);

	if (!t)
		return -1;
	t->fill = fill;
	t->fill_ctx = ctx;
	return 0;
}

static int
write_all(int fd, const void *p, size_t n, const char *name, struct cerr *e)
{
	const uint8_t *s = p;

	while (n > 0) {
		ssize_t k = write(fd, s, n > (1u << 30) ? (1u << 30) : n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return cerr_set(e, "%s: %s", name, strerror(errno));
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

static uint64_t
align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

/* The header: fixed fields, metadata, tensor infos, padding. */
static int
header(const struct gguf_writer *w, struct buf *b)
{
	static const uint8_t zeros[256];
	uint64_t off = 0, pos;

	buf_put(b, "GGUF", 4);
	buf_u32(b, w->version);
	buf_u64(b, w->n_t);
	buf_u64(b, w->n_kv);
	for (size_t i = 0; i < w->n_kv; i++)
		buf_put(b, w->kv[i].bytes, w->kv[i].len);
	for (size_t i = 0; i < w->n_t; i++) {
		buf_str(b, w->t[i].name, strlen(w->t[i].name));
		buf_u32(b, w->t[i].n_dims);
		for (uint32_t d = 0; d < w->t[i].n_dims; d++)
			buf_u64(b, w->t[i].ne[d]);
		buf_u32(b, w->t[i].type);
		buf_u64(b, off);
		off = align_up(off + w->t[i].nbytes, w->alignment);
	}
	pos = align_up(b->n, w->alignment);
	while (b->n < pos)
		buf_put(b, zeros, (size_t)(pos - b->n) > sizeof zeros ?
		    sizeof zeros : (size_t)(pos - b->n));
	return b->oom ? -1 : 0;
}

uint64_t
gguf_writer_size(const struct gguf_writer *w)
{
	struct buf b = { 0 };
	uint64_t size;

	if (header(w, &b) < 0) {
		free(b.p);
		return 0;
	}
	size = b.n;
	free(b.p);
	for (size_t i = 0; i < w->n_t; i++)
		size += align_up(w->t[i].nbytes, w->alignment);
	return size;
}

int
gguf_writer_write_to(struct gguf_writer *w, const struct gguf_out *out,
	const char *name, struct cerr *e)
{
	static const uint8_t zeros[256];
	struct buf b = { 0 };
	uint8_t *scratch = NULL;
	uint64_t scratch_len = 0;
	int rc = -1;

	if (header(w, &b) < 0) {
		free(b.p);
		return cerr_set(e, "%s: out of memory", name);
	}
	if (out->put(out->ctx, b.p, b.n, e) < 0)
		goto done;
	for (size_t i = 0; i < w->n_t; i++) {
		const struct wtensor *t = &w->t[i];
		const void *data = t->data;
		uint64_t pad = align_up(t->nbytes, w->alignment) - t->nbytes;

		if (t->fill) {
			if (t->nbytes > scratch_len) {
				free(scratch);
				scratch_len = 0;
				if (t->nbytes > SIZE_MAX ||
				    !(scratch = malloc((size_t)t->nbytes))) {
					cerr_set(e, "%s: out of memory", name);
					goto done;
				}
				scratch_len = t->nbytes;
			}
			if (t->fill(t->fill_ctx, t->name, scratch, t->nbytes,
			    e) < 0)
				goto done;
			data = scratch;
		}
		if (t->nbytes > SIZE_MAX ||
		    out->put(out->ctx, data, (size_t)t->nbytes, e) < 0)
			goto done;
		while (pad > 0) {
			size_t k = pad > sizeof zeros ? sizeof zeros :
			    (size_t)pad;

			if (out->put(out->ctx, zeros, k, e) < 0)
				goto done;
			pad -= k;
		}
	}
	rc = 0;
done:
	free(b.p);
	free(scratch);
	return rc;
}

struct fd_out {
	int fd;
	const char *name;
};

static int
fd_put(void *ctx, const void *p, size_t n, struct cerr *e)
{
	struct fd_out *o = ctx;

	return write_all(o->fd, p, n, o->name, e);
}

int
gguf_writer_write(struct gguf_writer *w, int fd, const char *name,
	struct cerr *e)
{
	struct fd_out o = { fd, name };
	struct gguf_out out = { fd_put, &o };

	return gguf_writer_write_to(w, &out, name, e);
}
