/* ids.c: a growable list of token ids (ids.h). */
#include <stdlib.h>
#include <string.h>

#include "ids.h"

int
ids_push(struct ids *l, int32_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		int32_t *p = realloc(l->v, cap * sizeof *p);

		if (!p)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

void
ids_free(struct ids *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}
