/* gguf.c (fuzz): the GGUF reader on the input as an in-memory image, then
 * every accessor on whatever it accepted: keys, typed getters, array walks
 * and the bytes of every tensor. */
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

/* Walk an array (and the arrays in it) every way gguf.h offers. */
static void
walk_arr(const struct gguf *g, const struct gguf_value *v, int depth)
{
	struct gguf_arr_it it = { 0 };
	struct gguf_value el;
	struct cerr e;
	uint64_t n = v->v.arr.n;

	while (gguf_arr_next(g, v, &it, &el))
		if (el.type == GGUF_ARRAY && depth < 8)
			walk_arr(g, &el, depth + 1);
	if (n > 0) {
		gguf_arr_elem(g, v, 0, &el, &e);
		gguf_arr_elem(g, v, n - 1, &el, &e);
	}
	gguf_arr_elem(g, v, n, &el, &e);        /* one past the end: an error */
	if (n > 1 << 16)
		return;
	if (v->v.arr.type == GGUF_STRING) {
		struct gguf_str *s = malloc((n + 1) * sizeof *s);

		if (s && gguf_arr_strs(g, v, s, &e) == 0)
			for (uint64_t i = 0; i < n; i++)
				if (s[i].len)
					(void)*(volatile const char *)
					    &s[i].p[s[i].len - 1];
		free(s);
	} else if (v->v.arr.type != GGUF_ARRAY) {
		float *f = malloc((n + 1) * sizeof *f);
		int64_t *i64 = malloc((n + 1) * sizeof *i64);

		if (f)
			gguf_arr_f32(g, v, f, &e);
		if (i64)
			gguf_arr_i64(g, v, i64, &e);
		free(f);
		free(i64);
	}
}

static void
use_kv(const struct gguf *g, const struct gguf_kv *kv)
{
	char key[256];
	struct gguf_str s;
	struct cerr e;
	uint64_t u;
	int64_t i;
	double f;
	uint32_t et;
	int b;

	if (kv->key.len >= sizeof key)
		return;
	memcpy(key, kv->key.p, kv->key.len);
	key[kv->key.len] = '\0';
	gguf_find_key(g, key);
	gguf_get_u64(g, key, &u, &e);
	gguf_get_i64(g, key, &i, &e);
	gguf_get_f64(g, key, &f, &e);
	gguf_get_bool(g, key, &b, &e);
	if (gguf_get_str(g, key, &s, &e) == 0 && s.len)
		(void)*(volatile const char *)&s.p[s.len - 1];
	if (gguf_get_arr(g, key, &et, &u, &e) == 0)
		walk_arr(g, &kv->val, 0);
	gguf_vtype_name(kv->val.type);
}

static void
use_tensor(const struct gguf *g, const struct gguf_tensor *t)
{
	char name[256];

	if (t->name.len < sizeof name && !memchr(t->name.p, 0, t->name.len)) {
		memcpy(name, t->name.p, t->name.len);
		name[t->name.len] = '\0';
		if (gguf_tensor_get(g, name) != t)
			abort();        /* names are unique: the reader said so */
	}
	if (t->nbytes) {
		(void)*(volatile const uint8_t *)t->data;
		(void)((volatile const uint8_t *)t->data)[t->nbytes - 1];
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cerr e;
	struct gguf *g = gguf_open_mem(data, size, "fuzz.gguf", &e);

	if (!g)
		return 0;
	for (uint64_t i = 0; i < g->n_kv; i++)
		use_kv(g, &g->kv[i]);
	for (uint64_t i = 0; i < g->n_tensors; i++)
		use_tensor(g, &g->tensors[i]);
	gguf_close(g);
	return 0;
}
