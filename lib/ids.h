/* ids.h: a growable list of token ids, what tokenizers append to. */
#ifndef CHORD_IDS_H
#define CHORD_IDS_H

#include <stddef.h>
#include <stdint.h>

struct ids {
	int32_t *v;
	size_t n, cap;
};

/* 0, or -1 when out of memory (l is unchanged then). */
int ids_push(struct ids *l, int32_t id);
void ids_free(struct ids *l);

#endif
