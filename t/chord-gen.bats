#!/usr/bin/env bats
# chord-gen: the generation loop, and the pipelines it is made of.

load helper

hdr() { printf x | chord-tok "$@" | head -n 1; }

# greedy MODEL GOLDEN: every prompt of the golden file continues with
# llama.cpp's 64 greedy ids.
greedy() {
	local h rec ids want got
	h=$(hdr -m "$1")
	while IFS= read -r rec; do
		ids=$(jq -r '.ids | map(tostring) | join(" ")' <<< "$rec")
		want=$(jq -r '.greedy | map(tostring) | join(" ")' <<< "$rec")
		got=$(printf '%s\n%s\n' "$h" "$ids" | chord-gen -m "$1" --temp 0 -n 64 --ignore-eos --ids | tr '\n' ' ')
		[ "$got" = "$want " ] || { echo "prompt $(jq .prompt <<< "$rec"): got $got want $want"; return 1; }
	done < "$2"
}

@test "-h prints usage, exit 0; bad usage exits 2" {
	run --separate-stderr chord-gen -h
	status_is 0
	[[ "$output" == "usage: chord-gen "* ]]
	run --separate-stderr chord-gen --bogus
	status_is 2
	[ "${stderr_lines[0]}" = "chord-gen: unknown option --bogus" ]
	run --separate-stderr chord-gen -n
	status_is 2
}

@test "runs under dash" {
	need_model "$SMOL"
	run dash "$TOP/bin/chord-gen" --temp 0 -n 3 -p "The capital of France is"
	status_is 0
	[ "$output" = " Paris." ]
}

@test "the README's pipeline answers the question" {
	need_model "$SMOL"
	run sh -c "echo 'What is the capital of France?' | chord-tok --chat chatml | chord-gen --temp 0 -n 40"
	status_is 0
	[[ "$output" == *Paris* ]]
}

@test "greedy: llama.cpp's 64-token continuation on every golden prompt" {
	need_model "$SMOL"
	greedy "$SMOL" "$GOLDEN/logits-smollm2.jsonl"
}

@test "greedy on Gemma 3: llama.cpp's 64-token continuations" {
	need_model "$GEMMA"
	greedy "$GEMMA" "$GOLDEN/logits-gemma3.jsonl"
}

@test "greedy on Qwen2.5: llama.cpp's 64-token continuations" {
	need_model "$QWEN"
	greedy "$QWEN" "$GOLDEN/logits-qwen2.jsonl"
}

@test "Qwen2.5 answers a coding question with its own chat template" {
	need_model "$QWEN"
	run sh -c "echo 'Write a Python function that adds two numbers.' | chord-tok -m '$QWEN' --chat auto | chord-gen -m '$QWEN' --temp 0 -n 40"
	status_is 0
	[[ "$output" == *"def "* ]]
}

@test "text on stdin and -p TEXT are tokenized; a token stream is used as is" {
	need_model "$SMOL"
	a=$(echo "The capital of France is" | chord-gen --temp 0 -n 3)
	b=$(chord-gen --temp 0 -n 3 -p "The capital of France is")
	c=$(echo "The capital of France is" | chord-tok | chord-gen --temp 0 -n 3)
	d=$(echo "504 3575 282 4649 314" | chord-gen --temp 0 -n 3)
	[ "$a" = " Paris." ]
	[ "$a" = "$b" ] && [ "$a" = "$c" ] && [ "$a" = "$d" ]
}

@test "the same seed gives the same text, another seed another" {
	need_model "$SMOL"
	a=$(chord-gen --seed 11 --temp 1.2 -n 24 --ignore-eos -p "Once upon a time")
	b=$(chord-gen --seed 11 --temp 1.2 -n 24 --ignore-eos -p "Once upon a time")
	c=$(chord-gen --seed 12 --temp 1.2 -n 24 --ignore-eos -p "Once upon a time")
	[ -n "$a" ]
	[ "$a" = "$b" ]
	[ "$a" != "$c" ]
}

@test "head -c 20 downstream ends the pipeline cleanly" {
	need_model "$SMOL"
	export TMPDIR=$TMP
	# without the fix the loop would run to -n 2000; timeout is a safety
	# net whose status (124) fails the test, not a timing assertion
	run timeout 120 sh -c "chord-gen --temp 0 -n 2000 --ignore-eos -p 'Write a long story.' | head -c 20"
	status_is 0
	[ "${#output}" -eq 20 ]
	# the pipeline's stages are gone with it, and so is its temp dir
	for i in $(seq 40); do
		[ -z "$(ls "$TMP" | grep chord-gen)" ] && break
		sleep 0.25
	done
	[ -z "$(ls "$TMP" | grep chord-gen)" ]
	! pgrep -f "chord-fwd.*$TMP" > /dev/null
}

# alive PID: running (a zombie waiting to be reaped counts as gone)
alive() {
	local s
	s=$(ps -o stat= -p "$1") && [ "${s#Z}" = "$s" ]
}

# signal_ends SIG STATUS NKIDS ARGS...: chord-gen ARGS (stdin: $TMP/in),
# sent SIG to its own pid once text flows, ends its NKIDS stages, removes
# its temp dir and exits with STATUS (128 + SIG).
signal_ends() {
	local sig=$1 want=$2 nkids=$3
	shift 3
	export TMPDIR=$TMP
	# a background job starts with SIGINT ignored; give it back its default
	perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV' chord-gen --temp 0 \
	    -n 5000 --ignore-eos "$@" < "$TMP/in" > "$TMP/out" &
	pid=$!
	for i in $(seq 240); do [ -s "$TMP/out" ] && break; sleep 0.5; done
	[ -s "$TMP/out" ]
	kids=$(pgrep -P "$pid" | tr '\n' ' ')
	[ "$(echo $kids | wc -w)" -eq "$nkids" ]
	[ -n "$(ls "$TMP" | grep chord-gen)" ]
	kill -"$sig" "$pid"
	# a bounded poll: the old chord-gen ran on to -n with its stages
	for i in $(seq 40); do alive "$pid" || break; sleep 0.25; done
	if alive "$pid"; then kill -KILL $pid $kids; false; fi
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq "$want" ] || { echo "status $st, want $want"; false; }
	for k in $kids; do
		for i in $(seq 40); do alive "$k" || break; sleep 0.25; done
		! alive "$k" || { echo "stage $k left running"; false; }
	done
	[ -z "$(ls "$TMP" | grep chord-gen)" ]
}

@test "SIGTERM to chord-gen's pid ends its stages and temp dir: status 143" {
	need_model "$SMOL"
	: > "$TMP/in"
	# its stages: cat, chord-fwd, chord-sample, tee, chord-tok
	signal_ends TERM 143 5 -p 'Once upon a time'
}

@test "SIGHUP to chord-gen's pid ends its stages and temp dir: status 129" {
	need_model "$SMOL"
	: > "$TMP/in"
	# its stages: cat, chord-fwd, chord-sample, tee, chord-tok
	signal_ends HUP 129 5 -p 'Once upon a time'
}

@test "SIGINT to chord-gen's pid ends its stages and temp dir: status 130" {
	need_model "$SMOL"
	: > "$TMP/in"
	# its stages: cat, chord-fwd, chord-sample, tee, chord-tok
	signal_ends INT 130 5 -p 'Once upon a time'
}

@test "-i: SIGTERM to chord-gen's pid ends the chat's stages and temp dir" {
	need_model "$SMOL"
	# a user who has not typed the next line yet: stdin stays open
	mkfifo "$TMP/in"
	{ echo 'Tell me a long story.'; exec sleep 300; } > "$TMP/in" &
	feeder=$!
	# chord-fwd, chord-sample, chord-tok
	signal_ends TERM 143 3 -i --chat chatml || { kill $feeder; false; }
	kill $feeder
}

@test "Ctrl-C stops generation: text so far stays, no process or temp file left" {
	need_model "$SMOL"
	export TMPDIR=$TMP
	# a background job starts with SIGINT ignored; give it back its default
	# as a terminal's foreground job has it
	setsid perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV' sh -c \
	    "chord-gen --temp 0 -n 5000 --ignore-eos -p 'Write a long story.' > '$TMP/out' 2>&1" &
	# interrupt once text flows (slow machines and sanitizer builds take
	# longer than a fixed pause to load the model)
	for i in $(seq 120); do [ -s "$TMP/out" ] && break; sleep 0.5; done
	sleep 1
	pgid=$(ps -o pgid= -p $! | tr -d ' ')
	pids=$(pgrep -g "$pgid" | tr '\n' ' ')
	[ -n "$pids" ]
	kill -INT -- "-$pgid"
	sleep 1
	for p in $pids; do ! kill -0 "$p" 2> /dev/null; done
	[ -s "$TMP/out" ]
	[ -z "$(ls "$TMP" | grep chord-gen)" ]
}

@test "--batch: one JSON object per prompt line" {
	need_model "$SMOL"
	printf 'The capital of France is\nThe capital of Italy is\n' > "$TMP/prompts"
	run chord-gen --batch --temp 0 -n 3 -f "$TMP/prompts"
	status_is 0
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq .answer <<< "${lines[0]}")" = '" Paris.\n"' ]
	[ "$(jq -r .prompt <<< "${lines[1]}")" = "The capital of Italy is" ]
	[ "$(jq .gen_tokens <<< "${lines[0]}")" -eq 3 ]
	[ "$(jq .prompt_tokens <<< "${lines[0]}")" -eq 5 ]
	jq -e '.ms >= 0' <<< "${lines[1]}"
}

@test "--batch: quotes, backslashes, tabs and control bytes come out as JSON strings" {
	need_model "$SMOL"
	printf 'Say "hi" \\ to\tthem\001 \xc3\xa9t\xc3\xa9\n' > "$TMP/prompts"
	run chord-gen --batch --temp 0 -n 2 -f "$TMP/prompts"
	status_is 0
	[ "${#lines[@]}" -eq 1 ]
	jq -e . <<< "${lines[0]}"
	[ "$(jq -j .prompt <<< "${lines[0]}")" = "$(printf 'Say "hi" \\ to\tthem\001 \xc3\xa9t\xc3\xa9')" ]
	jq -e '.answer | type == "string"' <<< "${lines[0]}"
}

@test "an empty prompt is an error, not a hang" {
	need_model "$SMOL"
	run timeout 20 chord-gen < /dev/null
	status_is 1
	[ "$output" = "chord-gen: empty prompt: no tokens to generate from" ]
	run timeout 20 chord-gen -p ""
	status_is 1
	printf '#chord tokens vocab=d8a3e77cf8c6695e n_vocab=49152\n' > "$TMP/h"
	run timeout 20 chord-gen < "$TMP/h"
	status_is 1
}

@test "a prompt with NUL bytes (stdin or -f) is refused, not taken for ids" {
	printf 'The capital\0 of France is' > "$TMP/nul"
	run --separate-stderr chord-gen --temp 0 -n 3 < "$TMP/nul"
	status_is 1
	[ "$stderr" = "chord-gen: prompt contains NUL bytes" ]
	[ -z "$output" ]
	run --separate-stderr chord-gen --temp 0 -n 3 -f "$TMP/nul"
	status_is 1
	[ "$stderr" = "chord-gen: prompt contains NUL bytes" ]
	# grep took this one for ids and then for an empty prompt
	printf '12\0 34' > "$TMP/nul"
	run --separate-stderr chord-gen --temp 0 -n 3 < "$TMP/nul"
	status_is 1
	[ "$stderr" = "chord-gen: prompt contains NUL bytes" ]
}

@test "a failing stage makes chord-gen fail" {
	run --separate-stderr chord-gen -m "$TMP/none.gguf" -p hi
	status_is 1
	[[ "$stderr" == *"$TMP/none.gguf: No such file or directory"* ]]
}

@test "-i: a chat whose second answer sees the first turn (KV cache kept)" {
	need_model "$SMOL"
	export TMPDIR=$TMP
	run --separate-stderr timeout 60 chord-gen -i --chat chatml --temp 0 -n 4 --ids <<< $'Hi\nWhat did I say?'
	status_is 0
	ids=$(grep -v '^#$' <<< "$output")
	# the first answer: up to 4 ids, or fewer and an end-of-turn mark
	a1= eog= k=0
	while IFS= read -r l; do
		case $l in "#eog "*) eog=${l#\#eog }; break ;; esac
		a1="$a1 $l"; k=$((k + 1)); [ "$k" -lt 4 ] || break
	done <<< "$ids"
	skip=$k
	[ -z "$eog" ] || skip=$((k + 1))
	a2=$(tail -n +$((skip + 1)) <<< "$ids" | grep -v '^#' | tr '\n' ' ')
	[ -n "$a2" ]
	# one shot on the whole conversation gives the same second answer
	t1=$(printf 'Hi' | chord-tok --chat chatml | tail -n 1)
	t2=$(printf 'What did I say?' | chord-tok --no-bos --chat chatml | tail -n 1)
	want=$(printf '%s\n%s %s %s %s\n' "$(printf x | chord-tok | head -n 1)" "$t1" "$a1" "$eog" "$t2" |
	    chord-gen --temp 0 -n 4 --ids | tr '\n' ' ')
	[ "$a2" = "$want" ] || { echo "chat: $a2, one shot: $want"; false; }
	[ -z "$(ls "$TMP" | grep chord-gen)" ]
}

# ---- speculative decoding (-md DRAFT) ----

@test "-md: self-speculation accepts every draft and gives the plain greedy text" {
	need_model "$SMOL"
	for p in 'The capital of France is' 'def fibonacci(n):'; do
		want=$(chord-gen --temp 0 -n 48 --ignore-eos -p "$p")
		run --separate-stderr chord-gen -md "$SMOL" -v --temp 0 -n 48 \
		    --ignore-eos -p "$p"
		status_is 0
		[ "$output" = "$want" ] || { echo "got: $output"; echo "want: $want"; false; }
		# "drafted N, accepted N (100.0%), ..." with N > 0, and t/s
		[[ $stderr =~ drafted\ ([0-9]+),\ accepted\ ([0-9]+)\ \(100.0%\) ]] ||
		    { echo "stderr: $stderr"; false; }
		[ "${BASH_REMATCH[1]}" -gt 0 ]
		[ "${BASH_REMATCH[1]}" -eq "${BASH_REMATCH[2]}" ]
		[[ $stderr == *" 48 tokens in "*" t/s)"* ]]
	done
}

@test "-md: the same ids with --ids, under -n, and at every --draft-max" {
	need_model "$SMOL"
	want=$(chord-gen --temp 0 -n 20 --ignore-eos --ids -p 'Once upon a time')
	for m in 0 1 3 16; do
		got=$(chord-gen -md "$SMOL" --draft-max $m --draft-p-min 0 \
		    --temp 0 -n 20 --ignore-eos --ids -p 'Once upon a time')
		[ "$got" = "$want" ] || { echo "--draft-max $m: $got"; false; }
	done
}

@test "-md: a draft with another vocabulary is refused, exit 1" {
	need_model "$SMOL"
	need_model "$GEMMA"
	run --separate-stderr chord-gen -m "$SMOL" -md "$GEMMA" -p 'Hello'
	status_is 1
	[ "$stderr" = "chord-gen: $GEMMA: vocabulary differs from the model's (tokenizer llama, the model's gpt2)" ]
	[ -z "$output" ]
}

@test "-md: bad usage exits 2" {
	run chord-gen --draft-max 4 -p x
	status_is 2
	[ "${lines[0]}" = "chord-gen: --draft-* need -md" ]
	run chord-gen -md "$SMOL" --draft-max x -p x
	status_is 2
	[ "${lines[0]}" = "chord-gen: --draft-max: x: not a number" ]
	run chord-gen -md "$SMOL" --mirostat 2 -p x
	status_is 2
	[ "${lines[0]}" = "chord-gen: --mirostat and -md exclude each other" ]
}

@test "-md: sampling runs and follows --seed" {
	need_model "$SMOL"
	a=$(chord-gen -md "$SMOL" --seed 11 --temp 1.2 -n 24 --ignore-eos -p "Once upon a time")
	b=$(chord-gen -md "$SMOL" --seed 11 --temp 1.2 -n 24 --ignore-eos -p "Once upon a time")
	c=$(chord-gen -md "$SMOL" --seed 12 --temp 1.2 -n 24 --ignore-eos -p "Once upon a time")
	[ -n "$a" ]
	[ "$a" = "$b" ]
	[ "$a" != "$c" ]
}

# spec_procs: the pids of the processes whose command line (the draft
# $TMP/d.gguf, chord-spec's FIFOs) or environment (CHORD_MODEL, from -m
# $TMP/t.gguf) names this test's files
spec_procs() {
	pgrep -f "$TMP/" | grep -vx "$$"
	grep -lsz "^CHORD_MODEL=$TMP/t.gguf" /proc/[0-9]*/environ | cut -d/ -f3
}

@test "-md: head -c 20 downstream ends the pipeline cleanly" {
	need_model "$SMOL"
	export TMPDIR=$TMP
	ln -s "$SMOL" "$TMP/d.gguf"
	ln -s "$SMOL" "$TMP/t.gguf"
	run timeout 120 sh -c "chord-gen -m '$TMP/t.gguf' -md '$TMP/d.gguf' --temp 0 -n 2000 --ignore-eos -p 'Write a long story.' | head -c 20"
	status_is 0
	[ "${#output}" -eq 20 ]
	for i in $(seq 40); do
		[ -z "$(ls "$TMP" | grep chord-gen)" ] && [ -z "$(spec_procs)" ] && break
		sleep 0.25
	done
	[ -z "$(ls "$TMP" | grep chord-gen)" ]
	[ -z "$(spec_procs)" ] || { ps -o pid,args -p "$(spec_procs | tr '\n' ' ')"; false; }
}

@test "-md: SIGINT to chord-gen's pid ends its stages and temp dir: status 130" {
	need_model "$SMOL"
	: > "$TMP/in"
	# its stages: two chord-fwd, chord-spec, tee, chord-tok
	signal_ends INT 130 5 -md "$SMOL" -p 'Once upon a time'
}

@test "-md: a chord-fwd that fails (context full) makes chord-gen fail" {
	need_model "$SMOL"
	export TMPDIR=$TMP
	run --separate-stderr chord-gen -md "$SMOL" -c 12 --temp 0 -n 100 \
	    --ignore-eos -p 'Once upon a time'
	status_is 1
	[[ $stderr == *"chord-fwd: stdin: line "*" overflow the context ("*" of 12 positions used; use -c)"* ]]
	[ -z "$(ls "$TMP" | grep chord-gen)" ]
}
