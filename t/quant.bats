#!/usr/bin/env bats
# Dequantizers (lib/matmul.c, lib/quant_k.c) against llama.cpp's Python
# reader, the gguf package, bit for bit.

load helper

@test "random blocks of every type dequantize as the gguf package does" {
	run python3 "$TOP/t/dequant.py" "$TBIN/dequant-test"
	echo "$output"
	status_is 0
	[ "${#lines[@]}" -eq 12 ]
}

@test "Gemma 3's real Q4_K, Q6_K, Q5_0 and Q8_0 tensors dequantize as the gguf package does" {
	need_model "$GEMMA"
	run python3 "$TOP/t/dequant.py" "$TBIN/dequant-test" "$GEMMA" \
	    blk.0.attn_output.weight blk.0.ffn_down.weight blk.0.attn_q.weight \
	    blk.0.attn_v.weight
	echo "$output"
	status_is 0
	[ "$(grep -c ': same$' <<< "$output")" -eq 4 ]
}

@test "a block count that is not whole is an error" {
	run "$TBIN/dequant-test" q4_K <<< "abc"
	status_is 1
	[ "$output" = "dequant-test: stdin: not whole q4_K blocks" ]
}
