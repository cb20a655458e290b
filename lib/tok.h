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
#include "ids.h"
#include "vocab.h"

/* An open tokenizer: callers may read v; the rest is tok.c's own. */
struct tok {
	const struct vocab *v;  /* the vocab given to tok_open */
};

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

#endif
