#!/usr/bin/env bats
# contrib/completion/chord.bash: options from each tool's usage line, model
# files for -m, template names and auto for --chat.

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

@test "the script completes all six tools with _chord" {
	run complete -p gguf-inspect gguf-repack chord-tok chord-fwd chord-sample chord-gen
	status_is 0
	[ "${#lines[@]}" -eq 6 ]
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
	[ "$(complete_line chord-gen --chat ch)" = chatml ]
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
