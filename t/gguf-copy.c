/* gguf-copy: read a GGUF file and write it again through the writer, every
 * key and tensor in order, to stdout. A file written by llama.cpp's writer
 * comes out byte-identical. */
#include <stdio.h>
#include <unistd.h>

#include "gguf.h"
#include "tool.h"

int
main(int argc, char **argv)
{
	struct gguf_writer *w;
	struct gguf *g;
	struct cerr e;

	tool_init(argv[0]);
	if (argc != 2)
		usage_die("usage: gguf-copy FILE", NULL);
	if (!(g = gguf_open(argv[1], &e)))
		die_err(&e);
	if (!(w = gguf_writer_new(g->version, g->alignment)))
		die("out of memory");
	for (uint64_t i = 0; i < g->n_kv; i++)
		if (gguf_writer_copy_kv(w, g, &g->kv[i], &e) < 0)
			die_err(&e);
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *t = &g->tensors[i];
		char name[1024];

		snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.p);
		if (gguf_writer_add_tensor(w, name, t->n_dims, t->ne, t->type,
		    t->data, t->nbytes, &e) < 0)
			die_err(&e);
	}
	if (gguf_writer_write(w, STDOUT_FILENO, "stdout", &e) < 0)
		die_err(&e);
	gguf_writer_free(w);
	gguf_close(g);
	return 0;
}
