/* err.h: the one error carrier of lib/.
 *
 * lib/ never prints and never exits. A function that can fail takes a
 * `struct cerr *` last, fills it with a message that reads well after the
 * tool's name ("model.gguf: tensor 12: data past end of file (at byte 880)")
 * and returns -1 (or NULL). The tool prints it with die_err(). */
#ifndef CHORD_ERR_H
#define CHORD_ERR_H

#include <stddef.h>

struct cerr {
	char msg[1024];
};

/* Set e's message, printf-style; always returns -1. e may be NULL. */
int cerr_set(struct cerr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix e's message with "prefix: " (a file name, a tensor...). Returns -1. */
int cerr_prefix(struct cerr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Text from a file made safe for a terminal, vis(3)-style: \n, \t and \\
 * escaped as such; other control bytes, DEL, the C1 controls (U+0080..U+009F)
 * and every byte that is not part of valid UTF-8 as \xNN; the rest as is.
 * Writes a NUL-terminated string of at most cap bytes (cap >= 1), cut before
 * an escape or character that does not fit, and returns how many bytes of s
 * it used. Every message and every line of text output that shows a string
 * from a file goes through it, so a file cannot drive the terminal. */
size_t cvis(char *dst, size_t cap, const char *s, size_t n);

#endif
