#!/usr/bin/env bats
# gguf-repack: requantizing (bit for bit as llama-quantize), keeping and
# dropping tensors, metadata edits, shards (byte for byte as llama-gguf-split),
# containers read back by every tool, and output that is never half-written.

load helper

# "name type xxh3" of every tensor, sorted: equal lines, equal tensors.
tensors() {
	gguf-inspect --json --hash "$1" |
	    jq -r '.tensors[] | "\(.name) \(.type) \(.xxh3)"' | sort
}

digest() {
	tensors "$1" | sha256sum | cut -d' ' -f1
}

golden() {
	jq -r "$1" "$GOLDEN/repack-smollm2.json"
}

@test "-h prints usage and exits 0; bad usage exits 2" {
	run gguf-repack -h
	status_is 0
	[[ "$output" == "usage: gguf-repack "* ]]
	run gguf-repack "$SMOL"
	status_is 2
	[ "${lines[0]}" = "gguf-repack: expected IN and OUT" ]
	run gguf-repack -t q7_0 "$SMOL" "$TMP/x.gguf"
	status_is 2
	[[ "${lines[0]}" == "gguf-repack: -t q7_0: not a type gguf-repack writes"* ]]
	run gguf-repack --split-max-size 10X "$SMOL" "$TMP/x"
	status_is 2
	[ ! -e "$TMP/x.gguf" ]
}

@test "repacking without changes gives the same file, byte for byte" {
	need_model "$SMOL"
	gguf-repack "$SMOL" "$TMP/same.gguf"
	cmp "$SMOL" "$TMP/same.gguf"
	gguf-repack "$SMOL" - | cmp "$SMOL" -
}

@test "a truncated or foreign input is a clean error" {
	need_model "$SMOL"
	head -c 100000 "$SMOL" > "$TMP/cut.gguf"
	run gguf-repack "$TMP/cut.gguf" "$TMP/out.gguf"
	status_is 1
	[[ "$output" == "gguf-repack: $TMP/cut.gguf: "* ]]
	[ ! -e "$TMP/out.gguf" ]
	echo hello > "$TMP/text"
	run gguf-repack "$TMP/text" "$TMP/out.gguf"
	status_is 1
	[ "$output" = "gguf-repack: $TMP/text: not a GGUF file (bad magic, at byte 0)" ]
}

@test "-t f32 dequantizes every weight as chord's dequantizers do" {
	need_model "$SMOL"
	gguf-repack -t f32 "$SMOL" "$TMP/f32.gguf"
	[ "$(gguf-inspect --json "$TMP/f32.gguf" | jq -r '[.tensors[].type] | unique | join(",")')" = f32 ]
	[ "$(gguf-inspect -k general.file_type "$TMP/f32.gguf")" = 0 ]
	for t in token_embd.weight blk.3.ffn_down.weight; do
		cmp <("$TBIN/dequant-test" "$SMOL" "$t") <("$TBIN/dequant-test" "$TMP/f32.gguf" "$t")
	done
}

@test "every type: the same tensors as llama-quantize --pure writes, fallbacks included" {
	need_model "$SMOL"
	[ "$(sha256sum < "$SMOL" | cut -d' ' -f1)" = "$(golden .source_sha256)" ]
	gguf-repack -q -t f32 "$SMOL" "$TMP/f32.gguf"
	n=0
	for t in $(golden '.types[].type'); do
		want=$(golden ".types[] | select(.type == \"$t\") | .tensors")
		f=$TMP/f32.gguf
		[ "$t" = f32 ] || { gguf-repack -q -t "$t" "$TMP/f32.gguf" "$TMP/$t.gguf"; f=$TMP/$t.gguf; }
		got=$(digest "$f")
		echo "$t: $got (llama-quantize: $want)"
		[ "$got" = "$want" ]
		n=$((n + 1))
		[ "$t" = f32 ] || rm "$TMP/$t.gguf"
	done
	[ "$n" -eq 13 ]
}

@test "fallbacks are reported as llama.cpp makes them" {
	need_model "$SMOL"
	run --separate-stderr gguf-repack -t q4_K "$SMOL" "$TMP/q4k.gguf"
	status_is 0
	[ "$stderr" = "gguf-repack: 181 tensors as q5_0 instead of q4_K: rows of 576 are not a multiple of 256" ]
	run --separate-stderr gguf-repack -q -t q6_K "$SMOL" "$TMP/q6k.gguf"
	[ -z "$stderr" ]
	[ "$(gguf-inspect -k general.file_type "$TMP/q4k.gguf")" = 14 ]
	[ "$(gguf-inspect -k general.quantization_version "$TMP/q4k.gguf")" = 2 ]
}

@test "rules per tensor name; keep and drop by glob" {
	need_model "$SMOL"
	gguf-repack -q -t q4_0 -r 'token_embd.weight=q8_0' -r '*ffn_down*=keep' \
	    -r 'blk.0.*_norm.weight=f16' "$SMOL" "$TMP/r.gguf"
	t=$(gguf-inspect --json "$TMP/r.gguf")
	[ "$(jq -r '.tensors[] | select(.name == "token_embd.weight") | .type' <<< "$t")" = q8_0 ]
	[ "$(jq -r '.tensors[] | select(.name == "blk.5.ffn_down.weight") | .type' <<< "$t")" = q4_1 ]
	[ "$(jq -r '.tensors[] | select(.name == "blk.5.ffn_up.weight") | .type' <<< "$t")" = q4_0 ]
	[ "$(jq -r '.tensors[] | select(.name == "blk.0.attn_norm.weight") | .type' <<< "$t")" = f16 ]
	[ "$(jq -r '.tensors[] | select(.name == "blk.1.attn_norm.weight") | .type' <<< "$t")" = f32 ]
	gguf-repack -x 'blk.29.*' "$SMOL" "$TMP/d.gguf"
	[ "$(gguf-inspect --json "$TMP/d.gguf" | jq '.tensors | length')" -eq 263 ]
	gguf-repack -k 'token_embd.weight' -k '*norm*' "$SMOL" "$TMP/k.gguf"
	[ "$(gguf-inspect --json "$TMP/k.gguf" | jq '.tensors | length')" -eq 62 ]
	# kept tensors are the source's bytes
	[ "$(tensors "$TMP/k.gguf")" = "$(tensors "$SMOL" | grep -E '^(token_embd|.*norm)')" ]
}

@test "any type converts to any other, and the results run in chord-fwd" {
	need_model "$SMOL"
	prev=$SMOL
	for t in q4_K bf16 q5_1 q6_K f16 q8_0; do
		gguf-repack -q -t "$t" "$prev" "$TMP/$t.gguf"
		prev=$TMP/$t.gguf
	done
	run chord-fwd -m "$prev" --top 1 <<< "504 3575 282 4649 314"
	status_is 0
	[[ "$output" == *"7042 ' Paris'"* ]]
}

@test "metadata: set with inferred or given types, delete, chat template from a file" {
	need_model "$SMOL"
	printf '{%% for m in messages %%}{{ m.content }}{%% endfor %%}\n' > "$TMP/tmpl"
	gguf-repack -s general.name=renamed -s x.int=42 -s x.big=5000000000 \
	    -s x.float=0.5 -s x.bool=true -s x.str=hello -s x.u8:u8=255 \
	    -s llama.context_length=4096 -d general.size_label -c "$TMP/tmpl" \
	    "$SMOL" "$TMP/m.gguf"
	j=$(gguf-inspect --json "$TMP/m.gguf")
	[ "$(jq -r '.metadata."general.name".value' <<< "$j")" = renamed ]
	[ "$(jq -r '.metadata."x.int" | "\(.type) \(.value)"' <<< "$j")" = "i32 42" ]
	[ "$(jq -r '.metadata."x.big" | "\(.type) \(.value)"' <<< "$j")" = "i64 5000000000" ]
	[ "$(jq -r '.metadata."x.float" | "\(.type) \(.value)"' <<< "$j")" = "f32 0.5" ]
	[ "$(jq -r '.metadata."x.bool" | "\(.type) \(.value)"' <<< "$j")" = "bool true" ]
	[ "$(jq -r '.metadata."x.str" | "\(.type) \(.value)"' <<< "$j")" = "str hello" ]
	[ "$(jq -r '.metadata."x.u8" | "\(.type) \(.value)"' <<< "$j")" = "u8 255" ]
	[ "$(jq -r '.metadata."llama.context_length" | "\(.type) \(.value)"' <<< "$j")" = "u32 4096" ]
	[ "$(jq -r '.metadata | has("general.size_label")' <<< "$j")" = false ]
	[ "$(gguf-inspect -k tokenizer.chat_template "$TMP/m.gguf")" = "$(cat "$TMP/tmpl")" ]
	# the tensors are untouched
	[ "$(tensors "$TMP/m.gguf")" = "$(tensors "$SMOL")" ]
}

@test "metadata errors: a value that does not fit, a missing key" {
	need_model "$SMOL"
	run gguf-repack -s llama.context_length=-1 "$SMOL" "$TMP/m.gguf"
	status_is 1
	[ "$output" = "gguf-repack: llama.context_length: -1: negative value for an unsigned key" ]
	run gguf-repack -s x:u8=256 "$SMOL" "$TMP/m.gguf"
	status_is 1
	[ "$output" = "gguf-repack: x: 256: too large number for u8" ]
	run gguf-repack -d no.such.key "$SMOL" "$TMP/m.gguf"
	status_is 1
	[ "$output" = "gguf-repack: $SMOL: no.such.key: no such key" ]
	[ ! -e "$TMP/m.gguf" ]
}

@test "shards are byte for byte llama-gguf-split's, and merge back to the original" {
	need_model "$SMOL"
	for k in 0 1; do
		args=$(golden ".splits[$k].args | join(\" \")")
		mkdir "$TMP/$k"
		gguf-repack $args "$SMOL" "$TMP/$k/m"
		[ "$(ls "$TMP/$k" | wc -l)" -eq "$(golden ".splits[$k].shards | length")" ]
		golden ".splits[$k].shards[] | \"\(.[1])  $TMP/$k/m\(.[0])\"" | sha256sum -c
		gguf-repack "$TMP/$k/m-00001-of-00003.gguf" "$TMP/$k/merged.gguf"
		cmp "$SMOL" "$TMP/$k/merged.gguf"
	done
	# llama-gguf-split's merge keeps split.* keys with split.count 0
	[ "$(gguf-inspect -k split.count "$TMP/0/m-00002-of-00003.gguf")" = 3 ]
	[ "$(gguf-inspect -k split.tensors.count "$TMP/0/m-00003-of-00003.gguf")" = 272 ]
}

@test "shards: a later shard or a missing one is a clean error" {
	need_model "$SMOL"
	gguf-repack --split-max-tensors 100 "$SMOL" "$TMP/m"
	run gguf-repack "$TMP/m-00002-of-00003.gguf" "$TMP/x.gguf"
	status_is 1
	[ "$output" = "gguf-repack: $TMP/m-00002-of-00003.gguf: shard 2 of 3; give the first one" ]
	rm "$TMP/m-00003-of-00003.gguf"
	run gguf-repack "$TMP/m-00001-of-00003.gguf" "$TMP/x.gguf"
	status_is 1
	[ "$output" = "gguf-repack: $TMP/m-00003-of-00003.gguf: No such file or directory" ]
	[ ! -e "$TMP/x.gguf" ]
}

@test "zstd and archives: written by the name, read back by every tool" {
	need_model "$SMOL"
	echo "The capital of France is" | chord-tok > "$TMP/ids"
	chord-fwd --top 3 < "$TMP/ids" > "$TMP/plain.top"
	for f in m.gguf.zst m.tar m.tar.zst m.tar.gz m.zip; do
		gguf-repack "$SMOL" "$TMP/$f"
		[ "$(tensors "$TMP/$f")" = "$(tensors "$SMOL")" ]
		[ "$(echo "The capital of France is" | chord-tok -m "$TMP/$f")" = "$(cat "$TMP/ids")" ]
		chord-fwd -m "$TMP/$f" --top 3 < "$TMP/ids" | cmp - "$TMP/plain.top"
		[ "$(stat -c %s "$TMP/$f")" -lt "$(stat -c %s "$SMOL")" ] || [ "$f" = m.tar ]
	done
	[ "$(tar tf "$TMP/m.tar")" = m.gguf ]
	[ "$(unzip -Z1 "$TMP/m.zip")" = m.gguf ]
	zstd -q -d -c "$TMP/m.gguf.zst" | cmp - "$SMOL"
}

@test "damaged containers are clean errors" {
	need_model "$SMOL"
	gguf-repack -l 1 "$SMOL" "$TMP/m.gguf.zst"
	head -c 1000000 "$TMP/m.gguf.zst" > "$TMP/cut.gguf.zst"
	run chord-fwd -m "$TMP/cut.gguf.zst"
	status_is 1
	[ "$output" = "chord-fwd: $TMP/cut.gguf.zst: zstd: truncated stream" ]
	gguf-repack "$SMOL" "$TMP/m.tar"
	head -c 5000000 "$TMP/m.tar" > "$TMP/cut.tar"
	run gguf-inspect "$TMP/cut.tar"
	status_is 1
	[ "$output" = "gguf-inspect: $TMP/cut.tar: Truncated tar archive" ]
	cp "$SMOL" "$TMP/a.gguf"
	cp "$SMOL" "$TMP/b.gguf"
	tar cf "$TMP/two.tar" -C "$TMP" a.gguf b.gguf
	run gguf-inspect "$TMP/two.tar"
	status_is 1
	[ "$output" = "gguf-inspect: $TMP/two.tar: the archive holds more than one .gguf member" ]
}

@test "non-finite weights are refused, not quantized into garbage" {
	need_model "$SMOL"
	gguf-repack -k 'blk.0.attn_q.weight' -t f32 "$SMOL" "$TMP/one.gguf"
	off=$(gguf-inspect --json "$TMP/one.gguf" | jq '.data_offset + .tensors[0].offset + 4 * 1000')
	printf '\000\000\300\177' | dd of="$TMP/one.gguf" bs=1 seek="$off" conv=notrunc status=none
	run gguf-repack -t q8_0 "$TMP/one.gguf" "$TMP/q.gguf"
	status_is 1
	[ "$output" = "gguf-repack: $TMP/one.gguf: blk.0.attn_q.weight: value 1000 is not finite; cannot quantize it" ]
	[ ! -e "$TMP/q.gguf" ]
	[ -z "$(ls -A "$TMP" | grep '^\.')" ]
	gguf-repack -t f16 "$TMP/one.gguf" "$TMP/h.gguf"
}

@test "an interrupted run leaves the target as it was and no temporary file" {
	need_model "$SMOL"
	gguf-repack -q -t f32 "$SMOL" "$TMP/f32.gguf"
	mkdir "$TMP/out"
	echo old > "$TMP/out/m.gguf"
	# a background job starts with SIGINT ignored; give it back its default
	perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV' \
	    gguf-repack -q -t q4_K "$TMP/f32.gguf" "$TMP/out/m.gguf" &
	pid=$!
	sleep 0.5
	kill -INT "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 130 ]
	[ "$(cat "$TMP/out/m.gguf")" = old ]
	[ "$(ls -A "$TMP/out")" = m.gguf ]
}

# wait_for DIR PATTERN: until a file in DIR (dot files too) matches the
# grep PATTERN; fails after a minute.
wait_for() {
	for _ in $(seq 600); do
		ls -A "$1" | grep -q "$2" && return 0
		sleep 0.1
	done
	echo "no file like $2 in $1" >&2
	return 1
}

@test "an interrupted split leaves no shard under its final name, and no temporary file" {
	need_model "$SMOL"
	gguf-repack -q -t f32 "$SMOL" "$TMP/f32.gguf"
	mkdir "$TMP/out"
	perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV' gguf-repack -q -t q4_K \
	    --split-max-tensors 20 "$TMP/f32.gguf" "$TMP/out/m" &
	pid=$!
	# the second shard is being written: the first one is complete
	wait_for "$TMP/out" '^\.m-00002-of-00014\.gguf\.'
	kill -INT "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 130 ]
	[ -z "$(ls -A "$TMP/out")" ] || { ls -A "$TMP/out"; false; }
}

@test "a split killed outright leaves only .NAME.tmp.PID files, which the next run removes" {
	need_model "$SMOL"
	gguf-repack -q -t f32 "$SMOL" "$TMP/f32.gguf"
	mkdir "$TMP/out"
	gguf-repack -q -t q4_K --split-max-tensors 20 "$TMP/f32.gguf" "$TMP/out/m" &
	pid=$!
	wait_for "$TMP/out" '^\.m-00003-of-00014\.gguf\.'
	kill -KILL "$pid"
	wait "$pid" || true
	[ -z "$(ls -A "$TMP/out" | grep -v "^\.m-000[01][0-9]-of-00014\.gguf\.tmp\.$pid\$")" ] || { ls -A "$TMP/out"; false; }
	[ -n "$(ls -A "$TMP/out")" ]
	# a leftover of another dead run, and one of a live process, kept
	pid2=$(sh -c 'echo $$')
	: > "$TMP/out/.m-00014-of-00014.gguf.tmp.$pid2"
	: > "$TMP/out/.m-00014-of-00014.gguf.tmp.$$"
	gguf-repack -q --split-max-tensors 20 "$SMOL" "$TMP/out/m"
	[ "$(ls -A "$TMP/out" | grep -c '^m-000[01][0-9]-of-00014\.gguf$')" -eq 14 ]
	[ "$(ls -A "$TMP/out" | grep '^\.')" = ".m-00014-of-00014.gguf.tmp.$$" ]
}

@test "a huge alignment or overlapping tensors are refused, nothing written" {
	python3 "$TOP/t/mkgguf.py" broken alignbig "$TMP/a.gguf"
	run gguf-repack "$TMP/a.gguf" "$TMP/out.gguf"
	status_is 1
	[ "$output" = "gguf-repack: $TMP/a.gguf: general.alignment: 2147483648 is larger than 1048576 (at byte 24)" ]
	python3 "$TOP/t/mkgguf.py" broken overlap "$TMP/o.gguf"
	run gguf-repack "$TMP/o.gguf" "$TMP/out.gguf"
	status_is 1
	[ "$output" = "gguf-repack: $TMP/o.gguf: tensor 1 (b.weight): data overlaps tensor 0 (a.weight) (at byte 192)" ]
	[ ! -e "$TMP/out.gguf" ]
}

@test "an output that cannot be written is a clean error" {
	need_model "$SMOL"
	run gguf-repack "$SMOL" "$TMP/no/such/dir/m.gguf"
	status_is 1
	[ "$output" = "gguf-repack: $TMP/no/such/dir/m.gguf: No such file or directory" ]
	# a device is written into, not replaced
	run gguf-repack "$SMOL" /dev/full
	status_is 1
	[ "$output" = "gguf-repack: /dev/full: No space left on device" ]
	[ -c /dev/full ]
	gguf-repack "$SMOL" /dev/stdout | cmp - "$SMOL"
	# a link's target is replaced, the link stays
	echo old > "$TMP/target.gguf"
	ln -s target.gguf "$TMP/link.gguf"
	gguf-repack "$SMOL" "$TMP/link.gguf"
	[ -L "$TMP/link.gguf" ]
	cmp "$SMOL" "$TMP/target.gguf"
}

@test "perplexity after requantizing to q8_0 stays within 1% of the source, and agrees with llama.cpp on that file" {
	need_model "$SMOL"
	gguf-repack -q -t f32 "$SMOL" "$TMP/f32.gguf"
	gguf-repack -q -t q8_0 "$TMP/f32.gguf" "$TMP/q8.gguf"
	[ "$(sha256sum < "$TMP/q8.gguf" | cut -d' ' -f1)" = "$(golden '.types[] | select(.type == "q8_0") | .file_sha256')" ]
	src=$(jq .ppl "$GOLDEN/ppl-smollm2.json")
	llama=$(golden '.types[] | select(.type == "q8_0") | .llama_ppl')
	run "$TOP/contrib/perplexity" -m "$TMP/q8.gguf" -c 128 "$GOLDEN/ppl-text.txt"
	echo "$output (source, llama.cpp: $src; q8_0, llama.cpp: $llama)"
	status_is 0
	got=${output##*ppl=}
	awk -v g="$got" -v s="$src" -v l="$llama" 'BEGIN {
		d = (g - s) / s; e = (g - l) / l
		exit !(d < 0.01 && d > -0.01 && e < 0.01 && e > -0.01) }'
}

@test "progress on stderr only when it is a terminal" {
	need_model "$SMOL"
	script -qec "gguf-repack -t q8_0 '$SMOL' '$TMP/tty.gguf'" /dev/null > "$TMP/tty.out"
	grep -q "gguf-repack: 272/272 tensors" "$TMP/tty.out"
	run --separate-stderr gguf-repack -t q8_0 "$SMOL" "$TMP/pipe.gguf"
	status_is 0
	[ -z "$stderr" ]
	cmp "$TMP/tty.gguf" "$TMP/pipe.gguf"
}
