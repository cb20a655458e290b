/* vocab.c: loading tokenizer.ggml.* from a GGUF file (vocab.h). */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "vocab.h"

static int32_t
opt_id(const struct gguf *g, const char *key, uint32_t n)
{
	struct cerr e;
	uint64_t v;

	if (gguf_get_u64(g, key, &v, &e) < 0 || v >= n)
		return -1;
	return (int32_t)v;
}

static int
opt_bool(const struct gguf *g, const char *key, int def)
{
	struct cerr e;
	int v;

	return gguf_get_bool(g, key, &v, &e) < 0 ? def : v;
}

/* The id of a control token with this exact text, or -1. */
static int32_t
find_piece(const struct vocab *v, const char *text)
{
	for (uint32_t i = 0; i < v->n; i++)
		if (gguf_str_eq(v->text[i], text) &&
		    (!v->types || v->types[i] == TOKTYPE_CONTROL ||
		    v->types[i] == TOKTYPE_USER_DEFINED))
			return (int32_t)i;
	return -1;
}

static void
add_eog(struct vocab *v, int32_t id)
{
	if (id < 0 || v->n_eog == VOCAB_MAX_EOG)
		return;
	for (uint32_t i = 0; i < v->n_eog; i++)
		if (v->eog[i] == id)
			return;
	v->eog[v->n_eog++] = id;
}

/* End-of-generation tokens, as llama.cpp finds them: eos, eot, eom, and the
 * end markers of the common chat formats when the vocab has them. */
static void
find_eog(struct vocab *v, const struct gguf *g)
{
	static const char *const ends[] = {
		"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
		"<|endoftext|>", "<|eom_id|>", "<EOT>", "<|end_of_text|>",
	};

	v->eot = opt_id(g, "tokenizer.ggml.eot_token_id", v->n);
	if (v->eot < 0)
		for (size_t i = 0; i < 4 && v->eot < 0; i++)
			v->eot = find_piece(v, ends[i]);
	add_eog(v, v->eos);
	add_eog(v, v->eot);
	add_eog(v, opt_id(g, "tokenizer.ggml.eom_token_id", v->n));
	for (size_t i = 0; i < sizeof ends / sizeof *ends; i++)
		add_eog(v, find_piece(v, ends[i]));
}

int
vocab_load(struct vocab *v, const struct gguf *g, struct cerr *e)
{
	const struct gguf_kv *kv;

	memset(v, 0, sizeof *v);
	if (gguf_get_str(g, "tokenizer.ggml.model", &v->model, e) < 0)
		return -1;
	if (gguf_str_eq(v->model, "llama"))
		v->kind = VOCAB_SPM;
	else if (gguf_str_eq(v->model, "gpt2"))
		v->kind = VOCAB_BPE;
	else
		return cerr_set(e, "%s: tokenizer %.*s not supported", g->path,
		    (int)v->model.len, v->model.p);
	if (gguf_get_str(g, "tokenizer.ggml.pre", &v->pre, e) < 0)
		v->pre = (struct gguf_str){ 7, "default" };
	kv = gguf_kv_get(g, "tokenizer.ggml.tokens");
	if (!kv || kv->val.type != GGUF_ARRAY ||
	    kv->val.v.arr.type != GGUF_STRING || kv->val.v.arr.n == 0 ||
	    kv->val.v.arr.n > INT32_MAX)
		return cerr_set(e, "%s: tokenizer.ggml.tokens: missing or not "
		    "an array of strings", g->path);
	v->n = (uint32_t)kv->val.v.arr.n;
	if (!(v->text = malloc(v->n * sizeof *v->text)))
		return cerr_set(e, "out of memory");
	if (gguf_arr_strs(g, &kv->val, v->text, e) < 0)
		goto fail;
	if ((kv = gguf_kv_get(g, "tokenizer.ggml.scores"))) {
		if (kv->val.type != GGUF_ARRAY || kv->val.v.arr.n != v->n) {
			cerr_set(e, "%s: tokenizer.ggml.scores: not %u numbers",
			    g->path, v->n);
			goto fail;
		}
		if (!(v->scores = malloc(v->n * sizeof *v->scores)) ||
		    gguf_arr_f32(g, &kv->val, v->scores, e) < 0)
			goto fail;
	}
	if ((kv = gguf_kv_get(g, "tokenizer.ggml.token_type"))) {
		int64_t *t;

		if (kv->val.type != GGUF_ARRAY || kv->val.v.arr.n != v->n) {
			cerr_set(e, "%s: tokenizer.ggml.token_type: not %u "
			    "integers", g->path, v->n);
			goto fail;
		}
		if (!(t = malloc(v->n * sizeof *t)) ||
		    !(v->types = malloc(v->n * sizeof *v->types)) ||
		    gguf_arr_i64(g, &kv->val, t, e) < 0) {
			free(t);
			goto fail;
		}
		for (uint32_t i = 0; i < v->n; i++)
			v->types[i] = t[i] >= 0 && t[i] <= TOKTYPE_BYTE ?
			    (int32_t)t[i] : TOKTYPE_UNDEFINED;
		free(t);
	}
	v->bos = opt_id(g, "tokenizer.ggml.bos_token_id", v->n);
	v->eos = opt_id(g, "tokenizer.ggml.eos_token_id", v->n);
	v->unk = opt_id(g, "tokenizer.ggml.unknown_token_id", v->n);
	v->pad = opt_id(g, "tokenizer.ggml.padding_token_id", v->n);
	v->add_bos = opt_bool(g, "tokenizer.ggml.add_bos_token",
	    v->kind == VOCAB_SPM);
	v->add_eos = opt_bool(g, "tokenizer.ggml.add_eos_token", 0);
	find_eog(v, g);
	v->fingerprint = vocab_fingerprint(v);
	return 0;
fail:
	vocab_free(v);
	return -1;
}

void
vocab_free(struct vocab *v)
{
	free(v->text);
	free(v->scores);
	free(v->types);
	memset(v, 0, sizeof *v);
}

uint64_t
vocab_fingerprint(const struct vocab *v)
{
	XXH64_state_t *st = XXH64_createState();
	uint64_t h;

	if (!st)
		return 0;
	XXH64_reset(st, 0);
	for (uint32_t i = 0; i < v->n; i++) {
		uint32_t len = (uint32_t)v->text[i].len;
		unsigned char le[4] = { (unsigned char)len,
		    (unsigned char)(len >> 8), (unsigned char)(len >> 16),
		    (unsigned char)(len >> 24) };

		XXH64_update(st, le, 4);
		XXH64_update(st, v->text[i].p, v->text[i].len);
	}
	h = XXH64_digest(st);
	XXH64_freeState(st);
	return h;
}
