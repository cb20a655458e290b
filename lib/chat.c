/* chat.c: reading chat templates and wrapping messages in them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"

enum { PART_SYSTEM, PART_USER, PART_ASSISTANT, NPARTS };
static const char *const part_names[NPARTS] = { "system", "user", "assistant" };

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

const char *
chat_recognise(const struct gguf_str *t)
{
	static const struct { const char *mark, *name; } marks[] = {
		{ "<|im_start|>", "chatml" }, { "<start_of_turn>", "gemma" },
		{ "<|start_header_id|>", "llama3" }, { "[INST]", "llama2" },
		{ "<|end|>", "phi3" }, { "<|user|>", "zephyr" },
		{ "### Instruction", "alpaca" },
	};

	for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
		size_t m = strlen(marks[i].mark);

		for (uint64_t k = 0; k + m <= t->len; k++)
			if (memcmp(t->p + k, marks[i].mark, m) == 0)
				return marks[i].name;
	}
	return NULL;
}

/* Unescape \n, \t, \\ in place. */
static void
unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s++;
		} else if (*s == '\\' && s[1] == 't') {
			*o++ = '\t';
			s++;
		} else if (*s == '\\' && s[1] == '\\') {
			*o++ = '\\';
			s++;
		} else {
			*o++ = *s;
		}
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
		val += strspn(val, " \t");
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
	}
	if (!parts[PART_USER] || !parts[PART_ASSISTANT])
		cerr_set(e, "%s: needs 'user' and 'assistant' parts", path);
	else
		r = 0;
done:
	free(text);
	return r;
}

/* Template text with control tokens parsed, {content} as plain text. */
static int
encode_part(struct tok *t, const char *tmpl, const char *content,
	size_t clen, struct ids *out, struct cerr *e)
{
	const char *at = strstr(tmpl, "{content}");

	if (!at)
		return tok_encode(t, tmpl, strlen(tmpl), 0, 1, out, e);
	if (tok_encode(t, tmpl, (size_t)(at - tmpl), 0, 1, out, e) < 0 ||
	    tok_encode(t, content, clen, 0, 0, out, e) < 0)
		return -1;
	at += strlen("{content}");
	return tok_encode(t, at, strlen(at), 0, 1, out, e);
}

int
chat_encode(struct tok *t, const char *name, const struct chat_msg *m,
	int add_special, struct ids *out, struct cerr *e)
{
	char *parts[NPARTS] = { 0 }, path[PATH_MAX + 300];
	int r = -1;

	if (strchr(name, '/'))
		snprintf(path, sizeof path, "%s", name);
	else
		snprintf(path, sizeof path, "%s/%s", chat_template_dir(), name);
	if (load(path, parts, e) < 0)
		goto done;
	if (add_special && t->v->add_bos && t->v->bos >= 0 &&
	    ids_push(out, t->v->bos) < 0) {
		cerr_set(e, "out of memory");
		goto done;
	}
	if (m->system && parts[PART_SYSTEM] &&
	    encode_part(t, parts[PART_SYSTEM], m->system, strlen(m->system),
	    out, e) < 0)
		goto done;
	if (encode_part(t, parts[PART_USER], m->user, m->user_len, out, e) < 0 ||
	    encode_part(t, parts[PART_ASSISTANT], "", 0, out, e) < 0)
		goto done;
	r = 0;
done:
	for (int k = 0; k < NPARTS; k++)
		free(parts[k]);
	return r;
}
