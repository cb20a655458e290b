#!/usr/bin/env bats
# The committed goldens are whole and consistent (they are made by
# `make golden`; see t/golden/README.md).

load helper

@test "every golden file parses, with the fields the suites read" {
	for f in "$GOLDEN"/tokens-*.jsonl; do
		[ "$(jq -s 'length' "$f")" -eq 212 ]
		jq -e 'has("text") and has("ids") and (.ids | type == "array")' "$f" > /dev/null
	done
	for f in "$GOLDEN"/logits-*.jsonl; do
		jq -e '(.top | length) == 20 and (.greedy | length) == 64 and .argmax == .top[0][0]' "$f" > /dev/null
	done
	for f in "$GOLDEN"/ppl-*.json; do
		jq -e '.ppl > 1 and .n_chunks == (.chunks | length) and .chunks[-1] == .ppl' "$f" > /dev/null
	done
}

@test "token ids are inside each vocabulary" {
	[ "$(jq -s '[.[].ids[]] | max' "$GOLDEN/tokens-smollm2.jsonl")" -lt 49152 ]
	[ "$(jq -s '[.[].ids[]] | max' "$GOLDEN/tokens-gemma3.jsonl")" -lt 262144 ]
	[ "$(jq -s '[.[].ids[]] | max' "$GOLDEN/tokens-qwen2.jsonl")" -lt 151936 ]
}

@test "the perplexity text is the one the README names" {
	[ "$(sha256sum < "$GOLDEN/ppl-text.txt" | cut -d' ' -f1)" = 1ece1e313159c0528c35e51cfca2979656ea6c53c8e2d7bbfe3d45e7a44dacae ]
	grep -q 1ece1e313159c0528c35e51cfca2979656ea6c53c8e2d7bbfe3d45e7a44dacae "$GOLDEN/README.md"
}
