/* gguf.h: reading and writing GGUF files (versions 2 and 3).
 *
 * Layout (little-endian):
 *   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv x { str key | u32 type | value }
 *   n_tensors x { str name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
 *   padding to general.alignment (default 32), then the tensor data;
 *   each tensor's offset is relative to the data start and aligned.
 *   str = u64 len | len bytes (not NUL-terminated).
 *   array value = u32 elem_type | u64 count | count values (arrays nest).
 *
 * gguf_open() maps the file and checks everything before any use: every
 * length, count, dimension, type and offset, with 64-bit overflow checks, and
 * fails with "FILE: what is wrong (at byte N)". After a successful open every
 * accessor below is safe and cannot fail on bounds.
 * Strings point into the mapping and are not NUL-terminated. */
#ifndef CHORD_GGUF_H
#define CHORD_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum gguf_vtype {
	GGUF_UINT8 = 0, GGUF_INT8 = 1, GGUF_UINT16 = 2, GGUF_INT16 = 3,
	GGUF_UINT32 = 4, GGUF_INT32 = 5, GGUF_FLOAT32 = 6, GGUF_BOOL = 7,
	GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_UINT64 = 10, GGUF_INT64 = 11,
	GGUF_FLOAT64 = 12,
	GGUF_NTYPES
};

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32
/* llama.cpp's gguf.cpp takes any power of two that fits its u32; we stop at
 * 1 MiB, far above the 32 (or 64) that writers use, so that the padding a
 * file asks for (before the data, after each tensor) stays small: at 2^31 a
 * 57-byte file made gguf-repack write 2 GiB. */
#define GGUF_MAX_ALIGNMENT (1 << 20)

struct gguf_str {
	uint64_t len;
	const char *p;
};

/* One metadata value. Scalars are decoded; strings point into the file;
 * arrays keep their element type, count and where their elements start. */
struct gguf_value {
	uint32_t type;                  /* enum gguf_vtype */
	union {
		uint64_t u;             /* UINT8..UINT64, BOOL (0/1) */
		int64_t i;              /* INT8..INT64 */
		double f;               /* FLOAT32, FLOAT64 */
		struct gguf_str s;      /* STRING */
		struct {
			uint32_t type;  /* element type (may be ARRAY) */
			uint64_t n;     /* element count */
			uint64_t off;   /* file offset of the first element */
		} arr;
	} v;
};

struct gguf_kv {
	struct gguf_str key;
	struct gguf_value val;
	uint64_t off;                   /* file offset of the key */
};

struct gguf_tensor {
	struct gguf_str name;
	uint32_t n_dims;
	uint64_t ne[GGUF_MAX_DIMS];     /* ne[0] is the row length; unused = 1 */
	uint32_t type;                  /* enum ggml_type (quant.h) */
	uint64_t offset;                /* relative to the data section */
	uint64_t nbytes;                /* checked: fits in the file */
	uint64_t nelem;
	const void *data;               /* into the mapping */
};

struct gguf {
	const char *path;
	const uint8_t *base;            /* the mapping (or a memory buffer) */
	uint64_t size;
	uint32_t version;
	uint64_t n_kv;
	struct gguf_kv *kv;
	uint64_t n_tensors;
	struct gguf_tensor *tensors;
	uint64_t alignment;
	uint64_t data_off;              /* file offset of the data section */
	int mapped;                     /* base was mmapped by gguf_open */
	uint64_t *by_name;              /* tensors by name: open addressing,
	                                 * index + 1 (0: empty slot) */
	uint64_t by_name_mask;          /* slots - 1, a power of two less 1 */
};

/* Open and validate a GGUF file. Returns NULL and fills e on error. */
struct gguf *gguf_open(const char *path, struct cerr *e);
/* Validate a GGUF image already in memory (not copied; must outlive ctx).
 * name is used in messages. */
struct gguf *gguf_open_mem(const void *buf, uint64_t size, const char *name,
	struct cerr *e);
void gguf_close(struct gguf *g);
/* The size a GGUF file declares, from its first n bytes (a stream being
 * decoded): the header padded to the alignment, then tensor data up to the
 * end of the last tensor, padded too. Returns 1 and sets *size; 0 when the n
 * bytes end inside the header; -1 with e filled when the header is bad. */
int gguf_declared_size(const void *buf, uint64_t n, const char *name,
	uint64_t *size, struct cerr *e);

const char *gguf_vtype_name(uint32_t t);

/* Lookups. find returns the index or -1. */
int64_t gguf_find_key(const struct gguf *g, const char *key);
const struct gguf_kv *gguf_kv_get(const struct gguf *g, const char *key);
int64_t gguf_find_tensor(const struct gguf *g, const char *name);
const struct gguf_tensor *gguf_tensor_get(const struct gguf *g,
	const char *name);
/* 1 if s equals the NUL-terminated c. */
int gguf_str_eq(struct gguf_str s, const char *c);

/* Typed getters with conversion between integer types (range-checked) and
 * between float types. Return 0, or -1 if absent or of another kind (e is
 * filled: "KEY: expected an integer, found string"). */
int gguf_get_u64(const struct gguf *g, const char *key, uint64_t *out,
	struct cerr *e);
int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out,
	struct cerr *e);
int gguf_get_f64(const struct gguf *g, const char *key, double *out,
	struct cerr *e);
int gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *out,
	struct cerr *e);
int gguf_get_bool(const struct gguf *g, const char *key, int *out,
	struct cerr *e);
/* An array's element type and count. */
int gguf_get_arr(const struct gguf *g, const char *key, uint32_t *elem_type,
	uint64_t *n, struct cerr *e);

/* Array elements. The array must be of the named element type; out has
 * room for n elements (the array's count). Numeric readers convert any
 * integer/float element type like the scalar getters. */
int gguf_arr_strs(const struct gguf *g, const struct gguf_value *v,
	struct gguf_str *out, struct cerr *e);
int gguf_arr_f32(const struct gguf *g, const struct gguf_value *v,
	float *out, struct cerr *e);
int gguf_arr_i64(const struct gguf *g, const struct gguf_value *v,
	int64_t *out, struct cerr *e);
/* Walk an array's elements in order (nested arrays included):
 *	struct gguf_arr_it it = { 0 };
 *	while (gguf_arr_next(g, v, &it, &el)) ...
 * Returns 1 with the next element in *out, 0 after the last. */
struct gguf_arr_it {
	uint64_t i;             /* elements returned so far */
	uint64_t off;           /* file offset of the next one */
};
int gguf_arr_next(const struct gguf *g, const struct gguf_value *v,
	struct gguf_arr_it *it, struct gguf_value *out);
/* Element i of any array (nested arrays included) as a gguf_value;
 * O(i) for arrays of strings or arrays, O(1) otherwise. */
int gguf_arr_elem(const struct gguf *g, const struct gguf_value *v,
	uint64_t i, struct gguf_value *out, struct cerr *e);

/* Writer: collect metadata and tensors, then write the file in one go.
 * Keys and names are copied; tensor data is referenced until written. */
struct gguf_writer;
struct gguf_writer *gguf_writer_new(uint32_t version, uint64_t alignment);
void gguf_writer_free(struct gguf_writer *w);
/* Copy a kv (from a reader) as is, arrays included. */
int gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf *src,
	const struct gguf_kv *kv, struct cerr *e);
int gguf_writer_set_u64(struct gguf_writer *w, const char *key,
	uint32_t type, uint64_t v, struct cerr *e);   /* any integer/bool type */
int gguf_writer_set_i64(struct gguf_writer *w, const char *key,
	uint32_t type, int64_t v, struct cerr *e);
int gguf_writer_set_f64(struct gguf_writer *w, const char *key,
	uint32_t type, double v, struct cerr *e);     /* FLOAT32 or FLOAT64 */
int gguf_writer_set_str(struct gguf_writer *w, const char *key,
	const char *s, size_t len, struct cerr *e);
/* An array of scalars of elem_type; data holds n little-endian elements. */
int gguf_writer_set_arr(struct gguf_writer *w, const char *key,
	uint32_t elem_type, const void *data, uint64_t n, struct cerr *e);
int gguf_writer_set_arr_str(struct gguf_writer *w, const char *key,
	const struct gguf_str *strs, uint64_t n, struct cerr *e);
/* Setting a key that exists replaces its value in place (order kept). */
int gguf_writer_del(struct gguf_writer *w, const char *key);
int gguf_writer_add_tensor(struct gguf_writer *w, const char *name,
	uint32_t n_dims, const uint64_t *ne, uint32_t type, const void *data,
	uint64_t nbytes, struct cerr *e);
/* A tensor whose bytes are made only when the file is written, one tensor
 * in memory at a time: fill writes exactly nbytes into dst. */
typedef int (*gguf_fill_fn)(void *ctx, const char *name, void *dst,
	uint64_t nbytes, struct cerr *e);
int gguf_writer_add_tensor_fill(struct gguf_writer *w, const char *name,
	uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t nbytes,
	gguf_fill_fn fill, void *ctx, struct cerr *e);
/* The size of the file as it would be written now (0: out of memory). */
uint64_t gguf_writer_size(const struct gguf_writer *w);
/* Where the bytes go: put() writes all n bytes or fails filling e. */
struct gguf_out {
	int (*put)(void *ctx, const void *p, size_t n, struct cerr *e);
	void *ctx;
};
int gguf_writer_write_to(struct gguf_writer *w, const struct gguf_out *out,
	const char *name, struct cerr *e);
/* Write everything to fd (a regular file or a pipe). */
int gguf_writer_write(struct gguf_writer *w, int fd, const char *name,
	struct cerr *e);

#endif
