/* chat.h: chat templates (share/templates/NAME): wrap a message in a model's
 * chat format, ready for the assistant's answer.
 *
 * A template file has one "key value" line per part; in a value, \n is a
 * newline and {content} the message:
 *     system     <|im_start|>system\n{content}<|im_end|>\n
 *     user       <|im_start|>user\n{content}<|im_end|>\n
 *     assistant  <|im_start|>assistant\n
 * The template's own text may hold control tokens; the message never does.
 * A template file is at most CHAT_MAX_BYTES, with no NUL byte. */
#ifndef CHORD_CHAT_H
#define CHORD_CHAT_H

#include "tok.h"

#define CHAT_MAX_BYTES (1 << 20)

struct chat_msg {
	const char *system;     /* NULL: none */
	const char *user;
	size_t user_len;
};

/* Which of our templates the model's own (Jinja, tokenizer.chat_template)
 * is, by its markers; NULL if none. */
const char *chat_recognise(const struct gguf_str *t);

/* NAME is a template name (chatml, llama2, llama3, alpaca, gemma, zephyr,
 * phi3) or a path with a '/'. Appends the ids of the wrapped message to out. */
int chat_encode(struct tok *t, const char *name, const struct chat_msg *m,
	int add_special, struct ids *out, struct cerr *e);

/* Where templates are: $CHORD_TEMPLATES, else share/templates beside the
 * tool's bin/, else share/chord/templates beside it (installed). */
const char *chat_template_dir(void);

#endif
