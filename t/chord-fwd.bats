#!/usr/bin/env bats
# chord-fwd: the forward pass against llama.cpp's goldens.

load helper

hdr() { printf x | chord-tok | head -n 1; }

@test "-h prints usage, exit 0; bad usage exits 2" {
	run --separate-stderr chord-fwd -h
	status_is 0
	[[ "$output" == "usage: chord-fwd "* ]]
	run --separate-stderr chord-fwd -c 0
	status_is 2
	[[ "${stderr_lines[0]}" == "chord-fwd: -c: 0: too small"* ]]
}

@test "every golden prompt: llama.cpp's logits to the goldens' 4 decimals (top 20)" {
	need_model "$SMOL"
	run python3 "$TOP/t/goldcheck.py" logits "$SMOL" "$GOLDEN/logits-smollm2.jsonl" 0.00005
	echo "$output"
	status_is 0
	[ "${lines[-1]}" = "largest top-20 difference 0.0000, 0 differences" ]
}

@test "Gemma 3: llama.cpp's logits to the goldens' 4 decimals on every golden prompt" {
	need_model "$GEMMA"
	run python3 "$TOP/t/goldcheck.py" logits "$GEMMA" "$GOLDEN/logits-gemma3.jsonl" 0.00005
	echo "$output"
	status_is 0
	[ "${lines[-1]}" = "largest top-20 difference 0.0000, 0 differences" ]
}

@test "Qwen2.5 (qwen2): llama.cpp's logits to the goldens' 4 decimals on every golden prompt" {
	need_model "$QWEN"
	run python3 "$TOP/t/goldcheck.py" logits "$QWEN" "$GOLDEN/logits-qwen2.jsonl" 0.00005
	echo "$output"
	status_is 0
	[ "${lines[-1]}" = "largest top-20 difference 0.0000, 0 differences" ]
}

# synth NAME: the synthetic model of that architecture in Q8_0 and Q4_0, on
# one and five tokens, gives llama.cpp's logits to 4 decimals.
synth() {
	run python3 "$TOP/t/goldcheck.py" synth "$GOLDEN/synth.jsonl" "$VOCAB" "$TMP" "$1"
	echo "$output"
	status_is 0
	[ "${#lines[@]}" -eq 4 ]
}

@test "synthetic qwen3 (Q/K norms, NEOX RoPE): llama.cpp's logits" {
	synth qwen3
}

@test "synthetic phi3 (fused QKV and gate|up): llama.cpp's logits" {
	synth phi3
}

@test "synthetic Llama 3 (rope_freqs, llama-bpe vocabulary): llama.cpp's logits" {
	synth llama3
}

@test "synthetic SentencePiece llama: llama.cpp's logits" {
	synth llama-spm
}

@test "a missing tensor an architecture needs is named" {
	need_model "$SMOL"
	gguf-repack -q -x 'blk.3.ffn_gate.weight' "$SMOL" "$TMP/m.gguf"
	run --separate-stderr chord-fwd -m "$TMP/m.gguf" <<< "2"
	status_is 1
	[ "$stderr" = "chord-fwd: $TMP/m.gguf: llama architecture needs tensor blk.3.ffn_gate.weight" ]
}

@test "every weight type (the model requantized) against llama.cpp on the same file" {
	need_model "$SMOL"
	run python3 "$TOP/t/goldcheck.py" requant "$SMOL" "$GOLDEN/requant-smollm2.jsonl" "$TMP"
	echo "$output"
	status_is 0
	[ "${#lines[@]}" -eq 26 ]
}

@test "every matmul kernel, SIMD and portable, matches the dequantized reference" {
	run "$TBIN/kernel-test"
	echo "$output"
	status_is 0
	[ "${#lines[@]}" -eq 10 ]
}

@test "repacked Q4_1, Q5_0 and Q8_0 weights give the row kernels' sums bit for bit" {
	run "$TBIN/pack-test"
	echo "$output"
	status_is 0
	[ "${#lines[@]}" -eq 3 ]
	case $(uname -m) in x86_64)
		grep -q avx512vnni /proc/cpuinfo || return 0 ;;
	*) return 0 ;; esac
	[ "${lines[0]}" = "q4_1: packed identical" ]
	[ "${lines[1]}" = "q5_0: packed identical" ]
	[ "${lines[2]}" = "q8_0: packed identical" ]
}

@test "1, 2 and 3 threads give the same logits, batch and one at a time" {
	printf '1 2 3 4 5 6 7 8 9 10 11 12\n13\n14\n' > "$TMP/ids"
	chord-fwd -m "$SMOL" -t 1 --all-logits < "$TMP/ids" > "$TMP/a"
	chord-fwd -m "$SMOL" -t 2 --all-logits < "$TMP/ids" > "$TMP/b"
	chord-fwd -m "$SMOL" -t 3 --all-logits < "$TMP/ids" > "$TMP/c"
	[ -s "$TMP/a" ]
	cmp "$TMP/a" "$TMP/b"
	cmp "$TMP/a" "$TMP/c"
}

@test "a batch without --all-logits (the last layer on the last row only): the last frame of --all-logits" {
	need_model "$GEMMA"
	need_model "$QWEN"
	seq 200 230 | tr '\n' ' ' > "$TMP/ids"
	echo >> "$TMP/ids"
	for m in "$SMOL" "$GEMMA" "$QWEN"; do
		chord-fwd -m "$m" -t 1 --all-logits < "$TMP/ids" > "$TMP/all"
		for t in 1 2 3; do
			chord-fwd -m "$m" -t $t < "$TMP/ids" > "$TMP/last"
			# the last frame's logits: n_vocab floats at the end
			v=$(od -An -tu4 -j8 -N4 "$TMP/last" | tr -d ' ')
			[ "$v" -gt 40000 ]
			cmp <(tail -c "$((4 * v))" "$TMP/last") \
			    <(tail -c "$((4 * v))" "$TMP/all")
		done
	done
}

@test "one token a line (each thread its own norms and inputs): any thread count, 1 thread's logits" {
	# Gemma: head norms, post norms, one KV head; Qwen: biases, 2 KV heads
	need_model "$GEMMA"
	need_model "$QWEN"
	seq 100 119 > "$TMP/ids"
	for m in "$GEMMA" "$QWEN" "$SMOL"; do
		chord-fwd -m "$m" -t 1 --all-logits < "$TMP/ids" > "$TMP/a"
		[ "$(wc -c < "$TMP/a")" -gt 100000 ]
		for t in 2 5; do
			chord-fwd -m "$m" -t $t --all-logits < "$TMP/ids" > "$TMP/b"
			cmp "$TMP/a" "$TMP/b"
		done
	done
}

@test "K-quant SIMD kernels and activation quantizer give the portable ones' bits" {
	run "$TBIN/kernel-test" exact
	echo "$output"
	status_is 0
	[ "${#lines[@]}" -eq 6 ]
	for t in 2 3 4 5 6; do
		case ${lines[$((t - 2))]} in
		"q${t}_K: 132 cases bit-identical ("*" packed)") ;;
		*) false ;;
		esac
	done
	[ "${lines[5]}" = "quantize_act_k: SIMD identical" ]
	# AVX-512 VNNI builds multiply Q4_K and Q6_K from packed copies: every
	# case (n 1..17, 31, 64, 65, 70, 71; 48, 20 and 52 rows; runs of rows
	# from 0, 16 and 32) also from the packed layout
	case $(uname -m) in x86_64)
		grep -q avx512vnni /proc/cpuinfo || return 0 ;;
	*) return 0 ;; esac
	[ "${lines[0]}" = "q2_K: 132 cases bit-identical (0 packed)" ]
	[ "${lines[2]}" = "q4_K: 132 cases bit-identical (132 packed)" ]
	[ "${lines[4]}" = "q6_K: 132 cases bit-identical (132 packed)" ]
}

@test "matmul-bench times each matrix of layer 0 at each n; bad usage exit 2" {
	need_model "$SMOL"
	run --separate-stderr "$TBIN/matmul-bench" -o -r 1 "$SMOL" 1 4
	status_is 0
	[ "${#lines[@]}" -eq 14 ]
	[[ "${lines[0]}" =~ ^wq\ +q4_1\ +576x576\ +n=1\ +[0-9.]+\ us/token\ +1\.000 ]]
	[[ "${lines[13]}" =~ ^down\ +q4_1\ +576x1536\ +n=4\ +[0-9.]+\ us/token ]]
	run --separate-stderr "$TBIN/matmul-bench" -r 0 "$SMOL"
	status_is 2
	[ "${stderr_lines[0]}" = "matmul-bench: -r: 0: too small (want 1..64)" ]
	run --separate-stderr "$TBIN/matmul-bench" "$TMP/none.gguf"
	status_is 1
	[ "$stderr" = "matmul-bench: $TMP/none.gguf: No such file or directory" ]
}

@test "both attention kernels match attention in double; ggml's expf matches exp" {
	run "$TBIN/attn-test"
	echo "$output"
	status_is 0
	[ "${#lines[@]}" -eq 19 ]
}

@test "the portable kernels give the same next tokens end to end" {
	need_model "$SMOL"
	ids="504 3575 282 4649 314"
	echo "$ids" | chord-fwd --top 5 | cut -f4- | sed 's/ [-0-9.]*\(\t\|$\)/\1/g' > "$TMP/simd"
	echo "$ids" | CHORD_NOSIMD=1 chord-fwd --top 5 | cut -f4- | sed 's/ [-0-9.]*\(\t\|$\)/\1/g' > "$TMP/scalar"
	# The portable dot products sum blocks in ggml's generic order, not in
	# its SIMD lanes, so logits move by a few hundredths: ranks 4 and 5 of
	# this prompt are 0.03 apart and may swap; the first three may not.
	[ "$(cut -f1-3 "$TMP/simd")" = "$(cut -f1-3 "$TMP/scalar")" ]
	[[ "$(cat "$TMP/simd")" == "7042 ' Paris'"* ]]
}

@test "perplexity through the pipes is llama-perplexity's to its 4 decimals" {
	need_model "$SMOL"
	want=$(jq .ppl "$GOLDEN/ppl-smollm2.json")
	run "$TOP/contrib/perplexity" -c "$(jq .n_ctx "$GOLDEN/ppl-smollm2.json")" "$GOLDEN/ppl-text.txt"
	echo "$output (llama.cpp: $want)"
	status_is 0
	[[ "$output" == "chunks=13 tokens=819 ppl="* ]]
	awk -v g="${output##*ppl=}" -v w="$want" 'BEGIN { exit !(g - w < 0.00005 && w - g < 0.00005) }'
}

@test "--all-logits: one frame per position, the last equal to the default frame" {
	need_model "$SMOL"
	echo "504 3575 282" | chord-fwd --all-logits > "$TMP/all"
	echo "504 3575 282" | chord-fwd > "$TMP/last"
	run "$TBIN/stream-test" read < "$TMP/all"
	status_is 0
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[3]%% first=*}" = "pos=2 token=282 n_new=1" ]
	# the default frame carries the whole batch as the sampler's history
	[ "$("$TBIN/stream-test" read < "$TMP/last" | tail -n 1 | cut -d' ' -f1-3)" = "pos=2 token=282 n_new=3" ]
	# the logits of the last frame are the same bytes
	n=$((49152 * 4))
	cmp <(tail -c "$n" "$TMP/all") <(tail -c "$n" "$TMP/last")
}

@test "the KV cache carries over between lines: feeding one id at a time gives the batch's logits" {
	need_model "$SMOL"
	printf '504\n3575\n282\n' | chord-fwd --top 3 | tail -n 1 | cut -f4 > "$TMP/steps"
	echo "504 3575 282" | chord-fwd --top 3 | cut -f4 > "$TMP/batch"
	[ "$(cut -d' ' -f1 "$TMP/steps")" = "$(cut -d' ' -f1 "$TMP/batch")" ]
}

@test "overflowing the context is a clear error" {
	need_model "$SMOL"
	run --separate-stderr chord-fwd -c 4 <<< "1 2 3 4 5"
	status_is 1
	[ "$stderr" = "chord-fwd: stdin: line 1: 5 tokens overflow the context (0 of 4 positions used; use -c)" ]
	run --separate-stderr chord-fwd -c 4 --top 1 <<< $'1 2 3\n4\n5'
	status_is 1
	[ "${#lines[@]}" -eq 2 ]
	[ "$stderr" = "chord-fwd: stdin: line 3: 1 tokens overflow the context (4 of 4 positions used; use -c)" ]
}

@test "bad token streams: out of range, another vocabulary" {
	need_model "$SMOL"
	need_model "$GEMMA"
	run --separate-stderr chord-fwd <<< "1 49152"
	status_is 1
	[ "$stderr" = "chord-fwd: stdin: line 1: token 49152 out of range (n_vocab 49152)" ]
	printf hi | chord-tok -m "$GEMMA" > "$TMP/g"
	run --separate-stderr chord-fwd < "$TMP/g"
	status_is 1
	[[ "$stderr" == "chord-fwd: stdin: token stream is for vocab "* ]]
}

@test "an architecture it does not run is named in the error, with the ones it runs" {
	need_model "$SMOL"
	gguf-repack -q -s general.architecture=mamba "$SMOL" "$TMP/m.gguf"
	run --separate-stderr chord-fwd -m "$TMP/m.gguf" <<< "2"
	status_is 1
	[ "$stderr" = "chord-fwd: $TMP/m.gguf: architecture 'mamba' not supported (chord runs llama, qwen2, qwen3, phi3, gemma3)" ]
}

@test "a head size past the kernels' limit is a clear error, not a crash" {
	need_model "$SMOL"
	gguf-repack -q -s llama.attention.head_count=1 \
	    -s llama.attention.head_count_kv=1 "$SMOL" "$TMP/h1.gguf"
	run --separate-stderr chord-fwd -m "$TMP/h1.gguf" <<< "2"
	status_is 1
	[ "$stderr" = "chord-fwd: $TMP/h1.gguf: head size 576 is over 512" ]
}

@test "a truncated model is an error, not a crash" {
	need_model "$SMOL"
	head -c 50000000 "$SMOL" > "$TMP/cut.gguf"
	run --separate-stderr chord-fwd -m "$TMP/cut.gguf" <<< "1"
	status_is 1
	[[ "$stderr" == "chord-fwd: $TMP/cut.gguf: tensor "*": data past end of file (at byte "* ]]
}

@test "-v reports load time and speed on stderr, nothing on stdout changes" {
	need_model "$SMOL"
	run --separate-stderr chord-fwd -v --top 1 <<< "504 3575"
	status_is 0
	[[ "${stderr_lines[0]}" == "chord-fwd: loaded "*" in "*" s: 30 layers, dim 576, context 4096, "* ]]
	[[ "${stderr_lines[1]}" == "chord-fwd: first logits after "* ]]
	[ "${#lines[@]}" -eq 1 ]
}

@test "NaN weights give NaN logits, not an undefined float-to-int conversion" {
	# found by make fuzz; under make san this ran into UBSan's float-cast check
	run --separate-stderr chord-fwd -m "$TOP/t/fuzz/corpus/model/nan-weights.gguf" --top 2 <<< "0 1 2"
	status_is 0
	[[ "$output" == *nan* ]]
	[ -z "$stderr" ]
}

@test "weights of a type it cannot multiply are refused at load, naming file and tensor" {
	need_model "$SMOL"
	python3 "$TOP/t/settype.py" "$SMOL" "$TMP/iq.gguf" blk.0.ffn_gate.weight 20
	run --separate-stderr chord-fwd -m "$TMP/iq.gguf" <<< "1"
	status_is 1
	[ "$stderr" = "chord-fwd: $TMP/iq.gguf: tensor blk.0.ffn_gate.weight: type iq4_nl not supported" ]
	[ -z "$output" ]
	python3 "$TOP/t/settype.py" "$SMOL" "$TMP/iq2.gguf" token_embd.weight 20
	run --separate-stderr chord-fwd -m "$TMP/iq2.gguf" <<< "1"
	status_is 1
	[ "$stderr" = "chord-fwd: $TMP/iq2.gguf: token_embd.weight: type iq4_nl not supported" ]
}

@test "an odd RoPE dimension count is refused, not a write past a buffer" {
	need_model "$SMOL"
	gguf-repack -q -s llama.rope.dimension_count:u32=63 "$SMOL" "$TMP/odd.gguf"
	run --separate-stderr chord-fwd -m "$TMP/odd.gguf" <<< "1 2 3"
	status_is 1
	[ "$stderr" = "chord-fwd: $TMP/odd.gguf: llama.rope.dimension_count = 63 is odd" ]
}

@test "#chord keep N drops cached positions: the next batch continues at N" {
	need_model "$SMOL"
	a=$(printf '504 3575 282 4649 314\n' | chord-fwd --top 3)
	b=$(printf '504 3575 282 19556 19556 19556\n#chord keep 3\n4649 314\n' | chord-fwd --top 3 | tail -n 1)
	[ -n "$a" ] && [ "$a" = "$b" ]
	run --separate-stderr chord-fwd <<< $'1 2 3\n#chord keep 9'
	status_is 1
	[ "$stderr" = "chord-fwd: stdin: line 2: keep 9: only 3 positions are filled" ]
	run --separate-stderr chord-fwd <<< $'1 2 3\n#chord keep x'
	status_is 1
	[ "$stderr" = 'chord-fwd: stdin: line 2: bad control line (want "#chord keep N")' ]
}

@test "tensor data at an odd offset (general.alignment 1) is refused, not misread" {
	need_model "$SMOL"
	# a one-byte longer name puts the data of every tensor at an odd byte
	gguf-repack -q -s general.alignment:u32=1 -s general.name=x12 "$SMOL" "$TMP/a.gguf"
	run --separate-stderr chord-fwd -m "$TMP/a.gguf" <<< "1"
	status_is 1
	[ "$stderr" = "chord-fwd: $TMP/a.gguf: tensor token_embd.weight: data not aligned for its type" ]
}

@test "infinite activations (a denormal block maximum) quantize as ggml's, without undefined behaviour" {
	# found by make fuzz (t/fuzz/corpus/model/inf-activations.gguf)
	run --separate-stderr chord-fwd -m "$TOP/t/fuzz/corpus/model/inf-activations.gguf" --top 1 <<< "0"
	echo "$stderr"
	[ "$status" -le 1 ]
	[[ "$stderr" != *"runtime error"* ]]
}
