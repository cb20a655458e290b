/* kernel-test: every matmul kernel against the dequantized reference, SIMD
 * and portable paths, on random blocks (K-quants: random values quantized by
 * the reference quantizer). Prints one line per type and exits 1 if any
 * relative error passes 1e-5. `kernel-test exact`: the K-quant SIMD
 * kernels against the portable ones, bit for bit, one line a type. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "matmul.h"
#include "quant.h"
#include "tool.h"

enum { COLS = 256, ROWS = 64 };

static uint32_t rng = 12345;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static float
frand(void)
{
	return (float)(rnd() % 20001) / 10000.0f - 1.0f;
}

/* Random blocks with sane fp16 scales (random bits could be NaN). */
static void
fill(uint8_t *w, uint32_t type, size_t n)
{
	const struct qtype *q = qtype_get(type);

	for (size_t i = 0; i < n; i++)
		w[i] = (uint8_t)rnd();
	for (size_t b = 0; b < n / (size_t)q->size; b++) {
		uint16_t d = f32_to_fp16(frand() * 0.05f), m = f32_to_fp16(frand());

		memcpy(w + b * q->size, &d, 2);
		if (type == GGML_Q4_1 || type == GGML_Q5_1)
			memcpy(w + b * q->size + 2, &m, 2);
	}
}

/* K-quants against Q8_K activations: one token on both paths, and a
 * batch of tokens equal to each token alone where ggml uses the same
 * kernel for both (Q2_K and Q4_K take rows in fours through their repacked
 * gemm, whose sums round otherwise, and only the rest as one token). */
static int
test_k(uint32_t type)
{
	enum { KC = 512, N = 5 };
	const struct qtype *q = qtype_get(type);
	size_t rb = KC / 256 * (size_t)q->size;
	uint8_t *w = malloc(rb * ROWS);
	float *wf = malloc(sizeof(float) * KC * ROWS), x[N * KC], row[KC];
	float y[2][N * ROWS], worst = 0.0f;
	struct q8k qa[N * KC / 256];
	struct mat m = { w, type, ROWS, KC, rb, 0, 0 };
	m.repacked = mat_repacked(&m);

	for (int i = 0; i < KC * ROWS; i++)
		wf[i] = frand() * (i % 97 == 0 ? 4.0f : 1.0f);
	q->from_f32(wf, w, KC * ROWS);
	for (int i = 0; i < N * KC; i++)
		x[i] = frand();
	quantize_act_k(x, N, KC, qa);
	for (int s = 0; s < 2; s++) {
		matmul_force_scalar(s);
		matmul_k(&m, qa, N, y[s], ROWS);
	}
	matmul_force_scalar(0);
	for (int t = 0; t < N; t++)
		for (int r = 0; r < ROWS; r++) {
			double ref = 0.0, scale = 0.0;
			float y1[ROWS];

			mat_row_f32(&m, r, row);
			for (int i = 0; i < KC; i++) {
				const struct q8k *a = &qa[t * KC / 256 + i / 256];
				double v = (double)a->d * a->q[i % 256];

				ref += row[i] * v;
				scale += fabs(row[i] * v);
			}
			for (int s = 0; s < 2; s++) {
				float err = (float)(fabs(y[s][t * ROWS + r] - ref) /
				    (scale + 1e-9));

				if (err > worst)
					worst = err;
			}
			if (r == 0 && ((type != GGML_Q2_K && type != GGML_Q4_K) ||
			    t >= N - N % 4)) {
				matmul_k(&m, qa + t * KC / 256, 1, y1, ROWS);
				for (int k = 0; k < ROWS; k++)
					if (y1[k] != y[0][t * ROWS + k])
						worst = 1.0f;
			}
		}
	printf("%s: worst relative error %.2e\n", q->name, worst);
	free(w);
	free(wf);
	return worst > 1e-5f;
}

/* Levels at their extremes: random bytes for the whole block but the
 * fp16 scales, which stay sane (random bits could be NaN). */
static void
fill_k(uint8_t *w, uint32_t type, size_t n)
{
	const struct qtype *q = qtype_get(type);
	size_t off = type == GGML_Q2_K ? offsetof(struct block_q2_K, d) :
	    type == GGML_Q3_K ? offsetof(struct block_q3_K, d) :
	    type == GGML_Q6_K ? offsetof(struct block_q6_K, d) : 0;
	int mins = type == GGML_Q2_K || type == GGML_Q4_K || type == GGML_Q5_K;

	for (size_t i = 0; i < n; i++)
		w[i] = (uint8_t)rnd();
	for (size_t b = 0; b < n / (size_t)q->size; b++) {
		uint16_t d = f32_to_fp16(frand() * 0.05f);
		uint16_t m = f32_to_fp16(frand() * 0.05f);

		memcpy(w + b * q->size + off, &d, 2);
		if (mins)
			memcpy(w + b * q->size + off + 2, &m, 2);
	}
}

/* K-quants: the SIMD kernels give the portable ones' floats bit for bit,
 * for every row count the kernels tell apart (n < 4, gemm rows in fours
 * and the rest, the packed Q4_K kernel's sets of four with one to three
 * rows after them, the packed Q6_K kernel's sets of one to seven (lanes)
 * and of eight with one to seven after them (tiled), the tiled kernels
 * from 8 up with tiles full or not, passes of MATMUL_K_MAX_N, the gemm
 * rows ending inside a later pass), for matrices repacked or not (rows
 * not a multiple of 8), with levels quantized or at random, for a run of
 * rows through matmul_k_rows, and from the packed layout where the build
 * has one (pack_k; in runs of groups from 0, 16 and 32; rows past the
 * last whole group from the file). The count of cases from a packed
 * layout follows the bit-identical ones. */
static int
test_k_exact(uint32_t type)
{
	enum { KC = 768, MAXN = 71, MAXR = 52 };
	static const int ns[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	    14, 15, 16, 17, 31, 64, 65, 70, 71 };
	static const int64_t shapes[] = { 48, 20, 52 };
	const struct qtype *q = qtype_get(type);
	size_t rb = KC / 256 * (size_t)q->size;
	uint8_t *w = malloc(rb * MAXR);
	float *wf = malloc(sizeof(float) * KC * MAXR);
	float *x = malloc(sizeof(float) * MAXN * KC);
	float *y[2] = { malloc(sizeof(float) * MAXN * MAXR),
	    malloc(sizeof(float) * MAXN * MAXR) };
	struct q8k *qa = malloc(sizeof(struct q8k) * MAXN * KC / 256);
	int bad = 0, cases = 0, packed = 0;

	for (int i = 0; i < MAXN * KC; i++)
		x[i] = frand() * (i % 61 == 0 ? 8.0f : 1.0f);
	quantize_act_k(x, MAXN, KC, qa);
	/* activations at both ends of the quantizer's range, -127..127 (the
	 * K kernels' 16-bit pair sums are safe there), their sums to match */
	for (int j = 0; j < 256; j++) {
		qa[3 * KC / 256 + 1].q[j] = -127;
		qa[5 * KC / 256].q[j] = (int8_t)(j % 3 ? 127 : -127);
	}
	for (int g = 0; g < 16; g++) {
		qa[3 * KC / 256 + 1].bsums[g] = -127 * 16;
		qa[5 * KC / 256].bsums[g] = 0;
		for (int j = 0; j < 16; j++)
			qa[5 * KC / 256].bsums[g] += qa[5 * KC / 256].q[16 * g + j];
	}
	for (int fill_kind = 0; fill_kind < 2; fill_kind++) {
		if (fill_kind == 0) {
			for (int i = 0; i < KC * MAXR; i++)
				wf[i] = frand() * (i % 97 == 0 ? 4.0f : 1.0f);
			q->from_f32(wf, w, KC * MAXR);
		} else {
			fill_k(w, type, rb * MAXR);
		}
		for (size_t h = 0; h < sizeof shapes / sizeof *shapes; h++)
		for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
			struct mat m = { w, type, shapes[h], KC, rb, 0, 0 };
			int n = ns[k];

			m.repacked = mat_repacked(&m);
			for (int s = 0; s < 2; s++) {
				memset(y[s], 0xff, sizeof(float) * MAXN * MAXR);
				matmul_force_scalar(s);
				if (matmul_k(&m, qa, n, y[s], MAXR) < 0)
					bad = 1;
			}
			/* the rows from 16 on alone, on the SIMD path */
			matmul_force_scalar(0);
			if (matmul_k_rows(&m, NULL, qa, n, y[0], MAXR, 16,
			    m.rows) < 0)
				bad = 1;
			if (memcmp(y[0], y[1], sizeof(float) *
			    ((size_t)(n - 1) * MAXR + (size_t)m.rows))) {
				printf("%s: n %d rows %lld %s: SIMD differs\n",
				    q->name, n, (long long)m.rows,
				    fill_kind ? "random" : "quantized");
				bad = 1;
			}
			if (pack_size_k(&m)) {
				void *pk = malloc(pack_size_k(&m));
				int64_t mid = m.rows < 32 ? m.rows : 32;

				pack_k(&m, pk);
				memset(y[0], 0xff, sizeof(float) * MAXN * MAXR);
				if (matmul_k_rows(&m, pk, qa, n, y[0], MAXR, 0,
				    16) < 0 || matmul_k_rows(&m, pk, qa, n, y[0],
				    MAXR, 16, mid) < 0 || matmul_k_rows(&m, pk, qa,
				    n, y[0], MAXR, mid, m.rows) < 0)
					bad = 1;
				if (memcmp(y[0], y[1], sizeof(float) *
				    ((size_t)(n - 1) * MAXR + (size_t)m.rows))) {
					printf("%s: n %d rows %lld %s: packed "
					    "differs\n", q->name, n,
					    (long long)m.rows,
					    fill_kind ? "random" : "quantized");
					bad = 1;
				}
				/* no activation rows: nothing written */
				memset(y[0], 0xff, sizeof(float) * MAXN * MAXR);
				if (matmul_k_rows(&m, pk, qa, 0, y[0], MAXR, 0,
				    m.rows) < 0)
					bad = 1;
				for (size_t i = 0; i < sizeof(float) * MAXN * MAXR;
				    i++)
					if (((const unsigned char *)y[0])[i] != 0xff) {
						printf("%s: n 0: row written\n",
						    q->name);
						bad = 1;
						break;
					}
				free(pk);
				packed++;
			}
			cases++;
		}
	}
	printf("%s: %d cases bit-identical (%d packed)%s\n", q->name, cases,
	    packed, bad ? " FAILED" : "");
	free(w);
	free(wf);
	free(x);
	free(y[0]);
	free(y[1]);
	free(qa);
	return bad;
}

/* quantize_act_k's SIMD blocks give the portable loop's bytes: random
 * blocks, and blocks with a tie of magnitudes of both signs, a NaN, an
 * infinity, all zeros, subnormals only, values near FLT_MAX. */
static int
test_quant_k(void)
{
	enum { NB = 10 };
	float *x = malloc(sizeof(float) * NB * 256);
	struct q8k q[2][NB];
	int bad;

	for (int i = 0; i < NB * 256; i++)
		x[i] = frand() * 3.0f;
	x[256 + 7] = 2.5f;              /* block 1: -2.5 first, then 2.5 */
	x[256 + 3] = -2.5f;
	x[256 + 200] = 2.5f;
	for (int i = 256; i < 512; i++)
		if (fabsf(x[i]) > 2.5f)
			x[i] = 1.0f;
	x[512 + 17] = NAN;
	x[768 + 40] = INFINITY;
	memset(x + 1024, 0, 256 * sizeof(float));
	for (int i = 1280; i < 1536; i++)
		x[i] = (float)(i % 7) * 1e-45f;
	for (int i = 1536; i < 1792; i++)
		x[i] = frand() * 3.4e38f;
	x[1792 + 255] = -NAN;
	for (int s = 0; s < 2; s++) {
		memset(q[s], 0x55, sizeof q[s]);
		matmul_force_scalar(s);
		quantize_act_k(x, NB, 256, q[s]);
	}
	matmul_force_scalar(0);
	bad = memcmp(q[0], q[1], sizeof q[0]) != 0;
	printf("quantize_act_k: SIMD %s\n", bad ? "DIFFERS" : "identical");
	free(x);
	return bad;
}

int
main(int argc, char **argv)
{
	static const uint32_t types[] = { GGML_Q4_0, GGML_Q4_1, GGML_Q5_0,
	    GGML_Q5_1, GGML_Q8_0 };
	int bad = 0;

	tool_init(argv[0]);
	if (argc > 1 && strcmp(argv[1], "exact") == 0) {
		for (uint32_t t = GGML_Q2_K; t <= GGML_Q6_K; t++)
			bad |= test_k_exact(t);
		return bad | test_quant_k();
	}
	for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
		const struct qtype *q = qtype_get(types[k]);
		size_t rb = COLS / 32 * (size_t)q->size;
		uint8_t *w = malloc(rb * ROWS);
		float x[COLS], row[COLS], y[2][ROWS], worst = 0.0f;
		struct qblk qa[COLS / 32];
		struct mat m = { w, types[k], ROWS, COLS, rb, 0, 0 };
		m.repacked = mat_repacked(&m);

		fill(w, types[k], rb * ROWS);
		for (int i = 0; i < COLS; i++)
			x[i] = frand();
		quantize_act(x, 1, COLS, qa);
		for (int s = 0; s < 2; s++) {
			matmul_force_scalar(s);
			matmul(&m, qa, 1, y[s], ROWS);
		}
		for (int r = 0; r < ROWS; r++) {
			double ref = 0.0, scale = 0.0;

			mat_row_f32(&m, r, row);
			for (int i = 0; i < COLS; i++) {
				double a = qa[i / 32].d * qa[i / 32].q[i % 32];
				float mb = 0.0f;

				/* the offset m of Q4_1/Q5_1 multiplies the block sum
				 * kept in fp16, as in ggml */
				if (types[k] == GGML_Q4_1 || types[k] == GGML_Q5_1) {
					uint16_t h;

					memcpy(&h, w + r * rb + i / 32 * (size_t)q->size +
					    2, 2);
					mb = fp16_to_f32(h);
					if (i % 32 == 0)
						ref += mb * qa[i / 32].s;
				}
				ref += (row[i] - mb) * a;
				scale += fabs(row[i] * a);
			}
			for (int s = 0; s < 2; s++) {
				float err = (float)(fabs(y[s][r] - ref) / (scale + 1e-9));

				if (err > worst)
					worst = err;
			}
		}
		/* several activation rows at once (the prompt path, tiled by
		 * four) give each row's single result */
		{
			enum { N = 6 };
			float xs[N * COLS], ys[N * ROWS], y1[ROWS];
			struct qblk qs[N * COLS / 32];

			for (int i = 0; i < N * COLS; i++)
				xs[i] = frand();
			quantize_act(xs, N, COLS, qs);
			matmul_force_scalar(0);
			matmul(&m, qs, N, ys, ROWS);
			for (int t = 0; t < N; t++) {
				matmul(&m, qs + t * (COLS / 32), 1, y1, ROWS);
				for (int r = 0; r < ROWS; r++) {
					float err = fabsf(ys[t * ROWS + r] - y1[r]) /
					    (fabsf(y1[r]) + 1e-3f);

					if (err > worst)
						worst = err;
				}
			}
		}
		printf("%s: worst relative error %.2e\n", q->name, worst);
		bad |= worst > 1e-5f;
		free(w);
	}
	for (uint32_t t = GGML_Q2_K; t <= GGML_Q6_K; t++)
		bad |= test_k(t);
	return bad;
}
