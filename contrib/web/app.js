// app.js: the chat page. The model runs in worker.js; this file only wires
// the controls to it and shows what comes back. document.body's data-state
// says where the page is (starting, empty, loading, ready, generating) and
// window.chord holds the last answer's ids and numbers (the tests read
// both; contrib/bench-web posts to its worker).
const $ = (id) => document.getElementById(id);
// the page's query (?simd=plain) goes on to the worker
const worker = new Worker("worker.js" + location.search, { type: "module" });
const state = { answer: null, text: "" };
window.chord = { last: null, info: null, errors: [], worker };

function setState(s) {
	document.body.dataset.state = s;
	const generating = s === "generating";
	const ready = s === "ready";
	$("send").disabled = !ready;
	$("stop").disabled = !generating;
	$("new").disabled = !ready;
	$("fetch").disabled = generating || s === "loading";
	$("file").disabled = generating || s === "loading";
	$("forget").disabled = generating || s === "loading";
}

const status = (text) => { $("status").textContent = text; };

function bubble(cls, text) {
	const d = document.createElement("div");
	d.className = "msg " + cls;
	d.textContent = text;
	$("chat").append(d);
	d.scrollIntoView({ block: "end" });
	return d;
}

const num = (id) => {
	const v = Number($(id).value);
	return Number.isFinite(v) ? v : 0;
};

const rate = (n, ms) => ms > 0 ? (n / (ms / 1000)).toFixed(1) : "-";

worker.onmessage = (ev) => {
	const m = ev.data;
	switch (m.type) {
	case "status":
		status(m.text);
		break;
	case "progress":
		$("progress").hidden = false;
		$("progress").max = m.total || m.done || 1;
		$("progress").value = m.done;
		status(`${(m.done / (1 << 20)).toFixed(1)} MiB`);
		break;
	case "empty":
		window.chord.info = null;
		$("model").textContent = "no model: pick a .gguf file or give a URL";
		status("no model stored in this browser");
		setState("empty");
		break;
	case "loaded":
		window.chord.info = m.info;
		$("progress").hidden = true;
		$("model").textContent = `${m.info.name || m.source} ` +
		    `(${m.info.arch}, ${m.info.n_layer} layers, ` +
		    `chat: ${m.info.chat || "none"})`;
		status(`${m.stored ? "loaded from this browser's storage" :
		    "loaded and stored"} in ${m.ms} ms: ${m.source}; ` +
		    `${m.threads} thread${m.threads === 1 ? "" : "s"}`);
		setState("ready");
		break;
	case "token":
		state.text += m.text;
		if (state.answer) {
			state.answer.textContent = state.text;
			state.answer.scrollIntoView({ block: "end" });
		}
		break;
	case "done":
		window.chord.last = m;
		if (m.reason === "stop" && state.answer)
			state.answer.classList.add("stopped");
		state.answer = null;
		status(`prompt ${m.prompt_tokens} tokens, ` +
		    `${rate(m.prompt_tokens, m.prompt_ms)} t/s; answer ` +
		    `${m.gen_tokens} tokens, ${rate(m.gen_tokens, m.gen_ms)} t/s` +
		    ` (${m.reason}); context ${m.n_pos}/${m.n_ctx}`);
		setState("ready");
		break;
	case "bench":
		window.chord.bench = m;
		break;
	case "logits":
		window.chord.logits = m;
		break;
	case "error":
		window.chord.errors.push(m.message);
		bubble("error", m.message);
		status("error: " + m.message);
		state.answer = null;
		setState(window.chord.info ? "ready" : "empty");
		break;
	}
};
worker.onerror = (e) => {
	window.chord.errors.push(String(e.message));
	status("worker failed: " + e.message);
	setState("empty");
};

function send() {
	const text = $("prompt").value;
	if (!text.trim() || document.body.dataset.state !== "ready")
		return;
	$("prompt").value = "";
	bubble("user", text);
	state.answer = bubble("assistant", "");
	state.text = "";
	setState("generating");
	status("thinking");
	worker.postMessage({ type: "generate", text, system: $("system").value,
	    temp: num("temp"), top_k: Math.trunc(num("top_k")),
	    top_p: num("top_p"), seed: Math.trunc(num("seed")),
	    n_predict: Math.trunc(num("n_predict")) });
}

$("ask").onsubmit = (e) => { e.preventDefault(); send(); };
$("prompt").onkeydown = (e) => {
	if (e.key === "Enter" && !e.shiftKey) {
		e.preventDefault();
		send();
	}
};
$("stop").onclick = () => worker.postMessage({ type: "stop" });
$("new").onclick = () => {
	$("chat").replaceChildren();
	worker.postMessage({ type: "reset" });
};
$("fetch").onclick = () => {
	const url = $("url").value.trim();
	if (!url)
		return status("give a URL first");
	setState("loading");
	worker.postMessage({ type: "load-url", url });
};
$("file").onchange = () => {
	const file = $("file").files[0];
	if (!file)
		return;
	setState("loading");
	worker.postMessage({ type: "load-file", file });
};
$("forget").onclick = () => worker.postMessage({ type: "forget" });

setState("starting");
worker.postMessage({ type: "init" });
