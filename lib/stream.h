/* stream.h: the two streams between the tools.
 *
 * TOKEN STREAM (text): whitespace-separated decimal token ids, one line per
 * batch. An optional first line
 *     #chord tokens vocab=<16 hex digits> n_vocab=<N>
 * names the vocabulary (vocab_fingerprint() of vocab.h); other lines starting
 * with '#' are comments, blank lines are skipped. A reader acts on each line
 * as soon as it has it. One control line, for a reader that keeps a KV cache
 * (chord-fwd):
 *     #chord keep <N>
 * drops every cached position past the first N (rejected draft tokens in
 * speculative decoding; N at most the positions filled); the next batch
 * continues at position N. Readers without a cache take it as a comment.
 *
 * LOGITS STREAM (binary, little-endian): a 64-byte stream header, then frames.
 *
 *   header  off size
 *           0   4   magic "CHLG"
 *           4   4   u32 version (1)
 *           8   4   u32 n_vocab
 *           12  4   u32 flags (0)
 *           16  8   u64 vocab fingerprint
 *           24  4   i32 bos id (-1: none)
 *           28  4   i32 eos id (-1: none)
 *           32  4   i32 eot id (-1: none)
 *           36  4   u32 n_eog: end-of-generation ids that follow (<= 6)
 *           40  24  i32 eog[6] (unused slots -1)
 *
 *   frame   0   4   magic "CHFR"
 *           4   4   u32 pos: position of the token evaluated (0-based)
 *           8   4   i32 token evaluated at pos
 *           12  4   u32 flags: bit 0 = last position of its batch
 *           16  4   u32 n_new: ids evaluated since the previous frame, this
 *                   frame's token last (so a reader sees the whole history)
 *           20  4*n_new  i32 ids
 *           ..  4*n_vocab f32 logits (predicting position pos+1)
 *
 * Each frame is flushed as soon as it is written. */
#ifndef CHORD_STREAM_H
#define CHORD_STREAM_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define LOGITS_VERSION 1
#define LOGITS_MAX_EOG 6
#define LOGITS_F_LAST 1u
/* A frame may carry at most this many history ids (a sanity bound). */
#define LOGITS_MAX_NEW (1u << 24)

/* ---- token stream ---- */

struct tokstream {
	FILE *f;
	const char *name;        /* for messages: "stdin", a file name */
	uint64_t expect_vocab;   /* set before reading: 0 = no check */
	uint32_t expect_n_vocab; /* ids must be < this; 0 = no check */
	uint64_t vocab;          /* from the header line, if any */
	uint32_t n_vocab;
	int have_header;
	int controls;            /* set before reading: report "#chord keep" */
	uint32_t keep;           /* its N, when tokstream_next returned 2 */
	int32_t *ids;            /* the current batch */
	size_t n;
	size_t cap;
	char *line;
	size_t linecap;
	uint64_t lineno;
};

void tokstream_init(struct tokstream *ts, FILE *f, const char *name);
/* Next batch into ts->ids / ts->n. Returns 1, 2 for a "#chord keep N"
 * line (ts->keep; only when ts->controls), 0 at end of input, -1 on
 * error ("stdin: line 3: token 99999 out of range (n_vocab 49152)",
 * "stdin: stream is for vocab 0123.., model has 4567..."). */
int tokstream_next(struct tokstream *ts, struct cerr *e);
void tokstream_free(struct tokstream *ts);

/* Write the header line / one batch line; both flush. -1 on write error. */
int tokstream_write_header(FILE *f, uint64_t vocab, uint32_t n_vocab);
int tokstream_write_batch(FILE *f, const int32_t *ids, size_t n);

/* ---- logits stream ---- */

struct logits_hdr {
	uint32_t version;
	uint32_t n_vocab;
	uint32_t flags;
	uint64_t vocab;
	int32_t bos, eos, eot;
	uint32_t n_eog;
	int32_t eog[LOGITS_MAX_EOG];
};

struct logits_frame {
	uint32_t pos;
	int32_t token;
	uint32_t flags;
	uint32_t n_new;
	int32_t *ids;            /* n_new; owned, grown by the reader */
	size_t ids_cap;
	float *logits;           /* n_vocab; owned */
	uint32_t logits_cap;
};

int logits_write_header(FILE *f, const struct logits_hdr *h, struct cerr *e);
int logits_write_frame(FILE *f, const struct logits_hdr *h, uint32_t pos,
	int32_t token, uint32_t flags, const int32_t *new_ids, uint32_t n_new,
	const float *logits, struct cerr *e);

/* Read the header: 0, or -1 ("stdin: not a logits stream", "empty input"). */
int logits_read_header(FILE *f, const char *name, struct logits_hdr *h,
	struct cerr *e);
/* Next frame: 1, 0 at a clean end of input, -1 on a truncated or bad frame
 * (one whose token or history ids are not in [0, n_vocab) among them). */
int logits_read_frame(FILE *f, const char *name, const struct logits_hdr *h,
	struct logits_frame *fr, struct cerr *e);
void logits_frame_free(struct logits_frame *fr);

#endif
