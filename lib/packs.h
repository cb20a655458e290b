/* packs.h: the repacked layouts (matmul.h) of every matrix of a GGUF image
 * that has one, laid out once in an area of their own, with an index from
 * each matrix's place in the image to its copy. The weight cache keeps
 * them in its segment (cache.c), so a process that attaches it multiplies
 * from them at once instead of repacking at load. */
#ifndef CHORD_PACKS_H
#define CHORD_PACKS_H

#include <stdint.h>

#include "err.h"
#include "gguf.h"
#include "model.h"

struct pack_entry {
	uint64_t data_off;      /* the matrix's data, from the image's start */
	uint64_t pack_off;      /* its copy, from the area's start */
	uint64_t size;          /* bytes of the copy */
	uint64_t row_bytes;
	uint64_t type;          /* enum ggml_type */
};

/* The matrices of g to repack and the area's size: *n entries into out
 * (NULL: count only), offsets 64-byte aligned. */
uint64_t packs_layout(const struct gguf *g, struct pack_entry *out,
	uint64_t *n);
/* Fill the area: entries e[0..n) of g into area. */
void packs_fill(const struct gguf *g, const struct pack_entry *e, uint64_t n,
	uint8_t *area);

/* A view of an area and its index, for the backend's lookups. */
struct packs {
	const uint8_t *image;   /* the image the offsets are from */
	const uint8_t *area;
	const struct pack_entry *e;
	uint64_t n;
};

/* w's repacked copy in p, or NULL (not packed, or a view of rows that does
 * not start a group). */
const void *packs_find(const struct packs *p, const struct mat *w);

#endif
