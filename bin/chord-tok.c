/* chord-tok: text to the token stream of a model's vocabulary, and back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "gguf.h"
#include "stream.h"
#include "tok.h"
#include "tool.h"
#include "unicode.h"

static const char usage_line[] =
	"usage: chord-tok [-h | --help] [-d | --decode] [-l | --lines] "
	"[-c | --count] [--pieces] [-m FILE] [--special] [--bos | --no-bos] "
	"[--eos] [--chat TEMPLATE] [--system | -sys TEXT] [--jsonl] [--render] "
	"[-v] [FILE]";

static struct {
	int decode, lines, count, pieces, special, bos, eos, jsonl, render,
	    verbose;
	const char *model, *chat, *system, *file;
} opt = { .bos = -1 };

static struct vocab vocab;
static struct tok *tk;
static struct gguf_str jinja;   /* --chat jinja: the model's template */

static char *
slurp(FILE *f, size_t *n)
{
	size_t cap = 1 << 16, len = 0, k;
	char *buf = malloc(cap);

	if (!buf)
		die("out of memory");
	while ((k = fread(buf + len, 1, cap - len, f)) > 0) {
		len += k;
		if (len == cap) {
			char *p = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);

			if (!p)
				die("out of memory");
			buf = p;
			cap *= 2;
		}
	}
	if (ferror(f))
		die("%s:", opt.file ? opt.file : "stdin");
	*n = len;
	return buf;
}

static void
encode(const char *s, size_t n, int add_special, struct ids *out)
{
	struct cerr e;

	if (tok_encode(tk, s, n, add_special, opt.special, out, &e) < 0)
		die_err(&e);
}

/* Print "id<TAB>piece" lines, the piece escaped so each stays on one line. */
static void
print_pieces(const struct ids *l)
{
	char buf[1024];

	for (size_t i = 0; i < l->n; i++) {
		int k = tok_piece(tk, l->v[i], 1, buf, sizeof buf);

		printf("%d\t", l->v[i]);
		put_escaped(stdout, buf, k > 0 ? (size_t)k : 0);
		putchar('\n');
	}
}

static void
emit(const struct ids *l)
{
	static int header;

	if (!header++ && !opt.count && !opt.pieces)
		tokstream_write_header(stdout, vocab.fingerprint, vocab.n);
	if (opt.count)
		printf("%zu\n", l->n);
	else if (opt.pieces)
		print_pieces(l);
	else if (tokstream_write_batch(stdout, l->v, l->n) < 0)
		die("stdout:");
}

/* The conversation: JSON Lines, one message a line, with --jsonl; else the
 * text is the user's message, after the --system prompt if any. */
static size_t
read_turns(char *text, size_t n, struct chat_turn **turns)
{
	struct chat_turn *m;
	size_t nt = 0, cap = 2;
	int lineno = 0;

	if (!(m = malloc(cap * sizeof *m)))
		die("out of memory");
	if (!opt.jsonl) {
		if (opt.system)
			m[nt++] = (struct chat_turn){ "system", opt.system,
			    strlen(opt.system) };
		m[nt++] = (struct chat_turn){ "user", text, n };
		*turns = m;
		return nt;
	}
	for (size_t a = 0; a < n;) {
		char *nl = memchr(text + a, '\n', n - a);
		size_t end = nl ? (size_t)(nl - text) : n, k = a;
		struct cerr e;

		lineno++;
		while (k < end && (text[k] == ' ' || text[k] == '\t' ||
		    text[k] == '\r'))
			k++;
		if (k < end) {          /* not a blank line */
			if (nt == cap) {
				struct chat_turn *p = realloc(m,
				    2 * cap * sizeof *m);

				if (!p)
					die("out of memory");
				m = p;
				cap *= 2;
			}
			if (chat_parse_json(text + a, end - a, &m[nt], &e) < 0)
				die("%s: line %d: %s", opt.file ? opt.file :
				    "stdin", lineno, e.msg);
			nt++;
		}
		a = end + 1;
	}
	*turns = m;
	return nt;
}

static void
run_chat(char *text, size_t n, int add, struct ids *l)
{
	struct chat_turn *m;
	size_t nt = read_turns(text, n, &m);
	struct cerr e;
	char *out;
	size_t len;

	if (jinja.p) {
		if (chat_render_jinja(&jinja, tk, m, nt, 1, &out, &len, &e) < 0)
			die_err(&e);
		if (opt.render)
			fwrite(out, 1, len, stdout);
		else if (tok_encode(tk, out, len, add, 1, l, &e) < 0)
			die_err(&e);
		free(out);
	} else if (opt.render) {
		if (chat_render(opt.chat, m, nt, 1, &out, &len, &e) < 0)
			die_err(&e);
		fwrite(out, 1, len, stdout);
		free(out);
	} else if (chat_encode_turns(tk, opt.chat, m, nt, add, l, &e) < 0) {
		die_err(&e);
	}
	if (opt.jsonl)
		for (size_t i = 0; i < nt; i++)
			chat_turn_free(&m[i]);
	free(m);
}

static void
run_encode(FILE *in)
{
	struct ids l = { 0 };
	size_t n;
	char *text = slurp(in, &n);
	int add = opt.bos < 0 ? 1 : opt.bos;

	if (opt.bos >= 0)
		vocab.add_bos = opt.bos;
	if (opt.eos)
		vocab.add_eos = 1;
	if (opt.lines) {
		for (size_t a = 0; a < n;) {
			char *nl = memchr(text + a, '\n', n - a);
			size_t end = nl ? (size_t)(nl - text) : n;

			l.n = 0;
			encode(text + a, end - a, add, &l);
			if (l.n)
				emit(&l);
			a = end + 1;
		}
	} else {
		if (n && text[n - 1] == '\n' && !opt.jsonl)
			n--;    /* like llama.cpp's -f */
		if (opt.chat) {
			run_chat(text, n, add, &l);
			if (opt.render) {
				ids_free(&l);
				free(text);
				return;
			}
		} else {
			encode(text, n, add, &l);
		}
		emit(&l);
	}
	ids_free(&l);
	free(text);
}

/* Write out what of pend is complete UTF-8; keep an unfinished character
 * (a byte-fallback sequence in progress) for the next piece. */
static size_t
flush_utf8(char *pend, size_t n, int final)
{
	size_t i = 0;

	while (i < n) {
		int k = utf8_valid(pend + i, n - i);

		if (k == 0) {
			/* Could more bytes complete it? Keep it, unless final or
			 * already too long to be one character. */
			size_t need = (unsigned char)pend[i] >= 0xf0 ? 4 :
			    (unsigned char)pend[i] >= 0xe0 ? 3 :
			    (unsigned char)pend[i] >= 0xc0 ? 2 : 1;
			int prefix_ok = need > 1 && n - i < need;

			for (size_t j = i + 1; prefix_ok && j < n; j++)
				prefix_ok = ((unsigned char)pend[j] & 0xc0) == 0x80;
			if (prefix_ok && !final)
				break;
			k = 1;  /* invalid for good: pass the byte through */
		}
		fwrite(pend + i, 1, (size_t)k, stdout);
		i += (size_t)k;
	}
	memmove(pend, pend + i, n - i);
	return n - i;
}

static void
run_decode(FILE *in)
{
	struct tokstream ts;
	struct cerr e;
	char pend[4096 + 8];
	size_t np = 0;
	int r;

	tokstream_init(&ts, in, opt.file ? opt.file : "stdin");
	ts.expect_vocab = vocab.fingerprint;
	ts.expect_n_vocab = vocab.n;
	while ((r = tokstream_next(&ts, &e)) == 1) {
		for (size_t i = 0; i < ts.n; i++) {
			char buf[4096];
			int k = tok_piece(tk, ts.ids[i], opt.special, buf,
			    sizeof buf);

			for (int j = 0; j < k; j++) {
				pend[np++] = buf[j];
				if (np >= 4096)
					np = flush_utf8(pend, np, 1);
			}
			np = flush_utf8(pend, np, 0);
		}
		if (fflush(stdout) == EOF)
			die("stdout:");
	}
	flush_utf8(pend, np, 1);
	tokstream_free(&ts);
	if (r < 0)
		die_err(&e);
}

/* --chat auto: llama.cpp's pick from the model's own template; with none,
 * chatml, as llama.cpp's common_chat_templates_init falls back to. */
static void
chat_auto(const struct gguf *g)
{
	struct gguf_str t;
	struct cerr e;

	if (gguf_get_str(g, "tokenizer.chat_template", &t, &e) < 0) {
		opt.chat = "chatml";
		if (opt.verbose)
			fprintf(stderr, "%s: %s: no chat template in the "
			    "model: chatml\n", progname, g->path);
		return;
	}
	if (!(opt.chat = chat_recognise(&t)))
		die("%s: chat template not recognised; name one, or use "
		    "--chat jinja", g->path);
	if (opt.verbose)
		fprintf(stderr, "%s: %s: chat template %s\n", progname, g->path,
		    opt.chat);
}

int
main(int argc, char **argv)
{
	struct gguf *g;
	struct cerr e;
	FILE *in = stdin;
	int i;

	tool_init(argv[0]);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\n", usage_line);
			return 0;
		}
		if (!strcmp(a, "-m") || !strcmp(a, "--chat") ||
		    !strcmp(a, "--system") || !strcmp(a, "-sys")) {
			if (i + 1 >= argc)
				usage_die(usage_line, "%s needs an argument", a);
			if (a[1] == 'm')
				opt.model = argv[++i];
			else if (!strcmp(a, "--chat"))
				opt.chat = argv[++i];
			else
				opt.system = argv[++i];
		} else if (!strcmp(a, "-d") || !strcmp(a, "--decode")) {
			opt.decode = 1;
		} else if (!strcmp(a, "-l") || !strcmp(a, "--lines")) {
			opt.lines = 1;
		} else if (!strcmp(a, "-c") || !strcmp(a, "--count")) {
			opt.count = 1;
		} else if (!strcmp(a, "--pieces")) {
			opt.pieces = 1;
		} else if (!strcmp(a, "--special")) {
			opt.special = 1;
		} else if (!strcmp(a, "--bos")) {
			opt.bos = 1;
		} else if (!strcmp(a, "--no-bos")) {
			opt.bos = 0;
		} else if (!strcmp(a, "--eos")) {
			opt.eos = 1;
		} else if (!strcmp(a, "--jsonl")) {
			opt.jsonl = 1;
		} else if (!strcmp(a, "--render")) {
			opt.render = 1;
		} else if (!strcmp(a, "-v")) {
			opt.verbose = 1;
		} else {
			usage_die(usage_line, "unknown option %s", a);
		}
	}
	if (i < argc)
		opt.file = argv[i++];
	if (i < argc)
		usage_die(usage_line, "one input file at most");
	if (opt.decode && (opt.lines || opt.count || opt.pieces || opt.chat))
		usage_die(usage_line, "-d takes no -l, -c, --pieces or --chat");
	if (opt.chat && opt.lines)
		usage_die(usage_line, "--chat and -l exclude each other");
	if (opt.system && !opt.chat)
		usage_die(usage_line, "--system needs --chat");
	if ((opt.jsonl || opt.render || opt.verbose) && !opt.chat)
		usage_die(usage_line, "--jsonl, --render and -v need --chat");
	if (opt.jsonl && opt.system)
		usage_die(usage_line, "--system and --jsonl exclude each other");
	if (opt.file && strcmp(opt.file, "-") && !(in = fopen(opt.file, "rb")))
		die("%s:", opt.file);
	if (!(g = gguf_open(model_resolve(opt.model), &e)))
		die_err(&e);
	if (vocab_load(&vocab, g, &e) < 0 || !(tk = tok_open(g, &vocab, &e)))
		die_err(&e);
	if (opt.chat && !strcmp(opt.chat, "auto"))
		chat_auto(g);
	if (opt.chat && !strcmp(opt.chat, "jinja") &&
	    gguf_get_str(g, "tokenizer.chat_template", &jinja, &e) < 0)
		die("%s: no chat template in the model", g->path);
	if (opt.decode)
		run_decode(in);
	else
		run_encode(in);
	tok_close(tk);
	vocab_free(&vocab);
	gguf_close(g);
	stdout_close();
	return 0;
}
