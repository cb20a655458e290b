/* stream.c: reading and writing the token and logits streams (stream.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

#define HDR_BYTES 64
#define FRAME_HDR_BYTES 20

/* ---- token stream ---- */

void
tokstream_init(struct tokstream *ts, FILE *f, const char *name)
{
	memset(ts, 0, sizeof *ts);
	ts->f = f;
	ts->name = name ? name : "stdin";
}

void
tokstream_free(struct tokstream *ts)
{
	free(ts->ids);
	free(ts->line);
	ts->ids = NULL;
	ts->line = NULL;
}

static int
push_id(struct tokstream *ts, int32_t id, struct cerr *e)
{
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 256;
		int32_t *p = realloc(ts->ids, cap * sizeof *p);

		if (!p)
			return cerr_set(e, "%s: out of memory", ts->name);
		ts->ids = p;
		ts->cap = cap;
	}
	ts->ids[ts->n++] = id;
	return 0;
}

/* "#chord tokens vocab=<hex> n_vocab=<N>": record it and check it against
 * what the reader expects. Other '#' lines are comments. */
static int
header_line(struct tokstream *ts, const char *s, struct cerr *e)
{
	unsigned long long vocab, nv;
	char tail;

	if (strncmp(s, "#chord tokens", 13) != 0)
		return 0;
	if (ts->lineno != 1)
		return cerr_set(e, "%s: line %" PRIu64 ": stream header not on "
		    "the first line", ts->name, ts->lineno);
	if (sscanf(s, "#chord tokens vocab=%16llx n_vocab=%llu %c", &vocab,
	    &nv, &tail) != 2 || nv == 0 || nv > INT32_MAX)
		return cerr_set(e, "%s: line 1: bad stream header", ts->name);
	ts->have_header = 1;
	ts->vocab = vocab;
	ts->n_vocab = (uint32_t)nv;
	if (ts->expect_vocab && ts->vocab != ts->expect_vocab)
		return cerr_set(e, "%s: token stream is for vocab %016" PRIx64
		    ", model has %016" PRIx64, ts->name, ts->vocab,
		    ts->expect_vocab);
	if (ts->expect_n_vocab && ts->n_vocab != ts->expect_n_vocab)
		return cerr_set(e, "%s: token stream has n_vocab %" PRIu32
		    ", model has %" PRIu32, ts->name, ts->n_vocab,
		    ts->expect_n_vocab);
	return 0;
}

static int
parse_ids(struct tokstream *ts, const char *s, struct cerr *e)
{
	uint32_t limit = ts->expect_n_vocab ? ts->expect_n_vocab : ts->n_vocab;

	for (;;) {
		uint64_t v = 0;
		const char *start;

		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' ||
		    *s == '\v' || *s == '\f')
			s++;
		if (!*s)
			return 0;
		start = s;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > INT32_MAX)
				return cerr_set(e, "%s: line %" PRIu64 ": token "
				    "id too large", ts->name, ts->lineno);
			s++;
		}
		if (s == start || (*s && !strchr(" \t\r\n\v\f", *s))) {
			char shown[64];
			size_t n = strcspn(start, " \t\r\n\v\f");

			cvis(shown, sizeof shown, start, n > 20 ? 20 : n);
			return cerr_set(e, "%s: line %" PRIu64 ": not a token "
			    "id: '%s'", ts->name, ts->lineno, shown);
		}
		if (limit && v >= limit)
			return cerr_set(e, "%s: line %" PRIu64 ": token %" PRIu64
			    " out of range (n_vocab %" PRIu32 ")", ts->name,
			    ts->lineno, v, limit);
		if (push_id(ts, (int32_t)v, e) < 0)
			return -1;
	}
}

/* " N\n" after "#chord keep": N into ts->keep; returns 2. */
static int
keep_line(struct tokstream *ts, const char *s, struct cerr *e)
{
	uint64_t v = 0;
	const char *start;

	if (*s != ' ')
		goto bad;
	while (*s == ' ')
		s++;
	start = s;
	while (*s >= '0' && *s <= '9' && v <= INT32_MAX)
		v = v * 10 + (uint64_t)(*s++ - '0');
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (s == start || *s || v > INT32_MAX)
		goto bad;
	ts->keep = (uint32_t)v;
	return 2;
bad:
	return cerr_set(e, "%s: line %" PRIu64 ": bad control line (want "
	    "\"#chord keep N\")", ts->name, ts->lineno);
}

int
tokstream_next(struct tokstream *ts, struct cerr *e)
{
	ssize_t len;

	for (;;) {
		errno = 0;
		len = getline(&ts->line, &ts->linecap, ts->f);
		if (len < 0) {
			if (ferror(ts->f))
				return cerr_set(e, "%s: %s", ts->name,
				    strerror(errno ? errno : EIO));
			return 0;
		}
		ts->lineno++;
		if (memchr(ts->line, '\0', (size_t)len))
			return cerr_set(e, "%s: line %" PRIu64 ": NUL byte in "
			    "token stream", ts->name, ts->lineno);
		if (ts->controls && !strncmp(ts->line, "#chord keep", 11))
			return keep_line(ts, ts->line + 11, e);
		if (ts->line[0] == '#') {
			if (header_line(ts, ts->line, e) < 0)
				return -1;
			continue;
		}
		ts->n = 0;
		if (parse_ids(ts, ts->line, e) < 0)
			return -1;
		if (ts->n > 0)
			return 1;
	}
}

int
tokstream_write_header(FILE *f, uint64_t vocab, uint32_t n_vocab)
{
	if (fprintf(f, "#chord tokens vocab=%016" PRIx64 " n_vocab=%" PRIu32
	    "\n", vocab, n_vocab) < 0)
		return -1;
	return fflush(f) == EOF ? -1 : 0;
}

int
tokstream_write_batch(FILE *f, const int32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fprintf(f, i ? " %" PRId32 : "%" PRId32, ids[i]) < 0)
			return -1;
	if (putc('\n', f) == EOF)
		return -1;
	return fflush(f) == EOF ? -1 : 0;
}

/* ---- logits stream: explicit little-endian fields ---- */

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static int
little_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

int
logits_write_header(FILE *f, const struct logits_hdr *h, struct cerr *e)
{
	uint8_t b[HDR_BYTES];

	memset(b, 0, sizeof b);
	memcpy(b, "CHLG", 4);
	put32(b + 4, LOGITS_VERSION);
	put32(b + 8, h->n_vocab);
	put32(b + 12, h->flags);
	put32(b + 16, (uint32_t)h->vocab);
	put32(b + 20, (uint32_t)(h->vocab >> 32));
	put32(b + 24, (uint32_t)h->bos);
	put32(b + 28, (uint32_t)h->eos);
	put32(b + 32, (uint32_t)h->eot);
	put32(b + 36, h->n_eog);
	for (int i = 0; i < LOGITS_MAX_EOG; i++)
		put32(b + 40 + 4 * i, (uint32_t)((uint32_t)i < h->n_eog ?
		    h->eog[i] : -1));
	if (fwrite(b, 1, sizeof b, f) != sizeof b || fflush(f) == EOF)
		return cerr_set(e, "stdout: %s", strerror(errno ? errno : EIO));
	return 0;
}

static int
write_f32s(FILE *f, const float *x, uint32_t n)
{
	uint8_t buf[4096];

	if (little_endian())
		return fwrite(x, sizeof *x, n, f) == n ? 0 : -1;
	for (uint32_t i = 0; i < n;) {
		uint32_t k = 0;

		for (; k < sizeof buf / 4 && i < n; k++, i++) {
			uint32_t u;

			memcpy(&u, &x[i], 4);
			put32(buf + 4 * k, u);
		}
		if (fwrite(buf, 4, k, f) != k)
			return -1;
	}
	return 0;
}

int
logits_write_frame(FILE *f, const struct logits_hdr *h, uint32_t pos,
	int32_t token, uint32_t flags, const int32_t *new_ids, uint32_t n_new,
	const float *logits, struct cerr *e)
{
	uint8_t b[FRAME_HDR_BYTES];

	memcpy(b, "CHFR", 4);
	put32(b + 4, pos);
	put32(b + 8, (uint32_t)token);
	put32(b + 12, flags);
	put32(b + 16, n_new);
	if (fwrite(b, 1, sizeof b, f) != sizeof b)
		goto fail;
	for (uint32_t i = 0; i < n_new; i++) {
		uint8_t w[4];

		put32(w, (uint32_t)new_ids[i]);
		if (fwrite(w, 1, 4, f) != 4)
			goto fail;
	}
	if (write_f32s(f, logits, h->n_vocab) < 0 || fflush(f) == EOF)
		goto fail;
	return 0;
fail:
	return cerr_set(e, "stdout: %s", strerror(errno ? errno : EIO));
}

/* Read exactly n bytes: n (all), 0 (clean EOF before any byte) or -1. */
static int
read_full(FILE *f, void *buf, size_t n, size_t *got)
{
	*got = fread(buf, 1, n, f);
	if (*got == n)
		return 1;
	return *got == 0 && !ferror(f) ? 0 : -1;
}

int
logits_read_header(FILE *f, const char *name, struct logits_hdr *h,
	struct cerr *e)
{
	uint8_t b[HDR_BYTES];
	size_t got;
	int r;

	name = name ? name : "stdin";
	r = read_full(f, b, sizeof b, &got);
	if (r == 0)
		return cerr_set(e, "%s: empty logits stream", name);
	if (got >= 4 && memcmp(b, "CHLG", 4) != 0)
		return cerr_set(e, "%s: not a logits stream (bad magic)", name);
	if (r < 0)
		return cerr_set(e, "%s: truncated logits stream header", name);
	memset(h, 0, sizeof *h);
	h->version = get32(b + 4);
	if (h->version != LOGITS_VERSION)
		return cerr_set(e, "%s: logits stream version %" PRIu32
		    " not supported", name, h->version);
	h->n_vocab = get32(b + 8);
	if (h->n_vocab == 0 || h->n_vocab > (1u << 24))
		return cerr_set(e, "%s: bad n_vocab %" PRIu32, name,
		    h->n_vocab);
	h->flags = get32(b + 12);
	h->vocab = (uint64_t)get32(b + 16) | (uint64_t)get32(b + 20) << 32;
	h->bos = (int32_t)get32(b + 24);
	h->eos = (int32_t)get32(b + 28);
	h->eot = (int32_t)get32(b + 32);
	h->n_eog = get32(b + 36);
	if (h->n_eog > LOGITS_MAX_EOG)
		return cerr_set(e, "%s: bad n_eog %" PRIu32, name, h->n_eog);
	for (int i = 0; i < LOGITS_MAX_EOG; i++)
		h->eog[i] = (int32_t)get32(b + 40 + 4 * i);
	return 0;
}

/* Ids from a stream index arrays: each must be in [0, n_vocab). */
static int
bad_id(const struct logits_hdr *h, int32_t id)
{
	return id < 0 || (uint32_t)id >= h->n_vocab;
}

int
logits_read_frame(FILE *f, const char *name, const struct logits_hdr *h,
	struct logits_frame *fr, struct cerr *e)
{
	uint8_t b[FRAME_HDR_BYTES];
	size_t got;
	int r;

	name = name ? name : "stdin";
	r = read_full(f, b, sizeof b, &got);
	if (r == 0)
		return 0;
	if (r < 0)
		return cerr_set(e, "%s: truncated logits frame", name);
	if (memcmp(b, "CHFR", 4) != 0)
		return cerr_set(e, "%s: bad logits frame (bad magic)", name);
	fr->pos = get32(b + 4);
	fr->token = (int32_t)get32(b + 8);
	fr->flags = get32(b + 12);
	fr->n_new = get32(b + 16);
	if (fr->n_new > LOGITS_MAX_NEW)
		return cerr_set(e, "%s: bad logits frame (%" PRIu32 " ids)",
		    name, fr->n_new);
	if (fr->n_new > fr->ids_cap) {
		int32_t *p = realloc(fr->ids, (size_t)fr->n_new * sizeof *p);

		if (!p)
			return cerr_set(e, "%s: out of memory", name);
		fr->ids = p;
		fr->ids_cap = fr->n_new;
	}
	if (bad_id(h, fr->token))
		return cerr_set(e, "%s: frame at position %" PRIu32 ": token %"
		    PRId32 " out of range (n_vocab %" PRIu32 ")", name, fr->pos,
		    fr->token, h->n_vocab);
	for (uint32_t i = 0; i < fr->n_new; i++) {
		uint8_t w[4];

		if (read_full(f, w, 4, &got) != 1)
			return cerr_set(e, "%s: truncated logits frame", name);
		fr->ids[i] = (int32_t)get32(w);
		if (bad_id(h, fr->ids[i]))
			return cerr_set(e, "%s: frame at position %" PRIu32
			    ": history id %" PRId32 " out of range (n_vocab %"
			    PRIu32 ")", name, fr->pos, fr->ids[i], h->n_vocab);
	}
	if (h->n_vocab > fr->logits_cap) {
		float *p = realloc(fr->logits, (size_t)h->n_vocab * sizeof *p);

		if (!p)
			return cerr_set(e, "%s: out of memory", name);
		fr->logits = p;
		fr->logits_cap = h->n_vocab;
	}
	if (read_full(f, fr->logits, (size_t)h->n_vocab * 4, &got) != 1)
		return cerr_set(e, "%s: truncated logits frame", name);
	if (!little_endian())
		for (uint32_t i = 0; i < h->n_vocab; i++) {
			uint32_t u = get32((const uint8_t *)&fr->logits[i]);

			memcpy(&fr->logits[i], &u, 4);
		}
	return 1;
}

void
logits_frame_free(struct logits_frame *fr)
{
	free(fr->ids);
	free(fr->logits);
	fr->ids = NULL;
	fr->logits = NULL;
	fr->ids_cap = 0;
	fr->logits_cap = 0;
}
