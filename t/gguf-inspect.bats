#!/usr/bin/env bats
# gguf-inspect and the GGUF reader/writer of lib/gguf.c.

load helper

mk() { python3 "$TOP/t/mkgguf.py" "$@"; }

@test "-h prints usage on stdout, exit 0" {
	run --separate-stderr gguf-inspect -h
	status_is 0
	[[ "$output" == "usage: gguf-inspect "* ]]
	[ -z "$stderr" ]
}

@test "unknown option: usage on stderr, exit 2" {
	run --separate-stderr gguf-inspect --bogus
	status_is 2
	[ "${stderr_lines[0]}" = "gguf-inspect: unknown option --bogus" ]
	[[ "${stderr_lines[1]}" == "usage: gguf-inspect "* ]]
	[ -z "$output" ]
}

@test "summary of the default model" {
	need_model "$SMOL"
	run gguf-inspect -s "$SMOL"
	status_is 0
	[[ "$output" == *"architecture:  llama"* ]]
	[[ "$output" == *"parameters:    134515008 (134.5M)"* ]]
	[[ "$output" == *"types:         f32 x61 (0.1 MiB) q4_1 x210 (63.3 MiB) q8_0 x1 (28.7 MiB)"* ]]
	[[ "$output" == *"vocab:         49152 tokens, gpt2"* ]]
	[[ "$output" == *"bos      1 '<|im_start|>'"* ]]
	[[ "$output" == *"chat template: yes"* ]]
	[[ "$output" == *"embedding_length                         576"* ]]
}

@test "model search order: -m, then \$CHORD_MODEL, then the default" {
	need_model "$SMOL"
	need_model "$GEMMA"
	run gguf-inspect -k general.architecture
	[ "$output" = "llama" ]
	CHORD_MODEL=$GEMMA run gguf-inspect -k general.architecture
	[ "$output" = "gemma3" ]
	CHORD_MODEL=$GEMMA run gguf-inspect -k general.architecture -m "$SMOL"
	[ "$output" = "llama" ]
	CHORD_MODEL=$TMP/none.gguf run gguf-inspect
	status_is 1
	[ "$output" = "gguf-inspect: $TMP/none.gguf: No such file or directory" ]
}

@test "--json is valid JSON with every key and tensor" {
	need_model "$SMOL"
	gguf-inspect --json "$SMOL" > "$TMP/a.json"
	[ "$(jq '.metadata | length' "$TMP/a.json")" -eq 33 ]
	[ "$(jq '.tensors | length' "$TMP/a.json")" -eq 272 ]
	[ "$(jq -r '.metadata["tokenizer.ggml.tokens"].type' "$TMP/a.json")" = "arr[str,49152]" ]
	[ "$(jq -r '.tensors[0].name + " " + .tensors[0].type' "$TMP/a.json")" = "token_embd.weight q8_0" ]
	[ "$(jq -c '.tensors[0].shape' "$TMP/a.json")" = "[576,49152]" ]
}

@test "default model: every key and tensor agrees with the gguf package" {
	need_model "$SMOL"
	gguf-inspect --json --full "$SMOL" > "$TMP/ours.json"
	mk ref "$SMOL" > "$TMP/ref.json"
	run mk compare "$TMP/ours.json" "$TMP/ref.json"
	status_is 0
	[ "$output" = "33 keys, 272 tensors compared, 0 differences" ]
}

@test "Gemma 3: every key and tensor agrees with the gguf package" {
	need_model "$GEMMA"
	gguf-inspect --json --full "$GEMMA" > "$TMP/ours.json"
	mk ref "$GEMMA" > "$TMP/ref.json"
	run mk compare "$TMP/ours.json" "$TMP/ref.json"
	status_is 0
	[ "$output" = "33 keys, 236 tensors compared, 0 differences" ]
}

@test "synthetic v3 and v2 files: every metadata type agrees with the gguf package" {
	for v in 3 2; do
		mk synth "$TMP/s$v.gguf" --version $v
		gguf-inspect --json --full "$TMP/s$v.gguf" > "$TMP/ours.json"
		mk ref "$TMP/s$v.gguf" > "$TMP/ref.json"
		run mk compare "$TMP/ours.json" "$TMP/ref.json"
		status_is 0
		[ "$output" = "24 keys, 7 tensors compared, 0 differences" ]
	done
	[ "$(gguf-inspect -k test.u64 "$TMP/s2.gguf")" = "18446744073709551615" ]
}

@test "nested and empty arrays, control characters, typed values" {
	mk synth "$TMP/s.gguf"
	[ "$(gguf-inspect -k test.arr.nested "$TMP/s.gguf")" = '[[1, 2], ["p", "q"], [[-1]]]' ]
	[ "$(gguf-inspect -k test.arr.empty "$TMP/s.gguf")" = "[]" ]
	[ "$(gguf-inspect -k test.i64 "$TMP/s.gguf")" = "-9223372036854775808" ]
	[ "$(gguf-inspect -k test.f32 "$TMP/s.gguf")" = "0.25" ]
	[ "$(gguf-inspect -k test.bool "$TMP/s.gguf")" = "true" ]
	# the listing escapes what could drive a terminal
	run gguf-inspect "$TMP/s.gguf"
	[[ "$output" == *'tab\there\nnewline\x1b[31m'* ]]
	[[ "$output" != *$'\x1b'* ]]
	# JSON keeps the exact string
	[ "$(gguf-inspect --json "$TMP/s.gguf" | jq -r '.metadata["test.str.ctl"].value')" = $'tab\there\nnewline\x1b[31m' ]
}

@test "long arrays are abbreviated unless --full" {
	need_model "$SMOL"
	run gguf-inspect "$SMOL"
	[[ "$output" == *'tokenizer.ggml.tokens'*'... 49144 more]'* ]]
	[ "$(gguf-inspect --json --full "$SMOL" | jq '.metadata["tokenizer.ggml.tokens"].value | length')" -eq 49152 ]
}

@test "-k KEY prints one value; a missing key is an error" {
	need_model "$SMOL"
	[ "$(gguf-inspect -k llama.block_count "$SMOL")" = "30" ]
	[ "$(gguf-inspect -k general.languages "$SMOL")" = '["en"]' ]
	run --separate-stderr gguf-inspect -k no.such.key "$SMOL"
	status_is 1
	[ "$stderr" = "gguf-inspect: $SMOL: no key no.such.key" ]
}

@test "--hash gives each tensor's xxh3, as xxhsum computes it" {
	need_model "$SMOL"
	gguf-inspect --json --hash "$SMOL" > "$TMP/h.json"
	data=$(jq .data_offset "$TMP/h.json")
	for i in 0 1 271; do
		off=$(jq ".tensors[$i].offset" "$TMP/h.json")
		n=$(jq ".tensors[$i].bytes" "$TMP/h.json")
		want=$(jq -r ".tensors[$i].xxh3" "$TMP/h.json")
		tail -c +$((data + off + 1)) "$SMOL" | head -c "$n" > "$TMP/t"
		got=$(xxhsum -H3 < "$TMP/t" | awk '{ print $NF }')
		[ "$got" = "$want" ]
	done
	run gguf-inspect -t --hash "$SMOL"
	[[ "${lines[2]}" =~ ^\ \ token_embd.weight\ +q8_0\ +576\ x\ 49152\ +0\ +30081024\ \ [0-9a-f]{16}$ ]]
}

@test "writer: copying every key and tensor gives the same file, byte for byte" {
	need_model "$SMOL"
	need_model "$GEMMA"
	mk synth "$TMP/s.gguf"
	for f in "$TMP/s.gguf" "$SMOL" "$GEMMA"; do
		"$TBIN/gguf-copy" "$f" > "$TMP/copy.gguf"
		cmp "$f" "$TMP/copy.gguf"
	done
}

@test "broken files: each gives a clear error and exit 1" {
	for k in $(mk --list); do
		mk broken "$k" "$TMP/b.gguf"
		run gguf-inspect "$TMP/b.gguf"
		[ "$status" -eq 1 ] || { echo "$k: status $status: $output"; false; }
		[[ "$output" == "gguf-inspect: $TMP/b.gguf: "*")" ]] || { echo "$k: $output"; false; }
	done
}

@test "broken files: the messages say what and where" {
	check() {
		mk broken "$1" "$TMP/b.gguf"
		run gguf-inspect "$TMP/b.gguf"
		status_is 1
		[ "$output" = "gguf-inspect: $TMP/b.gguf: $2" ] || { echo "$1: $output"; false; }
	}
	check magic "not a GGUF file (bad magic, at byte 0)"
	check version "GGUF version 4 not supported (at byte 4)"
	check kvcount "key count 4611686018427387904 too large for the file (at byte 16)"
	check strlen "k: string of 18446744073709551615 bytes past end of file (at byte 37)"
	check arrlen "k: array of 4611686018427387904 elements past end of file (at byte 41)"
	check nest "k: arrays nested too deep (at byte 133)"
	check dupkey "duplicate key general.architecture (at byte 69)"
	check zerodim "tensor 0 (a.weight): bad dimension 0 (at byte 97)"
	check ggmltype "tensor 0 (a.weight): unknown tensor type 4 (at byte 105)"
	check blocksize "tensor 0 (a.weight): row of 33 is not a multiple of the q8_0 block size 32 (at byte 105)"
	check misaligned "tensor 1 (b.weight): data offset 100 not aligned to 32 (at byte 149)"
	check alignment "general.alignment: 48 is not a power of two (at byte 69)"
	check pastend "tensor 0 (a.weight): data past end of file (at byte 128)"
	check alignbig "general.alignment: 2147483648 is larger than 1048576 (at byte 24)"
	check overlap "tensor 1 (b.weight): data overlaps tensor 0 (a.weight) (at byte 192)"
}

@test "terminal escapes in keys, values and tensor names never reach the output" {
	mk escapes "$TMP/e.gguf"
	for o in "" -s -t --json --full; do
		gguf-inspect $o "$TMP/e.gguf" > "$TMP/out"
		! LC_ALL=C grep -q $'\x1b\\|\x07\\|\x7f\\|\xc2\x9b\\|\xff' "$TMP/out" ||
		    { echo "raw control bytes with '$o'"; false; }
	done
	gguf-inspect "$TMP/e.gguf" > "$TMP/out"
	grep -qF 'evil\x1b[2J\x1b]0;pwned\x07\xc2\x9b31m\x7f   str' "$TMP/out"
	grep -qF 'value\x1b[2J\x1b]0;pwned\x07\xc2\x9b31m\x7f' "$TMP/out"
	grep -qF 'evil.bytes                                   str              \xff\xfe\x1b[H' "$TMP/out"
	grep -qF '  t\x1b[2J\x1b]0;pwned\x07\xc2\x9b31m\x7f.weight f32' "$TMP/out"
	# JSON escapes them as JSON does and keeps the exact text
	gguf-inspect --json "$TMP/e.gguf" | jq -e '.tensors[0].name == "t\u001b[2J\u001b]0;pwned\u0007\u009b31m\u007f.weight"'
	# -k gives the raw bytes to a script
	[ "$(gguf-inspect -k evil.bytes "$TMP/e.gguf" | od -An -tx1 | tr -d ' ')" = fffe1b5b480a ]
}

@test "error messages escape the file's text too" {
	# the tensor twice: the duplicate's name is in the message
	mk escapes "$TMP/dup.gguf" --dup
	run gguf-inspect "$TMP/dup.gguf"
	status_is 1
	[ "$output" = "gguf-inspect: $TMP/dup.gguf: tensor 1 (t\x1b[2J\x1b]0;pwned\x07\xc2\x9b31m\x7f.weight): duplicate tensor name (at byte 294)" ]
}

@test "decompression bombs: stopped at once, memory bounded by the GGUF header" {
	# a model of 128 bytes of data, then 256 MiB of zeros: decoding it all
	# took 256 MiB and passed it as a model
	for k in zst gz zip tar.zst; do
		python3 "$TOP/t/mkbomb.py" "$k" "$TMP/b.$k" 256
		run /usr/bin/time -o "$TMP/rss" -f %M gguf-inspect "$TMP/b.$k"
		status_is 1
		[ "$output" = "gguf-inspect: $TMP/b.$k: decompressed data longer than its GGUF header declares" ]
		[ "$(tail -n 1 "$TMP/rss")" -lt 65536 ] || { echo "$k: peak RSS $(cat "$TMP/rss") KiB"; false; }
	done
	# zeros alone are refused at their first bytes (a lone .gz of zeros
	# reads as an empty tar)
	for k in gz zip; do
		python3 "$TOP/t/mkbomb.py" "$k" "$TMP/z.$k" 256 --nogguf
		run /usr/bin/time -o "$TMP/rss" -f %M gguf-inspect "$TMP/z.$k"
		status_is 1
		want="not a GGUF file (bad magic, at byte 0)"
		[ "$k" = zip ] || want="the archive holds no .gguf member"
		[ "${lines[0]}" = "gguf-inspect: $TMP/z.$k: $want" ]
		[ "$(tail -n 1 "$TMP/rss")" -lt 65536 ]
	done
	# a header that never ends (a string of 2^40 bytes) stops at 64 MiB
	python3 -c 'import struct, sys; sys.stdout.buffer.write(b"GGUF" +
	    struct.pack("<IQQQ", 3, 0, 1, 1) + b"k" + struct.pack("<IQ", 8, 2**40))' > "$TMP/h"
	head -c 100M /dev/zero | cat "$TMP/h" - | zstd -q -1 > "$TMP/h.zst"
	run /usr/bin/time -o "$TMP/rss" -f %M gguf-inspect "$TMP/h.zst"
	status_is 1
	[ "$output" = "gguf-inspect: $TMP/h.zst: GGUF header longer than 64 MiB" ]
	[ "$(tail -n 1 "$TMP/rss")" -lt 98304 ]
	# the same model without the zeros is read
	python3 "$TOP/t/mkbomb.py" zst "$TMP/ok.zst" 0
	gguf-inspect -s "$TMP/ok.zst" | grep -q '^tensors: *1$'
}

@test "empty file, directory, unreadable: clear errors" {
	: > "$TMP/empty.gguf"
	run gguf-inspect "$TMP/empty.gguf"
	status_is 1
	[ "$output" = "gguf-inspect: $TMP/empty.gguf: not a GGUF file (too short: 0 bytes)" ]
	run gguf-inspect "$TMP"
	status_is 1
	[ "$output" = "gguf-inspect: $TMP: is a directory" ]
}

@test "default model truncated at every offset of its header: error, never a signal" {
	need_model "$SMOL"
	data=$(gguf-inspect --json "$SMOL" | jq .data_offset)
	# every byte of the first 2 KiB, then a stride through the vocabulary
	# and the tensor table, then into the data
	offs="$(seq 0 2048) $(seq 2049 7919 "$data") $((data - 1)) $((data + 100))"
	bad=0
	for n in $offs; do
		head -c "$n" "$SMOL" > "$TMP/cut.gguf"
		st=0
		gguf-inspect -s "$TMP/cut.gguf" > /dev/null 2> "$TMP/err" || st=$?
		if [ "$st" -ne 1 ] || ! grep -q "^gguf-inspect: $TMP/cut.gguf: " "$TMP/err"; then
			echo "cut at $n: status $st: $(cat "$TMP/err")"
			bad=$((bad + 1))
		fi
	done
	[ "$bad" -eq 0 ]
}
