// worker.js: the model runs here, off the page's thread, through the C API
// of chord-web.c (build/wasm/chord.js). The model file lives in the
// origin-private file system (OPFS) as model.gguf, with model.json saying
// where it came from, so a later visit loads it without a download.
//
// From the page: {type: "init"} (load the stored model, if any),
// "load-url" {url}, "load-file" {file}, "forget", "reset", "stop",
// "generate" {text, system, temp, top_k, top_p, seed, n_predict},
// "bench" {pp, tg, threads} (arrays of ids), "logits" {ids, threads,
// portable} (tests: the logits after ids as one batch, then after one more
// id alone; the settings are restored after).
// To the page: "status" {text}, "progress" {done, total}, "loaded" {info,
// source, stored, threads}, "empty", "token" {id, text}, "done" {ids,
// reason, prompt_tokens, prompt_ms, gen_tokens, gen_ms}, "bench" {pp, tg,
// threads, mt, relaxed}, "logits" {batch, next, threads, relaxed}
// (Float32Arrays), "error" {message}.
//
// Threads: where the page is cross-origin isolated (SharedArrayBuffer),
// the threaded build (chord-mt.js) with a thread per core the browser
// reports; elsewhere chord.js and one thread.
// Relaxed SIMD: where the browser validates i16x8.relaxed_dot_i8x16_i7x16_s
// and f32x4.relaxed_madd (the probe below: a function of v128.consts and
// those opcodes), the same build with them (chord-mt-rs.js, chord-rs.js:
// faster Q4_1 dots and attention, the same results), unless the page's URL
// says ?simd=plain (tests) or make wasm built none (no clang 15).
const MT = self.crossOriginIsolated === true;
const THREADS = MT ? Math.min(navigator.hardwareConcurrency || 1, 16) : 1;
const BUILD = MT ? "./wasm/chord-mt.js" : "./wasm/chord.js";
const BUILD_RS = MT ? "./wasm/chord-mt-rs.js" : "./wasm/chord-rs.js";
const ZERO16 = new Array(16).fill(0);
const PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0,
	1, 5, 1, 0x60, 0, 1, 0x7b,              // type: () -> v128
	3, 2, 1, 0,                             // one function
	10, 82, 1, 80, 0,                       // its code, no locals
	0xfd, 12, ...ZERO16, 0xfd, 12, ...ZERO16,       // v128.const x 2
	0xfd, 0x92, 2,                          // the dot (0x112)
	0xfd, 12, ...ZERO16, 0xfd, 12, ...ZERO16,       // v128.const x 2
	0xfd, 0x85, 2, 11]);                    // relaxed_madd (0x105), end
const RELAXED = new URLSearchParams(self.location.search).get("simd") !==
    "plain" && WebAssembly.validate(PROBE);
let relaxed = false;            // the module loaded is a -rs one

const BATCH = 512;              // prompt ids per batch, as chord-fwd -b
let M = null;                   // the wasm module
let loaded = false;
let busy = false;               // a generation is running
let stopping = false;

const post = (type, o = {}) => postMessage({ type, ...o });
const error = () => M.UTF8ToString(M._cw_error());

// Let queued messages (a stop) in between two tokens.
const yieldNow = () => new Promise((r) => {
	const ch = new MessageChannel();
	ch.port1.onmessage = r;
	ch.port2.postMessage(0);
});

async function store() {
	if (!navigator.storage || !navigator.storage.getDirectory)
		throw new Error("this browser has no origin-private file system");
	return navigator.storage.getDirectory();
}

async function exists(dir, name) {
	try {
		await dir.getFileHandle(name);
		return true;
	} catch {
		return false;
	}
}

// Copy a stream of bytes into OPFS's model.gguf, reporting progress.
async function save(stream, total, source) {
	const dir = await store();
	await dir.removeEntry("model.json").catch(() => {});
	const fh = await dir.getFileHandle("model.gguf", { create: true });
	const ah = await fh.createSyncAccessHandle();
	let done = 0, last = 0;
	try {
		ah.truncate(0);
		const rd = stream.getReader();
		for (;;) {
			const { value, done: end } = await rd.read();
			if (end)
				break;
			ah.write(value, { at: done });
			done += value.byteLength;
			if (done - last > (4 << 20)) {
				post("progress", { done, total });
				last = done;
			}
		}
		ah.flush();
	} finally {
		ah.close();
	}
	post("progress", { done, total: done });
	// written last: a file without it is an interrupted download
	const meta = await dir.getFileHandle("model.json", { create: true });
	const w = await meta.createWritable();
	await w.write(JSON.stringify({ source, size: done }));
	await w.close();
}

// Read OPFS's model.gguf straight into wasm memory and open it.
async function open(source, stored) {
	const dir = await store();
	const fh = await dir.getFileHandle("model.gguf");
	const ah = await fh.createSyncAccessHandle();
	let p = 0;
	try {
		const size = ah.getSize();
		post("status", { text: `reading ${mib(size)} MiB` });
		if (M)
			M._cw_unload();
		loaded = false;
		p = M._malloc(size) >>> 0;
		if (!p)
			throw new Error(`no memory for a model of ${mib(size)} MiB`);
		for (let at = 0; at < size;) {
			const n = Math.min(64 << 20, size - at);
			// a fresh view each time: memory may have grown
			const got = ah.read(M.HEAPU8.subarray(p + at, p + at + n),
			    { at });
			if (got <= 0)
				throw new Error("model.gguf: short read");
			at += got;
		}
		const t0 = performance.now();
		const r = M.ccall("cw_load", "number",
		    ["number", "number", "string", "number"],
		    [p, size, baseName(source), 0]);
		p = 0;          // cw_load owns it now, failed or not
		if (r < 0)
			throw new Error(error());
		loaded = true;
		const info = JSON.parse(M.UTF8ToString(M._cw_info()));
		post("loaded", { info, source, stored, threads: THREADS,
		    ms: Math.round(performance.now() - t0) });
	} finally {
		if (p)
			M._free(p);
		ah.close();
	}
}

const baseName = (s) => s.replace(/[?#].*/, "").replace(/.*\//, "") || s;
const mib = (n) => (n / (1 << 20)).toFixed(1);

async function init() {
	let mod = null;
	if (RELAXED)
		mod = await import(BUILD_RS).catch(() => null);
	relaxed = mod !== null;
	const { default: chord } = mod || await import(BUILD);
	M = await chord();
	M._cw_threads(THREADS);
	const dir = await store();
	if (!(await exists(dir, "model.json")) ||
	    !(await exists(dir, "model.gguf")))
		return post("empty");
	const meta = await (await (await dir.getFileHandle("model.json"))
	    .getFile()).text();
	await open(JSON.parse(meta).source, true);
}

async function loadUrl(url) {
	post("status", { text: `downloading ${url}` });
	const r = await fetch(url);
	if (!r.ok)
		throw new Error(`${url}: ${r.status} ${r.statusText}`);
	await save(r.body, Number(r.headers.get("Content-Length")) || 0, url);
	await open(url, false);
}

async function loadFile(file) {
	post("status", { text: `storing ${file.name}` });
	await save(file.stream(), file.size, file.name);
	await open(file.name, false);
}

async function forget() {
	const dir = await store();
	await dir.removeEntry("model.json").catch(() => {});
	await dir.removeEntry("model.gguf").catch(() => {});
	if (loaded)
		M._cw_unload();
	loaded = false;
	post("empty");
}

// Feed n ids at p (wasm memory) in batches; false when stopped.
async function feed(p, n) {
	for (let a = 0; a < n; a += BATCH) {
		if (M._cw_eval(p + 4 * a, Math.min(BATCH, n - a)) < 0)
			throw new Error(error());
		if (a + BATCH < n) {
			await yieldNow();
			if (stopping)
				return false;
		}
	}
	return true;
}

// One answer: the turn's ids in, then sample, show, feed back, until an
// end-of-generation id, n_predict ids or a stop.
async function generate(m) {
	const ids = [];
	let reason = "eog", t1, t2;
	if (!loaded)
		throw new Error("no model loaded");
	if (M._cw_sampler(m.temp, m.top_k, m.top_p, m.seed) < 0)
		throw new Error(error());
	const t0 = performance.now();
	const n = M.ccall("cw_turn", "number", ["string", "string"],
	    [m.text, m.system || ""]);
	if (n < 0)
		throw new Error(error());
	const dec = new TextDecoder();
	const out = () => {
		const k = M._cw_piece(-1);
		const p = M._cw_out() >>> 0;
		return k > 0 ? dec.decode(M.HEAPU8.slice(p, p + k)) : "";
	};
	if (!(await feed(M._cw_ids() >>> 0, n))) {
		reason = "stop";
	} else {
		t1 = performance.now();
		for (;;) {
			await yieldNow();
			if (stopping) {
				reason = "stop";
				break;
			}
			const id = M._cw_sample();
			if (id < 0)
				throw new Error(error());
			if (M._cw_is_eog(id))
				break;
			ids.push(id);
			const k = M._cw_piece(id);
			const p = M._cw_out() >>> 0;
			const text = k > 0 ?
			    dec.decode(M.HEAPU8.slice(p, p + k), { stream: true }) :
			    "";
			post("token", { id, text });
			if (m.n_predict > 0 && ids.length >= m.n_predict) {
				reason = "limit";
				break;
			}
			if (M._cw_feed() < 0)
				throw new Error(error());
		}
	}
	const rest = out();
	if (rest)
		post("token", { id: -1, text: rest });
	t2 = performance.now();
	post("done", { ids, reason, prompt_tokens: n,
	    prompt_ms: t1 ? t1 - t0 : 0, gen_tokens: ids.length,
	    gen_ms: t1 ? t2 - t1 : 0, n_pos: M._cw_n_pos(),
	    n_ctx: M._cw_n_ctx() });
}

// chord-fwd's benchmark: pp ids as one batch, then tg ids one at a time,
// each from an empty context, on m.threads threads (default: the page's).
async function bench(m) {
	const threads = M._cw_threads(m.threads || THREADS);
	try {
		await benchRun(m, threads);
	} finally {
		M._cw_threads(THREADS);
	}
}

async function benchRun(m, threads) {
	const put = (ids) => {
		const p = M._malloc(4 * ids.length) >>> 0;
		M.HEAP32.set(ids, p / 4);
		return p;
	};
	const run = async (ids, one) => {
		if (M._cw_reset() < 0)
			throw new Error(error());
		const p = put(ids);
		const t0 = performance.now();
		for (let a = 0; a < ids.length;) {
			const k = one ? 1 : Math.min(BATCH, ids.length - a);
			if (M._cw_eval(p + 4 * a, k) < 0)
				throw new Error(error());
			a += k;
		}
		const ms = performance.now() - t0;
		M._free(p);
		return ids.length / (ms / 1000);
	};
	const pp = await run(m.pp, false);
	const tg = await run(m.tg, true);
	M._cw_reset();
	post("bench", { pp, tg, threads, mt: MT, relaxed });
}

// The logits after m.ids as one batch, and after one more id alone, with
// m.threads threads and the portable kernels or not; a new conversation
// before and after.
async function logits(m) {
	if (!loaded)
		throw new Error("no model loaded");
	const n = M._cw_n_ctx(), nv = JSON.parse(M.UTF8ToString(
	    M._cw_info())).n_vocab;
	const copy = () => new Float32Array(M.HEAPF32.buffer,
	    M._cw_logits() >>> 0, nv).slice();
	const threads = M._cw_threads(m.threads || THREADS);
	M._cw_portable(m.portable ? 1 : 0);
	const p = M._malloc(4 * m.ids.length) >>> 0;
	try {
		if (m.ids.length < 2 || m.ids.length > n)
			throw new Error(`logits: 2 to ${n} ids`);
		if (M._cw_reset() < 0)
			throw new Error(error());
		M.HEAP32.set(m.ids, p / 4);
		if (M._cw_eval(p, m.ids.length - 1) < 0)
			throw new Error(error());
		const batch = copy();
		if (M._cw_eval(p + 4 * (m.ids.length - 1), 1) < 0)
			throw new Error(error());
		post("logits", { batch, next: copy(), threads, relaxed });
	} finally {
		M._free(p);
		M._cw_threads(THREADS);
		M._cw_portable(0);
		M._cw_reset();
	}
}

async function handle(m) {
	switch (m.type) {
	case "init": return init();
	case "load-url": return loadUrl(m.url);
	case "load-file": return loadFile(m.file);
	case "forget": return forget();
	case "reset":
		if (loaded && M._cw_reset() < 0)
			throw new Error(error());
		return post("status", { text: "new chat" });
	case "generate":
		stopping = false;
		busy = true;
		try {
			return await generate(m);
		} finally {
			busy = false;
		}
	case "bench": return bench(m);
	case "logits": return logits(m);
	}
}

// Messages run one after another, except a stop, which acts at once on
// the generation under way.
let queue = Promise.resolve();
onmessage = (ev) => {
	const m = ev.data;
	if (m.type === "stop") {
		if (busy)
			stopping = true;
		return;
	}
	queue = queue.then(() => handle(m)).catch((e) => {
		post("error", { message: String(e && e.message || e) });
		if (!loaded)
			post("empty");
	});
};
