#!/usr/bin/env bats
# What a start costs (contrib/bench-start, issue 15): the tools link no
# library that a plain .gguf does not need (libzstd and libarchive are
# dlopen'ed by lib/unpack.c for a compressed or archived model), a missing
# one is a clean error only where it is needed, and the faster vocabulary
# load keeps every fingerprint.
load helper

teardown() {
	if [ -n "${pid:-}" ]; then
		kill "$pid" 2>/dev/null || true
	fi
	if [ -n "${SHM:-}" ]; then
		rm -rf "$SHM"
	fi
}

# nolibs DIR: a directory whose libzstd.so.1 and libarchive.so.13 cannot
# be loaded (empty files); LD_LIBRARY_PATH=DIR puts them first.
nolibs() {
	mkdir -p "$1"
	: > "$1/libzstd.so.1"
	: > "$1/libarchive.so.13"
}

# mksmall OUT: a valid GGUF of 64 KiB (one f32 tensor).
mksmall() {
	python3 - "$TOP/t" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from mkgguf import pack, kv, STR
open(sys.argv[2], "wb").write(pack([kv("general.architecture", STR, "x")],
    [("w", [1 << 14], 0, None)]))
PY
}

@test "the tools that read models link no libzstd, libarchive or libxxhash" {
	for t in chord-fwd chord-tok chord-sample chord-spec chord-cache \
	    gguf-inspect; do
		run readelf -d "$BIN/$t"
		status_is 0
		[[ "$output" == *"NEEDED"*"libc.so"* ]]
		if [[ "$output" == *libzstd* || "$output" == *libarchive* ||
		    "$output" == *libxxhash* ]]; then
			echo "$t links: $output" >&2
			return 1
		fi
	done
}

@test "gguf-repack, which writes .zst and archives, still links them" {
	run readelf -d "$BIN/gguf-repack"
	status_is 0
	[[ "$output" == *libzstd.so* ]]
	[[ "$output" == *libarchive.so* ]]
}

@test "a plain .gguf runs where libzstd and libarchive cannot be loaded" {
	need_model "$SMOL"
	nolibs "$TMP/lib"
	printf '1 2 3\n' | chord-fwd --no-cache -c 64 -m "$SMOL" --top 3 \
	    > "$TMP/want"
	run --separate-stderr env LD_LIBRARY_PATH="$TMP/lib" \
	    chord-fwd --no-cache -c 64 -m "$SMOL" --top 3 <<< '1 2 3'
	status_is 0
	[ "$stderr" = "" ]
	[ "$output" = "$(cat "$TMP/want")" ]
	run env LD_LIBRARY_PATH="$TMP/lib" chord-tok -m "$SMOL" <<< 'Hello'
	status_is 0
	[[ "$output" == "#chord tokens vocab=d8a3e77cf8c6695e n_vocab=49152"* ]]
}

@test "a .gguf.zst without a loadable libzstd: clean error naming it, exit 1" {
	nolibs "$TMP/lib"
	mksmall "$TMP/m.gguf"
	zstd -q "$TMP/m.gguf" -o "$TMP/m.gguf.zst"
	run gguf-inspect "$TMP/m.gguf.zst"
	status_is 0
	run --separate-stderr env LD_LIBRARY_PATH="$TMP/lib" \
	    gguf-inspect "$TMP/m.gguf.zst"
	status_is 1
	[ "$stderr" = "gguf-inspect: $TMP/m.gguf.zst: a zstd-compressed model needs libzstd.so.1, which cannot be loaded ($TMP/lib/libzstd.so.1: file too short)" ]
	run --separate-stderr env LD_LIBRARY_PATH="$TMP/lib" \
	    chord-fwd --no-cache -m "$TMP/m.gguf.zst" < /dev/null
	status_is 1
	[ "$stderr" = "chord-fwd: $TMP/m.gguf.zst: a zstd-compressed model needs libzstd.so.1, which cannot be loaded ($TMP/lib/libzstd.so.1: file too short)" ]
}

@test "not a GGUF file, no loadable libarchive: the error says both" {
	nolibs "$TMP/lib"
	echo 'not a model' > "$TMP/x.gguf"
	run --separate-stderr gguf-inspect "$TMP/x.gguf"
	status_is 1
	[ "$stderr" = "gguf-inspect: $TMP/x.gguf: not a GGUF file (bad magic, at byte 0)" ]
	run --separate-stderr env LD_LIBRARY_PATH="$TMP/lib" \
	    gguf-inspect "$TMP/x.gguf"
	status_is 1
	[ "$stderr" = "gguf-inspect: $TMP/x.gguf: not a GGUF file; reading it as an archive needs libarchive.so.13, which cannot be loaded ($TMP/lib/libarchive.so.13: file too short)" ]
}

@test "archives are read through the dlopen'ed libarchive" {
	mksmall "$TMP/m.gguf"
	tar -cJf "$TMP/m.tar.xz" -C "$TMP" m.gguf
	gguf-inspect "$TMP/m.gguf" > "$TMP/want"
	run gguf-inspect "$TMP/m.tar.xz"
	status_is 0
	[ "$(sed 1,2d <<< "$output")" = "$(sed 1,2d "$TMP/want")" ]
}

@test "vocabulary fingerprints are unchanged (stream headers)" {
	need_model "$SMOL"
	need_model "$GEMMA"
	need_model "$QWEN"
	run chord-tok -m "$SMOL" <<< 'Hello'
	[[ "$output" == "#chord tokens vocab=d8a3e77cf8c6695e n_vocab=49152"* ]]
	run chord-tok -m "$GEMMA" <<< 'Hello'
	[[ "$output" == "#chord tokens vocab=100c9e7f41561b62 n_vocab=262144"* ]]
	run chord-tok -m "$QWEN" <<< 'Hello'
	[[ "$output" == "#chord tokens vocab=08cab0517ac58369 n_vocab=151936"* ]]
}

# The weight cache's huge pages (lib/cache.c: collapse, map_aligned): on a
# tmpfs (Linux 6.1 or later), a segment is held in 2 MiB pages, and a
# process attached maps those whole, a page-table entry each.
@test "a segment on tmpfs is held in huge pages; chord-fwd maps them whole, same logits" {
	need_model "$SMOL"
	SHM=$(mktemp -d /dev/shm/chord-test.XXXXXX)
	export CHORD_SHM_DIR=$SHM
	run chord-cache warm -m "$SMOL"
	status_is 0
	[[ "$output" == "built	chord-"* ]]
	# a reader kept alive by its stdin, its mappings read meanwhile
	mkfifo "$TMP/in"
	chord-fwd -c 64 -m "$SMOL" --top 3 < "$TMP/in" > "$TMP/got" &
	pid=$!
	exec 8> "$TMP/in"
	echo "1 2 3" >&8
	for _ in $(seq 100); do
		[ -s "$TMP/got" ] && break
		sleep 0.1
	done
	pmd=$(awk '/^ShmemPmdMapped:/ { print $2 }' /proc/$pid/smaps_rollup)
	exec 8>&-
	wait $pid
	pid=
	echo "ShmemPmdMapped: $pmd kB" >&2
	# the repacked matrices alone are some 90 MB
	[ "$pmd" -ge 65536 ]
	chord-fwd --no-cache -c 64 -m "$SMOL" --top 3 <<< '1 2 3' > "$TMP/want"
	[ "$(cat "$TMP/got")" = "$(cat "$TMP/want")" ]
}

# The segment keeps what the stream header says of the vocabulary (cache.h),
# so an attached chord-fwd loads no vocabulary: the header must be the one
# vocab_load gives, byte for byte.
@test "the logits stream header is the same built, attached and without the cache (default, Gemma, Qwen)" {
	need_model "$SMOL"
	need_model "$GEMMA"
	need_model "$QWEN"
	SHM=$(cd "$TMP" && pwd -P)/shm
	mkdir "$SHM"
	export CHORD_SHM_DIR=$SHM
	for m in "$SMOL" "$GEMMA" "$QWEN"; do
		chord-fwd -c 16 -m "$m" --no-cache < /dev/null > "$TMP/none"
		run --separate-stderr sh -c 'chord-fwd -v -c 16 -m "$1" < /dev/null > "$2"' - "$m" "$TMP/built"
		status_is 0
		[[ "$stderr" == *"cache: built "* ]]
		run --separate-stderr sh -c 'chord-fwd -v -c 16 -m "$1" < /dev/null > "$2"' - "$m" "$TMP/attached"
		status_is 0
		[[ "$stderr" == *"cache: attached "* ]]
		[ "$(stat -c %s "$TMP/none")" = 64 ]
		cmp "$TMP/none" "$TMP/built"
		cmp "$TMP/none" "$TMP/attached"
		rm -f "$SHM"/chord-*
	done
}

# An array of strings is stepped over in a loop of its own (lib/gguf.c,
# skip_strs), not string by string through the cursor: a bad length in the
# first, a middle or the last string, or a file cut inside one, still gets
# the cursor's message and offset.
@test "a bad string in an array of strings: the same errors, at the same bytes" {
	python3 - "$TOP/t" "$TMP" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[1])
from mkgguf import pack, kv, STR, ARR, U32
d = sys.argv[2]
# three strings of 20 bytes, their lengths at bytes 49, 77 and 105
ok = pack([kv("k", ARR, (STR, ["a" * 20, "b" * 20, "c" * 20])),
    kv("n", U32, 7)], [("w", [8], 0, None)])
open(d + "/ok.gguf", "wb").write(ok)
for name, at in (("first", 49), ("mid", 77), ("last", 105)):
    b = bytearray(ok)
    b[at:at + 8] = struct.pack("<Q", 1 << 40)
    open(d + "/" + name + ".gguf", "wb").write(bytes(b))
open(d + "/cutlen.gguf", "wb").write(ok[:109])
open(d + "/cutstr.gguf", "wb").write(ok[:120])
PY
	run gguf-inspect "$TMP/ok.gguf"
	status_is 0
	[[ "$output" == *'arr[str,3]       ["aaaaaaaaaaaaaaaaaaaa", '* ]]
	for c in first:49 mid:77 last:105; do
		run --separate-stderr gguf-inspect "$TMP/${c%:*}.gguf"
		status_is 1
		[ "$stderr" = "gguf-inspect: $TMP/${c%:*}.gguf: k: string of 1099511627776 bytes past end of file (at byte ${c#*:})" ]
	done
	run --separate-stderr gguf-inspect "$TMP/cutlen.gguf"
	status_is 1
	[ "$stderr" = "gguf-inspect: $TMP/cutlen.gguf: truncated file: k past end of file (at byte 109)" ]
	run --separate-stderr gguf-inspect "$TMP/cutstr.gguf"
	status_is 1
	[ "$stderr" = "gguf-inspect: $TMP/cutstr.gguf: k: string of 20 bytes past end of file (at byte 105)" ]
}
