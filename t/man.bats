#!/usr/bin/env bats
# Each tool's manual: mandoc -Tlint finds nothing, its SYNOPSIS is the tool's
# usage line, the options its parser accepts are the ones its usage line and
# its page name, and every EXAMPLES line of every page runs.

load helper

# The tools: every bin/*.c, and the script chord-gen.
tools() {
	for f in "$TOP"/bin/*.c; do
		basename "$f" .c
	done
	echo chord-gen
}

# The options a tool's parser accepts. The C tools compare the argument (`a`,
# or chord-cache's argv[i]) with each spelling (strcmp(a, "-x")); chord-gen
# lists them all in the first `case $1 in` of its option loop. chord-spec
# takes chord-gen's sampling options as they come: it compares --mirostat
# only to refuse it, and ignores --mirostat-ent and --mirostat-lr. A tool
# that calls sampler_opt() takes the sampler options lib/tool.c parses.
parser_opts() {
	if [ "$1" = chord-gen ]; then
		awk '/^while \[ \$# -gt 0 \]/ { loop = 1; next }
		    loop && /case \$1 in/ { on = 1; next }
		    on { print; if (/;;/) exit }' "$TOP/bin/chord-gen" |
		    tr '|\\) \t' '\n\n\n\n\n' | grep -E '^-'
	else
		{ cat "$TOP/bin/$1.c"
		  if grep -q 'sampler_opt(usage_line' "$TOP/bin/$1.c"; then
			sed -n '/^sampler_opt(/,/^}/p' "$TOP/lib/tool.c"
		  fi; } |
		    grep -oE 'strcmp\((a|argv\[[a-z0-9]+\]), "-[^"]*"\)' |
		    sed 's/.*"\(.*\)").*/\1/' |
		    grep -vx -- -- |
		    if [ "$1" = chord-spec ]; then
			grep -vx -e --mirostat -e --mirostat-ent -e --mirostat-lr
		    else
			cat
		    fi
	fi | sort -u
}

# The options in a usage line: each follows "[" or a space ("| -x",
# chord-cache's "rm -a").
usage_opts() {
	"$1" -h | grep -oE -- '[[ ]-{1,2}[a-z][-a-z]*' |
	    sed 's/^[[ ]*//' | sort -u
}

# mdoc source to option names: "Fl \-count" is --count, "Fl c" is -c.
fl_opts() {
	grep -oE 'Fl (\\-)?[a-z][-a-z]*' | sed 's/^Fl /-/; s/\\-/-/' | sort -u
}

# The options of a page's SYNOPSIS, and of its option list (.It lines,
# chord-cache's ".It Cm warm Op Fl m Ar FILE" included).
synopsis_opts() {
	sed -n '/^\.Sh SYNOPSIS/,/^\.Sh DESCRIPTION/p' "$TOP/man/$1.1" | fl_opts
}
list_opts() {
	grep '^\.It .*Fl' "$TOP/man/$1.1" | fl_opts
}

# The SYNOPSIS as mandoc renders it, on one line.
synopsis_text() {
	mandoc -Tascii -Owidth=1000 "$TOP/man/$1.1" | sed 's/.\x08//g' |
	    sed -n '/^SYNOPSIS/{n;p;}' | sed 's/^ *//; s/ *$//'
}

check_options() {
	local t=$1 want
	want=$(parser_opts "$t")
	[ -n "$want" ]
	[ "$(usage_opts "$t")" = "$want" ] ||
	    { diff <(echo "$want") <(usage_opts "$t") >&2; return 1; }
	[ "$(synopsis_opts "$t")" = "$want" ] ||
	    { diff <(echo "$want") <(synopsis_opts "$t") >&2; return 1; }
	[ "$(list_opts "$t")" = "$want" ] ||
	    { diff <(echo "$want") <(list_opts "$t") >&2; return 1; }
	[ "usage: $(synopsis_text "$t")" = "$("$t" -h)" ] ||
	    { printf 'page:  %s\nusage: %s\n' "$(synopsis_text "$t")" \
	    "$("$t" -h)" >&2; return 1; }
}

@test "mandoc -Tlint: every page is clean" {
	for p in "$TOP"/man/*.[17]; do
		# cross references to pages not installed yet, and a stale
		# system mandoc.db, are this machine's business, not the page's
		run mandoc -Tlint -Wstyle "$p"
		out=$(printf '%s\n' "$output" | grep -v -e 'referenced manual not found' \
		    -e 'outdated mandoc.db' || true)
		[ -z "$out" ] || { echo "$out" >&2; return 1; }
	done
}

@test "a page for every tool in bin/, and chord(7), and no other" {
	local n=0
	for t in $(tools); do
		[ -f "$TOP/man/$t.1" ] || { echo "no man/$t.1" >&2; return 1; }
		n=$((n + 1))
	done
	[ "$n" -ge 8 ]
	[ -f "$TOP/man/chord.7" ]
	[ "$(ls "$TOP"/man | wc -l)" -eq $((n + 1)) ]
}

@test "gguf-inspect: parser, usage line and page name the same options" {
	check_options gguf-inspect
}

@test "gguf-repack: parser, usage line and page name the same options" {
	check_options gguf-repack
}

@test "chord-tok: parser, usage line and page name the same options" {
	check_options chord-tok
}

@test "chord-fwd: parser, usage line and page name the same options" {
	check_options chord-fwd
}

@test "chord-sample: parser, usage line and page name the same options" {
	check_options chord-sample
}

@test "chord-gen: parser, usage line and page name the same options" {
	check_options chord-gen
}

@test "chord-cache: parser, usage line and page name the same options" {
	check_options chord-cache
}

@test "chord-spec: parser, usage line and page name the same options" {
	check_options chord-spec
}

@test "chord-spec refuses --mirostat: the option its page names but does not list" {
	run --separate-stderr chord-spec --mirostat 2 a b c d
	status_is 2
	[ "${stderr_lines[0]}" = "chord-spec: --mirostat: not with a draft model" ]
}

@test "gguf-repack has no --merge: an option that did nothing" {
	run --separate-stderr gguf-repack --merge a b
	status_is 2
	[ "${stderr_lines[0]}" = "gguf-repack: --merge: unknown option" ]
}

# The EXAMPLES commands of a page: each .Dl line, each .Bd block as one
# script; mdoc escapes undone.
examples() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh SEE ALSO/p' "$1" | awk '
	    /^\.Bd/ { bd = 1; s = ""; next }
	    /^\.Ed/ { bd = 0; print s; next }
	    bd { s = s (s == "" ? "" : "\\n") $0; next }
	    /^\.Dl / { print substr($0, 5) }' |
	    sed 's/\\e/\\/g; s/\\-/-/g; s/\\&//g; s/\\(aq/'\''/g'
}

# Run a page's examples in order in one directory, as a user with the
# default model and nothing else set: HOME has ~/.local/share/chord/
# default.gguf, and prompt.txt is any text. Each exits 0 and writes
# something (output, or a new file). The weight cache's segments go to a
# directory of the test's own ($CHORD_SHM_DIR), so that chord-cache's
# examples see only theirs and remove nobody else's.
run_examples() {
	local page=$TOP/man/$1 n=0 before
	need_model "$CHORD_DATA/default.gguf"
	mkdir -p "$TMP/home/.local/share/chord" "$TMP/work" "$TMP/shm"
	ln -s "$CHORD_DATA/default.gguf" "$TMP/home/.local/share/chord/default.gguf"
	echo 'The capital of France is Paris. The capital of Italy is' > "$TMP/work/prompt.txt"
	cd "$TMP/work"
	while IFS= read -r cmd; do
		n=$((n + 1))
		before=$(ls | wc -l)
		run env -u CHORD_DATA -u CHORD_MODEL -u XDG_DATA_HOME \
		    HOME="$TMP/home" CHORD_SHM_DIR="$TMP/shm" sh -c "$(printf '%b' "$cmd")" < /dev/null
		[ "$status" -eq 0 ] ||
		    { echo "$cmd: exit $status: $output" >&2; return 1; }
		[ -n "$output" ] || [ "$(ls | wc -l)" -gt "$before" ] ||
		    { echo "$cmd: no output" >&2; return 1; }
	done <<-END
	$(examples "$page")
	END
	[ "$n" -gt 0 ]
}

@test "gguf-inspect(1) examples run" {
	run_examples gguf-inspect.1
}

@test "gguf-repack(1) examples run" {
	run_examples gguf-repack.1
}

@test "chord-tok(1) examples run" {
	run_examples chord-tok.1
}

@test "chord-fwd(1) examples run" {
	run_examples chord-fwd.1
}

@test "chord-sample(1) examples run" {
	run_examples chord-sample.1
}

@test "chord-gen(1) examples run" {
	run_examples chord-gen.1
}

@test "chord-cache(1) examples run" {
	run_examples chord-cache.1
}

@test "chord-spec(1) examples run" {
	run_examples chord-spec.1
}

@test "chord(7) examples run" {
	run_examples chord.7
}
