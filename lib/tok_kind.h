/* tok_kind.h: the tokenizer kinds behind the dispatcher (tok.c), each with
 * its own opaque state. Only tok.c and the tests include this; tools use
 * tok.h. pieces is the vocab's piece text -> id map, which tok.c owns. */
#ifndef CHORD_TOK_KIND_H
#define CHORD_TOK_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "gguf.h"
#include "ids.h"
#include "strmap.h"
#include "vocab.h"

/* Byte-level BPE, tokenizer.ggml.model = gpt2 (tok_bpe.c). */
struct bpe;

struct bpe *bpe_open(const struct gguf *g, const struct vocab *v,
	const struct strmap *pieces, struct cerr *e);
void bpe_close(struct bpe *b);
int bpe_encode(const struct bpe *b, const char *s, size_t n,
	struct ids *out, struct cerr *e);
int bpe_piece(const struct bpe *b, int32_t id, char *buf, size_t cap);
/* Only the pre-tokenizer named pre (tokenizer.ggml.pre): out gets the byte
 * length of each word of s. For tests. */
int bpe_pretokenize(const char *pre, const char *s, size_t n,
	struct ids *out, struct cerr *e);

/* SentencePiece-style score merges, tokenizer.ggml.model = llama
 * (tok_spm.c). first: the text starts the input (gets the space prefix). */
struct spm;

struct spm *spm_open(const struct gguf *g, const struct vocab *v,
	const struct strmap *pieces, struct cerr *e);
void spm_close(struct spm *s);
int spm_encode(const struct spm *sp, const char *s, size_t n, int first,
	struct ids *out, struct cerr *e);
int spm_piece(const struct spm *sp, int32_t id, char *buf, size_t cap);

/* BERT's WordPiece, tokenizer.ggml.model = bert (tok_wpm.c). */
struct wpm;

struct wpm *wpm_open(const struct gguf *g, const struct vocab *v,
	const struct strmap *pieces, struct cerr *e);
void wpm_close(struct wpm *w);
int wpm_encode(const struct wpm *w, const char *s, size_t n,
	struct ids *out, struct cerr *e);

/* T5's Unigram, tokenizer.ggml.model = t5 (tok_ugm.c): the most probable
 * cut by the pieces' scores (Viterbi) after SentencePiece's normalizing. */
struct ugm;

struct ugm *ugm_open(const struct gguf *g, const struct vocab *v,
	struct cerr *e);
void ugm_close(struct ugm *u);
int ugm_encode(const struct ugm *u, const char *s, size_t n,
	struct ids *out, struct cerr *e);

/* The piece of id for WPM and UGM: U+2581 as a space, a BYTE token <0xHH>
 * as its byte (tok_wpm.c). */
int sp_piece(const struct vocab *v, int32_t id, char *buf, size_t cap);

#endif
