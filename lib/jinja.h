/* jinja.h: a subset of Jinja2, enough for the chat templates models carry
 * (tokenizer.chat_template), rendered as llama.cpp's --jinja does.
 *
 * What there is: text, {{ expr }}, {% if/elif/else/endif %},
 * {% for x[, y] in expr %}...{% else %}...{% endfor %} with loop.index0,
 * index, first, last, length, revindex, revindex0; {% set x = expr %} and
 * {% set ns.x = expr %} on a namespace(); comments; whitespace control (-)
 * and llama.cpp's defaults, lstrip_blocks and trim_blocks. Expressions:
 * strings, integers, true/false/none, lists, dicts, names, a.b, a[i],
 * a[i:j], calls, filters (trim, upper, lower, title, capitalize, length,
 * first, last, string, default, join, tojson, items, list, reverse), tests
 * (is [not] defined, none, string, number, mapping, iterable, sequence,
 * boolean, true, false), methods (strip, lstrip, rstrip, upper, lower,
 * title, startswith, endswith, split, replace, items, keys, values, get),
 * not/and/or, comparisons, in, + - * // % ~, x if c else y; the globals
 * messages, add_generation_prompt, bos_token, eos_token, raise_exception(),
 * namespace() and range(). Anything else is an error, never a guess. */
#ifndef CHORD_JINJA_H
#define CHORD_JINJA_H

#include "chat.h"

/* Render template text tmpl (tlen bytes) over the n messages. *out is
 * malloc'd and NUL-terminated, *outlen its length. */
int jinja_render(const char *tmpl, size_t tlen, const struct chat_turn *m,
	size_t n, int add_prompt, const char *bos, const char *eos, char **out,
	size_t *outlen, struct cerr *e);

#endif
