/* quant.c: the table of ggml types. Block layouts and kernels live in
 * quant_*.c files and are hooked in here. */
#include <strings.h>

#include "blocks.h"
#include "quant.h"
#include "quant_k.h"
#include "quant_q.h"

#define B(t) (int)sizeof(struct block_##t)

/* Block sizes: the structs of blocks.h where chord reads the type; the
 * rest as ggml-common.h gives them (QK_K = 256 values, ...). */
static const struct qtype types[GGML_NTYPES] = {
	[GGML_F32]     = { "f32",     1,    4, 0, dequant_f32, quant_f32, 0, 0 },
	[GGML_F16]     = { "f16",     1,    2, 0, dequant_f16, quant_f16, 0, 0 },
	[GGML_Q4_0]    = { "q4_0", QK4_0, B(q4_0), 1, dequant_q4_0, quant_q4_0, 0, 0 },
	[GGML_Q4_1]    = { "q4_1", QK4_1, B(q4_1), 1, dequant_q4_1, quant_q4_1, 0, 0 },
	[GGML_Q5_0]    = { "q5_0", QK5_0, B(q5_0), 1, dequant_q5_0, quant_q5_0, 0, 0 },
	[GGML_Q5_1]    = { "q5_1", QK5_1, B(q5_1), 1, dequant_q5_1, quant_q5_1, 0, 0 },
	[GGML_Q8_0]    = { "q8_0", QK8_0, B(q8_0), 1, dequant_q8_0, quant_q8_0, 0, 0 },
	[GGML_Q8_1]    = { "q8_1", QK8_1, B(q8_1), 1, 0, 0, 0, 0 },
	[GGML_Q2_K]    = { "q2_K",  QK_K, B(q2_K), 1, dequant_q2_k, quant_q2_k, 0, 0 },
	[GGML_Q3_K]    = { "q3_K",  QK_K, B(q3_K), 1, dequant_q3_k, quant_q3_k, 0, 0 },
	[GGML_Q4_K]    = { "q4_K",  QK_K, B(q4_K), 1, dequant_q4_k, quant_q4_k, 0, 0 },
	[GGML_Q5_K]    = { "q5_K",  QK_K, B(q5_K), 1, dequant_q5_k, quant_q5_k, 0, 0 },
	[GGML_Q6_K]    = { "q6_K",  QK_K, B(q6_K), 1, dequant_q6_k, quant_q6_k, 0, 0 },
	[GGML_Q8_K]    = { "q8_K",  QK_K, B(q8_K), 1, 0, 0, 0, 0 },
	[GGML_IQ2_XXS] = { "iq2_xxs", 256, 66, 1, 0, 0, 0, 0 },
	[GGML_IQ2_XS]  = { "iq2_xs",  256, 74, 1, 0, 0, 0, 0 },
	[GGML_IQ3_XXS] = { "iq3_xxs", 256, 98, 1, 0, 0, 0, 0 },
	[GGML_IQ1_S]   = { "iq1_s",   256, 50, 1, 0, 0, 0, 0 },
	[GGML_IQ4_NL]  = { "iq4_nl",   32, 18, 1, 0, 0, 0, 0 },
	[GGML_IQ3_S]   = { "iq3_s",   256, 110, 1, 0, 0, 0, 0 },
	[GGML_IQ2_S]   = { "iq2_s",   256, 82, 1, 0, 0, 0, 0 },
	[GGML_IQ4_XS]  = { "iq4_xs",  256, 136, 1, 0, 0, 0, 0 },
	[GGML_I8]      = { "i8",        1,  1, 0, 0, 0, 0, 0 },
	[GGML_I16]     = { "i16",       1,  2, 0, 0, 0, 0, 0 },
	[GGML_I32]     = { "i32",       1,  4, 0, 0, 0, 0, 0 },
	[GGML_I64]     = { "i64",       1,  8, 0, 0, 0, 0, 0 },
	[GGML_F64]     = { "f64",       1,  8, 0, 0, 0, 0, 0 },
	[GGML_IQ1_M]   = { "iq1_m",   256, 56, 1, 0, 0, 0, 0 },
	[GGML_BF16]    = { "bf16",      1,  2, 0, dequant_bf16, quant_bf16, 0, 0 },
	[GGML_TQ1_0]   = { "tq1_0",   256, 54, 1, 0, 0, 0, 0 },
	[GGML_TQ2_0]   = { "tq2_0",   256, 66, 1, 0, 0, 0, 0 },
	[GGML_MXFP4]   = { "mxfp4",    32, 17, 1, 0, 0, 0, 0 },
};

const struct qtype *
qtype_get(uint32_t t)
{
	if (t >= GGML_NTYPES || types[t].blck == 0)
		return NULL;
	return &types[t];
}

int
qtype_by_name(const char *name)
{
	for (int t = 0; t < GGML_NTYPES; t++)
		if (types[t].name && strcasecmp(types[t].name, name) == 0)
			return t;
	return -1;
}

uint64_t
qtype_row_size(uint32_t t, uint64_t ne0)
{
	const struct qtype *q = qtype_get(t);

	if (!q || ne0 % (uint64_t)q->blck != 0)
		return 0;
	return ne0 / (uint64_t)q->blck * (uint64_t)q->size;
}
