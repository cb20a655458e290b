#!/usr/bin/env bats
# lib/rowops.c: the vector RMSNorm (several rows' double sums at once) and
# GELU/SiLU gates against the scalar code they replace, bit for bit
# (t/rowops-test.c; `rowops-test gelu all` runs every float, by hand).

load helper

@test "geglu sixteen at a time: gelu()'s floats on 70M bit patterns" {
	run --separate-stderr "$TBIN/rowops-test" gelu
	status_is 0
	[ "$output" = "geglu: 70409317 of 70409317 inputs bit-identical" ]
	[ -z "$stderr" ]
}

@test "rmsnorm_rows: rmsnorm's floats row by row, in place or not" {
	run --separate-stderr "$TBIN/rowops-test" norm
	status_is 0
	[ "$output" = "rmsnorm_rows: 84 of 84 cases bit-identical" ]
}

@test "swiglu: silu()'s floats" {
	run --separate-stderr "$TBIN/rowops-test" silu
	status_is 0
	[ "$output" = "swiglu: silu's bits" ]
}

@test "rowops-test: bad usage exit 2" {
	run --separate-stderr "$TBIN/rowops-test" nonsense
	status_is 2
	[ "$stderr" = "usage: rowops-test gelu [all] | norm | silu" ]
}
