/* fuzz.h: what the libFuzzer harnesses of t/fuzz/ share: the input as a
 * file (a memfd, so that a library that opens paths reads exactly the fuzz
 * bytes), and a test model loaded once with its tokenizer. */
#ifndef CHORD_FUZZ_H
#define CHORD_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gguf.h"
#include "tok.h"
#include "tool.h"
#include "vocab.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A harness's own failure (not a finding): say why and stop. */
static inline void
fuzz_die(const char *what, const struct cerr *e)
{
	fprintf(stderr, "fuzz: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
	exit(2);
}

/* The bytes as a file: path gets /proc/self/fd/N. Returns the fd to close. */
static inline int
fuzz_file(const uint8_t *data, size_t size, char *path, size_t cap)
{
	int fd = memfd_create("fuzz", 0);

	if (fd < 0)
		fuzz_die("memfd_create failed", NULL);
	for (size_t off = 0; off < size; ) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0)
			fuzz_die("memfd write failed", NULL);
		off += (size_t)n;
	}
	snprintf(path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

/* A test model from $CHORD_DATA/models (tool.h's data dir). */
struct fuzz_model {
	struct gguf *g;
	struct vocab v;
	struct tok *t;
};

static inline void
fuzz_model_open(struct fuzz_model *m, const char *file)
{
	char path[4096];
	struct cerr e;

	snprintf(path, sizeof path, "%s/models/%s", chord_data_dir(), file);
	if (!(m->g = gguf_open(path, &e)) || vocab_load(&m->v, m->g, &e) < 0 ||
	    !(m->t = tok_open(m->g, &m->v, &e)))
		fuzz_die("cannot load a test model (make models)", &e);
}

#endif
