/* gguf-repack: rewrite a GGUF file: requantize or dequantize its tensors,
 * keep or drop tensors, edit metadata, split it into shards or merge shards
 * (as llama.cpp's gguf-split names and marks them), and write it plain,
 * zstd-compressed or inside an archive. The output appears under its name
 * only when complete. */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "pack.h"
#include "quant.h"
#include "tool.h"

static const char usage_line[] =
	"usage: gguf-repack [-h | --help] [-q] [-v] [-t | --type TYPE] "
	"[-r | --rule GLOB=TYPE]... [-k | --keep GLOB]... [-x | --drop GLOB]... "
	"[-s | --set KEY[:TYPE]=VALUE]... [-d | --del KEY]... "
	"[-c | --chat-template FILE] [-l | --level LEVEL] "
	"[--split-max-tensors N | --split-max-size SIZE] IN OUT";

#define MAX_SHARDS 99999
#define MAX_LIST 256

struct rule {
	const char *glob;
	int type;               /* -1: keep the tensor's type */
};

static struct {
	int type;               /* -t, or -1 */
	struct rule rules[MAX_LIST];
	int n_rules;
	const char *keep[MAX_LIST], *drop[MAX_LIST];
	int n_keep, n_drop;
	const char *set[MAX_LIST], *del[MAX_LIST];
	int n_set, n_del;
	const char *template_file;
	int level, quiet, verbose;
	long long split_tensors;
	long long split_bytes;
} opt = { .type = -1 };

/* One output tensor: where it comes from and what it becomes. */
struct plan {
	const struct gguf_tensor *t;
	uint32_t type;          /* output type */
	uint32_t asked;         /* the type asked for, before any fallback */
};

/* Progress on a terminal, and the files to remove if we are interrupted or
 * fail: the temporary file of each output not yet in place. Shards are all
 * written under temporary names and renamed only when the last is complete,
 * so a partial set never looks whole. */
static const char *volatile temps[MAX_SHARDS];
static volatile int n_temps;
static uint64_t n_done, n_total;

static void
remove_temps(void)
{
	for (int i = 0; i < n_temps; i++) {
		const char *p = temps[i];

		if (p)
			unlink(p);
	}
}

static void
on_signal(int sig)
{
	remove_temps();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A signal the caller ignores (nohup, a background job) stays ignored. */
static void
catch(int sig)
{
	struct sigaction sa;

	if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
		signal(sig, on_signal);
}

/* ---- input: one file, or every shard of a split model ---- */

struct input {
	struct gguf **g;        /* shard i, in order */
	int n;
};

static int
shard_info(const struct gguf *g, uint64_t *no, uint64_t *count)
{
	struct cerr e;

	if (gguf_get_u64(g, "split.count", count, &e) < 0 || *count == 0) {
		*no = 0;
		*count = 1;
		return 0;
	}
	if (gguf_get_u64(g, "split.no", no, &e) < 0)
		die("%s: split.count without split.no", g->path);
	return 0;
}

/* The prefix of a shard name PREFIX-0000i-of-0000n.gguf, as gguf-split
 * checks it. */
static char *
shard_prefix(const char *path, uint64_t no, uint64_t count)
{
	char suffix[64], *p;
	size_t n = strlen(path), k;

	snprintf(suffix, sizeof suffix, "-%05" PRIu64 "-of-%05" PRIu64 ".gguf",
	    no + 1, count);
	k = strlen(suffix);
	if (n <= k || strcmp(path + n - k, suffix) != 0)
		die("%s: a shard's name must end in %s", path, suffix);
	if (!(p = strndup(path, n - k)))
		die("out of memory");
	return p;
}

static char *
shard_path(const char *prefix, uint64_t no, uint64_t count)
{
	size_t n = strlen(prefix) + 64;
	char *p = malloc(n);

	if (!p)
		die("out of memory");
	snprintf(p, n, "%s-%05" PRIu64 "-of-%05" PRIu64 ".gguf", prefix, no + 1,
	    count);
	return p;
}

static void
input_open(struct input *in, const char *path)
{
	struct cerr e;
	struct gguf *g = gguf_open(path, &e);
	uint64_t no, count;
	char *prefix;

	if (!g)
		die_err(&e);
	shard_info(g, &no, &count);
	if (count > MAX_SHARDS)
		die("%s: split.count %" PRIu64 " is too large", path, count);
	if (!(in->g = calloc((size_t)count, sizeof *in->g)))
		die("out of memory");
	in->n = (int)count;
	in->g[0] = g;
	if (count == 1)
		return;
	if (no != 0)
		die("%s: shard %" PRIu64 " of %" PRIu64 "; give the first one",
		    path, no + 1, count);
	prefix = shard_prefix(path, no, count);
	for (uint64_t i = 1; i < count; i++) {
		char *p = shard_path(prefix, i, count);
		uint64_t no_i, count_i;

		if (!(in->g[i] = gguf_open(p, &e)))
			die_err(&e);
		shard_info(in->g[i], &no_i, &count_i);
		if (no_i != i || count_i != count)
			die("%s: split.no %" PRIu64 " of %" PRIu64 ", expected "
			    "%" PRIu64 " of %" PRIu64, p, no_i + 1, count_i,
			    i + 1, count);
		free(p);
	}
	free(prefix);
}

static void
input_close(struct input *in)
{
	for (int i = 0; i < in->n; i++)
		gguf_close(in->g[i]);
	free(in->g);
}

/* ---- which tensors, which types ---- */

static int
matches_any(const char *name, const char *const *globs, int n)
{
	for (int i = 0; i < n; i++)
		if (fnmatch(globs[i], name, 0) == 0)
			return 1;
	return 0;
}

/* What llama-quantize quantizes: 2-D (or more) weights, except norms and a
 * few tensors that must stay exact. */
static int
quantizable(const char *name, const struct gguf_tensor *t)
{
	static const char *const never[] = { "_norm.weight",
		"ffn_gate_inp.weight", "pos_embd.weight", "token_types.weight",
		"ssm_conv1d", "altup", "laurel", "per_layer_model_proj",
		"time_mix_first.weight", "time_mix_w0.weight", NULL };
	size_t n = strlen(name);

	if (t->n_dims < 2 || n < 6 || strcmp(name + n - 6, "weight") != 0)
		return 0;
	for (int i = 0; never[i]; i++)
		if (strstr(name, never[i]))
			return 0;
	return 1;
}

/* llama.cpp's fallback when a row is not a whole number of blocks:
 * K-quants to a 32-block type, then anything to F16. */
static uint32_t
fallback(uint32_t type, uint64_t ne0)
{
	const struct qtype *q = qtype_get(type);

	if (ne0 % (uint64_t)q->blck == 0)
		return type;
	switch (type) {
	case GGML_Q2_K: case GGML_Q3_K: type = GGML_Q4_0; break;
	case GGML_Q4_K: type = GGML_Q5_0; break;
	case GGML_Q5_K: type = GGML_Q5_1; break;
	case GGML_Q6_K: type = GGML_Q8_0; break;
	default: break;
	}
	return ne0 % (uint64_t)qtype_get(type)->blck == 0 ? type : GGML_F16;
}

static void
plan_tensor(struct plan *p, const struct gguf_tensor *t, const char *name,
	const char *path)
{
	int want = -1;

	p->t = t;
	for (int i = 0; i < opt.n_rules; i++)
		if (fnmatch(opt.rules[i].glob, name, 0) == 0) {
			want = opt.rules[i].type;
			goto chosen;
		}
	if (opt.type >= 0 && quantizable(name, t))
		want = opt.type;
chosen:
	p->asked = want < 0 ? t->type : (uint32_t)want;
	p->type = want < 0 ? t->type : fallback(p->asked, t->ne[0]);
	if (p->type != t->type && !qtype_get(t->type)->to_f32) {
		char vis[256];

		cvis(vis, sizeof vis, name, strlen(name));
		die("%s: %s: cannot convert from %s", path, vis,
		    qtype_get(t->type)->name);
	}
}

/* ---- converting one tensor ---- */

struct fill_ctx {
	const struct plan *p;
	const char *path;
};


/* Are row r's cols values finite? If not, the first bad one's index
 * (r * cols + i) goes to *bad (several threads may find one). */
static int
finite_row(const float *row, int64_t cols, int64_t r, int64_t *bad)
{
	for (int64_t i = 0; i < cols; i++)
		if (!isfinite(row[i])) {
			#pragma omp critical
			*bad = r * cols + i;
			return 0;
		}
	return 1;
}

static int
fill_tensor(void *vctx, const char *name, void *dst, uint64_t nbytes,
	struct cerr *e)
{
	const struct fill_ctx *c = vctx;
	const struct gguf_tensor *t = c->p->t;
	const struct qtype *from = qtype_get(t->type), *to = qtype_get(c->p->type);
	int64_t cols = (int64_t)t->ne[0], rows = (int64_t)(t->nelem / t->ne[0]);
	uint64_t in_row = qtype_row_size(t->type, t->ne[0]);
	uint64_t out_row = qtype_row_size(c->p->type, t->ne[0]);
	int64_t bad = -1;

	if (c->p->type == t->type) {
		memcpy(dst, t->data, (size_t)nbytes);
	} else {
		#pragma omp parallel
		{
			float *row = malloc((size_t)cols * sizeof *row);

			#pragma omp for schedule(dynamic, 16)
			for (int64_t r = 0; r < rows; r++) {
				if (!row) {
					bad = -2;
					continue;
				}
				from->to_f32((const uint8_t *)t->data + (uint64_t)r *
				    in_row, row, cols);
				if (to->is_quant && !finite_row(row, cols, r, &bad))
					continue;       /* NaN cannot be quantized */
				to->from_f32(row, (uint8_t *)dst + (uint64_t)r *
				    out_row, cols);
			}
			free(row);
		}
		if (bad == -2)
			return cerr_set(e, "out of memory");
		if (bad >= 0) {
			char vis[256];

			cvis(vis, sizeof vis, name, strlen(name));
			return cerr_set(e, "%s: %s: value %" PRId64 " is not "
			    "finite; cannot quantize it", c->path, vis, bad);
		}
	}
	n_done++;
	if (!opt.quiet && isatty(STDERR_FILENO))
		fprintf(stderr, "\rgguf-repack: %" PRIu64 "/%" PRIu64 " tensors",
		    n_done, n_total);
	return 0;
}

/* ---- metadata edits ---- */

static uint32_t
vtype_by_name(const char *s)
{
	static const char *const names[GGUF_NTYPES] = { "u8", "i8", "u16",
		"i16", "u32", "i32", "f32", "bool", "str", NULL, "u64", "i64",
		"f64" };

	for (uint32_t t = 0; t < GGUF_NTYPES; t++)
		if (names[t] && strcmp(names[t], s) == 0)
			return t;
	return GGUF_NTYPES;
}

/* Infer a type from the value's text: bool, integer, float or string. */
static uint32_t
infer_vtype(const char *v)
{
	long long ll;
	double d;
	const char *err;

	if (!strcmp(v, "true") || !strcmp(v, "false"))
		return GGUF_BOOL;
	if (num_ll(v, INT32_MIN, INT32_MAX, &ll, &err) == 0)
		return GGUF_INT32;
	if (num_ll(v, INT64_MIN, INT64_MAX, &ll, &err) == 0)
		return GGUF_INT64;
	if (num_double(v, -HUGE_VAL, HUGE_VAL, &d, &err) == 0)
		return GGUF_FLOAT32;
	return GGUF_STRING;
}

static void
set_value(struct gguf_writer *w, const char *key, uint32_t type,
	const char *v)
{
	struct cerr e;
	long long ll;
	double d;
	const char *err;
	int r = 0;

	switch (type) {
	case GGUF_STRING:
		r = gguf_writer_set_str(w, key, v, strlen(v), &e);
		break;
	case GGUF_BOOL:
		if (strcmp(v, "true") && strcmp(v, "false"))
			die("%s: %s: expected true or false", key, v);
		r = gguf_writer_set_u64(w, key, type, v[0] == 't', &e);
		break;
	case GGUF_FLOAT32: case GGUF_FLOAT64:
		if (num_double(v, -HUGE_VAL, HUGE_VAL, &d, &err) < 0)
			die("%s: %s: %s number", key, v, err);
		r = gguf_writer_set_f64(w, key, type, d, &e);
		break;
	case GGUF_UINT8: case GGUF_UINT16: case GGUF_UINT32: case GGUF_UINT64:
		if (v[0] == '-')
			die("%s: %s: negative value for an unsigned key", key, v);
		if (type == GGUF_UINT64 && strlen(v) > 18) {
			char *end;
			unsigned long long u;

			errno = 0;
			u = strtoull(v, &end, 10);
			if (errno || *end || end == v)
				die("%s: %s: invalid number", key, v);
			r = gguf_writer_set_u64(w, key, type, u, &e);
			break;
		}
		/* FALLTHROUGH */
	default: {
		static const long long lo[] = { 0, INT8_MIN, 0, INT16_MIN, 0,
			INT32_MIN }, hi[] = { UINT8_MAX, INT8_MAX, UINT16_MAX,
			INT16_MAX, UINT32_MAX, INT32_MAX };
		long long min = type <= GGUF_INT32 ? lo[type] : type ==
		    GGUF_UINT64 ? 0 : INT64_MIN;
		long long max = type <= GGUF_INT32 ? hi[type] : INT64_MAX;

		if (num_ll(v, min, max, &ll, &err) < 0)
			die("%s: %s: %s number for %s", key, v, err,
			    gguf_vtype_name(type));
		r = gguf_writer_set_i64(w, key, type, ll, &e);
	}
	}
	if (r < 0)
		die_err(&e);
}

/* -s KEY[:TYPE]=VALUE: an existing scalar key keeps its type. */
static void
apply_set(struct gguf_writer *w, const struct gguf *g, const char *arg)
{
	const char *eq = strchr(arg, '='), *colon;
	char key[1024];
	uint32_t type = GGUF_NTYPES;
	size_t klen;
	const struct gguf_kv *kv;

	if (!eq || eq == arg)
		usage_die(usage_line, "-s %s: expected KEY=VALUE", arg);
	colon = memchr(arg, ':', (size_t)(eq - arg));
	klen = (size_t)((colon ? colon : eq) - arg);
	if (klen >= sizeof key)
		usage_die(usage_line, "-s: key too long");
	memcpy(key, arg, klen);
	key[klen] = 0;
	if (colon) {
		char tname[16];
		size_t n = (size_t)(eq - colon - 1);

		if (n >= sizeof tname)
			usage_die(usage_line, "-s %s: unknown type", arg);
		memcpy(tname, colon + 1, n);
		tname[n] = 0;
		if ((type = vtype_by_name(tname)) == GGUF_NTYPES)
			usage_die(usage_line, "-s %s: unknown type %s (u8 i8 "
			    "u16 i16 u32 i32 u64 i64 f32 f64 bool str)", arg,
			    tname);
	} else if ((kv = gguf_kv_get(g, key))) {
		if (kv->val.type == GGUF_ARRAY)
			die("%s: an array; -s sets scalars only", key);
		type = kv->val.type;
	} else {
		type = infer_vtype(eq + 1);
	}
	set_value(w, key, type, eq + 1);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 4096, n = 0, k;
	char *p = malloc(cap);

	if (!f)
		die("%s:", path);
	while (p && (k = fread(p + n, 1, cap - n, f)) > 0)
		if ((n += k) == cap)
			p = realloc(p, cap *= 2);
	if (!p)
		die("out of memory");
	if (ferror(f))
		die("%s:", path);
	if (f != stdin)
		fclose(f);
	*len = n;
	return p;
}

/* The llama_ftype that names a file quantized mostly to type t. */
static int
file_type_of(int t)
{
	switch (t) {
	case GGML_F32: return 0;
	case GGML_F16: return 1;
	case GGML_Q4_0: return 2;
	case GGML_Q4_1: return 3;
	case GGML_Q8_0: return 7;
	case GGML_Q5_0: return 8;
	case GGML_Q5_1: return 9;
	case GGML_Q2_K: return 10;
	case GGML_Q3_K: return 11;      /* Q3_K_S: all tensors Q3_K */
	case GGML_Q4_K: return 14;      /* Q4_K_S */
	case GGML_Q5_K: return 16;      /* Q5_K_S */
	case GGML_Q6_K: return 18;
	case GGML_BF16: return 32;
	default: return -1;
	}
}

/* Every metadata key of the input (split.* keys aside), then the edits. */
static void
build_metadata(struct gguf_writer *w, const struct gguf *g)
{
	struct cerr e;

	for (uint64_t i = 0; i < g->n_kv; i++) {
		const struct gguf_kv *kv = &g->kv[i];

		if (kv->key.len > 6 && memcmp(kv->key.p, "split.", 6) == 0)
			continue;
		if (gguf_writer_copy_kv(w, g, kv, &e) < 0)
			die_err(&e);
	}
	for (int i = 0; i < opt.n_del; i++) {
		if (!gguf_kv_get(g, opt.del[i]))
			die("%s: %s: no such key", g->path, opt.del[i]);
		gguf_writer_del(w, opt.del[i]);  /* split.* are gone already */
	}
	for (int i = 0; i < opt.n_set; i++)
		apply_set(w, g, opt.set[i]);
	if (opt.template_file) {
		size_t n;
		char *t = slurp(opt.template_file, &n);

		if (gguf_writer_set_str(w, "tokenizer.chat_template", t, n, &e) < 0)
			die_err(&e);
		free(t);
	}
	if (opt.type >= 0 && file_type_of(opt.type) >= 0) {
		if (gguf_writer_set_u64(w, "general.file_type", GGUF_UINT32,
		    (uint64_t)file_type_of(opt.type), &e) < 0)
			die_err(&e);
		if (qtype_get((uint32_t)opt.type)->is_quant &&
		    gguf_writer_set_u64(w, "general.quantization_version",
		    GGUF_UINT32, 2, &e) < 0)
			die_err(&e);
	}
}

/* ---- writing ---- */

/* Write w to a temporary file beside path, complete and synced: output
 * number slot, which commit() puts in place. */
static struct pack *
write_file(struct gguf_writer *w, const char *path, int slot)
{
	struct cerr e;
	uint64_t size = gguf_writer_size(w);
	struct pack *p;
	struct gguf_out out;

	if (size == 0)
		die("out of memory");
	if (!(p = pack_open(path, size, opt.level, &e)))
		die_err(&e);
	temps[slot] = pack_temp_path(p);
	if (n_temps <= slot)
		n_temps = slot + 1;
	out = (struct gguf_out){ pack_put, p };
	if (gguf_writer_write_to(w, &out, path, &e) < 0) {
		temps[slot] = NULL;
		pack_abort(p);
		if (isatty(STDERR_FILENO) && !opt.quiet)
			fputc('\n', stderr);
		die_err(&e);
	}
	if (pack_finish(p, &e) < 0) {
		temps[slot] = NULL;
		die_err(&e);
	}
	return p;
}

/* Put outputs in place, the first shard last: a reader starts from it. */
static void
commit(struct pack **packs, int count)
{
	struct cerr e;

	for (int s = count - 1; s >= 0; s--) {
		temps[s] = NULL;
		if (pack_commit(packs[s], &e) < 0)
			die_err(&e);
	}
}

static void
report(const struct plan *plans, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct plan *p = &plans[i];
		size_t same = 0;

		if (p->asked == p->type)
			continue;
		/* One line per kind of fallback, at its first tensor. */
		for (size_t j = 0; j < i; j++)
			if (plans[j].asked == p->asked && plans[j].type == p->type)
				goto next;
		for (size_t j = i; j < n; j++)
			same += plans[j].asked == p->asked &&
			    plans[j].type == p->type;
		warnx("%zu tensor%s as %s instead of %s: rows of %" PRIu64
		    " are not a multiple of %d", same, same == 1 ? "" : "s",
		    qtype_get(p->type)->name, qtype_get(p->asked)->name,
		    p->t->ne[0], qtype_get(p->asked)->blck);
next:		;
	}
	if (!opt.verbose)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct plan *p = &plans[i];
		char vis[256];

		cvis(vis, sizeof vis, p->t->name.p, (size_t)p->t->name.len);
		fprintf(stderr, "%s: %s -> %s\n", vis,
		    qtype_get(p->t->type)->name, qtype_get(p->type)->name);
	}
}

static void
add_split_keys(struct gguf_writer *w, int no, int count, uint64_t n_tensors)
{
	struct cerr e;

	/* gguf-split's order: it sets split.count last, which moves it. */
	if (gguf_writer_set_u64(w, "split.no", GGUF_UINT16, (uint64_t)no, &e) < 0 ||
	    gguf_writer_set_i64(w, "split.tensors.count", GGUF_INT32,
	    (int64_t)n_tensors, &e) < 0 ||
	    gguf_writer_set_u64(w, "split.count", GGUF_UINT16,
	    (uint64_t)count, &e) < 0)
		die_err(&e);
}

static char *
tensor_name(const struct gguf_tensor *t)
{
	char *s = strndup(t->name.p, (size_t)t->name.len);

	if (!s)
		die("out of memory");
	return s;
}

static void
add_tensor(struct gguf_writer *w, const struct plan *p, struct fill_ctx *fc)
{
	struct cerr e;
	char *name = tensor_name(p->t);
	uint64_t nbytes = qtype_row_size(p->type, p->t->ne[0]) *
	    (p->t->nelem / p->t->ne[0]);

	if (gguf_writer_add_tensor_fill(w, name, p->t->n_dims, p->t->ne,
	    p->type, nbytes, fill_tensor, fc, &e) < 0)
		die_err(&e);
	free(name);
}

/* Shard boundaries as gguf-split draws them: at every N-th tensor, or
 * before a tensor that would take a shard past the size (tensors counted
 * padded to 32 bytes, metadata not counted). */
static int
shard_starts(const struct plan *plans, size_t n, size_t *start)
{
	int count = 1;
	uint64_t cur = 0;

	start[0] = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t sz = qtype_row_size(plans[i].type, plans[i].t->ne[0]) *
		    (plans[i].t->nelem / plans[i].t->ne[0]);

		sz = (sz + 31) / 32 * 32;
		if ((opt.split_tensors && i > 0 &&
		    i % (size_t)opt.split_tensors == 0) ||
		    (opt.split_bytes && i > start[count - 1] &&
		    cur + sz > (uint64_t)opt.split_bytes)) {
			if (count == MAX_SHARDS)
				die("more than %d shards", MAX_SHARDS);
			start[count++] = i;
			cur = 0;
		}
		cur += sz;
	}
	start[count] = n;
	return count;
}

static void
repack(const struct input *in, const char *out)
{
	const struct gguf *g0 = in->g[0];
	struct plan *plans;
	struct fill_ctx *fcs;
	struct pack **packs;
	size_t n = 0, cap = 0, *start;
	int count;

	for (int s = 0; s < in->n; s++)
		cap += (size_t)in->g[s]->n_tensors;
	plans = calloc(cap + 1, sizeof *plans);
	fcs = calloc(cap + 1, sizeof *fcs);
	start = calloc(cap + 2, sizeof *start);
	packs = calloc(cap + 1 < MAX_SHARDS ? cap + 1 : MAX_SHARDS,
	    sizeof *packs);
	if (!plans || !fcs || !start || !packs)
		die("out of memory");
	for (int s = 0; s < in->n; s++)
		for (uint64_t i = 0; i < in->g[s]->n_tensors; i++) {
			const struct gguf_tensor *t = &in->g[s]->tensors[i];
			char *name = tensor_name(t);

			if ((opt.n_keep && !matches_any(name, opt.keep,
			    opt.n_keep)) || matches_any(name, opt.drop,
			    opt.n_drop)) {
				free(name);
				continue;
			}
			plan_tensor(&plans[n], t, name, in->g[s]->path);
			fcs[n] = (struct fill_ctx){ &plans[n], in->g[s]->path };
			n++;
			free(name);
		}
	if (!opt.quiet)
		report(plans, n);
	n_total = n;
	count = opt.split_tensors || opt.split_bytes ?
	    shard_starts(plans, n, start) : 1;
	if (count == 1 && !opt.split_tensors && !opt.split_bytes) {
		struct gguf_writer *w = gguf_writer_new(3, g0->alignment);

		if (!w)
			die("out of memory");
		build_metadata(w, g0);
		for (size_t i = 0; i < n; i++)
			add_tensor(w, &plans[i], &fcs[i]);
		packs[0] = write_file(w, out, 0);
		gguf_writer_free(w);
		commit(packs, 1);
	} else {
		if (!strcmp(out, "-"))
			usage_die(usage_line, "shards need a file name prefix, "
			    "not -");
		for (int s = 0; s < count; s++) {
			struct gguf_writer *w = gguf_writer_new(3, s == 0 ?
			    g0->alignment : GGUF_DEFAULT_ALIGNMENT);
			char *path = shard_path(out, (uint64_t)s, (uint64_t)count);

			if (!w)
				die("out of memory");
			if (s == 0)
				build_metadata(w, g0);
			add_split_keys(w, s, count, n);
			for (size_t i = start[s]; i < start[s + 1]; i++)
				add_tensor(w, &plans[i], &fcs[i]);
			packs[s] = write_file(w, path, s);
			gguf_writer_free(w);
			free(path);
		}
		commit(packs, count);
	}
	if (!opt.quiet && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	free(plans);
	free(fcs);
	free(start);
	free(packs);
}

/* ---- options ---- */

static int
type_arg(const char *opt_name, const char *s)
{
	int t = qtype_by_name(s);
	const struct qtype *q = t >= 0 ? qtype_get((uint32_t)t) : NULL;

	if (!q || !q->from_f32)
		usage_die(usage_line, "%s %s: not a type gguf-repack writes "
		    "(f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_K q3_K q4_K "
		    "q5_K q6_K)", opt_name, s);
	return t;
}

static void
list_add(const char **list, int *n, const char *s, const char *o)
{
	if (*n == MAX_LIST)
		usage_die(usage_line, "too many %s options", o);
	list[(*n)++] = s;
}

static long long
size_arg(const char *s)
{
	size_t n = strlen(s);
	char num[32];
	long long v;

	if (n < 2 || n >= sizeof num || (s[n - 1] != 'M' && s[n - 1] != 'G'))
		usage_die(usage_line, "--split-max-size %s: expected a number "
		    "and M or G", s);
	memcpy(num, s, n - 1);
	num[n - 1] = 0;
	v = opt_ll(usage_line, "--split-max-size", num, 1, 1000000000);
	return v * (s[n - 1] == 'M' ? 1000000LL : 1000000000LL);
}

int
main(int argc, char **argv)
{
	struct input in;
	int i;

	tool_init(argv[0]);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\n", usage_line);
			return 0;
		}
		if (!strcmp(a, "-q")) {
			opt.quiet = 1;
			continue;
		}
		if (!strcmp(a, "-v")) {
			opt.verbose = 1;
			continue;
		}
		if (!v)
			usage_die(usage_line, "%s: needs an argument", a);
		if (!strcmp(a, "-t") || !strcmp(a, "--type")) {
			opt.type = type_arg(a, v);
		} else if (!strcmp(a, "-r") || !strcmp(a, "--rule")) {
			const char *eq = strrchr(v, '=');
			struct rule *r = &opt.rules[opt.n_rules];

			if (!eq || eq == v)
				usage_die(usage_line, "%s %s: expected GLOB=TYPE",
				    a, v);
			if (opt.n_rules == MAX_LIST)
				usage_die(usage_line, "too many rules");
			if (!(r->glob = strndup(v, (size_t)(eq - v))))
				die("out of memory");
			r->type = !strcmp(eq + 1, "keep") ? -1 : type_arg(a, eq + 1);
			opt.n_rules++;
		} else if (!strcmp(a, "-k") || !strcmp(a, "--keep")) {
			list_add(opt.keep, &opt.n_keep, v, a);
		} else if (!strcmp(a, "-x") || !strcmp(a, "--drop")) {
			list_add(opt.drop, &opt.n_drop, v, a);
		} else if (!strcmp(a, "-s") || !strcmp(a, "--set")) {
			list_add(opt.set, &opt.n_set, v, a);
		} else if (!strcmp(a, "-d") || !strcmp(a, "--del")) {
			list_add(opt.del, &opt.n_del, v, a);
		} else if (!strcmp(a, "-c") || !strcmp(a, "--chat-template")) {
			opt.template_file = v;
		} else if (!strcmp(a, "-l") || !strcmp(a, "--level")) {
			opt.level = (int)opt_ll(usage_line, a, v, 1, 22);
		} else if (!strcmp(a, "--split-max-tensors")) {
			opt.split_tensors = opt_ll(usage_line, a, v, 1, 1 << 30);
		} else if (!strcmp(a, "--split-max-size")) {
			opt.split_bytes = size_arg(v);
		} else {
			usage_die(usage_line, "%s: unknown option", a);
		}
		i += takes;
	}
	if (argc - i != 2)
		usage_die(usage_line, "expected IN and OUT");
	if (opt.split_tensors && opt.split_bytes)
		usage_die(usage_line, "--split-max-tensors and --split-max-size "
		    "exclude each other");
	atexit(remove_temps);
	catch(SIGINT);
	catch(SIGTERM);
	catch(SIGHUP);
	input_open(&in, argv[i]);
	repack(&in, argv[i + 1]);
	input_close(&in);
	return 0;
}
