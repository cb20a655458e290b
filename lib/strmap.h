/* strmap.h: a map from byte strings to ints (open addressing, XXH3), for
 * the tokenizers' pieces and merges. Keys are not copied: they must
 * outlive the map. */
#ifndef CHORD_STRMAP_H
#define CHORD_STRMAP_H

#include <stdint.h>

struct strmap {
	const char **key;
	uint32_t *klen;
	int32_t *val;
	uint32_t cap;           /* a power of two, at least twice the keys */
};

/* Room for n keys. 0, or -1 when out of memory. */
int strmap_init(struct strmap *m, uint32_t n);
/* The first value stored for a key wins. */
int strmap_put(struct strmap *m, const char *k, uint32_t len, int32_t v);
/* The value of k, or -1 if it has none. */
int32_t strmap_get(const struct strmap *m, const char *k, uint32_t len);
void strmap_free(struct strmap *m);

#endif
