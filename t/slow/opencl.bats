#!/usr/bin/env bats
# The OpenCL backend's long checks against the CPU's (issue 14), run by
# `make check-all`: perplexity of t/golden/ppl-text.txt in chunks of 128 as
# contrib/perplexity computes it, the next token at every position of
# those chunks, greedy 64-token continuations of the golden prompts.
# Each test prints its figures (bats shows them with --show-output-of-
# passing-tests, or on failure).
#
# These are the issue's thresholds. Before the kernels followed the CPU's
# floats op by op (cl/README.md), PoCL failed them: perplexity 23.7430
# against the CPU's 23.6528 (+0.38%), the next token the same at 1584 of
# 1664 positions (95.2%), greedy 64 the same on 2 of 6 prompts; the CPU's
# own portable kernels (CHORD_NOSIMD=1) miss them too, against its SIMD
# ones: 23.7005 (+0.20%), 1583 of 1664 (95.1%), 1 of 6. The 8-bit
# activations and the fp16 attention accumulator turn any other summation
# order into whole rounding steps that grow layer by layer. Now (PoCL,
# 2026-12-02) the logits are the CPU's bit for bit (t/opencl.bats):
# 23.6528 against 23.6528, 1664 of 1664, 6 of 6.

load ../helper

# The chunks of contrib/perplexity -c 128 (each from an empty context, BOS
# first) through chord-fwd --all-logits on the CPU and on $1, scored from
# position 65: prints "ppl_cpu ppl_cl same total".
chunks() {
	local n i bos
	{ cat "$GOLDEN/ppl-text.txt"; echo; } | chord-tok > "$TMP/ids"
	head -n 1 "$TMP/ids" > "$TMP/header"
	tail -n +2 "$TMP/ids" | tr ' ' '\n' | grep . > "$TMP/list"
	n=$(($(wc -l < "$TMP/list") / 128))
	bos=$(printf '' | chord-tok | tail -n +2 | tr -d ' \n')
	: > "$TMP/s.cpu"; : > "$TMP/s.cl"; : > "$TMP/agree"
	for i in $(seq 0 $((n - 1))); do
		{ cat "$TMP/header"; sed -n "$((i * 128 + 1)),$(((i + 1) * 128))p" "$TMP/list" |
		    sed "1s/.*/${bos:-&}/" | tr '\n' ' '; echo; } > "$TMP/chunk"
		chord-fwd --all-logits -c 128 < "$TMP/chunk" > "$TMP/cpu.lg"
		chord-fwd --device "$1" --all-logits -c 128 < "$TMP/chunk" > "$TMP/cl.lg"
		chord-sample --score --score-from 65 < "$TMP/cpu.lg" >> "$TMP/s.cpu"
		chord-sample --score --score-from 65 < "$TMP/cl.lg" >> "$TMP/s.cl"
		python3 "$TOP/t/logitsdiff.py" "$TMP/cpu.lg" "$TMP/cl.lg" >> "$TMP/agree"
	done
	ppl() { awk -F'[ =]' '{ n += $2; s += $4 } END { printf "%.4f", exp(s / n) }' "$1"; }
	# "frames=N argmax_same=K ..." a chunk
	echo "$(ppl "$TMP/s.cpu") $(ppl "$TMP/s.cl")" \
	    "$(awk -F'[= ]' '{ k += $4; n += $2 } END { print k, n }' "$TMP/agree")"
}

@test "perplexity within 0.2% of the CPU's, the CPU's next token at >= 99% of the positions" {
	need_model "$SMOL"
	read -r pc pl same all < <(chunks cl)
	echo "perplexity: cpu $pc, cl $pl; next token the same at $same of $all positions"
	awk -v a="$pc" -v b="$pl" 'BEGIN { d = (b - a) / a; exit !(d < 0.002 && d > -0.002) }'
	[ $((same * 100)) -ge $((all * 99)) ]
}

@test "greedy: the CPU's 64-token continuation on at least 5 of the 6 golden prompts" {
	need_model "$SMOL"
	local h rec ids want got ok=0
	h=$(printf x | chord-tok | head -n 1)
	while IFS= read -r rec; do
		ids=$(jq -r '.ids | map(tostring) | join(" ")' <<< "$rec")
		want=$(printf '%s\n%s\n' "$h" "$ids" | chord-gen --temp 0 -n 64 --ignore-eos --ids | tr '\n' ' ')
		got=$(printf '%s\n%s\n' "$h" "$ids" | chord-gen --device cl --temp 0 -n 64 --ignore-eos --ids | tr '\n' ' ')
		[ "$got" = "$want" ] && ok=$((ok + 1))
	done < "$GOLDEN/logits-smollm2.jsonl"
	echo "greedy 64: $ok of 6 the same"
	[ "$ok" -ge 5 ]
}

# moved from t/opencl.bats to keep make test under 10 minutes (16 s)
@test "fwd.cl builds without fp64 too (the float fallback of a device without cl_khr_fp64)" {
	for o in "" " -DFP64"; do
		XDG_CACHE_HOME=$TMP/c run --separate-stderr "$TBIN/cl-test" build \
		    "$TOP/cl/fwd.cl" "-cl-std=CL1.2 -DLSZ=64 -DHD_MAX=64$o"
		echo "$stderr"
		status_is 0
		[ "$output" = built ]
	done
}
