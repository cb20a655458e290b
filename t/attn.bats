#!/usr/bin/env bats
# lib/attn.c's prompt attention: the kernel that takes the query heads of a
# GQA group together, and the vectorised expf, against the one-row tiled
# kernel and the scalar expf they replace, bit for bit (t/attn-test.c).

load helper

@test "several query rows a tile: the one-row tiled kernel's floats, bit for bit" {
	run --separate-stderr "$TBIN/attn-test" rows
	echo "$output"
	status_is 0
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = "head 64: 112 of 112 cases bit-identical" ]
	[ "${lines[1]}" = "head 128: 112 of 112 cases bit-identical" ]
	[ "${lines[2]}" = "head 256: 112 of 112 cases bit-identical" ]
	[ "${lines[3]}" = "head 80: 112 of 112 cases bit-identical" ]
	[ -z "$stderr" ]
}

@test "one token's own K and V rows apart from the cache: the same floats" {
	run --separate-stderr "$TBIN/attn-test" last
	status_is 0
	[ "$output" = "last row apart: 48 of 48 cases bit-identical" ]
	[ -z "$stderr" ]
}

@test "expf_ggml 16 lanes at a time: expf_ggml's floats, bit for bit" {
	run --separate-stderr "$TBIN/attn-test" expf
	status_is 0
	[ "$output" = "expf_ggml_row: 70409317 of 70409317 inputs bit-identical" ]
	[ -z "$stderr" ]
}
