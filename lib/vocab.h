/* vocab.h: a model's vocabulary as GGUF stores it (tokenizer.ggml.*), the
 * part every tool needs: pieces, scores, token types, special ids and the
 * fingerprint that the streams carry. Tokenizing itself is tok.h. */
#ifndef CHORD_VOCAB_H
#define CHORD_VOCAB_H

#include <stdint.h>

#include "err.h"
#include "gguf.h"

/* tokenizer.ggml.model: llama, gpt2, bert (WordPiece), t5 (Unigram) */
enum vocab_kind { VOCAB_SPM = 1, VOCAB_BPE = 2, VOCAB_WPM = 3, VOCAB_UGM = 4 };

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type) */
enum tok_type {
	TOKTYPE_UNDEFINED = 0, TOKTYPE_NORMAL = 1, TOKTYPE_UNKNOWN = 2,
	TOKTYPE_CONTROL = 3, TOKTYPE_USER_DEFINED = 4, TOKTYPE_UNUSED = 5,
	TOKTYPE_BYTE = 6
};

/* The logits stream carries this many end-of-generation ids (stream.h). */
#define VOCAB_MAX_EOG 6

/* Per-token attributes that llama.cpp sets by model name at load (its
 * LLAMA_TOKEN_ATTR_LSTRIP/RSTRIP): where a special token is split out of
 * the text, the whitespace before (lstrip) or after (rstrip) it goes too. */
enum { VOCAB_LSTRIP = 1, VOCAB_RSTRIP = 2 };

struct vocab {
	uint32_t n;              /* tokenizer.ggml.tokens: array length */
	int kind;                /* enum vocab_kind, from tokenizer.ggml.model */
	struct gguf_str model;   /* tokenizer.ggml.model */
	struct gguf_str pre;     /* tokenizer.ggml.pre (may be empty) */
	struct gguf_str *text;   /* (n) tokenizer.ggml.tokens */
	float *scores;           /* (n) tokenizer.ggml.scores, or NULL */
	int32_t *types;          /* (n) tokenizer.ggml.token_type (all NORMAL
	                          * if absent), with llama.cpp's overrides:
	                          * end-of-generation and FIM texts are CONTROL */
	uint8_t *strip;          /* (n) VOCAB_LSTRIP | VOCAB_RSTRIP */
	int32_t bos;             /* tokenizer.ggml.bos_token_id, -1 if none */
	int32_t eos;             /* tokenizer.ggml.eos_token_id */
	int32_t eot;             /* tokenizer.ggml.eot_token_id or a known piece */
	int32_t eom;             /* tokenizer.ggml.eom_token_id or <|eom_id|> */
	int32_t fim_pre, fim_suf, fim_mid; /* tokenizer.ggml.fim_*_token_id */
	int32_t fim_pad, fim_rep, fim_sep; /* or known pieces */
	int32_t unk;             /* tokenizer.ggml.unknown_token_id; bos, eos,
	                          * unk, pad, sep default by kind for WPM and
	                          * UGM, as llama.cpp's */
	int32_t pad;             /* tokenizer.ggml.padding_token_id */
	int32_t sep;             /* tokenizer.ggml.seperator_token_id (sic) */
	int add_bos;             /* tokenizer.ggml.add_bos_token (default: by kind) */
	int add_eos;             /* tokenizer.ggml.add_eos_token */
	int add_sep;             /* sep after the text: WPM's, always */
	int32_t eog[VOCAB_MAX_EOG]; /* end-of-generation ids: eos, eot, eom,
	                          * then the rest of llama.cpp's set by id */
	uint32_t n_eog;
	uint64_t fingerprint;    /* vocab_fingerprint() */
};

int vocab_load(struct vocab *v, const struct gguf *g, struct cerr *e);
void vocab_free(struct vocab *v);

/* What the streams (stream.h) carry of a vocabulary: the weight cache keeps
 * it in a segment (cache.h), so that chord-fwd, attached, writes its
 * logits header without loading the vocabulary. */
struct vocab_facts {
	uint64_t fingerprint;    /* vocab.fingerprint */
	uint32_t n;              /* vocab.n */
	int32_t bos, eos, eot;   /* vocab.bos, .eos, .eot */
	uint32_t n_eog;          /* vocab.n_eog */
	int32_t eog[VOCAB_MAX_EOG]; /* vocab.eog; unused slots -1 */
	uint32_t pad;            /* 0: the size a multiple of 8 */
};

void vocab_facts_of(const struct vocab *v, struct vocab_facts *f);
/* Could f have come from vocab_facts_of (ids in range, n_eog bounded)? */
int vocab_facts_sane(const struct vocab_facts *f);

/* XXH64 (seed 0) over every piece in id order, each as u32le length then its
 * bytes. Two models share token streams iff they share this value. */
uint64_t vocab_fingerprint(const struct vocab *v);

#endif
