/* kernel-bench: how fast matmul_k_rows streams K-quant weights, one
 * thread, on matrices of Qwen2.5's shapes (random levels, sane scales), at
 * one activation row (generation) and 64 (a prompt), from the file's
 * layout and, where the build packs the type (pack_k), from the packed
 * one. Prints GB/s of weights a type, shape and row count. Built by make tprogs, run by hand:
 * kernel-bench [seconds a case]. Times are the thread's CPU time (the
 * machine is shared). Not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "matmul.h"
#include "quant.h"
#include "tool.h"

static uint32_t rng = 2463534242u;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The old tree had matmul_k only: one thread of it is the same work. */
#ifdef KB_BEFORE
#include <omp.h>
#define ROWS_CALL(w, pk, qa, n, y, r1) matmul_k(w, qa, n, y, (int)(r1))
#define pack_size_k(w) ((size_t)0)
#define pack_k(w, pk)
#else
#define ROWS_CALL(w, pk, qa, n, y, r1) matmul_k_rows(w, pk, qa, n, y, \
	(int)(r1), 0, r1)
#endif

int
main(int argc, char **argv)
{
	static const struct { int64_t rows, cols; } shapes[] = {
		{ 896, 4864 }, { 8960, 1536 }, { 1536, 8960 },
	};
	static const uint32_t types[] = { GGML_Q4_K, GGML_Q6_K };
	static const int ns[] = { 1, 64 };
	double secs = 0.5;

	tool_init(argv[0]);
	if (argc > 1)
		secs = strtod(argv[1], NULL);
#ifdef KB_BEFORE
	omp_set_num_threads(1);
#endif
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
	for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
		const struct qtype *q = qtype_get(types[k]);
		int64_t rows = shapes[s].rows, cols = shapes[s].cols;
		size_t rb = (size_t)(cols / 256) * (size_t)q->size;
		size_t bytes = rb * (size_t)rows;
		uint8_t *w = malloc(bytes);
		float *x = malloc(sizeof(float) * 64 * (size_t)cols);
		float *y = malloc(sizeof(float) * 64 * (size_t)rows);
		struct q8k *qa = malloc(sizeof(struct q8k) * 64 *
		    (size_t)(cols / 256));
		struct mat m = { w, types[k], rows, cols, rb, 0, 0 };

		if (!w || !x || !y || !qa)
			return 1;
		/* levels at random; every fp16 scale 2^-10 (the d fields of
		 * Q4_K lead its block, Q6_K's ends it) */
		for (size_t i = 0; i < bytes; i++)
			w[i] = (uint8_t)rnd();
		for (size_t b = 0; b < bytes / (size_t)q->size; b++) {
			uint8_t *p = w + b * (size_t)q->size;
			uint16_t d = 0x1400;

			if (types[k] == GGML_Q4_K) {
				memcpy(p, &d, 2);
				memcpy(p + 2, &d, 2);
			} else {
				memcpy(p + q->size - 2, &d, 2);
			}
		}
		m.repacked = mat_repacked(&m);
		for (int64_t i = 0; i < 64 * cols; i++)
			x[i] = (float)(rnd() % 2001) / 1000.0f - 1.0f;
		quantize_act_k(x, 64, (int)cols, qa);
		for (int packed = 0; packed < 2; packed++)
		for (size_t j = 0; j < sizeof ns / sizeof *ns; j++) {
			void *pk = NULL;
			int calls = 0;
			double t0, t;

			if (packed && !pack_size_k(&m))
				break;
			if (packed && !(pk = malloc(pack_size_k(&m))))
				return 1;
			if (pk)
				pack_k(&m, pk);
			t0 = now();
			do {
				ROWS_CALL(&m, pk, qa, ns[j], y, rows);
				calls++;
				t = now() - t0;
			} while (t < secs);
			printf("%s %5lldx%-5lld n=%-2d %8.2f GB/s %9.3f ms/call%s\n",
			    q->name, (long long)rows, (long long)cols, ns[j],
			    (double)bytes * calls / t / 1e9, t / calls * 1e3,
			    packed ? " packed" : "");
			free(pk);
		}
		free(w);
		free(x);
		free(y);
		free(qa);
	}
	return 0;
}
