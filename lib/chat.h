/* chat.h: llama.cpp's built-in chat templates (llama-chat.cpp,
 * llm_chat_apply_template): a conversation rendered to one text, then
 * tokenized once, as llama.cpp's tools do.
 *
 * Templates without logic are files, share/templates/NAME: one "key value"
 * line a part, key and value split by one space or tab; in a value \n, \t,
 * \s (a space, for one at either end) and \\ are escapes and {content} is
 * the message:
 *     begin      text once, before the first message       (optional)
 *     system     <|im_start|>system\n{content}<|im_end|>\n  (no line: the
 *     user       <|im_start|>user\n{content}<|im_end|>\n     role's messages
 *     assistant  <|im_start|>assistant\n{content}<|im_end|>\n  are dropped)
 *     prompt     <|im_start|>assistant\n  (after the last message; optional)
 *     trim       system user assistant  (messages whose content loses the
 *                white space at both ends first, llama.cpp's trim())
 * Templates that need logic (llama2's open turns, gemma's system prompt
 * folded into the first user turn, ...) are code in chat.c under the same
 * names. A model's own Jinja template runs through jinja.c instead
 * (chat_render_jinja, llama.cpp's --jinja). */
#ifndef CHORD_CHAT_H
#define CHORD_CHAT_H

#include "tok.h"

/* The largest template file read: a bigger one (or /dev/zero) is an error. */
#define CHAT_MAX_BYTES (1 << 20)

/* One message: role is "system", "user" or "assistant". */
struct chat_turn {
	const char *role;
	const char *content;
	size_t len;
};

/* A system prompt (or none) and one user message. */
struct chat_msg {
	const char *system;     /* NULL: none */
	const char *user;
	size_t user_len;
};

/* The built-in template llama.cpp's llm_chat_detect_template picks for a
 * model's own (Jinja, tokenizer.chat_template): the same tests in the same
 * order. NULL if none. */
const char *chat_recognise(const struct gguf_str *t);

/* Render n turns in template NAME (a built-in or file name, or a path with
 * a '/'), with the assistant's prefix after them if add_prompt. *text is
 * malloc'd and NUL-terminated; *len its length. */
int chat_render(const char *name, const struct chat_turn *m, size_t n,
	int add_prompt, char **text, size_t *len, struct cerr *e);

/* Render (add_prompt on) and append the ids to out, tokenized as llama.cpp's
 * tools do: common_tokenize(ctx, text, add_special, parse_special = true)
 * over the whole text. Control tokens written in a message's content are
 * therefore parsed too, as in llama.cpp (see chat.c). */
int chat_encode_turns(struct tok *t, const char *name,
	const struct chat_turn *m, size_t n, int add_special, struct ids *out,
	struct cerr *e);

/* The same for a system prompt and one user message. */
int chat_encode(struct tok *t, const char *name, const struct chat_msg *m,
	int add_special, struct ids *out, struct cerr *e);

/* --chat jinja: the model's own template (tokenizer.chat_template) run by
 * jinja.c, with bos_token and eos_token the vocab's; as llama.cpp's --jinja,
 * a leading BOS text goes when the vocab adds BOS itself, a trailing EOS
 * text when it adds EOS. */
int chat_render_jinja(const struct gguf_str *tmpl, const struct tok *t,
	const struct chat_turn *m, size_t n, int add_prompt, char **text,
	size_t *len, struct cerr *e);

/* Parse one JSON Lines record {"role": R, "content": C} (other keys are
 * ignored; R one of system, user, assistant). m's strings are malloc'd;
 * free them with chat_turn_free. */
int chat_parse_json(const char *line, size_t len, struct chat_turn *m,
	struct cerr *e);
void chat_turn_free(struct chat_turn *m);

/* Where templates are: $CHORD_TEMPLATES, else share/templates beside the
 * tool's bin/, else share/chord/templates beside it (installed). */
const char *chat_template_dir(void);

#endif
