#!/usr/bin/env bats
# chord-sample on synthetic logits streams (t/mklogits.py): vocab of 16,
# eos/eog id 2, frame k evaluates token 10+k.

load helper

mk() { python3 "$TOP/t/mklogits.py" 16 "$@"; }

@test "-h prints usage, exit 0; bad usage exits 2" {
	run --separate-stderr chord-sample -h
	status_is 0
	[[ "$output" == "usage: chord-sample "* ]]
	run --separate-stderr chord-sample --temp -1
	status_is 2
	[[ "${stderr_lines[0]}" == "chord-sample: --temp: -1: too small"* ]]
}

@test "greedy picks the largest logit, one id per line per frame" {
	run chord-sample --temp 0 < <(mk 5=3 7=4,5=3.9 "1=-1,3=0.5")
	status_is 0
	[ "$output" = $'5\n7\n3' ]
}

@test "-n stops after N ids" {
	run chord-sample --temp 0 -n 2 < <(mk 5=3 7=4 9=9)
	[ "$output" = $'5\n7' ]
}

@test "an end-of-generation id stops without being printed; --ignore-eos goes on" {
	run chord-sample --temp 0 < <(mk 5=3 2=9 7=4)
	status_is 0
	[ "$output" = "5" ]
	run chord-sample --temp 0 --ignore-eos < <(mk 5=3 2=9 7=4)
	[ "$output" = $'5\n2\n7' ]
}

@test "the same seed gives the same ids, another seed other ids" {
	frames=$(for i in $(seq 40); do echo uniform; done)
	a=$(chord-sample --seed 1 --top-k 0 --top-p 1 --min-p 0 --temp 1 --ignore-eos < <(mk $frames) | tr '\n' ' ')
	b=$(chord-sample --seed 1 --top-k 0 --top-p 1 --min-p 0 --temp 1 --ignore-eos < <(mk $frames) | tr '\n' ' ')
	c=$(chord-sample --seed 2 --top-k 0 --top-p 1 --min-p 0 --temp 1 --ignore-eos < <(mk $frames) | tr '\n' ' ')
	[ "$a" = "$b" ]
	[ "$a" != "$c" ]
	# uniform over 16 ids: 40 draws hit many of them
	[ "$(echo $a | tr ' ' '\n' | sort -u | wc -l)" -gt 8 ]
}

@test "top-k 1, top-p and min-p narrow the draw to the best ids" {
	for s in 1 2 3 4 5; do
		[ "$(chord-sample --seed $s --top-k 1 --temp 1 < <(mk 3=1,4=0.9))" = "3" ]
		# min-p 0.5: only ids within half the best probability
		got=$(chord-sample --seed $s --top-k 0 --top-p 1 --min-p 0.5 --temp 1 < <(mk 3=5,4=4.9,6=1))
		[ "$got" = 3 ] || [ "$got" = 4 ]
		got=$(chord-sample --seed $s --top-k 0 --top-p 0.5 --min-p 0 --temp 1 < <(mk 3=5,4=4.9,6=1))
		[ "$got" = 3 ] || [ "$got" = 4 ]
	done
}

@test "logit bias can ban the best id; repetition penalty sees the history" {
	[ "$(chord-sample --temp 0 --logit-bias 5-inf < <(mk 5=3,6=2))" = "6" ]
	[ "$(chord-sample --temp 0 --logit-bias 6+2 < <(mk 5=3,6=2))" = "6" ]
	# frame 0 evaluated token 10: a penalty of 3 pushes 10 below 11
	[ "$(chord-sample --temp 0 < <(mk 10=3,11=2))" = "10" ]
	[ "$(chord-sample --temp 0 --repeat-penalty 3 < <(mk 10=3,11=2))" = "11" ]
}

@test "mirostat v2 draws, reproducibly" {
	a=$(chord-sample --mirostat 2 --seed 7 < <(mk uniform uniform uniform) | tr '\n' ' ')
	b=$(chord-sample --mirostat 2 --seed 7 < <(mk uniform uniform uniform) | tr '\n' ' ')
	[ "$a" = "$b" ]
	[ "$(echo $a | wc -w)" -eq 3 ]
}

@test "NaN logits are skipped; all NaN is an error, not a token" {
	[ "$(chord-sample --temp 0 < <(mk 5=nan,6=1))" = "6" ]
	spec=$(seq -s, 0 15 | sed 's/\([0-9]*\)/\1=nan/g')
	run --separate-stderr chord-sample --temp 0 < <(mk "$spec")
	status_is 1
	[ "$stderr" = "chord-sample: stdin: frame at position 0: no candidate left: every logit is NaN or -inf" ]
}

@test "--score: uniform logits over 16 ids give perplexity 16" {
	run chord-sample --score < <(mk uniform uniform uniform uniform)
	status_is 0
	[ "$output" = "tokens=3 nll_sum=8.317766 nll=2.772589 ppl=16.0000" ]
	run chord-sample --score --score-from 3 < <(mk uniform uniform uniform uniform)
	[ "$output" = "tokens=1 nll_sum=2.772589 nll=2.772589 ppl=16.0000" ]
}

@test "truncated or foreign input: clear errors" {
	mk 5=3 7=4 > "$TMP/s"
	head -c 100 "$TMP/s" > "$TMP/cut"
	run --separate-stderr chord-sample --temp 0 < "$TMP/cut"
	status_is 1
	[ "$stderr" = "chord-sample: stdin: truncated logits frame" ]
	run --separate-stderr chord-sample < /dev/null
	status_is 1
	[ "$stderr" = "chord-sample: stdin: empty logits stream" ]
	run --separate-stderr chord-sample <<< "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25"
	status_is 1
	[ "$stderr" = "chord-sample: stdin: not a logits stream (bad magic)" ]
	run --separate-stderr chord-sample --logit-bias 99+1 < "$TMP/s"
	status_is 1
	[ "$stderr" = "chord-sample: --logit-bias: token 99 out of range (n_vocab 16)" ]
}

@test "a frame's token out of range: clear error, not a crash (--score too)" {
	python3 "$TOP/t/mklogits.py" 100 uniform @1000000:uniform > "$TMP/s"
	run --separate-stderr chord-sample --score < "$TMP/s"
	status_is 1
	[ "$stderr" = "chord-sample: stdin: frame at position 1: token 1000000 out of range (n_vocab 100)" ]
	run --separate-stderr chord-sample --temp 0 < <(mk @-1:uniform)
	status_is 1
	[ "$stderr" = "chord-sample: stdin: frame at position 0: token -1 out of range (n_vocab 16)" ]
}

# Peak resident memory of chord-sample ARGS... on stdin, in bytes.
peak_rss() {
	/usr/bin/time -f %M -o "$TMP/rss" chord-sample "$@" > /dev/null
	echo $(( $(cat "$TMP/rss") * 1024 ))
}

@test "a vocab of 2^24: memory is a small multiple of one frame, not of the vocab" {
	frame=$(( (1 << 24) * 4 ))      # 64 MiB of logits
	# slack: the runtime, and a sanitizer's shadow memory (make san);
	# before, the default options took 264 MB and top-k 0 362 MB
	slack=48000000
	python3 "$TOP/t/mklogits.py" $((1 << 24)) uniform uniform > "$TMP/big"
	# top-k (the default) keeps K candidates; greedy none
	[ "$(peak_rss --seed 1 < "$TMP/big")" -lt $((frame + slack)) ]
	[ "$(peak_rss --temp 0 < "$TMP/big")" -lt $((frame + slack)) ]
	# scoring keeps the previous frame
	[ "$(peak_rss --score < "$TMP/big")" -lt $((2 * frame + slack)) ]
	# top-k off: every token a candidate (8 bytes each), sorted in place
	head -c $((64 + 24 + frame)) "$TMP/big" > "$TMP/one"
	[ "$(peak_rss --seed 1 --top-k 0 < "$TMP/one")" -lt $((3 * frame + slack)) ]
}
