#!/usr/bin/env bats
# make install honours PREFIX and DESTDIR, and installed tools find their
# chat templates.

load helper

@test "make install DESTDIR=... PREFIX=/usr gives working tools" {
	need_model "$SMOL"
	make -s -C "$TOP" install DESTDIR="$TMP/root" PREFIX=/usr > /dev/null
	for t in gguf-inspect gguf-repack chord-tok chord-fwd chord-sample chord-gen chord-cache chord-spec; do
		[ -x "$TMP/root/usr/bin/$t" ]
	done
	[ -f "$TMP/root/usr/share/chord/templates/chatml" ]
	want=$(echo hi | chord-tok --chat chatml)
	[ "$(echo hi | "$TMP/root/usr/bin/chord-tok" --chat chatml)" = "$want" ]
	[ "$("$TMP/root/usr/bin/chord-gen" --temp 0 -n 3 -p 'The capital of France is')" = " Paris." ]
}

@test "make install puts the manuals and bash completions in place; uninstall removes them" {
	make -s -C "$TOP" install DESTDIR="$TMP/root" PREFIX=/usr > /dev/null
	for t in gguf-inspect gguf-repack chord-tok chord-fwd chord-sample chord-gen chord-cache chord-spec; do
		cmp "$TOP/man/$t.1" "$TMP/root/usr/share/man/man1/$t.1"
		cmp "$TOP/contrib/completion/chord.bash" \
		    "$TMP/root/usr/share/bash-completion/completions/$t"
	done
	cmp "$TOP/man/chord.7" "$TMP/root/usr/share/man/man7/chord.7"
	make -s -C "$TOP" uninstall DESTDIR="$TMP/root" PREFIX=/usr > /dev/null
	[ -z "$(find "$TMP/root" -type f)" ]
}
