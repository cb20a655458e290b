/* pretok.h: the BPE pre-tokenizers, by tokenizer.ggml.pre, as llama.cpp
 * (0.3.36, llama-vocab.cpp and unicode.cpp) splits text into words. */
#ifndef CHORD_PRETOK_H
#define CHORD_PRETOK_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ids.h"

enum {
	PRETOK_IGNORE_MERGES = 1,       /* a word that is a piece is that piece */
	PRETOK_RAW = 2,                 /* BPE on raw UTF-8, no byte mapping */
};

/* The split rules a name stands for, compiled. */
struct pretok;

/* NULL and "pre-tokenizer 'NAME' not supported" for a name llama.cpp does
 * not know either. */
struct pretok *pretok_open(const char *name, size_t len, struct cerr *e);
void pretok_close(struct pretok *p);
int pretok_flags(const struct pretok *p);

/* Split the n codepoints cp into words: out gets the length of each, in
 * codepoints, in order; they add up to n. */
int pretok_split(const struct pretok *p, const uint32_t *cp, size_t n,
	struct ids *out, struct cerr *e);

#endif
