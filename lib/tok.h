/* tok.h: text to token ids and back, exactly as llama.cpp does it.
 *
 * The vocab kind picks the algorithm: SentencePiece-style score merges with
 * byte fallback (tok_spm.c) or byte-level BPE with a pre-tokenizer named by
 * tokenizer.ggml.pre (tok_bpe.c). Special tokens are split out first
 * (tok.c): control tokens only when asked, user-defined ones always. */
#ifndef CHORD_TOK_H
#define CHORD_TOK_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "gguf.h"
#include "vocab.h"

struct tok;

/* A growable list of ids. */
struct ids {
	int32_t *v;
	size_t n, cap;
};

int ids_push(struct ids *l, int32_t id);
void ids_free(struct ids *l);

/* v must outlive the tokenizer. */
struct tok *tok_open(const struct gguf *g, const struct vocab *v,
	struct cerr *e);
void tok_close(struct tok *t);

/* Append the ids of text to out. add_special: BOS/EOS as the vocab says;
 * parse_special: control tokens written in the text become their ids. */
int tok_encode(struct tok *t, const char *text, size_t len, int add_special,
	int parse_special, struct ids *out, struct cerr *e);

/* The bytes token id stands for: control tokens give "" unless special.
 * Returns the length written to buf (at most cap; pieces are short), or -1
 * for an id out of range. */
int tok_piece(const struct tok *t, int32_t id, int special, char *buf,
	size_t cap);

/* ---- internal to the tokenizer files ---- */

/* A string -> int map (open addressing), for pieces and merges. */
struct strmap {
	const char **key;
	uint32_t *klen;
	int32_t *val;
	uint32_t cap;           /* a power of two */
};

int strmap_init(struct strmap *m, uint32_t n);
int strmap_put(struct strmap *m, const char *k, uint32_t len, int32_t v);
int32_t strmap_get(const struct strmap *m, const char *k, uint32_t len);
void strmap_free(struct strmap *m);

struct tok {
	const struct vocab *v;
	struct strmap pieces;   /* piece text -> id */
	int32_t *special;       /* control/user-defined ids, longest first */
	uint32_t n_special;
	/* BPE */
	int pre;                /* enum bpe_pre */
	struct strmap merges;   /* "left right" -> rank */
	char **merge_keys;      /* owned storage of the merge keys */
	uint32_t n_merges;
	int32_t byte_tok[256];  /* id of each byte's single-byte piece */
	/* SPM */
	int add_space_prefix;
};

int bpe_init(struct tok *t, const struct gguf *g, struct cerr *e);
void bpe_free(struct tok *t);
int bpe_encode(struct tok *t, const char *s, size_t n, struct ids *out,
	struct cerr *e);
int bpe_piece(const struct tok *t, int32_t id, char *buf, size_t cap);
/* Only the pre-tokenizer named pre (tokenizer.ggml.pre): out gets the byte
 * length of each word of s. */
int bpe_pretokenize(const char *pre, const char *s, size_t n, struct ids *out,
	struct cerr *e);

int spm_init(struct tok *t, const struct gguf *g, struct cerr *e);
int spm_encode(struct tok *t, const char *s, size_t n, int first,
	struct ids *out, struct cerr *e);
int spm_piece(const struct tok *t, int32_t id, char *buf, size_t cap);

#endif
