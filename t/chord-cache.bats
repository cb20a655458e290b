#!/usr/bin/env bats
# chord-cache and the weight cache behind chord-fwd (lib/cache.h): build,
# attach, keys, a builder killed mid-way, segments that are not ours, a full
# tmpfs, removal under a reader.
load helper

# Every test has its own segment directory ($CHORD_SHM_DIR), so no test
# sees or leaves a segment in the user's /dev/shm (one test that checks
# shm_open itself removes what it made).
setup() {
	TMP=$BATS_TEST_TMPDIR
	SHM=$(cd "$TMP" && pwd -P)/shm
	mkdir -p "$SHM"
	CHORD_SHM_DIR=$SHM
	export TMP SHM CHORD_SHM_DIR
	unset CHORD_CACHE CHORD_CACHE_TEST_DELAY_US CHORD_CACHE_WAIT_S
}

teardown() {
	if [ -n "${bg:-}" ]; then
		kill -9 $bg 2>/dev/null || true
	fi
	if mountpoint -q "$TMP/small" 2>/dev/null; then
		umount "$TMP/small"
	fi
}

# mksynth OUT: a valid GGUF of 4 MiB (one f32 tensor), quick to cache.
mksynth() {
	python3 - "$TOP/t" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from mkgguf import pack, kv, STR
open(sys.argv[2], "wb").write(pack([kv("general.architecture", STR, "x")],
    [("w", [1 << 20], 0, None)]))
PY
}

fwd() { chord-fwd -c 64 "$@"; }

# wait_for CMD...: until CMD succeeds (at most 60 s).
wait_for() {
	for _ in $(seq 600); do
		"$@" && return 0
		sleep 0.1
	done
	echo "gave up waiting for: $*" >&2
	return 1
}

seg() { ls "$SHM"; }
# has_seg: a segment exists and has its size (the builder is copying).
has_seg() { set -- "$SHM"/chord-*; [ -s "$1" ]; }
nseg() { ls "$SHM" | wc -l; }
attached() { chord-cache ls | awk -F'\t' -v n="$1" -v c="$2" '$1 == n && $6 == c' | grep -q .; }

@test "chord-cache: -h, bad usage exit 2, a name not ours is an error" {
	run chord-cache -h
	status_is 0
	[ "$output" = "usage: chord-cache [-h | --help] ls | rm -a | rm NAME... | warm [-m FILE]" ]
	run --separate-stderr chord-cache
	status_is 2
	[ "${stderr_lines[0]}" = "chord-cache: no command" ]
	run --separate-stderr chord-cache frob
	status_is 2
	[ "${stderr_lines[0]}" = "chord-cache: unknown command frob" ]
	run --separate-stderr chord-cache rm
	status_is 2
	run --separate-stderr chord-cache rm -a x
	status_is 2
	[ "${stderr_lines[0]}" = "chord-cache: rm: -a goes alone" ]
	run --separate-stderr chord-cache warm -x
	status_is 2
	run --separate-stderr chord-cache rm ../etc/passwd
	status_is 1
	[ "$stderr" = "chord-cache: cache: ../etc/passwd: not a name of our segments (chord-$(id -u)-...)" ]
	run --separate-stderr chord-cache rm "chord-$(id -u)-0000000000000000"
	status_is 1
	[ "$stderr" = "chord-cache: cache: $SHM/chord-$(id -u)-0000000000000000: No such file or directory" ]
	run --separate-stderr chord-cache warm -m "$TMP/none.gguf"
	status_is 1
	[ "$stderr" = "chord-cache: $TMP/none.gguf: No such file or directory" ]
}

@test "chord-fwd: the first run builds the segment (0600), the next attaches it" {
	need_model "$SMOL"
	run --separate-stderr sh -c 'echo 1 | chord-fwd -c 64 -v -m "$SMOL" >/dev/null'
	status_is 0
	[ "$(nseg)" -eq 1 ]
	name=$(seg)
	[[ "$name" == "chord-$(id -u)-"???????????????? ]]
	[[ "${stderr_lines[0]}" == "chord-fwd: loaded "*", cache: built $name" ]]
	[ "$(stat -c %a "$SHM/$name")" = 600 ]
	run --separate-stderr sh -c 'echo 1 | chord-fwd -c 64 -v -m "$SMOL" >/dev/null'
	status_is 0
	[[ "${stderr_lines[0]}" == "chord-fwd: loaded "*", cache: attached $name" ]]
	[ "$(nseg)" -eq 1 ]
	run chord-cache ls
	status_is 0
	IFS=$'\t' read -r n model layout size age procs state <<< "$output"
	[ "$n" = "$name" ]
	[ "$model" = "$(realpath "$SMOL")" ]
	[[ "$layout" == cpu/4/* ]]
	[ "$procs" = 0 ]
	[ "$state" = ready ]
}

@test "chord-fwd: logits are the same with and without the cache; --no-cache and CHORD_CACHE=0 leave none" {
	need_model "$SMOL"
	echo "504 3575 282" | fwd --no-cache -m "$SMOL" > "$TMP/file"
	echo "504 3575 282" | CHORD_CACHE=0 fwd -m "$SMOL" > "$TMP/off"
	[ "$(nseg)" -eq 0 ]
	echo "504 3575 282" | fwd -m "$SMOL" > "$TMP/built"
	echo "504 3575 282" | fwd -m "$SMOL" > "$TMP/attached"
	[ "$(nseg)" -eq 1 ]
	[ -s "$TMP/file" ]
	cmp "$TMP/file" "$TMP/off"
	cmp "$TMP/file" "$TMP/built"
	cmp "$TMP/file" "$TMP/attached"
}

@test "chord-fwd: a .gguf.zst model is decoded once into the cache, same logits" {
	need_model "$SMOL"
	zstd -q -1 "$SMOL" -o "$TMP/m.gguf.zst"
	echo "504 3575 282" | fwd --no-cache -m "$SMOL" > "$TMP/file"
	run --separate-stderr sh -c 'echo "504 3575 282" | chord-fwd -c 64 -v -m "$TMP/m.gguf.zst" > "$TMP/built"'
	status_is 0
	[[ "${stderr_lines[0]}" == "chord-fwd: loaded "*", cache: built $(seg)" ]]
	run --separate-stderr sh -c 'echo "504 3575 282" | chord-fwd -c 64 -v -m "$TMP/m.gguf.zst" > "$TMP/attached"'
	status_is 0
	[[ "${stderr_lines[0]}" == "chord-fwd: loaded "*", cache: attached $(seg)" ]]
	cmp "$TMP/file" "$TMP/built"
	cmp "$TMP/file" "$TMP/attached"
	# the image is the decoded GGUF, byte for byte
	cmp -n "$(stat -c %s "$SMOL")" "$SMOL" "$SHM/$(seg)"
}

# memline: the fields of chord-fwd -v's memory line in $stderr (MB):
# peak anon file shmem kv
memline() {
	local re='chord-fwd: memory: peak RSS ([0-9.]+) MB; now anon ([0-9.]+), file ([0-9.]+), shmem ([0-9.]+) MB; KV cache ([0-9.]+) MB'
	[[ "$stderr" =~ $re ]] || { echo "no memory line in: $stderr" >&2; return 1; }
	echo "${BASH_REMATCH[@]:1}"
}

# ge A B: A >= B (decimals)
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

@test "chord-fwd -v: the start in phases, the second line's time, memory" {
	need_model "$SMOL"
	chord-cache warm -m "$SMOL" > /dev/null
	run --separate-stderr sh -c 'printf "1\n1\n" | chord-fwd -v -m "$SMOL" > /dev/null'
	status_is 0
	[[ "${stderr_lines[0]}" == "chord-fwd: loaded "*", cache: attached $(seg)" ]]
	[[ "${stderr_lines[1]}" =~ ^"chord-fwd: first logits after "[0-9.]+" s (ms: open "[0-9.]+", model "[0-9.]+", vocab "[0-9.]+", tok "[0-9.]+", plan "[0-9.]+", backend "[0-9.]+", line 1 "[0-9.]+")"$ ]]
	[[ "${stderr_lines[2]}" =~ ^"chord-fwd: line 2: 1 tokens in "[0-9.]+" ms"$ ]]
	read -r peak anon file shmem kv <<< "$(memline)"
	# k and v in fp16: 30 layers, 4096 positions, 3 kv heads of 64
	[ "$kv" = 90.0 ]
	# the goal: private memory (peak RSS less shared pages) <= KV + 64 MB
	ge "$(awk -v k="$kv" 'BEGIN { print k + 64 }')" \
	    "$(awk -v p="$peak" -v f="$file" -v s="$shmem" 'BEGIN { print p - f - s }')"
}

@test "chord-fwd maps the whole model at load, before any token, cache or not" {
	need_model "$SMOL"
	# the weights are 92 MB; parsing alone touches the metadata (~5 MB)
	run --separate-stderr sh -c 'chord-fwd -v -m "$SMOL" < /dev/null > /dev/null'
	status_is 0
	read -r peak anon file shmem kv <<< "$(memline)"
	ge "$(awk -v f="$file" -v s="$shmem" 'BEGIN { print f + s }')" 90
	run --separate-stderr sh -c 'chord-fwd -v --no-cache -m "$SMOL" < /dev/null > /dev/null'
	status_is 0
	read -r peak anon file shmem kv <<< "$(memline)"
	ge "$file" 90
}

@test "chord-fwd: a context of 32768 costs only the positions used" {
	need_model "$SMOL"
	run --separate-stderr sh -c 'echo 1 | chord-fwd -v -c 32768 -m "$SMOL" > /dev/null'
	status_is 0
	read -r peak anon file shmem kv <<< "$(memline)"
	[ "$kv" = 720.0 ]
	ge 64 "$anon"
}

# Every start hashes the vocabulary (vocab.h's fingerprint, in the stream
# headers); vocab.c hashes it through a buffer, which pieces longer than
# the buffer (64 KiB) and pieces across its end must not change.
@test "the vocab fingerprint is XXH64 of the pieces (u32le length, bytes), long pieces too" {
	python3 - "$TOP/t" "$TMP" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[1])
from mkgguf import pack, kv, STR, ARR, I32
toks = ["a", "b", "<|endoftext|>"] + ["x" * n for n in (65530, 70000, 3, 131072)] + ["c"]
open(sys.argv[2] + "/v.gguf", "wb").write(pack([
    kv("tokenizer.ggml.model", STR, "gpt2"),
    kv("tokenizer.ggml.pre", STR, "default"),
    kv("tokenizer.ggml.tokens", ARR, (STR, toks)),
    kv("tokenizer.ggml.token_type", ARR, (I32, [1] * len(toks))),
    kv("tokenizer.ggml.merges", ARR, (STR, ["a b"])),
], []))
open(sys.argv[2] + "/v.bytes", "wb").write(b"".join(
    struct.pack("<I", len(t.encode())) + t.encode() for t in toks))
PY
	want=$(xxhsum -H1 < "$TMP/v.bytes" | cut -d' ' -f1)
	run chord-tok -m "$TMP/v.gguf" <<< "a"
	status_is 0
	[ "${lines[0]}" = "#chord tokens vocab=$want n_vocab=8" ]
}

@test "chord-fwd: two processes attach one segment, ls counts them" {
	need_model "$SMOL"
	chord-cache warm -m "$SMOL" > "$TMP/warm"
	name=$(seg)
	[ "$(cat "$TMP/warm")" = "built	$name" ]
	mkfifo "$TMP/f1" "$TMP/f2"
	fwd -m "$SMOL" < "$TMP/f1" > "$TMP/o1" 3>&- &
	bg=$!
	exec 4> "$TMP/f1"
	wait_for attached "$name" 1
	fwd -m "$SMOL" < "$TMP/f2" > "$TMP/o2" 3>&- &
	bg="$bg $!"
	exec 5> "$TMP/f2"
	wait_for attached "$name" 2
	echo 1 >&4
	echo 1 >&5
	exec 4>&- 5>&-
	for p in $bg; do wait "$p"; done
	bg=
	[ "$(nseg)" -eq 1 ]
	cmp "$TMP/o1" "$TMP/o2"
	attached "$name" 0
}

@test "a changed model file (mtime) gets a new segment; ls marks the old one stale; rm removes it" {
	mksynth "$TMP/m.gguf"
	run chord-cache warm -m "$TMP/m.gguf"
	status_is 0
	old=${output#built	}
	[ "$output" = "built	$old" ]
	touch -d '2001-02-03 04:05:06' "$TMP/m.gguf"
	[ "$(chord-cache ls | cut -f1,7)" = "$old	stale" ]
	run chord-cache rm "$old"
	status_is 0
	[ "$(nseg)" -eq 0 ]
	run chord-cache warm -m "$TMP/m.gguf"
	status_is 0
	new=${output#built	}
	[ "$output" = "built	$new" ]
	[ "$new" != "$old" ]
	[ "$(chord-cache ls | cut -f1,7)" = "$new	ready" ]
	run chord-cache rm -a
	status_is 0
	[ "$(nseg)" -eq 0 ]
}

@test "building a segment removes ours whose model changed or is gone, not others" {
	mksynth "$TMP/a.gguf"
	cp "$TMP/a.gguf" "$TMP/b.gguf"
	cp "$TMP/a.gguf" "$TMP/c.gguf"
	a=$(chord-cache warm -m "$TMP/a.gguf" | cut -f2)
	b=$(chord-cache warm -m "$TMP/b.gguf" | cut -f2)
	c=$(chord-cache warm -m "$TMP/c.gguf" | cut -f2)
	rm "$TMP/b.gguf"
	touch -d '2001-02-03 04:05:06' "$TMP/a.gguf"
	[ "$(chord-cache ls | cut -f1,7 | sort)" = "$(printf '%s\t%s\n' "$a" stale "$b" stale "$c" ready | sort)" ]
	run chord-cache warm -m "$TMP/a.gguf"
	status_is 0
	new=${output#built	}
	[ "$(ls "$SHM" | sort)" = "$(printf '%s\n' "$new" "$c" | sort)" ]
}

@test "a builder killed mid-way leaves no half-built segment: the next run rebuilds" {
	mksynth "$TMP/m.gguf"
	CHORD_CACHE_TEST_DELAY_US=1000000 chord-cache warm -m "$TMP/m.gguf" 3>&- &
	bg=$!
	wait_for has_seg
	name=$(seg)
	kill -9 $bg
	wait $bg || true
	bg=
	[ "$(chord-cache ls | cut -f1,7)" = "$name	incomplete" ]
	run chord-cache warm -m "$TMP/m.gguf"
	status_is 0
	[ "$output" = "rebuilt	$name" ]
	[ "$(seg)" = "$name" ]
	cmp -n "$(stat -c %s "$TMP/m.gguf")" "$TMP/m.gguf" "$SHM/$name"
}

@test "a reader waits for a live builder and attaches what it built" {
	mksynth "$TMP/m.gguf"
	CHORD_CACHE_TEST_DELAY_US=300000 chord-cache warm -m "$TMP/m.gguf" > "$TMP/b" 3>&- &
	bg=$!
	wait_for has_seg
	run chord-cache warm -m "$TMP/m.gguf"
	status_is 0
	name=$(seg)
	[ "$output" = "attached	$name" ]
	wait $bg
	bg=
	[ "$(cat "$TMP/b")" = "built	$name" ]
}

@test "a builder that takes too long: the reader gives up after CHORD_CACHE_WAIT_S, exit 1" {
	mksynth "$TMP/m.gguf"
	CHORD_CACHE_TEST_DELAY_US=3000000 chord-cache warm -m "$TMP/m.gguf" > /dev/null 3>&- &
	bg=$!
	wait_for has_seg
	name=$(seg)
	run --separate-stderr env CHORD_CACHE_WAIT_S=1 chord-cache warm -m "$TMP/m.gguf"
	status_is 1
	[ "$stderr" = "chord-cache: cache: $SHM/$name: still being built by another process after 1 s" ]
	# the live builder's segment is left alone
	[ "$(seg)" = "$name" ]
}

@test "100 builders killed at random points: readers never see a half-built segment, nothing stale stays" {
	mksynth "$TMP/m.gguf"
	rebuilt=0
	for i in $(seq 100); do
		# what the last round left ready goes, so this one builds;
		# what a killed builder left stays, for the next to deal with
		chord-cache ls | awk -F'\t' '$7 == "ready" { print $1 }' |
		    xargs -r chord-cache rm
		CHORD_CACHE_TEST_DELAY_US=20000 chord-cache warm -m "$TMP/m.gguf" >/dev/null 2>&1 3>&- &
		b=$!
		sleep "0.0$((RANDOM % 10))"
		chord-cache warm -m "$TMP/m.gguf" > "$TMP/r" 2>&1 3>&- &
		r=$!
		sleep "0.0$((RANDOM % 10))"
		kill -9 $b 2>/dev/null || true
		wait $b || true
		# warm checks the image against its hash
		wait $r || { echo "round $i: $(cat "$TMP/r")" >&2; return 1; }
		case $(cat "$TMP/r") in
		rebuilt*) rebuilt=$((rebuilt + 1)) ;;
		built*|attached*) ;;
		*) echo "round $i: $(cat "$TMP/r")" >&2; return 1 ;;
		esac
	done
	echo "# $rebuilt of 100 readers rebuilt after a dead builder" >&3
	run chord-cache warm -m "$TMP/m.gguf"
	status_is 0
	[ "$(nseg)" -eq 1 ]
	[ "$(chord-cache ls | cut -f7)" = ready ]
}

@test "chord-fwd readers while builders are killed: correct logits every time" {
	need_model "$SMOL"
	echo 1 | fwd --no-cache -m "$SMOL" > "$TMP/ref"
	for i in $(seq 5); do
		chord-cache rm -a
		CHORD_CACHE_TEST_DELAY_US=2000 chord-cache warm -m "$SMOL" >/dev/null 2>&1 3>&- &
		b=$!
		sleep "0.$((RANDOM % 3))"
		echo 1 | fwd -m "$SMOL" > "$TMP/out" 3>&- &
		r=$!
		sleep "0.$((RANDOM % 3))"
		kill -9 $b 2>/dev/null || true
		wait $b || true
		wait $r
		cmp "$TMP/ref" "$TMP/out"
	done
	[ "$(nseg)" -eq 1 ]
}

@test "a segment of another user's is refused, never deleted, even by rm" {
	mksynth "$TMP/m.gguf"
	name=$(chord-cache warm -m "$TMP/m.gguf" | cut -f2)
	chord-cache rm "$name"
	head -c 1000 /dev/zero > "$SHM/$name"
	chmod 600 "$SHM/$name"
	chown nobody "$SHM/$name"
	uid=$(id -u nobody)
	msg="cache: $SHM/$name: owned by uid $uid, not by us (uid $(id -u)): refusing it"
	run --separate-stderr chord-cache warm -m "$TMP/m.gguf"
	status_is 1
	[ "$stderr" = "chord-cache: $msg" ]
	run --separate-stderr chord-cache rm "$name"
	status_is 1
	[ "$stderr" = "chord-cache: $msg" ]
	run --separate-stderr chord-cache rm -a
	status_is 1
	[ "$stderr" = "chord-cache: $msg" ]
	[ "$(chord-cache ls | cut -f1,7)" = "$name	foreign" ]
	[ "$(stat -c %U:%s "$SHM/$name")" = nobody:1000 ]
}

@test "chord-fwd refuses another user's segment with a clear error" {
	need_model "$SMOL"
	name=$(chord-cache warm -m "$SMOL" | cut -f2)
	chown nobody "$SHM/$name"
	run --separate-stderr sh -c 'echo 1 | chord-fwd -c 64 -m "$SMOL"'
	status_is 1
	[ "$stderr" = "chord-fwd: cache: $SHM/$name: owned by uid $(id -u nobody), not by us (uid $(id -u)): refusing it" ]
	[ "$(stat -c %U "$SHM/$name")" = nobody ]
	run sh -c 'echo 1 | chord-fwd -c 64 --no-cache -m "$SMOL" | wc -c'
	[ "$output" -gt 0 ]
}

@test "one of our segments of the wrong size, bad trailer or mode is rebuilt" {
	mksynth "$TMP/m.gguf"
	name=$(chord-cache warm -m "$TMP/m.gguf" | cut -f2)
	size=$(stat -c %s "$SHM/$name")
	truncate -s 12345 "$SHM/$name"
	[ "$(chord-cache ls | cut -f7)" = incomplete ]
	run chord-cache warm -m "$TMP/m.gguf"
	[ "$output" = "rebuilt	$name" ]
	[ "$(stat -c %s "$SHM/$name")" = "$size" ]
	# the magic of the trailer (4304 bytes at the end)
	printf XXXX | dd of="$SHM/$name" bs=1 seek=$((size - 4304)) conv=notrunc 2>/dev/null
	run chord-cache warm -m "$TMP/m.gguf"
	[ "$output" = "rebuilt	$name" ]
	chmod 644 "$SHM/$name"
	run chord-cache warm -m "$TMP/m.gguf"
	[ "$output" = "rebuilt	$name" ]
	[ "$(stat -c %a "$SHM/$name")" = 600 ]
	run chord-cache warm -m "$TMP/m.gguf"
	[ "$output" = "attached	$name" ]
}

@test "a full tmpfs is an error (ENOSPC), not a SIGBUS, and leaves nothing" {
	need_model "$SMOL"
	mkdir "$TMP/small"
	mount -t tmpfs -o size=1m tmpfs "$TMP/small"
	export CHORD_SHM_DIR=$TMP/small
	run --separate-stderr sh -c 'echo 1 | chord-fwd -c 64 -m "$SMOL"'
	status_is 1
	[[ "$stderr" == "chord-fwd: cache: $TMP/small/chord-$(id -u)-"*": cannot make room: No space left on device" ]]
	[ -z "$(ls -A "$TMP/small")" ]
}

@test "rm while a reader has the segment mapped: the reader keeps running" {
	need_model "$SMOL"
	printf '1\n2\n' | fwd --no-cache -m "$SMOL" > "$TMP/ref"
	name=$(chord-cache warm -m "$SMOL" | cut -f2)
	mkfifo "$TMP/f"
	fwd -m "$SMOL" < "$TMP/f" > "$TMP/out" 3>&- &
	bg=$!
	exec 4> "$TMP/f"
	wait_for attached "$name" 1
	echo 1 >&4
	run chord-cache rm "$name"
	status_is 0
	[ "$(nseg)" -eq 0 ]
	echo 2 >&4
	exec 4>&-
	wait $bg
	bg=
	cmp "$TMP/ref" "$TMP/out"
}

@test "without CHORD_SHM_DIR segments are POSIX shared memory, 0600" {
	mksynth "$TMP/m.gguf"
	unset CHORD_SHM_DIR
	run chord-cache warm -m "$TMP/m.gguf"
	status_is 0
	name=${output#built	}
	[ "$output" = "built	$name" ]
	[ "$(stat -c %a:%u "/dev/shm/$name")" = "600:$(id -u)" ]
	chord-cache ls | cut -f1 | grep -qx "$name"
	run chord-cache rm "$name"
	status_is 0
	[ ! -e "/dev/shm/$name" ]
}

@test "the segment keeps the repacked matrices: an attached chord-fwd packs nothing at load" {
	need_model "$SMOL"
	printf '1 2 3\n4\n' > "$TMP/ids"
	chord-fwd -m "$SMOL" < "$TMP/ids" > "$TMP/built"
	# the image and, after it, a repacked copy of the weights it multiplies
	seg=$(ls "$SHM")
	[ "$(stat -c %s "$SHM/$seg")" -gt \
	    $(( $(stat -c %s "$(readlink -f "$SMOL")") * 3 / 2 )) ]
	chord-fwd -m "$SMOL" < "$TMP/ids" > "$TMP/attached"
	chord-fwd -m "$SMOL" --no-cache < "$TMP/ids" > "$TMP/plain"
	cmp "$TMP/built" "$TMP/attached"
	cmp "$TMP/built" "$TMP/plain"
	# no private copy: anonymous memory far below the 97 MB of copies
	run --separate-stderr sh -c 'chord-fwd -v -m "$SMOL" -c 256 < "$TMP/ids" >/dev/null'
	status_is 0
	anon=$(printf '%s\n' "$stderr" | sed -n 's/.* now anon \([0-9.]*\),.*/\1/p')
	[ -n "$anon" ]
	awk -v a="$anon" 'BEGIN { exit !(a < 40) }'
}

# patch FILE OFFSET HEX: write the bytes HEX (pairs of hex digits) at OFFSET.
patch() { printf "$(sed 's/../\\x&/g' <<< "$3")" |
    dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }
# hdr: the logits stream header chord-fwd writes, in hex.
hdr() { chord-fwd -c 64 -m "$SMOL" "$@" < /dev/null | od -An -tx1 -v | tr -d ' \n'; }

# The trailer's end (cache.h): struct vocab_facts (56 bytes: fingerprint at
# 0, n_eog at 24), has_vocab, ready.
@test "an attach takes the stream header's vocabulary facts from the segment; facts out of range are damage" {
	need_model "$SMOL"
	want=$(hdr --no-cache)
	name=$(chord-cache warm -m "$SMOL" | cut -f2)
	size=$(stat -c %s "$SHM/$name")
	[ "$(hdr)" = "$want" ]
	# a fingerprint changed in the segment is the one the header carries
	patch "$SHM/$name" $((size - 72)) 1122334455667788
	run hdr
	[ "${output:32:16}" = 1122334455667788 ]
	[ "${output:0:32}${output:48}" = "${want:0:32}${want:48}" ]
	run chord-cache warm -m "$SMOL"
	[ "$output" = "attached	$name" ]
	# seven end-of-generation ids: a damaged segment, rebuilt
	patch "$SHM/$name" $((size - 48)) 07000000
	run chord-cache warm -m "$SMOL"
	[ "$output" = "rebuilt	$name" ]
	[ "$(hdr)" = "$want" ]
}
