/* dequant-test: dequantize with chord's plain C code, for t/quant.bats.
 *
 *   dequant-test FILE.gguf TENSOR     the tensor's values, float32 LE
 *   dequant-test TYPE < blocks        raw blocks of TYPE (e.g. q4_K) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "matmul.h"
#include "quant.h"
#include "tool.h"

static void
put(const struct mat *m)
{
	float *row = malloc((size_t)m->cols * sizeof *row);

	if (!row)
		die("out of memory");
	for (int64_t r = 0; r < m->rows; r++) {
		if (mat_row_f32(m, r, row) < 0)
			die("type %s: no dequantizer", qtype_get(m->type)->name);
		fwrite(row, sizeof *row, (size_t)m->cols, stdout);
	}
	free(row);
}

int
main(int argc, char **argv)
{
	struct cerr e;

	tool_init(argv[0]);
	if (argc == 3) {
		struct gguf *g = gguf_open(argv[1], &e);
		const struct gguf_tensor *t;
		struct mat m;

		if (!g)
			die_err(&e);
		if (!(t = gguf_tensor_get(g, argv[2])))
			die("%s: no tensor %s", argv[1], argv[2]);
		m = (struct mat){ t->data, t->type, (int64_t)(t->nelem / t->ne[0]),
		    (int64_t)t->ne[0], qtype_row_size(t->type, t->ne[0]), 0, 0 };
		put(&m);
		gguf_close(g);
	} else if (argc == 2) {
		static uint8_t buf[1 << 22];
		int type = qtype_by_name(argv[1]);
		const struct qtype *q = qtype_get((uint32_t)type);
		size_t n = fread(buf, 1, sizeof buf, stdin);
		struct mat m;

		if (type < 0 || !q)
			die("unknown type %s", argv[1]);
		if (n % (size_t)q->size)
			die("stdin: not whole %s blocks", q->name);
		m = (struct mat){ buf, (uint32_t)type, 1,
		    (int64_t)(n / (size_t)q->size * (size_t)q->blck), n, 0, 0 };
		put(&m);
	} else {
		usage_die("usage: dequant-test FILE TENSOR | dequant-test TYPE", NULL);
	}
	stdout_close();
	return 0;
}
