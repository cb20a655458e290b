/* strmap.c: a string -> int map (strmap.h). */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "strmap.h"

int
strmap_init(struct strmap *m, uint32_t n)
{
	uint32_t cap = 64;

	while (cap < 2 * n)
		cap *= 2;
	m->cap = cap;
	m->key = calloc(cap, sizeof *m->key);
	m->klen = calloc(cap, sizeof *m->klen);
	m->val = calloc(cap, sizeof *m->val);
	return m->key && m->klen && m->val ? 0 : -1;
}

void
strmap_free(struct strmap *m)
{
	free(m->key);
	free(m->klen);
	free(m->val);
	memset(m, 0, sizeof *m);
}

static uint32_t
slot(const struct strmap *m, const char *k, uint32_t len)
{
	uint32_t i = (uint32_t)XXH3_64bits(k, len) & (m->cap - 1);

	while (m->key[i] && (m->klen[i] != len || memcmp(m->key[i], k, len)))
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* The first value stored for a key wins, as llama.cpp's bpe_ranks keeps
 * the first rank of a duplicated merge (emplace). */
int
strmap_put(struct strmap *m, const char *k, uint32_t len, int32_t v)
{
	uint32_t i = slot(m, k, len);

	if (m->key[i])
		return 0;
	m->key[i] = k ? k : "";
	m->klen[i] = len;
	m->val[i] = v;
	return 0;
}

int32_t
strmap_get(const struct strmap *m, const char *k, uint32_t len)
{
	uint32_t i;

	if (!m->cap)
		return -1;
	i = slot(m, k, len);
	return m->key[i] ? m->val[i] : -1;
}
