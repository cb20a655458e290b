/* gguf-inspect: show what a GGUF file holds: a summary, its metadata and its
 * tensors, as text or JSON, or one key's value for scripts. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "gguf.h"
#include "quant.h"
#include "tool.h"
#include "unicode.h"

static const char usage_line[] =
	"usage: gguf-inspect [-h | --help] [-j | --json] [--full] [--hash] "
	"[-s | --summary | -t | --tensors] [-k KEY] [-m FILE | FILE]";

#define SHORT_ARRAY 8   /* elements shown of a long array without --full */

static struct {
	int json, full, hash, only_summary, only_tensors;
	const char *key;
} opt;

/* ---- value printing ---- */

/* Text from the file for humans, escaped by cvis() so that a hostile file
 * cannot send terminal escapes; returns the bytes printed. */
static size_t
put_vis(const char *s, size_t n)
{
	char buf[1024];
	size_t out = 0;

	while (n > 0) {
		size_t k = cvis(buf, sizeof buf, s, n);

		out += strlen(buf);
		fputs(buf, stdout);
		s += k;
		n -= k;
	}
	return out;
}

/* Text padded with spaces to width columns (counted in bytes). */
static void
put_vis_pad(struct gguf_str s, int width)
{
	size_t n = put_vis(s.p, (size_t)s.len);

	for (; n < (size_t)width; n++)
		putchar(' ');
}

static void
put_text(struct gguf_str s, size_t max)
{
	size_t n = s.len < max ? (size_t)s.len : max;

	put_vis(s.p, n);
	if (n < s.len)
		printf("... (%" PRIu64 " bytes)", s.len);
}

/* A JSON string; bytes that are not valid UTF-8 become U+FFFD. */
static void
put_json_str(const char *s, uint64_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	for (uint64_t i = 0; i < len;) {
		int k = utf8_valid(s + i, (size_t)(len - i));

		if (k == 0) {
			fputs("\\ufffd", stdout);
			i++;
			continue;
		}
		if (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
			printf("\\u%04x", p[i + 1]);  /* a C1 control */
		} else if (k > 1) {
			fwrite(p + i, 1, (size_t)k, stdout);
		} else if (p[i] == '"' || p[i] == '\\') {
			printf("\\%c", p[i]);
		} else if (p[i] == '\n') {
			fputs("\\n", stdout);
		} else if (p[i] == '\t') {
			fputs("\\t", stdout);
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			printf("\\u%04x", p[i]);
		} else {
			putchar(p[i]);
		}
		i += (uint64_t)k;
	}
	putchar('"');
}

static void
put_float(double f, uint32_t type)
{
	if (f != f || f - f != 0) {     /* NaN, Inf: not JSON numbers */
		printf(opt.json ? "null" : "%g", f);
		return;
	}
	printf(type == GGUF_FLOAT32 ? "%.9g" : "%.17g", f);
}

static void put_value(const struct gguf *g, const struct gguf_value *v,
	int depth);

static void
put_array(const struct gguf *g, const struct gguf_value *v, int depth)
{
	uint64_t n = v->v.arr.n, show = n;
	struct gguf_arr_it it = { 0 };
	struct gguf_value el;

	if (!opt.full && !opt.key && n > SHORT_ARRAY)
		show = SHORT_ARRAY;
	putchar('[');
	while (it.i < show && gguf_arr_next(g, v, &it, &el)) {
		if (it.i > 1)
			fputs(", ", stdout);
		put_value(g, &el, depth + 1);
	}
	if (show < n) {
		if (opt.json)
			printf("%s\"... %" PRIu64 " more\"", show ? ", " : "",
			    n - show);
		else
			printf(", ... %" PRIu64 " more", n - show);
	}
	putchar(']');
}

static void
put_value(const struct gguf *g, const struct gguf_value *v, int depth)
{
	switch (v->type) {
	case GGUF_STRING:
		if (opt.json || depth > 0)
			put_json_str(v->v.s.p, v->v.s.len);
		else if (opt.key && !isatty(STDOUT_FILENO))
			fwrite(v->v.s.p, 1, (size_t)v->v.s.len, stdout);
		else
			put_text(v->v.s, opt.full ? SIZE_MAX : 200);
		break;
	case GGUF_ARRAY:
		put_array(g, v, depth);
		break;
	case GGUF_FLOAT32:
	case GGUF_FLOAT64:
		put_float(v->v.f, v->type);
		break;
	case GGUF_BOOL:
		fputs(v->v.u ? "true" : "false", stdout);
		break;
	case GGUF_INT8: case GGUF_INT16: case GGUF_INT32: case GGUF_INT64:
		printf("%" PRId64, v->v.i);
		break;
	default:
		printf("%" PRIu64, v->v.u);
	}
}

static const char *
type_desc(const struct gguf_value *v, char *buf, size_t n)
{
	if (v->type != GGUF_ARRAY)
		return gguf_vtype_name(v->type);
	snprintf(buf, n, "arr[%s,%" PRIu64 "]", gguf_vtype_name(v->v.arr.type),
	    v->v.arr.n);
	return buf;
}

/* ---- summary ---- */

struct summary {
	struct gguf_str arch;
	uint64_t n_params;
	uint64_t n_of_type[GGML_NTYPES];
	uint64_t bytes_of_type[GGML_NTYPES];
	int64_t n_vocab;
	struct gguf_str vocab_model;
	int has_template;
};

static void
summarize(const struct gguf *g, struct summary *s)
{
	const struct gguf_kv *kv;
	struct cerr e;

	memset(s, 0, sizeof *s);
	s->n_vocab = -1;
	if (gguf_get_str(g, "general.architecture", &s->arch, &e) < 0)
		s->arch = (struct gguf_str){ 0, "" };
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *t = &g->tensors[i];

		s->n_params += t->nelem;
		s->n_of_type[t->type]++;
		s->bytes_of_type[t->type] += t->nbytes;
	}
	if ((kv = gguf_kv_get(g, "tokenizer.ggml.tokens")) &&
	    kv->val.type == GGUF_ARRAY)
		s->n_vocab = (int64_t)kv->val.v.arr.n;
	if (gguf_get_str(g, "tokenizer.ggml.model", &s->vocab_model, &e) < 0)
		s->vocab_model = (struct gguf_str){ 0, "" };
	s->has_template = gguf_kv_get(g, "tokenizer.chat_template") != NULL;
}

/* The piece of token id, if the vocab has it. */
static int
token_piece(const struct gguf *g, uint64_t id, struct gguf_str *out)
{
	const struct gguf_kv *kv = gguf_kv_get(g, "tokenizer.ggml.tokens");
	struct gguf_value v;
	struct cerr e;

	if (!kv || kv->val.type != GGUF_ARRAY ||
	    kv->val.v.arr.type != GGUF_STRING || id >= kv->val.v.arr.n ||
	    gguf_arr_elem(g, &kv->val, id, &v, &e) < 0)
		return -1;
	*out = v.v.s;
	return 0;
}

static const char *const special_keys[] = {
	"bos", "eos", "eot", "eom", "unknown", "padding", "sep", "mask",
};

static int
is_hparam(const struct gguf *g, const struct gguf_kv *kv,
	const struct summary *s)
{
	(void)g;
	return s->arch.len && kv->key.len > s->arch.len &&
	    memcmp(kv->key.p, s->arch.p, s->arch.len) == 0 &&
	    kv->key.p[s->arch.len] == '.' && kv->val.type != GGUF_ARRAY;
}

static void
print_summary(const struct gguf *g, const struct summary *s)
{
	struct cerr e;

	printf("file:          %s\n", g->path);
	printf("size:          %" PRIu64 " bytes (%.1f MiB)\n", g->size,
	    (double)g->size / (1 << 20));
	printf("gguf version:  %" PRIu32 "\n", g->version);
	fputs("architecture:  ", stdout);
	put_vis(s->arch.p, (size_t)s->arch.len);
	putchar('\n');
	printf("parameters:    %" PRIu64 " (%.1fM)\n", s->n_params,
	    (double)s->n_params / 1e6);
	printf("tensors:       %" PRIu64 "\n", g->n_tensors);
	printf("types:        ");
	for (int t = 0; t < GGML_NTYPES; t++)
		if (s->n_of_type[t])
			printf(" %s x%" PRIu64 " (%.1f MiB)", qtype_get(t)->name,
			    s->n_of_type[t],
			    (double)s->bytes_of_type[t] / (1 << 20));
	putchar('\n');
	for (uint64_t i = 0; i < g->n_kv; i++) {
		const struct gguf_kv *kv = &g->kv[i];

		if (!is_hparam(g, kv, s))
			continue;
		fputs("  ", stdout);
		put_vis_pad((struct gguf_str){ kv->key.len - s->arch.len - 1,
		    kv->key.p + s->arch.len + 1 }, 40);
		putchar(' ');
		put_value(g, &kv->val, 0);
		putchar('\n');
	}
	if (s->n_vocab >= 0) {
		printf("vocab:         %" PRId64 " tokens, ", s->n_vocab);
		put_vis(s->vocab_model.p, (size_t)s->vocab_model.len);
		putchar('\n');
	}
	for (size_t k = 0; k < sizeof special_keys / sizeof *special_keys; k++) {
		char key[64];
		struct gguf_str piece;
		uint64_t id;

		snprintf(key, sizeof key, "tokenizer.ggml.%s_token_id",
		    special_keys[k]);
		if (gguf_get_u64(g, key, &id, &e) < 0)
			continue;
		printf("  %-8s %" PRIu64, special_keys[k], id);
		if (token_piece(g, id, &piece) == 0) {
			fputs(" '", stdout);
			put_text(piece, 64);
			putchar('\'');
		}
		putchar('\n');
	}
	printf("chat template: %s\n", s->has_template ? "yes" : "no");
}

static void
print_metadata(const struct gguf *g)
{
	char buf[64];

	printf("\nmetadata (%" PRIu64 " keys):\n", g->n_kv);
	for (uint64_t i = 0; i < g->n_kv; i++) {
		const struct gguf_kv *kv = &g->kv[i];

		fputs("  ", stdout);
		put_vis_pad(kv->key, 44);
		printf(" %-16s ", type_desc(&kv->val, buf, sizeof buf));
		put_value(g, &kv->val, 0);
		putchar('\n');
	}
}

static void
shape(const struct gguf_tensor *t, char *buf, size_t n)
{
	size_t k = 0;

	buf[0] = '\0';
	for (uint32_t d = 0; d < t->n_dims && k < n; d++)
		k += (size_t)snprintf(buf + k, n - k, d ? " x %" PRIu64 :
		    "%" PRIu64, t->ne[d]);
}

static uint64_t
hash(const struct gguf_tensor *t)
{
	return XXH3_64bits(t->data, (size_t)t->nbytes);
}

static void
print_tensors(const struct gguf *g)
{
	char sh[128];

	printf("\ntensors (%" PRIu64 ", data at byte %" PRIu64 "):\n",
	    g->n_tensors, g->data_off);
	printf("  %-36s %-6s %-22s %12s %12s%s\n", "name", "type", "shape",
	    "offset", "bytes", opt.hash ? "  xxh3" : "");
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *t = &g->tensors[i];

		shape(t, sh, sizeof sh);
		fputs("  ", stdout);
		put_vis_pad(t->name, 36);
		printf(" %-6s %-22s %12" PRIu64 " %12" PRIu64,
		    qtype_get(t->type)->name, sh, t->offset, t->nbytes);
		if (opt.hash)
			printf("  %016" PRIx64, hash(t));
		putchar('\n');
	}
}

/* ---- JSON ---- */

static void
print_json(const struct gguf *g, const struct summary *s)
{
	char buf[64];
	int first = 1;

	printf("{\"file\": ");
	put_json_str(g->path, strlen(g->path));
	printf(", \"size\": %" PRIu64 ", \"version\": %" PRIu32
	    ", \"alignment\": %" PRIu64 ", \"data_offset\": %" PRIu64,
	    g->size, g->version, g->alignment, g->data_off);
	printf(",\n \"summary\": {\"architecture\": ");
	put_json_str(s->arch.p, s->arch.len);
	printf(", \"parameters\": %" PRIu64 ", \"vocab_size\": %" PRId64
	    ", \"vocab_type\": ", s->n_params, s->n_vocab);
	put_json_str(s->vocab_model.p, s->vocab_model.len);
	printf(", \"chat_template\": %s, \"types\": {",
	    s->has_template ? "true" : "false");
	for (int t = 0; t < GGML_NTYPES; t++) {
		if (!s->n_of_type[t])
			continue;
		printf("%s\"%s\": {\"tensors\": %" PRIu64 ", \"bytes\": %"
		    PRIu64 "}", first ? "" : ", ", qtype_get(t)->name,
		    s->n_of_type[t], s->bytes_of_type[t]);
		first = 0;
	}
	printf("}},\n \"metadata\": {");
	for (uint64_t i = 0; i < g->n_kv; i++) {
		const struct gguf_kv *kv = &g->kv[i];

		printf("%s\n  ", i ? "," : "");
		put_json_str(kv->key.p, kv->key.len);
		printf(": {\"type\": \"%s\", \"value\": ",
		    type_desc(&kv->val, buf, sizeof buf));
		put_value(g, &kv->val, 0);
		putchar('}');
	}
	printf("},\n \"tensors\": [");
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *t = &g->tensors[i];

		printf("%s\n  {\"name\": ", i ? "," : "");
		put_json_str(t->name.p, t->name.len);
		printf(", \"type\": \"%s\", \"shape\": [",
		    qtype_get(t->type)->name);
		for (uint32_t d = 0; d < t->n_dims; d++)
			printf(d ? ", %" PRIu64 : "%" PRIu64, t->ne[d]);
		printf("], \"offset\": %" PRIu64 ", \"bytes\": %" PRIu64,
		    t->offset, t->nbytes);
		if (opt.hash)
			printf(", \"xxh3\": \"%016" PRIx64 "\"", hash(t));
		putchar('}');
	}
	printf("]}\n");
}

static void
print_key(const struct gguf *g)
{
	const struct gguf_kv *kv = gguf_kv_get(g, opt.key);

	if (!kv)
		die("%s: no key %s", g->path, opt.key);
	put_value(g, &kv->val, 0);
	putchar('\n');
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	struct summary s;
	struct gguf *g;
	struct cerr e;
	int i;

	tool_init(argv[0]);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))  {
			i++;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\n", usage_line);
			return 0;
		} else if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
			opt.json = 1;
		} else if (!strcmp(a, "--full")) {
			opt.full = 1;
		} else if (!strcmp(a, "--hash")) {
			opt.hash = 1;
		} else if (!strcmp(a, "-s") || !strcmp(a, "--summary")) {
			opt.only_summary = 1;
		} else if (!strcmp(a, "-t") || !strcmp(a, "--tensors")) {
			opt.only_tensors = 1;
		} else if (!strcmp(a, "-k") || !strcmp(a, "-m")) {
			if (i + 1 >= argc)
				usage_die(usage_line, "%s needs an argument", a);
			if (a[1] == 'k')
				opt.key = argv[++i];
			else
				path = argv[++i];
		} else {
			usage_die(usage_line, "unknown option %s", a);
		}
	}
	if (i < argc) {
		if (path || i + 1 < argc)
			usage_die(usage_line, "one model file at most");
		path = argv[i];
	}
	if (opt.only_summary && opt.only_tensors)
		usage_die(usage_line, "-s and -t exclude each other");
	path = model_resolve(path);
	if (!(g = gguf_open(path, &e)))
		die_err(&e);
	summarize(g, &s);
	if (opt.key)
		print_key(g);
	else if (opt.json)
		print_json(g, &s);
	else if (opt.only_tensors)
		print_tensors(g);
	else {
		print_summary(g, &s);
		if (!opt.only_summary) {
			print_metadata(g);
			print_tensors(g);
		}
	}
	gguf_close(g);
	stdout_close();
	return 0;
}
