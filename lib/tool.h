/* tool.h: what every tool in bin/ shares: its name, the error vocabulary of
 * the classic tools, bounded number parsing, the model search order and the
 * end-of-run check of stdout.
 *
 * This is the only part of lib/ that prints or exits, and only tools call it. */
#ifndef CHORD_TOOL_H
#define CHORD_TOOL_H

#include <stdio.h>

#include "err.h"

extern const char *progname;

/* Set progname from argv[0] and ignore nothing: SIGPIPE stays default so a
 * closed pipe ends the tool quietly, as with cat. */
void tool_init(const char *argv0);

/* "prog: msg" on stderr and exit(1). A message ending in ':' gets
 * " strerror(errno)" appended. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* die with a lib/ error. */
void die_err(const struct cerr *e) __attribute__((noreturn));

/* Bad usage: "prog: msg" then the usage line on stderr, exit 2. */
void usage_die(const char *usage_line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* strtonum semantics: the whole string is a decimal integer in [min, max].
 * Returns 0, or -1 with *errstr "invalid", "too small" or "too large". */
int num_ll(const char *s, long long min, long long max, long long *out,
	const char **errstr);
int num_double(const char *s, double min, double max, double *out,
	const char **errstr);
/* Parse an option's argument or usage_die() naming the option. */
long long opt_ll(const char *usage_line, const char *opt, const char *s,
	long long min, long long max);
double opt_double(const char *usage_line, const char *opt, const char *s,
	double min, double max);

/* A sampler option as chord-sample takes it (--temp, --top-k, --top-p,
 * --min-p, --typical, --repeat-penalty, --repeat-last-n,
 * --frequency-penalty, --presence-penalty, --mirostat, --mirostat-ent,
 * --mirostat-lr, --logit-bias ID+V|ID-V, --seed|-s) with its bounds, into
 * so. Returns 1 if a was one, 0 if not; bad values usage_die(). */
struct sampler_opts;
int sampler_opt(const char *usage_line, struct sampler_opts *so,
	const char *a, const char *v);

/* The model a tool uses: -m FILE, else $CHORD_MODEL, else the default model
 * that `contrib/fetch-models` put in place (default_model_path()).
 * Never NULL; the file may not exist (opening it says so). */
const char *model_resolve(const char *opt_m);
/* $CHORD_DATA, else $XDG_DATA_HOME/chord, else $HOME/.local/share/chord. */
const char *chord_data_dir(void);
const char *default_model_path(void);

/* Write n bytes of s to f for a person to read: \n, \t and \\ escaped,
 * other control bytes as \xNN, so data cannot drive the terminal. */
void put_escaped(FILE *f, const char *s, size_t n);

/* Flush and close stdout; a failed write (full disk, closed pipe) is an error:
 * exit 1, with a message unless it was EPIPE (the reader left on purpose). */
void stdout_close(void);

#endif
