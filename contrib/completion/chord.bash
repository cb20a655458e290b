# bash completion for the chord tools: gguf-inspect gguf-repack chord-tok
# chord-fwd chord-sample chord-gen chord-spec chord-cache. Installed once per
# tool name into share/bash-completion/completions/.
#
# Options come from the tool's own usage line (`TOOL -h`), which the tests
# hold equal to what its parser accepts; *.gguf files for models; template
# names and `auto` for --chat; chord-cache's commands and segment names.

# The options in TOOL's usage line: each follows "[" or "| ".
_chord_options()
{
	"$1" -h 2>/dev/null | grep -oE -- '(\[|\| )-{1,2}[a-z][-a-z]*' |
	    sed 's/^[[| ]*//'
}

# The chat template names: the directory the tools use ($CHORD_TEMPLATES,
# else beside the tool: ../share/templates, ../share/chord/templates).
_chord_templates()
{
	local d bin

	if [ -n "${CHORD_TEMPLATES:-}" ]; then
		d=$CHORD_TEMPLATES
	else
		bin=$(type -P "$1") || bin=
		bin=${bin%/*}
		d=$bin/../share/templates
		[ -d "$d" ] || d=$bin/../share/chord/templates
	fi
	printf '%s\n' auto
	[ -d "$d" ] && (cd "$d" && ls)
}

# Files (names may hold spaces) into COMPREPLY.
_chord_files()
{
	local IFS=$'\n'

	COMPREPLY=($(compgen -f -- "$1"))
}

# Directories, and files a model can be in: .gguf, compressed or archived.
_chord_models()
{
	local f IFS=$'\n'

	COMPREPLY=($(compgen -d -- "$1"))
	for f in $(compgen -f -- "$1"); do
		case $f in
		*.gguf|*.gguf.*|*.tar|*.tar.*|*.tgz|*.zip|*.7z)
			[ -d "$f" ] || COMPREPLY+=("$f") ;;
		esac
	done
}

# chord-cache: its commands, then -a and the segments for rm, -m for warm
# (whose argument _chord completes as any -m).
_chord_cache()
{
	local cur=$1

	if [ "$COMP_CWORD" -eq 1 ]; then
		case $cur in
		-*) COMPREPLY=($(compgen -W '-h --help' -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W 'ls rm warm' -- "$cur")) ;;
		esac
		return
	fi
	case ${COMP_WORDS[1]}:$COMP_CWORD in
	rm:2)
		COMPREPLY=($(compgen -W "-a $(chord-cache ls 2>/dev/null |
		    cut -f1)" -- "$cur")) ;;
	rm:*)
		[ "${COMP_WORDS[2]}" = -a ] ||
		    COMPREPLY=($(compgen -W "$(chord-cache ls 2>/dev/null |
		    cut -f1)" -- "$cur")) ;;
	warm:2)
		COMPREPLY=($(compgen -W -m -- "$cur")) ;;
	esac
}

_chord()
{
	local cmd=$1 cur=${COMP_WORDS[COMP_CWORD]} prev=

	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
	COMPREPLY=()
	case $cmd:$prev in
	*:-m|*:--model|chord-gen:-md|chord-gen:--model-draft|\
	chord-spec:--check-vocab)
		_chord_models "$cur"; return ;;
	chord-tok:--chat|chord-gen:--chat)
		COMPREPLY=($(compgen -W "$(_chord_templates "$cmd")" -- "$cur"))
		case $cur in */*) _chord_files "$cur" ;; esac
		return ;;
	chord-gen:-f|chord-gen:--file|gguf-repack:-c|gguf-repack:--chat-template)
		_chord_files "$cur"; return ;;
	gguf-repack:-t|gguf-repack:--type)
		COMPREPLY=($(compgen -W 'f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0
		    q2_K q3_K q4_K q5_K q6_K' -- "$cur")); return ;;
	esac
	if [ "$cmd" = chord-cache ]; then
		_chord_cache "$cur"
		return
	fi
	# an option's argument that is not a file or a name: nothing to offer
	case $prev in
	-*)
		if "$cmd" -h 2>/dev/null | grep -qE -- "(\[|\| )$prev( \| -[-a-z]+)* [A-Z0-9]"; then
			return
		fi ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_chord_options "$cmd")" -- "$cur"))
		return
	fi
	case $cmd in
	gguf-inspect|gguf-repack) _chord_models "$cur" ;;
	chord-tok|chord-spec) _chord_files "$cur" ;;   # chord-spec: its FIFOs
	esac
}

complete -F _chord gguf-inspect gguf-repack chord-tok chord-fwd chord-sample \
    chord-gen chord-spec chord-cache
