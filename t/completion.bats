#!/usr/bin/env bats
# contrib/completion/chord.bash: options from each tool's usage line, model
# files for -m, template names and auto for --chat, chord-cache's commands
# and segments.

load helper

# complete WORD...: COMPREPLY, sorted, one a line, for the command line
# WORD... with the cursor on its last word (give "" for a new word).
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_chord "$1"
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

setup() {
	TMP=$BATS_TEST_TMPDIR
	. "$TOP/contrib/completion/chord.bash"
}

@test "the script completes every tool in bin/ with _chord" {
	tools=$(ls "$TOP"/bin/*.c | sed 's|.*/||; s|\.c$||'; echo chord-gen)
	run complete -p $tools
	status_is 0
	[ "${#lines[@]}" -eq "$(echo "$tools" | wc -l)" ]
	[ "${#lines[@]}" -ge 8 ]
	for l in "${lines[@]}"; do [[ $l == "complete -F _chord "* ]]; done
}

@test "options: chord-tok --c offers --chat and --count" {
	[ "$(complete_line chord-tok --c)" = "$(printf '%s\n' --chat --count)" ]
}

@test "options: every option of chord-gen's usage line, -sys included" {
	run complete_line chord-gen -
	[[ " ${lines[*]} " == *" --mirostat-ent "* ]]
	[[ " ${lines[*]} " == *" -sys "* ]]
	[[ " ${lines[*]} " == *" --logit-bias "* ]]
	[ "${#lines[@]}" -eq "$(chord-gen -h | grep -oE -- '(\[|\| )-{1,2}[a-z][-a-z]*' | wc -l)" ]
}

@test "options: gguf-inspect -j and --summary, gguf-repack no --merge" {
	[ "$(complete_line gguf-inspect --su)" = --summary ]
	[ "$(complete_line gguf-inspect -j)" = -j ]
	[ -z "$(complete_line gguf-repack --me)" ]
}

@test "-m offers directories and model files, not other files" {
	mkdir "$TMP/d" "$TMP/d/sub"
	touch "$TMP/d/a.gguf" "$TMP/d/b.txt" "$TMP/d/c.gguf.zst" "$TMP/d/e.tar.gz"
	cd "$TMP/d"
	[ "$(complete_line chord-fwd -m "")" = "$(printf '%s\n' a.gguf c.gguf.zst e.tar.gz sub)" ]
	[ "$(complete_line chord-gen --model a)" = a.gguf ]
	[ "$(complete_line gguf-inspect "")" = "$(printf '%s\n' a.gguf c.gguf.zst e.tar.gz sub)" ]
}

@test "--chat offers auto and the names in share/templates" {
	want=$( (echo auto; ls "$TOP/share/templates") | sort)
	[ "$(complete_line chord-tok --chat "")" = "$want" ]
	[ "$(complete_line chord-gen --chat chatm)" = chatml ]
}

@test "--chat follows \$CHORD_TEMPLATES" {
	mkdir "$TMP/tpl"
	touch "$TMP/tpl/mine"
	CHORD_TEMPLATES=$TMP/tpl
	[ "$(complete_line chord-tok --chat "")" = "$(printf '%s\n' auto mine)" ]
}

@test "an option's argument that is a number gets nothing; gguf-repack -t its types" {
	[ -z "$(complete_line chord-gen --top-p "")" ]
	[ -z "$(complete_line chord-fwd -c "")" ]
	[ "$(complete_line gguf-repack -t q4)" = "$(printf '%s\n' q4_0 q4_1 q4_K)" ]
}

@test "chord-gen -md and chord-spec --check-vocab offer model files" {
	mkdir "$TMP/d"
	touch "$TMP/d/a.gguf" "$TMP/d/b.txt"
	cd "$TMP/d"
	[ "$(complete_line chord-gen -md "")" = a.gguf ]
	[ "$(complete_line chord-gen --model-draft "")" = a.gguf ]
	[ "$(complete_line chord-spec --check-vocab "")" = a.gguf ]
	[ -z "$(complete_line chord-gen --draft-max "")" ]
}

@test "chord-spec: options from its usage line, files (its FIFOs) as operands" {
	[ "$(complete_line chord-spec --draft-)" = "$(printf '%s\n' --draft-max --draft-min --draft-p-min)" ]
	mkdir "$TMP/d"
	mkfifo "$TMP/d/d1" "$TMP/d/d2"
	cd "$TMP/d"
	[ "$(complete_line chord-spec -n 4 d)" = "$(printf '%s\n' d1 d2)" ]
}

@test "chord-cache: commands, then -a and segment names for rm, -m and models for warm" {
	export CHORD_SHM_DIR=$TMP/shm
	mkdir "$CHORD_SHM_DIR" "$TMP/d"
	seg=chord-$(id -u)-0123456789abcdef
	touch "$CHORD_SHM_DIR/$seg" "$TMP/d/a.gguf" "$TMP/d/b.txt"
	[ "$(complete_line chord-cache "")" = "$(printf '%s\n' ls rm warm)" ]
	[ "$(complete_line chord-cache -)" = "$(printf '%s\n' --help -h)" ]
	[ "$(complete_line chord-cache rm "")" = "$(printf '%s\n' -a "$seg")" ]
	[ "$(complete_line chord-cache rm "$seg" "")" = "$seg" ]
	[ -z "$(complete_line chord-cache rm -a "")" ]
	[ "$(complete_line chord-cache warm "")" = -m ]
	cd "$TMP/d"
	[ "$(complete_line chord-cache warm -m "")" = a.gguf ]
	[ -z "$(complete_line chord-cache ls "")" ]
}
