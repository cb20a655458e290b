#!/usr/bin/env bats
# chord-fwd --device cl: the OpenCL backend (lib/fwd_cl.c, cl/fwd.cl) against
# the CPU's, on whatever OpenCL device the machine has (PoCL's CPU device in
# CI: contrib/setup installs it). The long checks are in t/slow/opencl.bats.

load helper

hdr() { printf x | chord-tok "$@" | head -n 1; }

# ids TEXT: a token stream of TEXT for the default model
ids() { printf '%s' "$1" | chord-tok; }

# inputs [-m MODEL]: into $TMP, token streams of the golden text for the
# model: b5 (a batch of 5), b70 (of 70: the CPU's tiled attention), one
# (8 tokens, one a line: one at a time), long (three batches of 40, then
# 5 tokens one a line: attention a row at a time past 64 positions)
inputs() {
	head -c 2000 "$GOLDEN/ppl-text.txt" | chord-tok "$@" > "$TMP/all"
	head -n 1 "$TMP/all" > "$TMP/b5"
	cp "$TMP/b5" "$TMP/b70"
	cp "$TMP/b5" "$TMP/one"
	tail -n 1 "$TMP/all" | cut -d ' ' -f 1-5 >> "$TMP/b5"
	tail -n 1 "$TMP/all" | cut -d ' ' -f 1-70 >> "$TMP/b70"
	tail -n 1 "$TMP/all" | cut -d ' ' -f 1-8 | tr ' ' '\n' >> "$TMP/one"
	head -n 1 "$TMP/all" > "$TMP/long"
	for r in 1-40 41-80 81-120; do
		tail -n 1 "$TMP/all" | cut -d ' ' -f "$r" >> "$TMP/long"
	done
	tail -n 1 "$TMP/all" | cut -d ' ' -f 121-125 | tr ' ' '\n' >> "$TMP/long"
	[ "$(tail -n 1 "$TMP/b70" | wc -w)" -eq 70 ]
}

# same_logits STREAMS [CHORD-FWD OPTIONS]: each of inputs' STREAMS (as
# "b5 b70 one") through the CPU and through the OpenCL device: the logits
# byte for byte (else the difference is printed and the test fails)
same_logits() {
	local f list=$1
	shift
	for f in $list; do
		chord-fwd "$@" --all-logits < "$TMP/$f" > "$TMP/$f.cpu"
		chord-fwd "$@" --device cl --all-logits < "$TMP/$f" > "$TMP/$f.cl"
		cmp -s "$TMP/$f.cpu" "$TMP/$f.cl" || {
			echo "$f: $(python3 "$TOP/t/logitsdiff.py" "$TMP/$f.cpu" \
			    "$TMP/$f.cl")"
			return 1
		}
	done
}

@test "--devices: a line a device, five tab-separated fields, PoCL's among them" {
	run --separate-stderr chord-fwd --devices
	status_is 0
	[ "${#lines[@]}" -ge 1 ]
	for l in "${lines[@]}"; do
		[[ "$l" =~ ^cl:[0-9]+\.[0-9]+$'\t'[^$'\t']+$'\t'[^$'\t']+$'\t'[0-9]+$'\t'[0-9]+$ ]]
	done
	[[ "$output" == *$'\tPortable Computing Language\t'* ]]
	[[ "${lines[0]}" == "cl:0.0"$'\t'* ]]
}

@test "no OpenCL platform: --devices and --device cl exit 1 and say so" {
	mkdir "$TMP/none"
	OCL_ICD_VENDORS=$TMP/none run --separate-stderr chord-fwd --devices
	status_is 1
	[ "$stderr" = "chord-fwd: no OpenCL platform" ]
	[ -z "$output" ]
	OCL_ICD_VENDORS=$TMP/none run --separate-stderr chord-fwd --device cl < /dev/null
	status_is 1
	[ "$stderr" = "chord-fwd: no OpenCL platform" ]
}

# libOpenCL is dlopen'ed at the first use of a device (lib/cl.c cl_load):
# the tools do not link it, and where it cannot be loaded (an empty file
# first on LD_LIBRARY_PATH: t/cache-start.bats does the same for libzstd)
# only --device cl and --devices fail, saying which library and why.
@test "libOpenCL: not linked; unloadable, the CPU runs and --device cl, --devices exit 1 naming it" {
	need_model "$SMOL"
	run readelf -d "$BIN/chord-fwd"
	status_is 0
	[[ "$output" == *"NEEDED"*"libc.so"* ]]
	[[ "$output" != *libOpenCL* ]]
	run ldd "$BIN/chord-fwd"
	[[ "$output" != *libOpenCL* ]]
	mkdir "$TMP/lib"
	: > "$TMP/lib/libOpenCL.so.1"
	printf '1 2 3\n' | chord-fwd --no-cache -c 64 --top 3 > "$TMP/want"
	run --separate-stderr env LD_LIBRARY_PATH="$TMP/lib" \
	    chord-fwd --no-cache -c 64 --top 3 <<< '1 2 3'
	status_is 0
	[ "$stderr" = "" ]
	[ "$output" = "$(cat "$TMP/want")" ]
	msg="OpenCL devices need libOpenCL.so.1, which cannot be loaded ($TMP/lib/libOpenCL.so.1: file too short)"
	run --separate-stderr env LD_LIBRARY_PATH="$TMP/lib" chord-fwd --devices
	status_is 1
	[ "$stderr" = "chord-fwd: $msg" ]
	[ -z "$output" ]
	run --separate-stderr env LD_LIBRARY_PATH="$TMP/lib" \
	    chord-fwd --no-cache -c 64 --device cl <<< '1 2 3'
	status_is 1
	[ "$stderr" = "chord-fwd: $msg" ]
	[ -z "$output" ]
}

@test "bad device names: usage errors (exit 2); a device that is not there: exit 1" {
	run --separate-stderr chord-fwd --device gpu
	status_is 2
	[ "${stderr_lines[0]}" = "chord-fwd: --device: gpu: not a device (cpu, cl or cl:P.D)" ]
	run --separate-stderr chord-fwd --device cl:0
	status_is 2
	CHORD_DEVICE=cl0 run --separate-stderr chord-fwd
	status_is 2
	[ "${stderr_lines[0]}" = "chord-fwd: --device: cl0: not a device (cpu, cl or cl:P.D)" ]
	run --separate-stderr chord-fwd --device
	status_is 2
	[ "${stderr_lines[0]}" = "chord-fwd: --device needs an argument" ]
	run --separate-stderr chord-fwd --device cl:0.99 < /dev/null
	status_is 1
	[ "$stderr" = "chord-fwd: cl:0.99: no such OpenCL device (chord-fwd --devices lists them)" ]
	run --separate-stderr chord-gen --device 'cl;x' -p hi
	status_is 2
	[ "${stderr_lines[0]}" = "chord-gen: --device: cl;x: not a device" ]
}

@test "a context the device cannot hold: exit 1, the sizes and -c named" {
	need_model "$SMOL"
	run --separate-stderr chord-fwd --device cl -c 1048576 < /dev/null
	status_is 1
	[[ "$stderr" =~ ^"chord-fwd: cl:0.0: a context of 1048576 needs 23040 MiB of KV cache and the weights "[0-9]+" MiB; the device holds "[0-9]+" MiB (use a smaller -c)"$ ]]
}

# The model's roundings (8-bit activations, the fp16 attention
# accumulator) turn the last bits of a sum into whole steps, so any other
# summation order drifts: the CPU's own portable kernels (CHORD_NOSIMD=1)
# differ from its SIMD ones by 3.1% of the logit range on a short prompt.
# So the kernels compute the CPU's floats op by op, and the logits are
# compared byte for byte, except for the K-quants (dequantized at load,
# where the CPU multiplies integers): those only closely.
@test "one layer, SmolLM2 and Gemma 3: the CPU's logits to 0.001, batch and one token at a time" {
	need_model "$SMOL"
	need_model "$GEMMA"
	for m in "$SMOL 19556 28 957" "$GEMMA 2 818 5279 529"; do
		set -- $m
		run "$TBIN/cl-test" layers "$1" 1 "${@:2}"
		echo "$output"
		status_is 0
		[ "${#lines[@]}" -eq $# ]
		for l in "${lines[@]}"; do
			d=${l#max_abs=}
			awk -v d="${d%% *}" 'BEGIN { exit !(d < 0.001) }'
			[[ "$l" =~ argmax\ cpu=([0-9]+)\ cl=([0-9]+) ]]
			[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
		done
	done
}

@test "--device cl, SmolLM2 (Q4_1, Q8_0 output): the CPU's logits byte for byte: a batch, 70 rows (tiled attention), one token at a time" {
	need_model "$SMOL"
	inputs
	same_logits "b5 b70 one"
}

# The attention of a row (cl/fwd.cl phase_attn_row) takes each position's
# factors from the running maximum in parallel, LSZ positions at a time,
# and V rows VT at a time: past 64 positions, new maxima in later
# chunks.
@test "attention a row at a time past 64 positions (batches of 40, then one by one): the CPU's logits byte for byte" {
	need_model "$SMOL"
	inputs
	[ "$(wc -l < "$TMP/long")" -eq 9 ]
	same_logits long
}

@test "the GPUs' work-group kernels (CHORD_CL_GROUPED, on PoCL): the CPU's logits byte for byte" {
	need_model "$SMOL"
	inputs
	CHORD_CL_GROUPED=1 same_logits "b5 b70 one"
}

# The GPUs' lanes matmul (cl/fwd.cl phase_matmul_lanes) takes its weights
# in a tiled layout, 32 rows a work-group: an output matrix cut to 1001
# rows (cl-test -r) leaves a last group of 9, with every weight type it
# serves (Q8_0 and Q4_1 in the default model; Q4_0 outside ggml's
# repacked order, Q5_0, Q5_1), a batch of 3 and then one token at a time.
@test "the lanes matmul (CHORD_CL_GROUPED): rows no work-group divides, every Q8 weight type, n=3 and n=1: the CPU's logits byte for byte" {
	need_model "$SMOL"
	local m
	for t in default q4_0 q5_0 q5_1; do
		m=$SMOL
		if [ "$t" != default ]; then
			gguf-repack -q -t "$t" "$SMOL" "$TMP/$t.gguf"
			m=$TMP/$t.gguf
		fi
		CHORD_CL_GROUPED=1 run "$TBIN/cl-test" layers -r 1001 "$m" 2 \
		    19 556 957
		echo "$t: $output"
		status_is 0
		[ "${#lines[@]}" -eq 4 ]
		for l in "${lines[@]}"; do
			[[ "$l" == "max_abs=0.00000 "*" same=1" ]]
		done
	done
}

# A token's kernels (lib/fwd_cl.c step): a layer of SmolLM2 is 9, the
# norms and the GLU quantizing for the matmul after them, Q K V and gate
# up as one stacked matmul each, RoPE with the KV store, the attention
# quantizing its output, the residual adds in the matmuls before them
# (20 a layer before: 603 a token); the logits tests above check the
# floats of each.
@test "kernel launches a generated token, SmolLM2: 272 (30 layers of 9, norm and output), both kernel sets" {
	need_model "$SMOL"
	printf '%s\n504 3575\n282\n' "$(hdr)" > "$TMP/in"
	run --separate-stderr chord-fwd -v --device cl < "$TMP/in"
	status_is 0
	[[ "$stderr" == *$'\n'"chord-fwd: 272 kernel launches in the last batch"$'\n'* ]]
	CHORD_CL_GROUPED=1 run --separate-stderr chord-fwd -v --device cl < "$TMP/in"
	status_is 0
	[[ "$stderr" == *$'\n'"chord-fwd: 272 kernel launches in the last batch"$'\n'* ]]
}

# $CHORD_CL_PROFILE times every launch: per kernel, its launches and time
# an eval, which must add up to the launches -v counts; logits unchanged
@test "\$CHORD_CL_PROFILE: each kernel's launches and time at exit, as many launches as -v counts; the same logits" {
	need_model "$SMOL"
	printf '%s\n504 3575\n282\n' "$(hdr)" > "$TMP/in"
	chord-fwd --device cl < "$TMP/in" > "$TMP/plain"
	CHORD_CL_PROFILE=1 run --separate-stderr chord-fwd --device cl \
	    < "$TMP/in"
	status_is 0
	[ "$output" = "$(cat "$TMP/plain")" ]
	[[ "$stderr" == "chord-fwd: OpenCL profile, 2 evals: kernels busy "* ]]
	n=$(printf '%s\n' "$stderr" | awk '$2 ~ /^k_/ { n += $3 } END { print n }')
	# the two evals: the batch (273: its OP_OUT_ROWS copy) and the token
	[ "$n" = 272.5 ]
	[ "$(printf '%s\n' "$stderr" | grep -c '^chord-fwd:   k_matmul')" -ge 1 ]
	run --separate-stderr chord-fwd --device cl < "$TMP/in"
	[ -z "$stderr" ]
}

@test "SmolLM2 as Q4_0 (ggml's repacked order), Q5_0, Q5_1 and F16: the CPU's logits byte for byte, both kernels" {
	need_model "$SMOL"
	inputs
	for t in q4_0 q5_0 q5_1 f16; do
		gguf-repack -q -t "$t" "$SMOL" "$TMP/$t.gguf"
		echo "$t"
		same_logits "b5 one" -m "$TMP/$t.gguf"
		CHORD_CL_GROUPED=1 same_logits b5 -m "$TMP/$t.gguf"
		rm "$TMP/$t.gguf"
	done
}

# Qwen2's biases on Q, K and V: the stacked matmul adds them (one kernel
# for the three matmuls and the three adds: 9 kernels a layer, 24 layers).
@test "Qwen2 as Q8_0 (biases in the stacked matmul): the CPU's logits byte for byte, both kernel sets; 218 kernels a token" {
	need_model "$QWEN"
	gguf-repack -q -t q8_0 "$QWEN" "$TMP/q.gguf"
	printf 'def fib(n):' | chord-tok -m "$TMP/q.gguf" > "$TMP/b"
	{ head -n 1 "$TMP/b"; tail -n 1 "$TMP/b" | tr ' ' '\n'; } > "$TMP/one"
	same_logits "b one" -m "$TMP/q.gguf"
	CHORD_CL_GROUPED=1 same_logits "b one" -m "$TMP/q.gguf"
	run --separate-stderr chord-fwd -m "$TMP/q.gguf" -v --device cl < "$TMP/one"
	status_is 0
	[[ "$stderr" == *$'\n'"chord-fwd: 218 kernel launches in the last batch"$'\n'* ]]
}

@test "Gemma 3 as Q8_0, a sliding window of 8 (GELU's table, head norms, the window in a batch and one by one): the CPU's logits byte for byte" {
	need_model "$GEMMA"
	gguf-repack -q -t q8_0 -s gemma3.attention.sliding_window:u32=8 "$GEMMA" \
	    "$TMP/g.gguf"
	inputs -m "$TMP/g.gguf"
	same_logits "b5 b70 one" -m "$TMP/g.gguf"
}

@test "the KV cache on the device: one id a line, and #chord keep N, give the batch's logits" {
	need_model "$SMOL"
	h=$(hdr)
	printf '%s\n504 3575 282 4649 314\n' "$h" > "$TMP/batch"
	printf '%s\n504 3575\n282\n4649\n314\n' "$h" > "$TMP/lines"
	printf '%s\n504 3575 282\n9 9 9 9\n#chord keep 3\n4649 314\n' "$h" > "$TMP/keep"
	for f in batch lines keep; do
		chord-fwd --device cl < "$TMP/$f" > "$TMP/$f.lg"
	done
	run python3 "$TOP/t/logitsdiff.py" --last "$TMP/batch.lg" "$TMP/lines.lg"
	echo "$output"
	[ "$output" = "frames=1 argmax_same=1 max_abs=0.00000 max_rel=0.00000" ]
	run python3 "$TOP/t/logitsdiff.py" --last "$TMP/batch.lg" "$TMP/keep.lg"
	echo "$output"
	[ "$output" = "frames=1 argmax_same=1 max_abs=0.00000 max_rel=0.00000" ]
}

@test "\$CHORD_DEVICE picks the device; -v names it" {
	need_model "$SMOL"
	ids "Hello" > "$TMP/in"
	CHORD_DEVICE=cl run --separate-stderr chord-fwd -v --top 1 < "$TMP/in"
	status_is 0
	[[ "${stderr_lines[0]}" == *", device cl:"[0-9]*.[0-9]*" ("*"), cache: "* ]]
	run --separate-stderr chord-fwd -v --top 1 < "$TMP/in"
	[[ "${stderr_lines[0]}" == *", device cpu, cache: "* ]]
}

@test "chord-gen --device cl: the CPU's greedy 16-token continuation of a golden prompt" {
	need_model "$SMOL"
	local rec h ids want got
	rec=$(head -n 1 "$GOLDEN/logits-smollm2.jsonl")
	h=$(hdr)
	ids=$(jq -r '.ids | map(tostring) | join(" ")' <<< "$rec")
	want=$(printf '%s\n%s\n' "$h" "$ids" | chord-gen --temp 0 -n 16 --ignore-eos --ids | tr '\n' ' ')
	got=$(printf '%s\n%s\n' "$h" "$ids" | chord-gen --device cl --temp 0 -n 16 --ignore-eos --ids | tr '\n' ' ')
	echo "cpu: $want"
	echo "cl:  $got"
	[ "$got" = "$want" ]
	[ "$(wc -w <<< "$got")" -eq 16 ]
}

@test "Gemma 3 (Q4_K_M, K-quants dequantized at load, GELU, sliding window): the CPU's argmax" {
	need_model "$GEMMA"
	printf 'The capital of France is' | chord-tok -m "$GEMMA" > "$TMP/in"
	chord-fwd -m "$GEMMA" --all-logits < "$TMP/in" > "$TMP/cpu"
	chord-fwd -m "$GEMMA" --device cl --all-logits < "$TMP/in" > "$TMP/cl"
	run python3 "$TOP/t/logitsdiff.py" "$TMP/cpu" "$TMP/cl"
	echo "$output"
	status_is 0
	n=$(tail -n 1 "$TMP/in" | wc -w)
	[[ "$output" == "frames=$n argmax_same=$n "* ]]
	awk -v r="${output##*max_rel=}" 'BEGIN { exit !(r < 0.05) }'
}

@test "a kernel that does not build: exit 1 with the compiler's log" {
	printf 'kernel void k(global float *x) { x[0] = undeclared_thing; }\n' > "$TMP/bad.cl"
	XDG_CACHE_HOME=$TMP/c run --separate-stderr "$TBIN/cl-test" build "$TMP/bad.cl"
	status_is 1
	# (PoCL's compiler prints a line of its own first)
	[[ "$stderr" == *"cl-test: cl:"*": kernel build failed (program build failure): "*"undeclared_thing"* ]]
	[ -z "$(ls -A "$TMP/c/chord/cl" 2> /dev/null)" ]
}

@test "program cache: a build is kept under \$XDG_CACHE_HOME/chord/cl (else ~/.cache); a damaged file is rebuilt" {
	printf 'kernel void k(global float *x) { x[0] = 1.0f; }\n' > "$TMP/ok.cl"
	XDG_CACHE_HOME=$TMP/c run "$TBIN/cl-test" build "$TMP/ok.cl"
	status_is 0
	[ "$output" = built ]
	f=$(ls "$TMP"/c/chord/cl/*.bin)
	[ "$(wc -l <<< "$f")" -eq 1 ]
	[ "$(head -c 8 "$f")" = CHORDCL1 ]
	# the same source and options again: the same file, kept
	XDG_CACHE_HOME=$TMP/c run "$TBIN/cl-test" build "$TMP/ok.cl"
	status_is 0
	[ "$(ls "$TMP"/c/chord/cl/)" = "$(basename "$f")" ]
	# damaged: built again from source and replaced
	head -c 100 /dev/urandom > "$f"
	XDG_CACHE_HOME=$TMP/c run "$TBIN/cl-test" build "$TMP/ok.cl"
	status_is 0
	[ "$output" = built ]
	[ "$(head -c 8 "$f")" = CHORDCL1 ]
	# truncated: the same
	head -c 40 "$f" > "$TMP/t" && cp "$TMP/t" "$f"
	XDG_CACHE_HOME=$TMP/c run "$TBIN/cl-test" build "$TMP/ok.cl"
	status_is 0
	[ "$(wc -c < "$f")" -gt 40 ]
	# other options: another file
	XDG_CACHE_HOME=$TMP/c run "$TBIN/cl-test" build "$TMP/ok.cl" -DX=1
	status_is 0
	[ "$(ls "$TMP"/c/chord/cl/*.bin | wc -l)" -eq 2 ]
	# no XDG_CACHE_HOME: under $HOME/.cache
	env -u XDG_CACHE_HOME HOME=$TMP/h "$TBIN/cl-test" build "$TMP/ok.cl"
	ls "$TMP"/h/.cache/chord/cl/*.bin
}
