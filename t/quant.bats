#!/usr/bin/env bats
# Dequantizers (lib/quant_q.c, lib/quant_k.c) and reference quantizers
# (lib/quant_q.c, lib/quant_k_ref.c) against llama.cpp's Python reader and
# writer, the gguf package, bit for bit. (The K-quant quantizers are held
# against llama-quantize itself in t/gguf-repack.bats.)

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

@test "the reference quantizers give the gguf package's blocks, bit for bit" {
	run python3 "$TOP/t/quantref.py" "$TBIN/quant-test"
	echo "$output"
	status_is 0
	[ "$(grep -c ': 51200 values, same$' <<< "$output")" -eq 7 ]
}

@test "quant-test: values that are not whole blocks are an error" {
	run "$TBIN/quant-test" q4_K <<< "abcdefgh"
	status_is 1
	[ "$output" = "quant-test: stdin: not whole q4_K blocks" ]
}
