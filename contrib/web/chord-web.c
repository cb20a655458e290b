/* chord-web.c: the C API that contrib/web/worker.js calls in the browser.
 *
 * One model and one conversation at a time, held in this file's state:
 *
 *	cw_load(buf, size, name, n_ctx)  the GGUF image in buf (malloc'd,
 *	                    now ours); name is for messages
 *	cw_turn(text, sys)  a user turn wrapped in the chat template: ids at
 *	                    cw_ids(), their count returned
 *	cw_eval(ids, n)     feed ids to the model (a batch)
 *	cw_sampler(...)     set the sampling chain
 *	cw_sample()         the next id from the last logits (not fed yet)
 *	cw_feed()           feed the id cw_sample() gave
 *	cw_piece(id)        its text, complete UTF-8 only, at cw_out()
 *	cw_reset()          a new conversation
 *	cw_threads(n)       threads of the forward pass (chord-mt.js; 1 in
 *	                    chord.js), for the next batch on
 *	cw_portable(on)     the portable C kernels instead of SIMD128 from the
 *	                    next cw_load or cw_reset on (tests)
 *	cw_logits()         the logits of the last position fed (n_vocab)
 *
 * Functions that can fail return -1 and leave the message at cw_error().
 * A turn is fed as chord-gen -i feeds it: the id that ended the last answer
 * (end-of-generation, or the last one sampled when stopped) first, then the
 * turn, with BOS and the system text only on the first. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <emscripten.h>

#include "chat.h"
#include "fwd.h"
#include "gguf.h"
#include "model.h"
#include "par.h"
#include "plan.h"
#include "sample.h"
#include "tok.h"
#include "unicode.h"
#include "vocab.h"

#define API EMSCRIPTEN_KEEPALIVE
#define CTX_CAP 4096            /* as chord-fwd: context when the model's is
                                 * larger */
#define TEMPLATES "/templates"  /* share/templates, embedded by make wasm */

static struct {
	void *file;             /* the GGUF image */
	char name[256];         /* its name in messages */
	struct gguf *g;
	struct model m;
	struct vocab v;
	struct tok *tk;
	struct plan p;
	struct fwd *f;
	int n_ctx;
	const char *chat;       /* template name, NULL: plain text */
	struct sampler s;
	int have_sampler;
	struct ids hist;        /* every id fed, oldest first */
	float *scratch;         /* (n_vocab) the logits the sampler changes */
	struct ids turn;        /* cw_turn's ids */
	int32_t last;           /* sampled, not fed yet (-1: none) */
	char pend[64];          /* an unfinished UTF-8 character */
	size_t n_pend;
	char out[4096 + 64];    /* cw_piece's text */
	char info[512];
	struct cerr e;
	int have_model, have_vocab, have_plan;
	int portable;           /* cw_portable; survives cw_unload */
} w = { .last = -1 };

API const char *
cw_error(void)
{
	return w.e.msg;
}

API void
cw_unload(void)
{
	int portable;

	if (w.have_sampler)
		sampler_free(&w.s);
	fwd_close(w.f);
	if (w.have_plan)
		plan_free(&w.p);
	tok_close(w.tk);
	if (w.have_vocab)
		vocab_free(&w.v);
	if (w.have_model)
		model_free(&w.m);
	gguf_close(w.g);
	free(w.file);
	ids_free(&w.hist);
	free(w.scratch);
	w.scratch = NULL;
	ids_free(&w.turn);
	portable = w.portable;
	memset(&w, 0, sizeof w);
	w.last = -1;
	w.portable = portable;
}

/* The model's own template if chat.h knows it, else none. */
static const char *
pick_chat(void)
{
	struct gguf_str t;
	struct cerr e;

	if (gguf_get_str(w.g, "tokenizer.chat_template", &t, &e) < 0)
		return NULL;
	return chat_recognise(&t);
}

static void
set_info(void)
{
	struct gguf_str name = { 0, "" };
	struct cerr e;
	char vis[128];

	if (gguf_get_str(w.g, "general.name", &name, &e) < 0)
		name.len = 0;
	/* terminal-safe, then JSON-safe: no quote, no backslash */
	cvis(vis, sizeof vis, name.p, name.len);
	for (char *c = vis; *c; c++)
		if (*c == '"' || *c == '\\')
			*c = '_';
	snprintf(w.info, sizeof w.info, "{\"name\": \"%s\", \"arch\": \"%s\", "
	    "\"n_vocab\": %d, \"n_layer\": %d, \"dim\": %d, \"n_ctx\": %d, "
	    "\"chat\": \"%s\"}", vis, w.m.hp.arch, w.m.hp.n_vocab,
	    w.m.hp.n_layer, w.m.hp.dim, w.n_ctx, w.chat ? w.chat : "");
}

/* Load the GGUF image buf of size bytes (malloc'd; freed by cw_unload,
 * also when this fails), called name in messages. n_ctx 0: the model's, at
 * most CTX_CAP. */
API int
cw_load(void *buf, double size, const char *name, int n_ctx)
{
	struct fwd_opts fo = { 0 };

	cw_unload();
	w.file = buf;
	cvis(w.name, sizeof w.name, name, strlen(name));
	setenv("CHORD_TEMPLATES", TEMPLATES, 1);
	if (!(w.g = gguf_open_mem(buf, (uint64_t)size, w.name, &w.e)))
		return -1;
	if (model_load(&w.m, w.g, &w.e) < 0)
		return -1;
	w.have_model = 1;
	if (vocab_load(&w.v, w.g, &w.e) < 0)
		return -1;
	w.have_vocab = 1;
	if (!(w.tk = tok_open(w.g, &w.v, &w.e)))
		return -1;
	if (n_ctx <= 0)
		n_ctx = w.m.hp.n_ctx_train < CTX_CAP ? w.m.hp.n_ctx_train :
		    CTX_CAP;
	w.n_ctx = fo.n_ctx = n_ctx;
	fo.portable = w.portable;
	if (plan_build(&w.p, &w.m, n_ctx, &w.e) < 0)
		return -1;
	w.have_plan = 1;
	if (!(w.f = fwd_open(&w.p, &fo, &w.e)))
		return -1;
	w.chat = pick_chat();
	set_info();
	return 0;
}

/* JSON: name, arch, n_vocab, n_layer, dim, n_ctx, chat (template or ""). */
API const char *
cw_info(void)
{
	return w.info;
}

/* A new conversation: an empty KV cache and history. */
API int
cw_reset(void)
{
	struct fwd_opts fo = { .n_ctx = w.n_ctx, .portable = w.portable };

	if (!w.f)
		return cerr_set(&w.e, "no model loaded");
	fwd_close(w.f);
	if (!(w.f = fwd_open(&w.p, &fo, &w.e)))
		return -1;
	w.hist.n = 0;
	w.last = -1;
	w.n_pend = 0;
	return 0;
}

/* Threads for the forward pass from the next batch on: n, or as many as
 * the build can start (one without threads, fewer if the browser gives
 * fewer workers). Returns the number it will ask for. */
API int
cw_threads(int n)
{
	par_set_threads(n);
	return par_threads();
}

/* The portable C kernels (on) or the SIMD128 ones, from the next cw_load
 * or cw_reset on: the tests compare the two. */
API void
cw_portable(int on)
{
	w.portable = on != 0;
}

API const float *
cw_logits(void)
{
	return w.f && fwd_n_pos(w.f) > 0 ? fwd_logits(w.f) : NULL;
}

/* Wrap a user turn (UTF-8) in the chat template; system (may be "") only
 * counts on the first turn. Returns the number of ids at cw_ids(). */
API int
cw_turn(const char *text, const char *system)
{
	int first = w.hist.n == 0;
	struct chat_msg msg = { first && *system ? system : NULL, text,
	    strlen(text) };

	if (!w.tk)
		return cerr_set(&w.e, "no model loaded");
	w.turn.n = 0;
	if (w.last >= 0 && ids_push(&w.turn, w.last) < 0)
		return cerr_set(&w.e, "out of memory");
	if (w.chat) {
		if (chat_encode(w.tk, w.chat, &msg, first, &w.turn, &w.e) < 0)
			return -1;
	} else if (tok_encode(w.tk, text, msg.user_len, first, 0, &w.turn,
	    &w.e) < 0) {
		return -1;
	}
	w.last = -1;    /* it is the turn's now */
	return (int)w.turn.n;
}

API const int32_t *
cw_ids(void)
{
	return w.turn.v;
}

/* Feed n ids as one batch; they join the history. */
API int
cw_eval(const int32_t *ids, int n)
{
	if (!w.f)
		return cerr_set(&w.e, "no model loaded");
	if (n > fwd_n_ctx(w.f) - fwd_n_pos(w.f))
		return cerr_set(&w.e, "%d tokens overflow the context (%d of %d "
		    "positions used)", n, fwd_n_pos(w.f), fwd_n_ctx(w.f));
	if (fwd_eval(w.f, ids, n, 0, &w.e) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (ids_push(&w.hist, ids[i]) < 0)
			return cerr_set(&w.e, "out of memory");
	return 0;
}

/* The sampling chain: temp 0 is greedy; top_k 0 and top_p 1 are off. The
 * rest as chord-sample's defaults (min-p 0.05, no penalties). */
API int
cw_sampler(double temp, int top_k, double top_p, double seed)
{
	struct sampler_opts o;

	if (!w.f)
		return cerr_set(&w.e, "no model loaded");
	sampler_defaults(&o);
	o.temp = (float)temp;
	o.top_k = top_k;
	o.top_p = (float)top_p;
	o.seed = (uint64_t)seed;
	if (w.have_sampler)
		sampler_free(&w.s);
	w.have_sampler = 0;
	sampler_init(&w.s, &o);
	w.have_sampler = 1;
	return 0;
}

/* The next id after what was fed; it waits in w.last until cw_feed(). */
API int
cw_sample(void)
{
	int32_t id;

	if (!w.have_sampler)
		return cerr_set(&w.e, "no sampler set");
	if (fwd_n_pos(w.f) == 0)
		return cerr_set(&w.e, "nothing fed yet");
	if (!w.scratch && !(w.scratch = malloc((size_t)w.m.hp.n_vocab *
	    sizeof *w.scratch)))
		return cerr_set(&w.e, "out of memory");
	memcpy(w.scratch, fwd_logits(w.f), (size_t)w.m.hp.n_vocab *
	    sizeof *w.scratch);
	id = sample(&w.s, w.scratch, (size_t)w.m.hp.n_vocab, w.hist.v,
	    w.hist.n, &w.e);
	if (id >= 0)
		w.last = id;
	return id;
}

API int
cw_is_eog(int id)
{
	for (uint32_t i = 0; i < w.v.n_eog; i++)
		if (w.v.eog[i] == id)
			return 1;
	return 0;
}

/* Feed the id cw_sample() gave. */
API int
cw_feed(void)
{
	int32_t id = w.last;

	if (id < 0)
		return cerr_set(&w.e, "nothing sampled to feed");
	if (cw_eval(&id, 1) < 0)
		return -1;
	w.last = -1;
	return 0;
}

/* Move the complete UTF-8 of pend to out at o; keep an unfinished
 * character unless final. Bytes that can never be UTF-8 pass through (the
 * page's decoder shows them as U+FFFD). Returns the new end of out. */
static size_t
take_utf8(size_t o, int final)
{
	size_t i = 0;

	while (i < w.n_pend) {
		int k = utf8_valid(w.pend + i, w.n_pend - i);

		if (k == 0) {
			unsigned char c = (unsigned char)w.pend[i];
			size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 :
			    c >= 0xc0 ? 2 : 1;
			int wait = !final && need > 1 && w.n_pend - i < need;

			for (size_t j = i + 1; wait && j < w.n_pend; j++)
				wait = ((unsigned char)w.pend[j] & 0xc0) == 0x80;
			if (wait)
				break;
			k = 1;
		}
		memcpy(w.out + o, w.pend + i, (size_t)k);
		o += (size_t)k;
		i += (size_t)k;
	}
	memmove(w.pend, w.pend + i, w.n_pend - i);
	w.n_pend -= i;
	return o;
}

/* The text of id (control tokens give none) that completes characters,
 * at cw_out(); returns its length. id -1: flush what is left. */
API int
cw_piece(int id)
{
	char buf[4096];
	int k = 0;
	size_t o = 0;

	if (!w.tk)
		return cerr_set(&w.e, "no model loaded");
	if (id >= 0 && (k = tok_piece(w.tk, id, 0, buf, sizeof buf)) < 0)
		return cerr_set(&w.e, "token %d out of range", id);
	for (int j = 0; j < k; j++) {
		if (w.n_pend == sizeof w.pend)
			o = take_utf8(o, 1);
		w.pend[w.n_pend++] = buf[j];
	}
	return (int)take_utf8(o, id < 0);
}

API const char *
cw_out(void)
{
	return w.out;
}

API int
cw_n_pos(void)
{
	return w.f ? fwd_n_pos(w.f) : 0;
}

API int
cw_n_ctx(void)
{
	return w.n_ctx;
}
