/* vocab.c: loading tokenizer.ggml.* from a GGUF file (vocab.h). */
#include <stdint.h>
#include <stdio.h>
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

/* ---- special tokens, as llama.cpp's llama_vocab::load finds them ---- */

#define N(a) (sizeof (a) / sizeof *(a))

/* Texts that name a special token when metadata does not (llama.cpp's
 * "auto-detect special tokens by text"). The token found is made CONTROL. */
static const char *const eot_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
	"<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
	"<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
	"<end_of_utterance>",
};
static const char *const eom_texts[] = { "<|eom_id|>" };
static const char *const fim_pre_texts[] = {
	"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
	"<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>",
	"\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>",
};
static const char *const fim_suf_texts[] = {
	"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
	"<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>", "<SUF>",
	"\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>",
};
static const char *const fim_mid_texts[] = {
	"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
	"<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>",
	"\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>",
};
static const char *const fim_pad_texts[] = {
	"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
};
static const char *const fim_rep_texts[] = {
	"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
};
static const char *const fim_sep_texts[] = { "<|file_sep|>" };

/* Every token with one of these texts ends generation and is CONTROL. */
static const char *const eog_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
	"<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>",
	"<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
	"<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
	"<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
	"[e~[",
};

/* gpt-oss: always rendered, so USER_DEFINED whatever the file says. */
static const char *const render_texts[] = {
	"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>",
};

/* Texts find_strip looks up. */
static const char *const strip_texts[] = {
	"<mask>", "</s>", "<unk>", "<s>", "<|endoftext|>", "[MASK]",
};

static const struct list {
	const char *const *texts;
	size_t n;
} lists[] = {
	{ eot_texts, N(eot_texts) }, { eom_texts, N(eom_texts) },
	{ fim_pre_texts, N(fim_pre_texts) }, { fim_suf_texts, N(fim_suf_texts) },
	{ fim_mid_texts, N(fim_mid_texts) }, { fim_pad_texts, N(fim_pad_texts) },
	{ fim_rep_texts, N(fim_rep_texts) }, { fim_sep_texts, N(fim_sep_texts) },
	{ eog_texts, N(eog_texts) }, { render_texts, N(render_texts) },
	{ strip_texts, N(strip_texts) },
};

static int
in(struct gguf_str s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (gguf_str_eq(s, list[i]))
			return 1;
	return 0;
}

/* The tokens whose text is in one of the lists, ascending, found in one
 * pass over the vocab (a pass a text cost 3.6 ms on SmolLM2's 49k tokens,
 * 57 ms on Gemma's 262k): a token is compared only when its first and last
 * bytes are those of some text. Every text is 3 bytes or more. */
struct hits {
	int32_t *id;
	size_t n;
};

/* Is s (3 bytes or more) in a list? Second bytes first: most of a vocab's
 * <...> tokens fail there. */
static int
listed(struct gguf_str s)
{
	for (size_t l = 0; l < N(lists); l++)
		for (size_t k = 0; k < lists[l].n; k++)
			if (s.p[1] == lists[l].texts[k][1] &&
			    gguf_str_eq(s, lists[l].texts[k]))
				return 1;
	return 0;
}

static int
find_hits(const struct vocab *v, struct hits *h, struct cerr *e)
{
	uint8_t first[256] = { 0 }, last[256] = { 0 };
	size_t cap = 0;
	int32_t *nid;

	h->id = NULL;
	h->n = 0;
	for (size_t l = 0; l < N(lists); l++)
		for (size_t k = 0; k < lists[l].n; k++) {
			const char *t = lists[l].texts[k];

			first[(uint8_t)t[0]] = last[(uint8_t)t[strlen(t) - 1]] = 1;
		}
	for (uint32_t i = 0; i < v->n; i++) {
		struct gguf_str s = v->text[i];

		if (s.len < 3 || !first[(uint8_t)s.p[0]] ||
		    !last[(uint8_t)s.p[s.len - 1]] || !listed(s))
			continue;
		if (h->n == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(nid = realloc(h->id, cap * sizeof *nid))) {
				free(h->id);
				return cerr_set(e, "out of memory");
			}
			h->id = nid;
		}
		h->id[h->n++] = (int32_t)i;
	}
	return 0;
}

/* The id of text (one of the lists'), or -1. Of duplicates the last, as
 * llama.cpp's token_to_id map keeps it. */
static int32_t
text_id(const struct vocab *v, const struct hits *h, const char *text)
{
	for (size_t k = h->n; k-- > 0;)
		if (gguf_str_eq(v->text[h->id[k]], text))
			return h->id[k];
	return -1;
}

/* The id the metadata key gives, else the first text of the list that the
 * vocab has, made CONTROL. llama.cpp takes whichever matching token its
 * hash map yields first; with one match per list (the usual case) that is
 * the same token. */
static int32_t
special_id(struct vocab *v, const struct hits *h, const struct gguf *g,
	const char *key, const char *old_key, const char *const *texts, size_t n)
{
	int32_t id = opt_id(g, key, v->n);

	if (old_key && opt_id(g, old_key, v->n) >= 0)
		id = opt_id(g, old_key, v->n);
	for (size_t i = 0; id < 0 && i < n; i++)
		if ((id = text_id(v, h, texts[i])) >= 0)
			v->types[id] = TOKTYPE_CONTROL;
	return id;
}

/* The end-of-generation set: FIM pad/rep/sep, every token with an
 * end-of-generation text (made CONTROL), eos, eot, eom; less <|end|> when
 * the vocab has o200k_harmony's or solar-open's markers, less </s> where
 * <|tool_response>/<|plamo:eos|> show it is a normal token. The stream
 * carries VOCAB_MAX_EOG of them: eos, eot, eom first, then by id. */
static int
find_eog(struct vocab *v, const struct hits *h, struct cerr *e)
{
	uint8_t *eog = calloc(v->n, 1);
	int ret = 0, call = 0, flush = 0, normal_s = 0;
	int32_t end = -1, s = -1, first[3] = { v->eos, v->eot, v->eom };

	if (!eog)
		return cerr_set(e, "out of memory");
	for (size_t k = 0; k < 3; k++)
		if (first[k] >= 0)
			eog[first[k]] = 1;
	if (v->fim_pad >= 0)
		eog[v->fim_pad] = 1;
	if (v->fim_rep >= 0)
		eog[v->fim_rep] = 1;
	if (v->fim_sep >= 0)
		eog[v->fim_sep] = 1;
	for (size_t k = 0; k < h->n; k++) {
		int32_t i = h->id[k];

		if (in(v->text[i], eog_texts, N(eog_texts))) {
			eog[i] = 1;
			v->types[i] = TOKTYPE_CONTROL;
		}
		if (in(v->text[i], render_texts, N(render_texts)))
			v->types[i] = TOKTYPE_USER_DEFINED;
	}
	for (uint32_t i = 0; i < v->n; i++) {
		struct gguf_str t = v->text[i];

		if (!eog[i])
			continue;
		ret |= gguf_str_eq(t, "<|return|>");
		call |= gguf_str_eq(t, "<|call|>") || gguf_str_eq(t, "<|calls|>");
		flush |= gguf_str_eq(t, "<|flush|>");
		normal_s |= gguf_str_eq(t, "<|tool_response>") ||
		    gguf_str_eq(t, "<|plamo:eos|>");
		if (gguf_str_eq(t, "<|end|>"))
			end = (int32_t)i;
		if (gguf_str_eq(t, "</s>"))
			s = (int32_t)i;
	}
	if (end >= 0 && call && (ret || flush)) {
		eog[end] = 0;
		v->types[end] = TOKTYPE_USER_DEFINED;
	}
	if (s >= 0 && normal_s) {
		eog[s] = 0;
		v->types[s] = TOKTYPE_NORMAL;
	}
	for (size_t k = 0; k < 3; k++)
		if (first[k] >= 0 && eog[first[k]] && v->n_eog < VOCAB_MAX_EOG) {
			v->eog[v->n_eog++] = first[k];
			eog[first[k]] = 0;
		}
	for (uint32_t i = 0; i < v->n && v->n_eog < VOCAB_MAX_EOG; i++)
		if (eog[i])
			v->eog[v->n_eog++] = (int32_t)i;
	free(eog);
	return 0;
}

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
}

static void
set_strip(struct vocab *v, const struct hits *h, const char *text, int bit,
	int on)
{
	int32_t id = text_id(v, h, text);

	if (id >= 0)
		v->strip[id] = (uint8_t)(on ? v->strip[id] | bit :
		    v->strip[id] & ~bit);
}

/* llama.cpp's per-model token attributes, picked by general.name,
 * tokenizer.ggml.pre and general.architecture. */
static int
find_strip(struct vocab *v, const struct hits *h, const struct gguf *g,
	struct cerr *e)
{
	struct gguf_str s;
	char name[256] = "", arch[64] = "", pre[64] = "";
	struct cerr ignore;

	if (!(v->strip = calloc(v->n, 1)))
		return cerr_set(e, "out of memory");
	if (gguf_get_str(g, "general.name", &s, &ignore) == 0)
		snprintf(name, sizeof name, "%.*s", (int)s.len, s.p);
	if (gguf_get_str(g, "general.architecture", &s, &ignore) == 0)
		snprintf(arch, sizeof arch, "%.*s", (int)s.len, s.p);
	snprintf(pre, sizeof pre, "%.*s", (int)v->pre.len, v->pre.p);
	lower(name);
	if (strstr(pre, "jina-v2-de") || strstr(pre, "jina-v2-es") ||
	    strstr(pre, "jina-v2-code") || strstr(arch, "nomic-bert-moe") ||
	    strstr(arch, "jina-bert-v3")) {
		set_strip(v, h, "<mask>", VOCAB_LSTRIP, 1);
	} else if (strstr(name, "phi-3") || strstr(name, "phi3")) {
		for (uint32_t i = 0; i < v->n; i++)
			if (v->types[i] == TOKTYPE_CONTROL ||
			    v->types[i] == TOKTYPE_USER_DEFINED ||
			    v->types[i] == TOKTYPE_UNKNOWN)
				v->strip[i] |= VOCAB_RSTRIP;
		set_strip(v, h, "</s>", VOCAB_RSTRIP, 1);
		set_strip(v, h, "<unk>", VOCAB_RSTRIP, 0);
		set_strip(v, h, "<s>", VOCAB_RSTRIP, 0);
		set_strip(v, h, "<|endoftext|>", VOCAB_RSTRIP, 0);
	} else if (strstr(name, "modern-bert")) {
		set_strip(v, h, "[MASK]", VOCAB_LSTRIP, 1);
	}
	return 0;
}

/* The special ids, end-of-generation set and attributes llama.cpp derives
 * from the metadata and the token texts. */
static int
find_specials(struct vocab *v, const struct gguf *g, struct cerr *e)
{
	struct hits h;
	int r;

	if (find_hits(v, &h, e) < 0)
		return -1;
	v->eot = special_id(v, &h, g, "tokenizer.ggml.eot_token_id", NULL,
	    eot_texts, N(eot_texts));
	v->eom = special_id(v, &h, g, "tokenizer.ggml.eom_token_id", NULL,
	    eom_texts, N(eom_texts));
	v->fim_pre = special_id(v, &h, g, "tokenizer.ggml.fim_pre_token_id",
	    "tokenizer.ggml.prefix_token_id", fim_pre_texts, N(fim_pre_texts));
	v->fim_suf = special_id(v, &h, g, "tokenizer.ggml.fim_suf_token_id",
	    "tokenizer.ggml.suffix_token_id", fim_suf_texts, N(fim_suf_texts));
	v->fim_mid = special_id(v, &h, g, "tokenizer.ggml.fim_mid_token_id",
	    "tokenizer.ggml.middle_token_id", fim_mid_texts, N(fim_mid_texts));
	v->fim_pad = special_id(v, &h, g, "tokenizer.ggml.fim_pad_token_id",
	    NULL, fim_pad_texts, N(fim_pad_texts));
	v->fim_rep = special_id(v, &h, g, "tokenizer.ggml.fim_rep_token_id",
	    NULL, fim_rep_texts, N(fim_rep_texts));
	v->fim_sep = special_id(v, &h, g, "tokenizer.ggml.fim_sep_token_id",
	    NULL, fim_sep_texts, N(fim_sep_texts));
	r = find_eog(v, &h, e) < 0 ? -1 : find_strip(v, &h, g, e);
	free(h.id);
	return r;
}

/* BPE pre-tokenizers after which llama.cpp adds BOS unless
 * tokenizer.ggml.add_bos_token says otherwise (SPM always does). */
static const char *const bos_pre[] = {
	"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
	"midm-2.0", "lfm2", "jina-v5-nano", "tekken", "chameleon",
};

/* tokenizer.ggml.model -> kind, and the special ids llama.cpp assumes
 * for it where the file names none (-1: none). */
static const struct kind {
	const char *model;
	int kind;
	int32_t bos, eos, unk, sep, pad;
} kinds[] = {
	{ "llama", VOCAB_SPM, -1, -1, -1, -1, -1 },
	{ "gpt2", VOCAB_BPE, -1, -1, -1, -1, -1 },
	{ "bert", VOCAB_WPM, 101, -1, 100, 102, 0 },
	{ "t5", VOCAB_UGM, -1, 1, 2, -1, 0 },
};

/* The id key gives, else def where that is in the vocab, else -1. */
static int32_t
def_id(const struct gguf *g, const char *key, uint32_t n, int32_t def)
{
	int32_t id = opt_id(g, key, n);

	if (id >= 0)
		return id;
	return def >= 0 && (uint32_t)def < n ? def : -1;
}

static uint64_t fingerprint(const struct vocab *v, const struct gguf *g);

static int32_t
type_of(int64_t t)
{
	return t >= 0 && t <= TOKTYPE_BYTE ? (int32_t)t : TOKTYPE_UNDEFINED;
}

/* tokenizer.ggml.token_type as every converter writes it, int32: read in
 * place, not through gguf_arr_i64 and a copy (a start spent a fifth of
 * the vocabulary's load there). The parser has checked that the array's
 * elements lie in the file. */
static void
int32_types(struct vocab *v, const struct gguf *g, const struct gguf_value *a)
{
	const uint8_t *b = g->base + a->v.arr.off;

	for (uint32_t i = 0; i < v->n; i++, b += 4)
		v->types[i] = type_of((int32_t)((uint32_t)b[0] |
		    (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		    (uint32_t)b[3] << 24));
}

int
vocab_load(struct vocab *v, const struct gguf *g, struct cerr *e)
{
	const struct gguf_kv *kv;
	const struct kind *k = NULL;

	memset(v, 0, sizeof *v);
	if (gguf_get_str(g, "tokenizer.ggml.model", &v->model, e) < 0)
		return -1;
	for (size_t i = 0; i < N(kinds) && !v->kind; i++)
		if (gguf_str_eq(v->model, kinds[i].model))
			k = &kinds[i], v->kind = k->kind;
	if (!v->kind) {
		char shown[64];

		cvis(shown, sizeof shown, v->model.p, v->model.len);
		return cerr_set(e, "%s: tokenizer %s not supported", g->path,
		    shown);
	}
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
	if (!(v->types = malloc(v->n * sizeof *v->types))) {
		cerr_set(e, "out of memory");
		goto fail;
	}
	for (uint32_t i = 0; i < v->n; i++)
		v->types[i] = TOKTYPE_NORMAL;
	if ((kv = gguf_kv_get(g, "tokenizer.ggml.token_type"))) {
		int64_t *t;

		if (kv->val.type != GGUF_ARRAY || kv->val.v.arr.n != v->n) {
			cerr_set(e, "%s: tokenizer.ggml.token_type: not %u "
			    "integers", g->path, v->n);
			goto fail;
		}
		if (kv->val.v.arr.type == GGUF_INT32) {
			int32_types(v, g, &kv->val);
		} else {
			if (!(t = malloc(v->n * sizeof *t)) ||
			    gguf_arr_i64(g, &kv->val, t, e) < 0) {
				free(t);
				goto fail;
			}
			for (uint32_t i = 0; i < v->n; i++)
				v->types[i] = type_of(t[i]);
			free(t);
		}
	}
	v->bos = def_id(g, "tokenizer.ggml.bos_token_id", v->n, k->bos);
	v->eos = def_id(g, "tokenizer.ggml.eos_token_id", v->n, k->eos);
	v->unk = def_id(g, "tokenizer.ggml.unknown_token_id", v->n, k->unk);
	v->pad = def_id(g, "tokenizer.ggml.padding_token_id", v->n, k->pad);
	v->sep = def_id(g, "tokenizer.ggml.seperator_token_id", v->n, k->sep);
	v->add_bos = opt_bool(g, "tokenizer.ggml.add_bos_token",
	    v->kind == VOCAB_SPM || (v->kind == VOCAB_BPE &&
	    in(v->pre, bos_pre, N(bos_pre))));
	v->add_eos = opt_bool(g, "tokenizer.ggml.add_eos_token",
	    v->kind == VOCAB_UGM);
	if (v->kind == VOCAB_WPM) {
		/* llama.cpp's WPM puts [CLS] and [SEP] around the text
		 * whatever add_bos_token and add_eos_token say */
		v->add_bos = 1;
		v->add_eos = 0;
		v->add_sep = 1;
	}
	if (find_specials(v, g, e) < 0)
		goto fail;
	v->fingerprint = fingerprint(v, g);
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
	free(v->strip);
	memset(v, 0, sizeof *v);
}

void
vocab_facts_of(const struct vocab *v, struct vocab_facts *f)
{
	memset(f, 0, sizeof *f);
	f->fingerprint = v->fingerprint;
	f->n = v->n;
	f->bos = v->bos;
	f->eos = v->eos;
	f->eot = v->eot;
	f->n_eog = v->n_eog;
	for (size_t k = 0; k < VOCAB_MAX_EOG; k++)
		f->eog[k] = k < v->n_eog ? v->eog[k] : -1;
}

static int
id_ok(int32_t id, uint32_t n)
{
	return id >= -1 && (id < 0 || (uint32_t)id < n);
}

int
vocab_facts_sane(const struct vocab_facts *f)
{
	if (!f->n || f->n > INT32_MAX || f->n_eog > VOCAB_MAX_EOG ||
	    !id_ok(f->bos, f->n) || !id_ok(f->eos, f->n) ||
	    !id_ok(f->eot, f->n))
		return 0;
	for (size_t k = 0; k < VOCAB_MAX_EOG; k++)
		if (!id_ok(f->eog[k], f->n) || (k < f->n_eog && f->eog[k] < 0))
			return 0;
	return 1;
}

/* The bytes hashed go through a buffer of 64 KiB: two XXH64_update calls
 * a token (most of them a few bytes) cost more than the hash. Pieces are
 * copied 16 bytes at a time where that much is readable: in g's image,
 * where vocab_load's point (g NULL: none is); a memcpy of their own
 * length, a call for a few bytes, was half of vocab_load's time. */
static uint64_t
fingerprint(const struct vocab *v, const struct gguf *g)
{
	uintptr_t lo = g ? (uintptr_t)g->base : 0;
	uintptr_t hi = g ? lo + (uintptr_t)g->size : 0;
	XXH64_state_t *st = XXH64_createState();
	unsigned char buf[1 << 16];
	size_t n = 0;
	uint64_t h;

	if (!st)
		return 0;
	XXH64_reset(st, 0);
	for (uint32_t i = 0; i < v->n; i++) {
		const char *p = v->text[i].p;
		uint32_t len = (uint32_t)v->text[i].len;

		if (sizeof buf - n < 4 + 16 + (size_t)len) {
			XXH64_update(st, buf, n);
			n = 0;
		}
		buf[n++] = (unsigned char)len;
		buf[n++] = (unsigned char)(len >> 8);
		buf[n++] = (unsigned char)(len >> 16);
		buf[n++] = (unsigned char)(len >> 24);
		if (len > sizeof buf - 16 - n) {  /* longer than the buffer */
			XXH64_update(st, buf, n);
			XXH64_update(st, p, len);
			n = 0;
			continue;
		}
		/* the 16 bytes past a short piece are copied, not counted */
		if (len <= 16 && (uintptr_t)p >= lo && (uintptr_t)p < hi &&
		    hi - (uintptr_t)p >= 16)
			memcpy(buf + n, p, 16);
		else
			memcpy(buf + n, p, len);
		n += len;
	}
	XXH64_update(st, buf, n);
	h = XXH64_digest(st);
	XXH64_freeState(st);
	return h;
}

uint64_t
vocab_fingerprint(const struct vocab *v)
{
	return fingerprint(v, NULL);
}
