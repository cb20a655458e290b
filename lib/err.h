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

#endif
