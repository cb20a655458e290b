#!/usr/bin/env bats
# The browser build (make wasm) and the chat page (contrib/web/), driven in
# Debian's headless Chromium through Playwright (t/web_test.py). Chromium and
# Playwright come from contrib/setup; without them these tests fail.

load helper

setup_file() {
	make -s -C "$TOP" wasm >&2
}

# serve FILE: contrib/web/serve.py on a free loopback port, serving FILE as
# the model; sets URL (the page), MODEL_URL and STATS.
serve() {
	python3 "$TOP/contrib/web/serve.py" -m "$1" > "$TMP/serve.out" \
	    2> "$TMP/serve.err" &
	SERVE_PID=$!
	# its first line is the page's URL, once it listens
	for _ in $(seq 600); do
		[ -s "$TMP/serve.out" ] && break
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	URL=$(head -n 1 "$TMP/serve.out")
	[ -n "$URL" ] || { cat "$TMP/serve.err" >&2; return 1; }
	MODEL_URL=${URL}model/$(basename "$1")
	STATS=${URL}stats
}

teardown() {
	[ -z "${SERVE_PID:-}" ] || kill "$SERVE_PID" 2>/dev/null || true
}

# native PROMPT: "PROMPT<TAB>ids" of chord-gen's greedy 16-token answer in
# the model's chat template
native() {
	printf '%s\t%s' "$1" "$(chord-gen --chat auto --temp 0 -n 16 --ids \
	    -p "$1" | tr '\n' ' ' | sed 's/ $//')"
}

@test "make wasm: an ES module and its wasm in build/wasm" {
	[ -s "$TOP/build/wasm/chord.js" ]
	[ -s "$TOP/build/wasm/chord.wasm" ]
	grep -q 'export default chord' "$TOP/build/wasm/chord.js"
	grep -q '_cw_load' "$TOP/build/wasm/chord.js"
}

# dots FILE.wasm: how many i16x8.relaxed_dot_i8x16_i7x16_s (fd 92 02) it has
dots() {
	llvm-objdump-15 -d "$1" | grep -c ': fd 92 02 ' || true
}

@test "make wasm: relaxed-SIMD builds (clang 15) have the relaxed dot, the others none" {
	for b in chord-rs chord-mt-rs; do
		[ -s "$TOP/build/wasm/$b.wasm" ]
		grep -q 'export default chord' "$TOP/build/wasm/$b.js"
		[ "$(dots "$TOP/build/wasm/$b.wasm")" -gt 0 ]
	done
	grep -q '"shared":true' "$TOP/build/wasm/chord-mt-rs.js"
	[ "$(dots "$TOP/build/wasm/chord.wasm")" -eq 0 ]
	[ "$(dots "$TOP/build/wasm/chord-mt.wasm")" -eq 0 ]
}

# madds FILE.wasm OPCODE: how many f32x4.relaxed_madd with those bytes
madds() {
	llvm-objdump-15 -d "$1" | grep -c ": $2 " || true
}

@test "make wasm: relaxed-SIMD builds have relaxed_madd at the standard opcode, none at the draft's" {
	for b in chord-rs chord-mt-rs; do
		[ "$(madds "$TOP/build/wasm/$b.wasm" 'fd 85 02')" -gt 0 ]
		[ "$(madds "$TOP/build/wasm/$b.wasm" 'fd af 01')" -eq 0 ]
	done
	[ "$(madds "$TOP/build/wasm/chord.wasm" 'fd 85 02')" -eq 0 ]
	[ "$(madds "$TOP/build/wasm/chord-mt.wasm" 'fd 85 02')" -eq 0 ]
}

@test "make wasm: a threaded build too, on shared memory with a worker pool" {
	[ -s "$TOP/build/wasm/chord-mt.wasm" ]
	[ -s "$TOP/build/wasm/chord-mt.worker.js" ]
	grep -q 'export default chord' "$TOP/build/wasm/chord-mt.js"
	grep -q '_cw_threads' "$TOP/build/wasm/chord-mt.js"
	grep -q '"shared":true' "$TOP/build/wasm/chord-mt.js"
	! grep -q '"shared":true' "$TOP/build/wasm/chord.js"
}

# get URL: "STATUS" then the headers, "name: value" a line, lowercased
get() {
	python3 -c 'import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1])
except urllib.error.HTTPError as e:
    r = e
print(r.status)
for k, v in r.headers.items():
    print("%s: %s" % (k.lower(), v))
if r.status == 200 and sys.argv[1].endswith("/stats"):
    print(r.read().decode())' "$1"
}

@test "serve.py: cross-origin isolation headers, no file outside its roots" {
	need_model "$SMOL"
	serve "$SMOL"
	run get "$URL"
	status_is 0
	[ "${lines[0]}" = 200 ]
	[[ $output == *"cross-origin-opener-policy: same-origin"* ]]
	[[ $output == *"cross-origin-embedder-policy: require-corp"* ]]
	run get "${URL}wasm/chord.wasm"
	[[ $output == *"content-type: application/wasm"* ]]
	run get "${URL}wasm/../../contrib/web/app.js"
	[ "${lines[0]}" = 404 ]
	run get "${URL}serve.py"
	[ "${lines[0]}" = 404 ]
	run get "$STATS"
	[ "${lines[-1]}" = '{"model_gets": 0}' ]
}

@test "page: greedy answers equal chord-gen's ids, prompt by prompt" {
	need_model "$SMOL"
	serve "$SMOL"
	a=$(native "What is the capital of France?")
	b=$(native "Write a haiku about cats.")
	c=$(native "Écris une phrase en français, s'il te plaît.")
	run python3 "$TOP/t/web_test.py" "$URL" "$MODEL_URL" "$STATS" greedy \
	    "$a" "$b" "$c"
	status_is 0
	[ "$(grep -c '^ok: ' <<< "$output")" -eq 3 ]
}

@test "page: SIMD128 (relaxed) logits on 1, 2 and 3 threads equal the portable kernels' to the bit" {
	need_model "$SMOL"
	serve "$SMOL"
	# 40 ids as a batch (the four-row kernels), then one (the one-row ones)
	run python3 "$TOP/t/web_test.py" "$URL" "$MODEL_URL" "$STATS" logits \
	    "$(seq -s ' ' 100 140)" 1 2 3
	status_is 0
	[ "$(grep -c '^ok: SIMD128 on [123] threads: 40 ids and one more, logits equal' \
	    <<< "$output")" -eq 3 ]
}

@test "page: SIMD128 (relaxed) logits after 100 ids (attention's tiles) on 1 and 2 threads equal the portable kernels'" {
	need_model "$SMOL"
	serve "$SMOL"
	run python3 "$TOP/t/web_test.py" "$URL" "$MODEL_URL" "$STATS" logits \
	    "$(seq -s ' ' 100 200)" 1 2
	status_is 0
	[ "$(grep -c '^ok: SIMD128 on [12] threads: 100 ids and one more, logits equal' \
	    <<< "$output")" -eq 2 ]
}

@test "page: ?simd=plain: plain SIMD128 logits on 1 and 2 threads equal the portable kernels' to the bit" {
	need_model "$SMOL"
	serve "$SMOL"
	run python3 "$TOP/t/web_test.py" "${URL}?simd=plain" "$MODEL_URL" \
	    "$STATS" logits "$(seq -s ' ' 100 140)" 1 2
	status_is 0
	[ "$(grep -c '^ok: SIMD128 on [12] threads: 40 ids and one more, logits equal' \
	    <<< "$output")" -eq 2 ]
}

# build_of URL: "BUILD SIMD" of the page at URL, as its bench on the model
# at MODEL_URL reports them (threaded or one-thread, relaxed or plain)
build_of() {
	python3 - "$1" "$MODEL_URL" <<'EOF'
import sys
from playwright.sync_api import sync_playwright

url, model = sys.argv[1:3]
with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                          chromium_sandbox=False, args=["--no-sandbox"])
    pg = b.new_page()
    pg.goto(url)
    pg.wait_for_function(
        "['empty', 'ready'].includes(document.body.dataset.state)",
        timeout=120_000)
    pg.fill("#url", model)
    pg.click("#fetch")
    pg.wait_for_function("document.body.dataset.state === 'ready'",
                         timeout=120_000)
    pg.evaluate("""() => { window.chord.bench = null;
        window.chord.worker.postMessage({ type: 'bench', pp: [100, 101],
                                          tg: [102], threads: 1 }); }""")
    pg.wait_for_function("window.chord.bench !== null", timeout=120_000)
    r = pg.evaluate("window.chord.bench")
    print("threaded" if r["mt"] else "one-thread",
          "relaxed" if r.get("relaxed") else "plain")
    b.close()
EOF
}

@test "page: Chromium has relaxed SIMD: the page runs the -rs build, ?simd=plain the plain one" {
	need_model "$SMOL"
	serve "$SMOL"
	run build_of "$URL"
	status_is 0
	[ "$output" = "threaded relaxed" ]
	run build_of "${URL}?simd=plain"
	status_is 0
	[ "$output" = "threaded plain" ]
}

@test "page: Q8_0 weights: SIMD128 logits on 1 and 2 threads equal the portable kernels'" {
	need_model "$SMOL"
	gguf-repack -q -t q8_0 "$SMOL" "$TMP/q8.gguf"
	serve "$TMP/q8.gguf"
	run python3 "$TOP/t/web_test.py" "$URL" "$MODEL_URL" "$STATS" logits \
	    "$(seq -s ' ' 100 140)" 1 2
	status_is 0
	[ "$(grep -c '^ok: SIMD128 on [12] threads: 40 ids and one more, logits equal' \
	    <<< "$output")" -eq 2 ]
}

@test "page: cross-origin isolated, it runs the threaded build on every core" {
	need_model "$SMOL"
	serve "$SMOL"
	run python3 "$TOP/t/web_test.py" "$URL" "$MODEL_URL" "$STATS" threads
	status_is 0
	[[ $output == *"ok: the threaded build, "* ]]
}

@test "page: not cross-origin isolated, the one-thread build answers as native" {
	need_model "$SMOL"
	serve "$SMOL"
	run python3 "$TOP/t/web_test.py" "$URL" "$MODEL_URL" "$STATS" single \
	    "$(native "What is the capital of France?")"
	status_is 0
	[[ $output == *"ok: 'What is the capital of France?': "* ]]
	[[ $output == *"ok: not isolated: the one-thread build"* ]]
}

@test "page: a two-turn chat equals chord-gen -i's ids" {
	need_model "$SMOL"
	serve "$SMOL"
	printf '%s\n' "What is the capital of France?" "And of Italy?" |
	    chord-gen -i --temp 0 -n 16 --ids > "$TMP/native"
	# answers end at a "#" line; "#eog ID" lines are not ids
	mapfile -t want < <(awk '/^#eog/ { next } /^#$/ { print s; s = ""; next }
	    { s = s (s == "" ? "" : " ") $0 }' "$TMP/native")
	[ "${#want[@]}" -eq 2 ]
	run python3 "$TOP/t/web_test.py" "$URL" "$MODEL_URL" "$STATS" chat \
	    "$(printf 'What is the capital of France?\t%s' "${want[0]}")" \
	    "$(printf 'And of Italy?\t%s' "${want[1]}")"
	status_is 0
	[ "$(grep -c '^ok: ' <<< "$output")" -eq 2 ]
}

@test "page: stop ends an answer mid-way and the page answers again" {
	need_model "$SMOL"
	serve "$SMOL"
	run python3 "$TOP/t/web_test.py" "$URL" "$MODEL_URL" "$STATS" stop \
	    "Write a long story about a dragon who learns to bake bread."
	status_is 0
	[[ $output == *"ok: stopped after "* ]]
	[[ $output == *"ok: answered again: "* ]]
}

@test "page: after a reload the model comes from OPFS, not the server" {
	need_model "$SMOL"
	serve "$SMOL"
	run python3 "$TOP/t/web_test.py" "$URL" "$MODEL_URL" "$STATS" reload
	status_is 0
	[[ $output == *"ok: reloaded from the browser's store; model fetched once"* ]]
	run get "$STATS"
	[ "${lines[-1]}" = '{"model_gets": 1}' ]
}

@test "page: a file that is not GGUF: the C library's error, no model" {
	printf 'not a model at all' > "$TMP/bad.gguf"
	serve "$TMP/bad.gguf"
	run python3 "$TOP/t/web_test.py" "$URL" "$MODEL_URL" "$STATS" bad \
	    "bad.gguf: not a GGUF file (bad magic, at byte 0)"
	status_is 0
}
