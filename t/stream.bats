#!/usr/bin/env bats
# The token and logits streams of lib/stream.h, through t/stream-test.c.

load helper

st() { "$TBIN/stream-test" "$@"; }

@test "token stream: one line is one batch, comments and blank lines skipped" {
	run st tok < <(printf '#chord tokens vocab=00000000000000ff n_vocab=100\n1 2 3\n\n# note\n 4\t5 \n')
	status_is 0
	[ "$output" = "$(printf '3: 1 2 3\n2: 4 5')" ]
}

@test "token stream: matching header accepted" {
	run st tok 00000000000000ff 100 < <(printf '#chord tokens vocab=00000000000000ff n_vocab=100\n7\n')
	status_is 0
	[ "$output" = "1: 7" ]
}

@test "token stream for another vocabulary: clear error" {
	run st tok 00000000000000fe 100 < <(printf '#chord tokens vocab=00000000000000ff n_vocab=100\n7\n')
	status_is 1
	[ "$output" = "stream-test: stdin: token stream is for vocab 00000000000000ff, model has 00000000000000fe" ]
}

@test "token id out of range: clear error naming the line" {
	run st tok 0 100 < <(printf '1 2\n3 100\n')
	status_is 1
	[ "${lines[0]}" = "2: 1 2" ]
	[ "${lines[1]}" = "stream-test: stdin: line 2: token 100 out of range (n_vocab 100)" ]
}

@test "token stream: words, negative and huge ids rejected" {
	run st tok < <(printf 'hello\n')
	status_is 1
	[ "$output" = "stream-test: stdin: line 1: not a token id: 'hello'" ]
	run st tok < <(printf -- '-5\n')
	status_is 1
	run st tok < <(printf '99999999999\n')
	status_is 1
	[ "$output" = "stream-test: stdin: line 1: token id too large" ]
}

@test "token stream: header after the first line is an error" {
	run st tok < <(printf '1\n#chord tokens vocab=00000000000000ff n_vocab=100\n')
	status_is 1
	[ "${lines[1]}" = "stream-test: stdin: line 2: stream header not on the first line" ]
}

@test "logits stream: frames round-trip" {
	st write 5 3 > "$TMP/l"
	[ "$(stat -c %s "$TMP/l")" -eq $((64 + 3 * (20 + 4 + 5 * 4))) ]
	run st read < "$TMP/l"
	status_is 0
	[ "${lines[0]}" = "n_vocab=5 vocab=000000001234abcd bos=1 eos=2 n_eog=1" ]
	[ "${lines[3]}" = "pos=2 token=2 n_new=1 first=2 last=6" ]
}

@test "logits stream: truncated at every byte is an error, never a crash" {
	st write 5 2 > "$TMP/l"
	size=$(stat -c %s "$TMP/l")
	for n in $(seq 1 $((size - 1))); do
		head -c "$n" "$TMP/l" > "$TMP/cut"
		run st read < "$TMP/cut"
		# a cut exactly between frames is a clean end
		if [ "$n" -eq 64 ] || [ "$n" -eq $((64 + 44)) ]; then
			status_is 0
		else
			status_is 1
			[[ "${lines[-1]}" == "stream-test: stdin: truncated logits "* ]]
		fi
	done
}

@test "logits stream: empty input and wrong magic are errors" {
	run st read < /dev/null
	status_is 1
	[ "$output" = "stream-test: stdin: empty logits stream" ]
	run st read <<< "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25"
	status_is 1
	[ "$output" = "stream-test: stdin: not a logits stream (bad magic)" ]
}

@test "a bad token in a stream is shown escaped: no terminal escape reaches stderr" {
	need_model "$SMOL"
	run --separate-stderr chord-fwd <<< $'1 \e[2Jx'
	status_is 1
	[ "$stderr" = 'chord-fwd: stdin: line 1: not a token id: '"'"'\x1b[2Jx'"'" ]
}

@test "logits stream: a token or history id outside the vocab is an error" {
	python3 "$TOP/t/mklogits.py" 16 uniform @16:uniform > "$TMP/l"
	run st read < "$TMP/l"
	status_is 1
	[ "${lines[-1]}" = "stream-test: stdin: frame at position 1: token 16 out of range (n_vocab 16)" ]
	# frame 0's one history id (bytes 84..87) made 99
	python3 "$TOP/t/mklogits.py" 16 uniform > "$TMP/l"
	printf '\143\0\0\0' | dd of="$TMP/l" bs=1 seek=84 conv=notrunc 2> /dev/null
	run st read < "$TMP/l"
	status_is 1
	[ "${lines[-1]}" = "stream-test: stdin: frame at position 0: history id 99 out of range (n_vocab 16)" ]
}
