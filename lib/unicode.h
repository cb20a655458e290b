/* unicode.h: UTF-8 and the codepoint categories of the pre-tokenizers. */
#ifndef CHORD_UNICODE_H
#define CHORD_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum {
	UCAT_NUMBER = 1, UCAT_LETTER = 2, UCAT_SEPARATOR = 4, UCAT_MARK = 8,
	UCAT_PUNCT = 16, UCAT_SYMBOL = 32, UCAT_CONTROL = 64,
	UCAT_WHITESPACE = 128,
};

struct ucat_range {
	uint32_t first;
	uint8_t flags;
};

extern const struct ucat_range ucat_ranges[];
extern const unsigned ucat_n_ranges;

/* Flags of codepoint cp (0 for unassigned or out of range). */
unsigned ucat(uint32_t cp);

/* Codepoint maps of BERT's normalizer, both in codepoint order: the simple
 * lowercase (UnicodeData.txt), and the first codepoint of the canonical
 * decomposition over a run first..last (llama.cpp's one-codepoint NFD). */
struct ucp_map {
	uint32_t cp, to;
};

struct ucp_range {
	uint32_t first, last, to;
};

extern const struct ucp_map ucp_lower[];
extern const unsigned ucp_lower_n;
extern const struct ucp_range ucp_nfd[];
extern const unsigned ucp_nfd_n;

/* cp lowercased, or cp if it has no lowercase. */
uint32_t ucp_tolower(uint32_t cp);
/* The first codepoint of cp's NFD, or cp if it does not decompose. */
uint32_t ucp_nfd_first(uint32_t cp);

/* Decode one UTF-8 character of s (n bytes left) into *cp and return its
 * length; an invalid byte decodes as U+FFFD with length 1. */
int utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Length of a valid UTF-8 character at s, or 0 if none starts there. */
int utf8_valid(const char *s, size_t n);
/* Encode cp into out (4 bytes room); returns the length. */
int utf8_encode(uint32_t cp, char *out);

#endif
