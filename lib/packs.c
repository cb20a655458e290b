/* packs.c: the repacked copies of a GGUF image's matrices (packs.h). */
#include <string.h>

#include "matmul.h"
#include "packs.h"
#include "quant.h"

/* Tensor t as a matrix, if it is one the forward pass multiplies: 2-D, and
 * not the token embeddings unless the output is tied to them (those are
 * read by row only). */
static int
as_mat(const struct gguf *g, const struct gguf_tensor *t, struct mat *m)
{
	if (t->n_dims != 2 || t->ne[0] > INT32_MAX || t->ne[1] > INT64_MAX ||
	    !qtype_get(t->type))
		return 0;
	/* blocks are read through structs of fp16 fields: data at an odd
	 * offset is refused when the model loads (model.c), not packed */
	if ((uintptr_t)t->data % 2)
		return 0;
	if (t->name.len == 17 && !memcmp(t->name.p, "token_embd.weight", 17) &&
	    gguf_tensor_get(g, "output.weight"))
		return 0;
	memset(m, 0, sizeof *m);
	m->data = t->data;
	m->type = t->type;
	m->cols = (int64_t)t->ne[0];
	m->rows = (int64_t)t->ne[1];
	m->row_bytes = qtype_row_size(t->type, t->ne[0]);
	m->repacked = mat_repacked(m);
	return 1;
}

static uint64_t
size_of(const struct mat *m)
{
	return mat_act_form(m) == ACT_Q8 ? pack_size(m) : pack_size_k(m);
}

uint64_t
packs_layout(const struct gguf *g, struct pack_entry *out, uint64_t *n)
{
	uint64_t off = 0, k = 0;

	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *t = &g->tensors[i];
		struct mat m;
		uint64_t size;

		if (!as_mat(g, t, &m) || !(size = size_of(&m)))
			continue;
		if (out) {
			out[k].data_off = (uint64_t)((const uint8_t *)t->data -
			    g->base);
			out[k].pack_off = off;
			out[k].size = size;
			out[k].row_bytes = m.row_bytes;
			out[k].type = m.type;
		}
		k++;
		off += (size + 63) / 64 * 64;
	}
	*n = k;
	return off;
}

void
packs_fill(const struct gguf *g, const struct pack_entry *e, uint64_t n,
	uint8_t *area)
{
	for (uint64_t k = 0; k < n; k++)
		for (uint64_t i = 0; i < g->n_tensors; i++) {
			const struct gguf_tensor *t = &g->tensors[i];
			struct mat m;

			if ((uint64_t)((const uint8_t *)t->data - g->base) !=
			    e[k].data_off || !as_mat(g, t, &m))
				continue;
			if (mat_act_form(&m) == ACT_Q8)
				pack_mat(&m, area + e[k].pack_off);
			else
				pack_k(&m, area + e[k].pack_off);
			break;
		}
}

const void *
packs_find(const struct packs *p, const struct mat *w)
{
	const uint8_t *d = w->data;

	if (!p || !p->area || d < p->image)
		return NULL;
	for (uint64_t k = 0; k < p->n; k++) {
		const struct pack_entry *e = &p->e[k];
		uint64_t at = (uint64_t)(d - p->image), r0;

		if (at < e->data_off || e->row_bytes != w->row_bytes)
			continue;
		r0 = (at - e->data_off) / e->row_bytes;
		if ((at - e->data_off) % e->row_bytes || r0 % PACK_ROWS ||
		    e->type != w->type)
			continue;
		/* the copy of a view of whole groups: the groups from r0, where
		 * a group takes the bytes of its rows (matmul_pack.c) */
		if (r0 == 0)
			return p->area + e->pack_off;
		if (mat_act_form(w) == ACT_Q8 && r0 * e->row_bytes < e->size)
			return p->area + e->pack_off + r0 * e->row_bytes;
	}
	return NULL;
}
