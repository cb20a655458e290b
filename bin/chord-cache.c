/* chord-cache: list, remove and build the weight cache's segments
 * (cache.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "gguf.h"
#include "tool.h"

static const char usage_line[] =
	"usage: chord-cache [-h | --help] ls | rm -a | rm NAME... | "
	"warm [-m FILE]";

static struct cache_opts co;

/* "42s", "17m", "5h", "3d". */
static void
put_age(int64_t created)
{
	int64_t a = (int64_t)time(NULL) - created;

	if (a < 0)
		a = 0;
	if (a < 120)
		printf("%" PRId64 "s", a);
	else if (a < 2 * 3600)
		printf("%" PRId64 "m", a / 60);
	else if (a < 2 * 86400)
		printf("%" PRId64 "h", a / 3600);
	else
		printf("%" PRId64 "d", a / 86400);
}

/* One line a segment: name, model, layout, size, age, processes attached,
 * state (ready, stale: the model changed, incomplete, foreign). */
static int
cmd_ls(void)
{
	struct cache_info *v;
	struct cerr e;
	int n;

	if ((n = cache_list(&co, &v, &e)) < 0)
		die_err(&e);
	for (int i = 0; i < n; i++) {
		const struct cache_info *c = &v[i];

		printf("%s\t", c->name);
		put_escaped(stdout, c->model[0] ? c->model : "-",
		    c->model[0] ? strlen(c->model) : 1);
		printf("\t%s\t%.1fM\t", c->layout[0] ? c->layout : "-",
		    (double)c->size / (1 << 20));
		put_age(c->created);
		printf("\t%d\t%s\n", c->attached, !c->ours ? "foreign" :
		    !c->ready ? "incomplete" : c->stale ? "stale" : "ready");
	}
	free(v);
	return 0;
}

static int
cmd_rm(int argc, char **argv)
{
	struct cache_info *v;
	struct cerr e;
	int n, bad = 0;

	if (argc == 1 && !strcmp(argv[0], "-a")) {
		if ((n = cache_list(&co, &v, &e)) < 0)
			die_err(&e);
		for (int i = 0; i < n; i++)
			if (cache_remove(&co, v[i].name, &e) < 0) {
				warnx("%s", e.msg);
				bad = 1;
			}
		free(v);
		return bad;
	}
	for (int i = 0; i < argc; i++)
		if (cache_remove(&co, argv[i], &e) < 0) {
			warnx("%s", e.msg);
			bad = 1;
		}
	return bad;
}

/* Build (or attach) ahead of a batch job, and check the image's hash. */
static int
cmd_warm(const char *model)
{
	const char *path = model_resolve(model);
	struct cache_seg s;
	struct gguf *g;
	struct cerr e;
	int r;

	if ((r = cache_attach(path, &co, &s, &e)) < 0)
		die_err(&e);
	if (r == 0) {
		if (!(g = gguf_open(path, &e)))
			die_err(&e);
		gguf_close(g);
		die("%s: not cached: under 1 MiB, mapped as it is", path);
	}
	if (cache_verify(&s, &e) < 0)
		die_err(&e);
	printf("%s\t%s\n", s.rebuilt ? "rebuilt" : s.built ? "built" :
	    "attached", s.name);
	cache_detach(&s);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;
	int r;

	tool_init(argv[0]);
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("%s\n", usage_line);
		return 0;
	}
	if (argc < 2)
		usage_die(usage_line, "no command");
	cache_opts_env(&co);
	cmd = argv[1];
	if (!strcmp(cmd, "ls")) {
		if (argc != 2)
			usage_die(usage_line, "ls takes no operands");
		r = cmd_ls();
	} else if (!strcmp(cmd, "rm")) {
		if (argc < 3)
			usage_die(usage_line, "rm needs NAME... or -a");
		for (int i = 2; i < argc; i++)
			if (argv[i][0] == '-' && (strcmp(argv[i], "-a") ||
			    argc != 3))
				usage_die(usage_line, "rm: -a goes alone");
		r = cmd_rm(argc - 2, argv + 2);
	} else if (!strcmp(cmd, "warm")) {
		if (argc == 2)
			r = cmd_warm(NULL);
		else if (argc == 4 && !strcmp(argv[2], "-m"))
			r = cmd_warm(argv[3]);
		else
			usage_die(usage_line, "warm takes only -m FILE");
	} else {
		usage_die(usage_line, "unknown command %s", cmd);
	}
	stdout_close();
	return r;
}
