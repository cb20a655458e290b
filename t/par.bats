#!/usr/bin/env bats
# lib/par_pool.c, the pthread team of the browser build, run natively by
# t/par-test.c (native tools use OpenMP; make wasm uses this pool).

load helper

@test "par_pool: teams of 1 to 4 see each other's writes after every barrier" {
	run --separate-stderr "$TBIN/par-test"
	status_is 0
	[ "$output" = "par-test: ok" ]
	[ -z "$stderr" ]
}
