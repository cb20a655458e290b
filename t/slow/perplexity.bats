#!/usr/bin/env bats
# The slow checks, run by `make check-all` (not by `make test`): perplexity
# through the pipes on every weight type and on every real model, against
# llama-perplexity on the same files.

load ../helper

# ppl_is MODEL GOLDEN.json: contrib/perplexity gives the golden's value to
# its 4 decimals.
ppl_is() {
	local want
	want=$(jq .ppl "$2")
	run "$TOP/contrib/perplexity" -m "$1" -c "$(jq .n_ctx "$2")" "$GOLDEN/ppl-text.txt"
	echo "$output (llama.cpp: $want)"
	status_is 0
	awk -v g="${output##*ppl=}" -v w="$want" 'BEGIN { exit !(g - w < 0.00005 && w - g < 0.00005) }'
}

@test "every weight type: llama-perplexity's perplexity on the same file (bf16 within 0.1%)" {
	need_model "$SMOL"
	gguf-repack -q -t f32 "$SMOL" "$TMP/f32.gguf"
	for t in $(jq -r '.types[].type' "$GOLDEN/repack-smollm2.json"); do
		f=$TMP/$t.gguf
		[ "$t" = f32 ] && f=$TMP/f32.gguf || gguf-repack -q -t "$t" "$TMP/f32.gguf" "$f"
		want=$(jq ".types[] | select(.type == \"$t\") | .llama_ppl" "$GOLDEN/repack-smollm2.json")
		run "$TOP/contrib/perplexity" -m "$f" -c 128 "$GOLDEN/ppl-text.txt"
		echo "$t: $output (llama.cpp: $want)"
		status_is 0
		tol=0.00005
		[ "$t" = bf16 ] && tol=$(awk -v w="$want" 'BEGIN { print w * 0.001 }')
		awk -v g="${output##*ppl=}" -v w="$want" -v e="$tol" 'BEGIN { exit !(g - w <= e && w - g <= e) }'
		[ "$t" = f32 ] || rm "$f"
	done
}

@test "Gemma 3: llama-perplexity's perplexity to its 4 decimals" {
	need_model "$GEMMA"
	ppl_is "$GEMMA" "$GOLDEN/ppl-gemma3.json"
}

@test "Qwen2.5: llama-perplexity's perplexity to its 4 decimals" {
	need_model "$QWEN"
	ppl_is "$QWEN" "$GOLDEN/ppl-qwen2.json"
}
