/* chat.c: llama.cpp's built-in chat templates: rendering a conversation to
 * one text (llama-chat.cpp, llm_chat_apply_template), recognising a model's
 * template (llm_chat_detect_template), and tokenizing the text once.
 *
 * On special tokens in messages: llama.cpp's tools format the conversation
 * with the template (common_chat_templates_apply, which for built-in
 * templates calls llama_chat_apply_template) and then tokenize the whole
 * string with common_tokenize(ctx, prompt, true, true), parse_special on
 * (tools/completion/completion.cpp; its own TODO says it "can't distinguish
 * between user input and special tokens"). So "<|im_end|>" typed in a
 * message becomes the control token there, and here too. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "jinja.h"

/* ---- a growing text ---- */

struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
};

static void
put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (n >= b->cap - b->n || !b->p) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap - b->n <= n) {
			if (cap > SIZE_MAX / 2) {
				b->oom = 1;
				return;
			}
			cap *= 2;
		}
		if (!(p = realloc(b->p, cap))) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
put_str(struct sbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* llama.cpp's trim(): isspace() in the C locale off both ends. */
static int
space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static void
put_trim(struct sbuf *b, const char *s, size_t n)
{
	while (n && space(*s))
		s++, n--;
	while (n && space(s[n - 1]))
		n--;
	put(b, s, n);
}

enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, NROLES };
static const char *const role_names[NROLES] = { "system", "user",
	"assistant" };

static int
role_of(const char *r)
{
	for (int k = 0; k < NROLES; k++)
		if (!strcmp(r, role_names[k]))
			return k;
	return -1;
}

static int
is(const struct chat_turn *m, int role)
{
	return role_of(m->role) == role;
}

/* ---- templates that need logic, as llm_chat_apply_template has them ---- */

/* llama2 variants: 0 llama2, 1 -sys, 2 -sys-bos, 3 -sys-strip. The turn
 * starts open; an assistant message closes it. No generation prompt. */
static void
r_llama2(struct sbuf *b, const struct chat_turn *m, size_t n, int add,
	int variant)
{
	int inside = 1;

	(void)add;
	put_str(b, "[INST] ");
	for (size_t i = 0; i < n; i++) {
		struct sbuf c = { 0 };

		if (variant == 3)
			put_trim(&c, m[i].content, m[i].len);
		else
			put(&c, m[i].content, m[i].len);
		if (!inside) {
			inside = 1;
			put_str(b, variant == 2 ? "<s>[INST] " : "[INST] ");
		}
		if (is(&m[i], ROLE_SYSTEM) && variant > 0) {
			put_str(b, "<<SYS>>\n");
			put(b, c.p, c.n);
			put_str(b, "\n<</SYS>>\n\n");
		} else if (is(&m[i], ROLE_SYSTEM)) {
			put(b, c.p, c.n);
			put_str(b, "\n");
		} else if (is(&m[i], ROLE_USER)) {
			put(b, c.p, c.n);
			put_str(b, " [/INST]");
		} else {
			put(b, c.p, c.n);
			put_str(b, "</s>");
			inside = 0;
		}
		b->oom |= c.oom;
		free(c.p);
	}
}

/* mistral variants: 1 v1, 3 v3, 4 v3-tekken. No generation prompt. */
static void
r_mistral(struct sbuf *b, const struct chat_turn *m, size_t n, int add,
	int variant)
{
	const char *lead = variant == 1 ? " " : "";
	const char *trail = variant == 4 ? "" : " ";
	int inside = 0;

	(void)add;
	for (size_t i = 0; i < n; i++) {
		if (!inside) {
			put_str(b, lead);
			put_str(b, "[INST]");
			put_str(b, trail);
			inside = 1;
		}
		if (is(&m[i], ROLE_SYSTEM)) {
			put(b, m[i].content, m[i].len);
			put_str(b, "\n\n");
		} else if (is(&m[i], ROLE_USER)) {
			put(b, m[i].content, m[i].len);
			put_str(b, lead);
			put_str(b, "[/INST]");
		} else {
			put_str(b, trail);
			if (variant == 3)
				put_trim(b, m[i].content, m[i].len);
			else
				put(b, m[i].content, m[i].len);
			put_str(b, "</s>");
			inside = 0;
		}
	}
}

/* mlabonne/AlphaMonarch-7B: <s> before every message but the first. */
static void
r_monarch(struct sbuf *b, const struct chat_turn *m, size_t n, int add,
	int variant)
{
	(void)variant;
	for (size_t i = 0; i < n; i++) {
		put_str(b, i ? "<s>" : "");
		put_str(b, m[i].role);
		put_str(b, "\n");
		put(b, m[i].content, m[i].len);
		put_str(b, "</s>\n");
	}
	if (add)
		put_str(b, "<s>assistant\n");
}

/* gemma has no system turn: the system text, trimmed, heads the next user
 * turn; "assistant" is "model". */
static void
r_gemma(struct sbuf *b, const struct chat_turn *m, size_t n, int add,
	int variant)
{
	struct sbuf sys = { 0 };

	(void)variant;
	for (size_t i = 0; i < n; i++) {
		int model = is(&m[i], ROLE_ASSISTANT);

		if (is(&m[i], ROLE_SYSTEM)) {
			put_trim(&sys, m[i].content, m[i].len);
			continue;
		}
		put_str(b, "<start_of_turn>");
		put_str(b, model ? "model" : m[i].role);
		put_str(b, "\n");
		if (sys.n && !model) {
			put(b, sys.p, sys.n);
			put_str(b, "\n\n");
			sys.n = 0;
		}
		put_trim(b, m[i].content, m[i].len);
		put_str(b, "<end_of_turn>\n");
	}
	if (add)
		put_str(b, "<start_of_turn>model\n");
	b->oom |= sys.oom;
	free(sys.p);
}

/* OrionStarAI/Orion-14B-Chat: the system text heads the next user turn. */
static void
r_orion(struct sbuf *b, const struct chat_turn *m, size_t n, int add,
	int variant)
{
	struct sbuf sys = { 0 };

	(void)add, (void)variant;
	for (size_t i = 0; i < n; i++) {
		if (is(&m[i], ROLE_SYSTEM)) {
			put(&sys, m[i].content, m[i].len);
		} else if (is(&m[i], ROLE_USER)) {
			put_str(b, "Human: ");
			if (sys.n) {
				put(b, sys.p, sys.n);
				put_str(b, "\n\n");
				sys.n = 0;
			}
			put(b, m[i].content, m[i].len);
			put_str(b, "\n\nAssistant: </s>");
		} else {
			put(b, m[i].content, m[i].len);
			put_str(b, "</s>");
		}
	}
	b->oom |= sys.oom;
	free(sys.p);
}

/* rwkv-world: "Assistant:" follows a user message that ends the chat. */
static void
r_rwkv(struct sbuf *b, const struct chat_turn *m, size_t n, int add,
	int variant)
{
	static const char *const pre[NROLES] = { "System: ", "User: ",
		"Assistant: " };

	(void)add, (void)variant;
	for (size_t i = 0; i < n; i++) {
		put_str(b, pre[role_of(m[i].role)]);
		put_trim(b, m[i].content, m[i].len);
		put_str(b, "\n\n");
		if (is(&m[i], ROLE_USER) && i == n - 1)
			put_str(b, "Assistant:");
	}
}

/* GigaChat: only a first system message counts. */
static void
r_gigachat(struct sbuf *b, const struct chat_turn *m, size_t n, int add,
	int variant)
{
	size_t i = 0;

	(void)variant;
	put_str(b, "<s>");
	if (n && is(&m[0], ROLE_SYSTEM)) {
		put(b, m[0].content, m[0].len);
		put_str(b, "<|message_sep|>");
		i = 1;
	}
	for (; i < n; i++) {
		if (is(&m[i], ROLE_USER)) {
			put_str(b, "user<|role_sep|>");
			put(b, m[i].content, m[i].len);
			put_str(b, "<|message_sep|>available functions<|role_sep|>"
			    "[]<|message_sep|>");
		} else if (is(&m[i], ROLE_ASSISTANT)) {
			put_str(b, "assistant<|role_sep|>");
			put(b, m[i].content, m[i].len);
			put_str(b, "<|message_sep|>");
		}
	}
	if (add)
		put_str(b, "assistant<|role_sep|>");
}

/* Ling 2.0: a default system turn when the chat does not start with one. */
static void
r_bailing2(struct sbuf *b, const struct chat_turn *m, size_t n, int add,
	int variant)
{
	static const char *const name[NROLES] = { "SYSTEM", "HUMAN",
		"ASSISTANT" };

	(void)variant;
	if (!n || !is(&m[0], ROLE_SYSTEM))
		put_str(b, "<role>SYSTEM</role>detailed thinking off<|role_end|>");
	for (size_t i = 0; i < n; i++) {
		put_str(b, "<role>");
		put_str(b, name[role_of(m[i].role)]);
		put_str(b, "</role>");
		put(b, m[i].content, m[i].len);
		put_str(b, "<|role_end|>");
	}
	if (add)
		put_str(b, "<role>ASSISTANT</role>");
}

/* Hunyuan dense (0) and VL (1): only a first system message counts. No
 * generation prompt. */
static void
r_hunyuan(struct sbuf *b, const struct chat_turn *m, size_t n, int add,
	int vl)
{
	(void)add;
	if (vl)
		put_str(b, "<｜hy_begin▁of▁sentence｜>");
	for (size_t i = 0; i < n; i++) {
		if (i == 0 && is(&m[i], ROLE_SYSTEM)) {
			put(b, m[i].content, m[i].len);
			put_str(b, "<｜hy_place▁holder▁no▁3｜>");
			if (vl)
				continue;
		}
		if (is(&m[i], ROLE_ASSISTANT) && vl) {
			put(b, m[i].content, m[i].len);
			put_str(b, "<｜hy_Assistant｜>");
		} else if (is(&m[i], ROLE_USER) && vl) {
			put(b, m[i].content, m[i].len);
			put_str(b, "<｜hy_User｜>");
		} else if (is(&m[i], ROLE_ASSISTANT)) {
			put_str(b, "<｜hy_Assistant｜>");
			put(b, m[i].content, m[i].len);
			put_str(b, "<｜hy_place▁holder▁no▁2｜>");
		} else if (is(&m[i], ROLE_USER)) {
			put_str(b, "<｜hy_User｜>");
			put(b, m[i].content, m[i].len);
			put_str(b, "<｜hy_Assistant｜>");
		}
	}
}

/* openPangu-Embedded: an empty system turn when the chat has none first. */
static void
r_pangu(struct sbuf *b, const struct chat_turn *m, size_t n, int add,
	int variant)
{
	static const char *const pre[NROLES] = { "[unused9]系统：",
		"[unused9]用户：", "[unused9]助手：" };

	(void)variant;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 && !is(&m[i], ROLE_SYSTEM))
			put_str(b, "[unused9]系统：[unused10]");
		put_str(b, pre[role_of(m[i].role)]);
		put(b, m[i].content, m[i].len);
		put_str(b, "[unused10]");
	}
	if (add)
		put_str(b, "[unused9]助手：");
}

typedef void render_fn(struct sbuf *, const struct chat_turn *, size_t, int,
	int);

static const struct {
	const char *name;
	render_fn *fn;
	int variant;
} coded[] = {
	{ "llama2", r_llama2, 0 },
	{ "llama2-sys", r_llama2, 1 },
	{ "llama2-sys-bos", r_llama2, 2 },
	{ "llama2-sys-strip", r_llama2, 3 },
	{ "mistral-v1", r_mistral, 1 },
	{ "mistral-v3", r_mistral, 3 },
	{ "mistral-v3-tekken", r_mistral, 4 },
	{ "monarch", r_monarch, 0 },
	{ "gemma", r_gemma, 0 },
	{ "orion", r_orion, 0 },
	{ "rwkv-world", r_rwkv, 0 },
	{ "gigachat", r_gigachat, 0 },
	{ "bailing2", r_bailing2, 0 },
	{ "hunyuan-dense", r_hunyuan, 0 },
	{ "hunyuan-vl", r_hunyuan, 1 },
	{ "pangu-embedded", r_pangu, 0 },
};

/* ---- templates as files ---- */

enum { PART_BEGIN, PART_SYSTEM, PART_USER, PART_ASSISTANT, PART_PROMPT,
	PART_TRIM, NPARTS };
static const char *const part_names[NPARTS] = { "begin", "system", "user",
	"assistant", "prompt", "trim" };

const char *
chat_template_dir(void)
{
	static char dir[PATH_MAX + 64];
	const char *d = getenv("CHORD_TEMPLATES");
	char exe[PATH_MAX], try[PATH_MAX + 64];
	ssize_t n;
	char *slash;

	if (d && *d)
		return d;
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) <= 0)
		return "share/templates";
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';
	snprintf(try, sizeof try, "%s/../share/templates", exe);
	if (access(try, R_OK) != 0)
		snprintf(try, sizeof try, "%s/../share/chord/templates", exe);
	snprintf(dir, sizeof dir, "%s", try);
	return dir;
}

/* Unescape \n, \t, \s, \\ in place. */
static void
unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1] == 'n')
			*o++ = '\n', s++;
		else if (*s == '\\' && s[1] == 't')
			*o++ = '\t', s++;
		else if (*s == '\\' && s[1] == 's')
			*o++ = ' ', s++;
		else if (*s == '\\' && s[1] == '\\')
			*o++ = '\\', s++;
		else
			*o++ = *s;
	}
	*o = '\0';
}

/* The whole template file, NUL-terminated, at most CHAT_MAX_BYTES: a
 * device or FIFO without end (/dev/zero) is an error, not a hang. */
static char *
slurp(const char *path, struct cerr *e)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		cerr_set(e, "%s: no such chat template", path);
		return NULL;
	}
	if (!(buf = malloc(CHAT_MAX_BYTES + 2))) {
		fclose(f);
		cerr_set(e, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, CHAT_MAX_BYTES + 1, f);
	if (ferror(f))
		cerr_set(e, "%s: %s", path, strerror(errno ? errno : EIO));
	else if (n > CHAT_MAX_BYTES)
		cerr_set(e, "%s: template too large (over %d bytes)", path,
		    CHAT_MAX_BYTES);
	else if (memchr(buf, '\0', n))
		cerr_set(e, "%s: NUL byte in template", path);
	else {
		fclose(f);
		buf[n] = '\0';
		return buf;
	}
	fclose(f);
	free(buf);
	return NULL;
}

static int
load(const char *path, char *parts[NPARTS], struct cerr *e)
{
	char *text = slurp(path, e), *line, *next;
	int lineno = 0, r = -1;

	if (!text)
		return -1;
	for (line = text; *line; line = next) {
		char *key = line, *val;
		int k;

		lineno++;
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		val = key + strcspn(key, " \t");
		if (*val)
			*val++ = '\0';
		for (k = 0; k < NPARTS && strcmp(key, part_names[k]); k++)
			;
		if (k == NPARTS) {
			cerr_set(e, "%s: line %d: unknown part '%s'", path,
			    lineno, key);
			goto done;
		}
		free(parts[k]);
		if (!(parts[k] = strdup(val))) {
			cerr_set(e, "out of memory");
			goto done;
		}
		unescape(parts[k]);
		if (k >= PART_SYSTEM && k <= PART_ASSISTANT &&
		    !strstr(parts[k], "{content}")) {
			cerr_set(e, "%s: line %d: %s has no {content}", path,
			    lineno, key);
			goto done;
		}
	}
	if (!parts[PART_USER])
		cerr_set(e, "%s: needs a 'user' part", path);
	else
		r = 0;
done:
	free(text);
	return r;
}

/* Is role named in the trim part's word list? */
static int
trims(const char *list, const char *role)
{
	size_t n = strlen(role);

	for (const char *w = list; w && *w; w += strcspn(w, " \t")) {
		w += strspn(w, " \t");
		if (strncmp(w, role, n) == 0 && (w[n] == '\0' ||
		    w[n] == ' ' || w[n] == '\t'))
			return 1;
	}
	return 0;
}

static void
r_file(struct sbuf *b, char *parts[NPARTS], const struct chat_turn *m,
	size_t n, int add)
{
	if (parts[PART_BEGIN])
		put_str(b, parts[PART_BEGIN]);
	for (size_t i = 0; i < n; i++) {
		const char *t = parts[PART_SYSTEM + role_of(m[i].role)];
		const char *at;

		if (!t)
			continue;
		at = strstr(t, "{content}");
		put(b, t, (size_t)(at - t));
		if (trims(parts[PART_TRIM], m[i].role))
			put_trim(b, m[i].content, m[i].len);
		else
			put(b, m[i].content, m[i].len);
		put_str(b, at + strlen("{content}"));
	}
	if (add && parts[PART_PROMPT])
		put_str(b, parts[PART_PROMPT]);
}

int
chat_render(const char *name, const struct chat_turn *m, size_t n,
	int add_prompt, char **text, size_t *len, struct cerr *e)
{
	struct sbuf b = { 0 };
	char *parts[NPARTS] = { 0 }, path[PATH_MAX + 300];
	size_t k;

	for (size_t i = 0; i < n; i++)
		if (role_of(m[i].role) < 0)
			return cerr_set(e, "message %zu: unknown role '%s'",
			    i + 1, m[i].role);
	for (k = 0; k < sizeof coded / sizeof *coded; k++)
		if (!strcmp(name, coded[k].name))
			break;
	put(&b, "", 0);
	if (k < sizeof coded / sizeof *coded) {
		coded[k].fn(&b, m, n, add_prompt, coded[k].variant);
	} else {
		if (strchr(name, '/'))
			snprintf(path, sizeof path, "%s", name);
		else
			snprintf(path, sizeof path, "%s/%s",
			    chat_template_dir(), name);
		if (load(path, parts, e) < 0) {
			for (int j = 0; j < NPARTS; j++)
				free(parts[j]);
			free(b.p);
			return -1;
		}
		r_file(&b, parts, m, n, add_prompt);
		for (int j = 0; j < NPARTS; j++)
			free(parts[j]);
	}
	if (b.oom) {
		free(b.p);
		return cerr_set(e, "out of memory");
	}
	*text = b.p;
	*len = b.n;
	return 0;
}

int
chat_encode_turns(struct tok *t, const char *name,
	const struct chat_turn *m, size_t n, int add_special, struct ids *out,
	struct cerr *e)
{
	char *text;
	size_t len;
	int r;

	if (chat_render(name, m, n, 1, &text, &len, e) < 0)
		return -1;
	r = tok_encode(t, text, len, add_special, 1, out, e);
	free(text);
	return r;
}

int
chat_encode(struct tok *t, const char *name, const struct chat_msg *m,
	int add_special, struct ids *out, struct cerr *e)
{
	struct chat_turn turn[2];
	size_t n = 0;

	if (m->system)
		turn[n++] = (struct chat_turn){ "system", m->system,
		    strlen(m->system) };
	turn[n++] = (struct chat_turn){ "user", m->user, m->user_len };
	return chat_encode_turns(t, name, turn, n, add_special, out, e);
}

int
chat_render_jinja(const struct gguf_str *tmpl, const struct tok *t,
	const struct chat_turn *m, size_t n, int add_prompt, char **text,
	size_t *len, struct cerr *e)
{
	const struct vocab *v = t->v;
	char bos[256] = "", eos[256] = "";
	int kb = v->bos >= 0 ? tok_piece(t, v->bos, 1, bos, sizeof bos - 1) : 0;
	int ke = v->eos >= 0 ? tok_piece(t, v->eos, 1, eos, sizeof eos - 1) : 0;
	size_t nb, ne;

	bos[kb > 0 ? kb : 0] = '\0';
	eos[ke > 0 ? ke : 0] = '\0';
	if (jinja_render(tmpl->p, (size_t)tmpl->len, m, n, add_prompt, bos, eos,
	    text, len, e) < 0)
		return -1;
	nb = strlen(bos), ne = strlen(eos);
	if (v->add_bos && nb && nb <= *len && !memcmp(*text, bos, nb)) {
		memmove(*text, *text + nb, *len - nb + 1);
		*len -= nb;
	}
	if (v->add_eos && ne && ne <= *len &&
	    !memcmp(*text + *len - ne, eos, ne)) {
		*len -= ne;
		(*text)[*len] = '\0';
	}
	return 0;
}

/* ---- recognising a model's template ---- */

/* llama.cpp's names (LLM_CHAT_TEMPLATES): a template text that is one of
 * them is taken as that name. */
static const char *const names[] = {
	"chatml", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip",
	"mistral-v1", "mistral-v3", "mistral-v3-tekken", "mistral-v7",
	"mistral-v7-tekken", "phi3", "phi4", "falcon3", "zephyr", "monarch",
	"gemma", "orion", "openchat", "vicuna", "vicuna-orca", "deepseek",
	"deepseek2", "deepseek3", "deepseek-ocr", "command-r", "llama3",
	"chatglm3", "chatglm4", "glmedge", "minicpm", "exaone3", "exaone4",
	"exaone-moe", "rwkv-world", "granite", "granite-4.0", "granite-4.1",
	"gigachat", "megrez", "yandex", "bailing", "bailing-think", "bailing2",
	"llama4", "smolvlm", "hunyuan-moe", "gpt-oss", "hunyuan-dense",
	"hunyuan-vl", "kimi-k2", "seed_oss", "grok-2", "pangu-embedded",
	"solar-open",
};

static int
has(const struct gguf_str *t, const char *s)
{
	size_t m = strlen(s);

	for (uint64_t k = 0; m <= t->len && k <= t->len - m; k++)
		if (memcmp(t->p + k, s, m) == 0)
			return 1;
	return 0;
}

/* llm_chat_detect_template, test for test. "dots1" has no name in
 * llama.cpp's table but is detected and rendered there all the same. */
const char *
chat_recognise(const struct gguf_str *t)
{
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (t->len == strlen(names[i]) &&
		    memcmp(t->p, names[i], t->len) == 0)
			return names[i];
	if (has(t, "<|im_start|>"))
		return has(t, "<|im_sep|>") ? "phi4" :
		    has(t, "<end_of_utterance>") ? "smolvlm" : "chatml";
	if ((t->len >= 7 && memcmp(t->p, "mistral", 7) == 0) ||
	    has(t, "[INST]")) {
		if (has(t, "[SYSTEM_PROMPT]"))
			return "mistral-v7";
		if (has(t, "' [INST] ' + system_message") ||
		    has(t, "[AVAILABLE_TOOLS]")) {
			if (has(t, " [INST]"))
				return "mistral-v1";
			if (has(t, "\"[INST]\""))
				return "mistral-v3-tekken";
			return "mistral-v3";
		}
		if (has(t, "content.strip()"))
			return "llama2-sys-strip";
		if (has(t, "bos_token + '[INST]"))
			return "llama2-sys-bos";
		return has(t, "<<SYS>>") ? "llama2-sys" : "llama2";
	}
	if (has(t, "<|assistant|>") && has(t, "<|end|>"))
		return "phi3";
	if (has(t, "[gMASK]<sop>"))
		return "chatglm4";
	if (has(t, "<|assistant|>") && has(t, "<|user|>")) {
		if (has(t, "<|tool_declare|>"))
			return "exaone-moe";
		return has(t, "</s>") ? "falcon3" : "glmedge";
	}
	if (has(t, "<|{{ item['role'] }}|>") && has(t, "<|begin_of_image|>"))
		return "glmedge";
	if (has(t, "<|user|>") && has(t, "<|endoftext|>"))
		return "zephyr";
	if (has(t, "bos_token + message['role']"))
		return "monarch";
	if (has(t, "<start_of_turn>"))
		return "gemma";
	if (has(t, "'\\n\\nAssistant: ' + eos_token"))
		return "orion";
	if (has(t, "GPT4 Correct "))
		return "openchat";
	if (has(t, "USER: ") && has(t, "ASSISTANT: "))
		return has(t, "SYSTEM: ") ? "vicuna-orca" : "vicuna";
	if (has(t, "### Instruction:") && has(t, "<|EOT|>"))
		return "deepseek";
	if (has(t, "<|START_OF_TURN_TOKEN|>") && has(t, "<|USER_TOKEN|>"))
		return "command-r";
	if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>"))
		return "llama3";
	if (has(t, "[gMASK]sop"))
		return "chatglm3";
	if (has(t, "<用户>"))
		return "minicpm";
	if (has(t, "'Assistant: ' + message['content'] + eos_token"))
		return "deepseek2";
	if (has(t, "<｜Assistant｜>") && has(t, "<｜User｜>") &&
	    has(t, "<｜end▁of▁sentence｜>"))
		return "deepseek3";
	if (has(t, "[|system|]") && has(t, "[|assistant|]") &&
	    has(t, "[|endofturn|]"))
		return has(t, "[|tool|]") ? "exaone4" : "exaone3";
	if (has(t, "rwkv-world") ||
	    has(t, "{{- 'User: ' + message['content']|trim + '\\n\\n' -}}"))
		return "rwkv-world";
	if (has(t, "<|start_of_role|>")) {
		if (has(t, "<tool_call>") || has(t, "<tools>"))
			return has(t, "g4_default_system_message") ?
			    "granite-4.0" : "granite-4.1";
		return "granite";
	}
	if (has(t, "message['role'] + additional_special_tokens[0] + "
	    "message['content'] + additional_special_tokens[1]"))
		return "gigachat";
	if (has(t, "<|role_start|>"))
		return "megrez";
	if (has(t, " Ассистент:"))
		return "yandex";
	if (has(t, "<role>ASSISTANT</role>") && has(t, "'HUMAN'"))
		return "bailing";
	if (has(t, "<role>ASSISTANT</role>") && has(t, "\"HUMAN\"") &&
	    has(t, "<think>"))
		return "bailing-think";
	if (has(t, "<role>ASSISTANT</role>") && has(t, "<role>HUMAN</role>") &&
	    has(t, "<|role_end|>"))
		return "bailing2";
	if (has(t, "<|header_start|>") && has(t, "<|header_end|>"))
		return "llama4";
	if (has(t, "<|endofuserprompt|>"))
		return "dots1";
	if (has(t, "<|extra_0|>") && has(t, "<|extra_4|>"))
		return "hunyuan-moe";
	if (has(t, "<|start|>") && has(t, "<|channel|>"))
		return "gpt-oss";
	if (has(t, "<｜hy_Assistant｜>") &&
	    has(t, "<｜hy_begin▁of▁sentence｜>"))
		return "hunyuan-vl";
	if (has(t, "<｜hy_Assistant｜>") &&
	    has(t, "<｜hy_place▁holder▁no▁3｜>"))
		return "hunyuan-dense";
	if (has(t, "<|im_assistant|>assistant<|im_middle|>"))
		return "kimi-k2";
	if (has(t, "<seed:bos>"))
		return "seed_oss";
	if (has(t, "'Assistant: '  + message['content'] + '<|separator|>"))
		return "grok-2";
	if (has(t, "[unused9]系统：[unused10]"))
		return "pangu-embedded";
	if (has(t, "<|begin|>") && has(t, "<|end|>") && has(t, "<|content|>"))
		return "solar-open";
	return NULL;
}

/* ---- JSON Lines input ---- */

struct json {
	const char *s, *end;
};

static void
ws(struct json *j)
{
	while (j->s < j->end && (*j->s == ' ' || *j->s == '\t' ||
	    *j->s == '\r' || *j->s == '\n'))
		j->s++;
}

static int
hex4(struct json *j, unsigned *u)
{
	*u = 0;
	if (j->end - j->s < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		char c = *j->s++;

		*u <<= 4;
		if (c >= '0' && c <= '9')
			*u |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*u |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*u |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static void
put_utf8(struct sbuf *b, unsigned u)
{
	char c[4];
	size_t n;

	if (u < 0x80) {
		c[0] = (char)u, n = 1;
	} else if (u < 0x800) {
		c[0] = (char)(0xc0 | u >> 6), c[1] = (char)(0x80 | (u & 0x3f));
		n = 2;
	} else if (u < 0x10000) {
		c[0] = (char)(0xe0 | u >> 12);
		c[1] = (char)(0x80 | (u >> 6 & 0x3f));
		c[2] = (char)(0x80 | (u & 0x3f));
		n = 3;
	} else {
		c[0] = (char)(0xf0 | u >> 18);
		c[1] = (char)(0x80 | (u >> 12 & 0x3f));
		c[2] = (char)(0x80 | (u >> 6 & 0x3f));
		c[3] = (char)(0x80 | (u & 0x3f));
		n = 4;
	}
	put(b, c, n);
}

/* A JSON string at j->s into b (without its quotes); -1 if malformed. */
static int
jstring(struct json *j, struct sbuf *b)
{
	put(b, "", 0);
	if (j->s >= j->end || *j->s++ != '"')
		return -1;
	while (j->s < j->end && *j->s != '"') {
		unsigned u, lo;
		char c = *j->s++;

		if ((unsigned char)c < 0x20)
			return -1;
		if (c != '\\') {
			put(b, &c, 1);
			continue;
		}
		if (j->s >= j->end)
			return -1;
		switch ((c = *j->s++)) {
		case '"': case '\\': case '/': put(b, &c, 1); break;
		case 'b': put(b, "\b", 1); break;
		case 'f': put(b, "\f", 1); break;
		case 'n': put(b, "\n", 1); break;
		case 'r': put(b, "\r", 1); break;
		case 't': put(b, "\t", 1); break;
		case 'u':
			if (hex4(j, &u) < 0)
				return -1;
			if (u >= 0xd800 && u < 0xdc00) {
				if (j->end - j->s < 2 || j->s[0] != '\\' ||
				    j->s[1] != 'u')
					return -1;
				j->s += 2;
				if (hex4(j, &lo) < 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return -1;
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
			} else if (u >= 0xdc00 && u < 0xe000) {
				return -1;
			}
			put_utf8(b, u);
			break;
		default:
			return -1;
		}
	}
	if (j->s >= j->end)
		return -1;
	j->s++;
	return 0;
}

/* Skip a JSON value other than a string: a number, true, false, null; a
 * nested object or array is refused (a message needs none). */
static int
jskip(struct json *j)
{
	const char *s = j->s;

	while (j->s < j->end && !strchr(",} \t\r\n", *j->s))
		j->s++;
	if (j->s == s || *s == '{' || *s == '[')
		return -1;
	return 0;
}

/* One "key": value member of an object: role and content into theirs,
 * others skipped. */
static int
jmember(struct json *j, struct sbuf *role, struct sbuf *content)
{
	struct sbuf key = { 0 }, skip = { 0 }, *v = &skip;
	int r;

	ws(j);
	if (jstring(j, &key) < 0 || !key.p) {
		free(key.p);
		return -1;
	}
	if (!strcmp(key.p, "role"))
		v = role;
	else if (!strcmp(key.p, "content"))
		v = content;
	free(key.p);
	ws(j);
	if (j->s >= j->end || *j->s++ != ':')
		return -1;
	ws(j);
	v->n = 0;
	if (v != &skip || (j->s < j->end && *j->s == '"'))
		r = jstring(j, v);
	else
		r = jskip(j);
	free(skip.p);
	ws(j);
	return r;
}

int
chat_parse_json(const char *line, size_t len, struct chat_turn *m,
	struct cerr *e)
{
	struct json j = { line, line + len };
	struct sbuf role = { 0 }, content = { 0 };
	char vis[64];

	ws(&j);
	if (j.s >= j.end || *j.s++ != '{')
		goto bad;
	ws(&j);
	if (j.s < j.end && *j.s == '}')
		j.s++;
	else
		do {
			if (jmember(&j, &role, &content) < 0 || j.s >= j.end)
				goto bad;
		} while (*j.s++ == ',');
	if (j.s[-1] != '}')
		goto bad;
	ws(&j);
	if (j.s != j.end)
		goto bad;
	if (role.oom || content.oom) {
		cerr_set(e, "out of memory");
	} else if (!role.p || !content.p) {
		cerr_set(e, "needs \"role\" and \"content\"");
	} else if (role_of(role.p) < 0 || strlen(role.p) != role.n) {
		cvis(vis, sizeof vis, role.p, role.n);
		cerr_set(e, "unknown role '%s'", vis);
	} else {
		m->role = role.p;
		m->content = content.p;
		m->len = content.n;
		return 0;
	}
	free(role.p), free(content.p);
	return -1;
bad:
	free(role.p), free(content.p);
	return cerr_set(e, "not a JSON object (at byte %zu)",
	    (size_t)(j.s - line));
}

void
chat_turn_free(struct chat_turn *m)
{
	free((char *)m->role);
	free((char *)m->content);
	m->role = m->content = NULL;
}
