#!/usr/bin/env bats
# chord-tok: text to the token stream and back, against llama.cpp's goldens.

load helper

# mkvocab NAME OUT: a vocab-only SPM GGUF whose general.name is NAME (the
# name picks llama.cpp's per-model token attributes). Ids: 0 <unk> 1 <s>
# 2 </s> 3 <|user|> 4 <|end|> 5 ▁ 6 h 7 i 8 <0x0A>.
mkvocab() {
	python3 - "$TOP/t" "$1" "$2" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from mkgguf import pack, kv, STR, ARR, I32, F32, BOOL
toks = ["<unk>", "<s>", "</s>", "<|user|>", "<|end|>", "\u2581", "h", "i",
        "<0x0A>"]
types = [2, 3, 3, 3, 3, 1, 1, 1, 6]
open(sys.argv[3], "wb").write(pack([
    kv("general.architecture", STR, "phi3"),
    kv("general.name", STR, sys.argv[2]),
    kv("tokenizer.ggml.model", STR, "llama"),
    kv("tokenizer.ggml.tokens", ARR, (STR, toks)),
    kv("tokenizer.ggml.scores", ARR, (F32, [0.0] * len(toks))),
    kv("tokenizer.ggml.token_type", ARR, (I32, types)),
    kv("tokenizer.ggml.add_bos_token", BOOL, False),
], []))
PY
}

# mkbpe PRE OUT [PIECE...]: a vocab-only byte-level BPE GGUF with
# pre-tokenizer PRE. Ids: 0 a 1 b 2 c 3 ab 4 abc 5 <|begin_of_text|> (BOS),
# then the PIECEs; one merge, "a b": merges alone never reach "abc".
mkbpe() {
	python3 - "$TOP/t" "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from mkgguf import pack, kv, STR, ARR, I32, U32
toks = ["a", "b", "c", "ab", "abc", "<|begin_of_text|>"] + sys.argv[4:]
types = [1, 1, 1, 1, 1, 3] + [1] * len(sys.argv[4:])
open(sys.argv[3], "wb").write(pack([
    kv("tokenizer.ggml.model", STR, "gpt2"),
    kv("tokenizer.ggml.pre", STR, sys.argv[2]),
    kv("tokenizer.ggml.tokens", ARR, (STR, toks)),
    kv("tokenizer.ggml.token_type", ARR, (I32, types)),
    kv("tokenizer.ggml.merges", ARR, (STR, ["a b"])),
    kv("tokenizer.ggml.bos_token_id", U32, 5),
], []))
PY
}

@test "-h prints usage, exit 0; bad usage exits 2" {
	run --separate-stderr chord-tok -h
	status_is 0
	[[ "$output" == "usage: chord-tok "* ]]
	run --separate-stderr chord-tok --bogus
	status_is 2
	[ "${stderr_lines[0]}" = "chord-tok: unknown option --bogus" ]
}

@test "SmolLM2 (BPE): every golden string gives llama.cpp's ids and text back" {
	need_model "$SMOL"
	run python3 "$TOP/t/goldcheck.py" tokens "$SMOL" "$GOLDEN/tokens-smollm2.jsonl"
	echo "$output"
	status_is 0
	[ "${lines[-1]}" = "212 strings, 0 differences" ]
}

@test "Gemma 3 (SPM): every golden string gives llama.cpp's ids and text back" {
	need_model "$GEMMA"
	run python3 "$TOP/t/goldcheck.py" tokens "$GEMMA" "$GOLDEN/tokens-gemma3.jsonl"
	echo "$output"
	status_is 0
	[ "${lines[-1]}" = "212 strings, 0 differences" ]
}

@test "Qwen2.5 (BPE, qwen2 pre-tokenizer): every golden string gives llama.cpp's ids and text back" {
	need_model "$QWEN"
	run python3 "$TOP/t/goldcheck.py" tokens "$QWEN" "$GOLDEN/tokens-qwen2.jsonl"
	echo "$output"
	status_is 0
	[ "${lines[-1]}" = "212 strings, 0 differences" ]
}

@test "every BPE pre-tokenizer llama.cpp knows (91 names) splits as its regexes do" {
	# scripts, digit runs 1..7, contractions, punctuation and whitespace
	# runs, CJK, marks, emoji, the goldens' texts and random strings
	run python3 "$TOP/t/pretok.py" "$TBIN/pretok-test" "$GOLDEN/tokens-smollm2.jsonl"
	echo "$output"
	status_is 0
	[ "${lines[-1]}" = "91 names, 20839 splits compared, 0 differences" ]
}

@test "pre-tokenizers: digit groups, contractions, lookahead, CJK as llama.cpp" {
	t=$'it\'S 1234567  x\n\n中文ab'
	# Llama 3: \p{N}{1,3}; (?i:'s); \s+(?!\S) leaves one space to the word
	[ "$(printf '%s' "$t" | "$TBIN/pretok-test" llama-bpe | tr '\n' ' ')" = "2 2 1 3 3 1 1 2 2 8 " ]
	# GPT-2: contractions are lower-case only, digits in one run, a
	# newline before a letter matches nothing and stands alone
	[ "$(printf '%s' "$t" | "$TBIN/pretok-test" gpt-2 | tr '\n' ' ')" = "2 1 1 8 1 2 1 1 8 " ]
	# DeepSeek LLM: CJK runs apart from letters, \s+$ at a word's end
	[ "$(printf '%s' "$t" | "$TBIN/pretok-test" deepseek-llm | tr '\n' ' ')" = "2 1 1 1 7 1 2 1 1 6 2 " ]
	# Tiny Aya: digits grouped by three from the right
	[ "$(printf '1234567' | "$TBIN/pretok-test" tiny_aya | tr '\n' ' ')" = "1 3 3 " ]
}

@test "a 200 KB run of spaces before a digit splits (DeepSeek LLM's whitespace-at-the-end regex is not quadratic)" {
	{ head -c 200000 /dev/zero | tr '\0' ' '; printf 1; } > "$TMP/spaces"
	# timeout only as a safety net: without the memo this took many minutes
	run timeout 60 "$TBIN/pretok-test" deepseek-llm < "$TMP/spaces"
	status_is 0
	[ "$(echo $output)" = "200000 1" ]
}

@test "an unknown pre-tokenizer is a clear error, not a guess" {
	run "$TBIN/pretok-test" nosuch <<< "hi"
	status_is 1
	[ "$output" = "pretok-test: pre-tokenizer 'nosuch' not supported" ]
	mkbpe nosuch "$TMP/nosuch.gguf"
	run chord-tok -m "$TMP/nosuch.gguf" <<< "hi"
	status_is 1
	[ "$output" = "chord-tok: $TMP/nosuch.gguf: pre-tokenizer 'nosuch' not supported" ]
}

# mkugm OUT PREFIX MERGE: a vocab-only T5 Unigram GGUF, no charsmap, with
# add_space_prefix PREFIX and remove_extra_whitespaces MERGE (0/1). Ids and
# scores: 0 <pad> 1 </s> 2 <unk> (control/unknown), 3 ▁ -1, 4 a -1, 5 b -1,
# 6 ab -1.2, 7 ▁a -1.5, 8 ▁ab -4; unknown costs -4 - 10 = -14.
mkugm() {
	python3 - "$TOP/t" "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from mkgguf import pack, kv, STR, ARR, I32, F32, BOOL
toks = ["<pad>", "</s>", "<unk>", "\u2581", "a", "b", "ab", "\u2581a",
        "\u2581ab"]
scores = [0, 0, 0, -1, -1, -1, -1.2, -1.5, -4]
types = [3, 3, 2, 1, 1, 1, 1, 1, 1]
open(sys.argv[2], "wb").write(pack([
    kv("tokenizer.ggml.model", STR, "t5"),
    kv("tokenizer.ggml.tokens", ARR, (STR, toks)),
    kv("tokenizer.ggml.scores", ARR, (F32, scores)),
    kv("tokenizer.ggml.token_type", ARR, (I32, types)),
    kv("tokenizer.ggml.add_space_prefix", BOOL, sys.argv[3] == "1"),
    kv("tokenizer.ggml.remove_extra_whitespaces", BOOL, sys.argv[4] == "1"),
], []))
PY
}

@test "llama.cpp's test vocabs: chord-tok gives the ids of its .out files" {
	[ -f "$VOCAB/ggml-vocab-gpt-2.gguf.out" ] || { echo "missing $VOCAB: run make models" >&2; false; }
	run python3 "$TOP/t/pretok.py" --vocab chord-tok "$VOCAB"
	echo "$output"
	status_is 0
	# command-r deepseek-coder deepseek-llm falcon gpt-2 llama-bpe mpt
	# qwen2 qwen35 refact starcoder (BPE), llama-spm phi-3 (SPM),
	# bert-bge (WPM)
	[ "${lines[-1]}" = "14 vocabs, 648 strings compared, 0 differences" ]
}

@test "BERT vocab (WPM): [CLS] text [SEP]; lowercased, accents and controls gone, punctuation split" {
	# ids from the bge-small vocab: 101 [CLS], 7592 hello, 2088 world,
	# 999 !, 7668 cafe, 1005 ', 1055 s, 100 [UNK] (no piece for 你),
	# 102 [SEP]
	run --separate-stderr chord-tok -m "$VOCAB/ggml-vocab-bert-bge.gguf" <<< \
	    $'HELLO\tWorld! Caf\u00e9\x07\'s \u4f60'
	status_is 0
	[ "${lines[1]}" = "101 7592 2088 999 7668 1005 1055 100 102" ]
	run --separate-stderr chord-tok -m "$VOCAB/ggml-vocab-bert-bge.gguf" -d <<< \
	    "${lines[0]}"$'\n7592 2088 999'
	status_is 0
	[ "$output" = " hello world !" ]
}

@test "llama.cpp's test vocabs: every BPE one tokenizes" {
	n=0
	for f in "$VOCAB"/ggml-vocab-*.gguf; do
		[ "$(gguf-inspect -k tokenizer.ggml.model "$f")" = gpt2 ] || continue
		printf 'Hello, world! 12345 中文 \xf0\x9f\x98\x80\n' | chord-tok -m "$f" > "$TMP/out" ||
		    { echo "$f failed" >&2; false; }
		[ "$(wc -l < "$TMP/out")" -eq 2 ]
		n=$((n + 1))
	done
	[ "$n" -eq 13 ]
}

@test "raw UTF-8 BPE (whitespace pre-tokenizer): no byte mapping, <0xXX> fallback" {
	mkbpe whitespace "$TMP/ws.gguf" "<0x20>" "<0xC3>" "<0xA9>"
	# "ab" merges, the space is its <0x20> piece, é its two byte pieces
	[ "$(printf 'ab é' | chord-tok -m "$TMP/ws.gguf" --no-bos | tail -n 1)" = "3 6 7 8" ]
	[ "$(printf 'ab é' | chord-tok -m "$TMP/ws.gguf" --no-bos | chord-tok -m "$TMP/ws.gguf" -d)" = "ab é" ]
}

@test "the stream starts with the vocab fingerprint header" {
	need_model "$SMOL"
	run chord-tok <<< "Hello world"
	status_is 0
	[[ "${lines[0]}" =~ ^#chord\ tokens\ vocab=[0-9a-f]{16}\ n_vocab=49152$ ]]
	[ "${lines[1]}" = "19556 905" ]
}

@test "exactly one final newline is dropped, like llama.cpp's -f" {
	need_model "$SMOL"
	[ "$(printf 'a' | chord-tok | tail -n 1)" = "$(printf 'a\n' | chord-tok | tail -n 1)" ]
	[ "$(printf 'a\n\n' | chord-tok | tail -n 1)" = "$(printf 'a\n' | chord-tok --no-bos -l | tail -n 1) 198" ]
}

@test "control tokens are text unless --special" {
	need_model "$SMOL"
	[ "$(printf '<|im_start|>' | chord-tok | tail -n 1)" != "1" ]
	[ "$(printf '<|im_start|>' | chord-tok --special | tail -n 1)" = "1" ]
}

@test "--chat chatml wraps the message with the template's control tokens" {
	need_model "$SMOL"
	want=$(printf '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n\n' | chord-tok --special | tail -n 1)
	[ "$(echo hi | chord-tok --chat chatml | tail -n 1)" = "$want" ]
	# the whole rendered text is tokenized with control tokens parsed, the
	# message's too, as llama.cpp's tools do (t/chat.bats)
	[ "$(echo '<|im_end|>' | chord-tok --chat chatml | tail -n 1)" = "1 4093 198 2 2 198 1 520 9531 198" ]
	# auto: recognised from the model's own template
	[ "$(echo hi | chord-tok --chat auto | tail -n 1)" = "$want" ]
	run chord-tok --chat nosuch <<< hi
	status_is 1
	[[ "$output" == "chord-tok: "*"/nosuch: no such chat template" ]]
}

@test "every shipped chat template wraps a message, with a system prompt too (yandex drops it, as llama.cpp)" {
	need_model "$SMOL"
	plain=$(echo hi | chord-tok | tail -n 1)
	for t in "$TOP"/share/templates/*; do
		name=${t##*/}
		a=$(echo hi | chord-tok --chat "$name" | tail -n 1)
		b=$(echo hi | chord-tok --chat "$name" --system "Be brief." | tail -n 1)
		[ "$a" != "$plain" ] && [ "$(echo $a | wc -w)" -gt 2 ]
		[ "$name" = yandex ] ||
		    [ "$(echo $b | wc -w)" -gt "$(echo $a | wc -w)" ] || { echo "$name: --system added nothing"; false; }
	done
	[ "$(ls "$TOP"/share/templates | wc -l)" -ge 7 ]
}

@test "a 100 KB single word tokenizes (BPE merging is not quadratic)" {
	need_model "$SMOL"
	head -c 100000 /dev/zero | tr '\0' a > "$TMP/word"
	# timeout only as a safety net: the old merge loop never ended here
	run timeout 60 chord-tok -c "$TMP/word"
	status_is 0
	[ "$output" = "25000" ]
	timeout 60 chord-tok --no-bos "$TMP/word" > "$TMP/ids"
	chord-tok -d < "$TMP/ids" > "$TMP/back"
	cmp "$TMP/word" "$TMP/back"
}

@test "Gemma 3: </s> is a control token (an end-of-generation text), so plain text without --special" {
	need_model "$GEMMA"
	# llama.cpp makes </s> CONTROL at load; the file says user-defined
	run chord-tok -m "$GEMMA" <<< '<s>[INST] text [/INST]</s>'
	status_is 0
	[ "${lines[1]}" = "2 203 236840 34177 236842 1816 181016 34177 121940 236751 236813" ]
	run chord-tok -m "$GEMMA" --pieces <<< '[/INST]</s>'
	[ "${lines[-3]}" = $'121940\t]</' ]
	[ "${lines[-2]}" = $'236751\ts' ]
	[ "${lines[-1]}" = $'236813\t>' ]
	# with --special it is the token, and it decodes to nothing without
	[ "$(printf '</s>' | chord-tok -m "$GEMMA" --special --no-bos | tail -n 1)" = "212" ]
	[ -z "$(printf '</s>' | chord-tok -m "$GEMMA" --special | chord-tok -m "$GEMMA" -d)" ]
}

@test "end-of-generation set is llama.cpp's: eos, every end text, the FIM repo token" {
	need_model "$SMOL"
	# SmolLM2: eos 2 <|im_end|>, 0 <|endoftext|>, 4 <reponame> (FIM repo)
	printf x | chord-tok --no-bos | chord-fwd > "$TMP/logits"
	# header bytes 28..63: eos, eot, n_eog, eog[6]
	[ "$(od -An -td4 -j28 -N36 "$TMP/logits" | tr -s ' \n' ' ')" = " 2 2 3 2 0 4 -1 -1 -1 " ]
}

@test "phi-3: special tokens take the whitespace after them (rstrip), others do not" {
	mkvocab "Phi-3 Mini" "$TMP/phi.gguf"
	mkvocab "Other" "$TMP/other.gguf"
	# the text after each special token gets the space prefix (llama.cpp)
	run chord-tok -m "$TMP/phi.gguf" --special <<< $'<|user|>\nhi <|end|>\n\n'
	status_is 0
	[ "${lines[1]}" = "3 5 6 7 5 4" ]
	run chord-tok -m "$TMP/other.gguf" --special <<< $'<|user|>\nhi <|end|>\n\n'
	status_is 0
	[ "${lines[1]}" = "3 5 8 6 7 5 4 5 8 8" ]
	# the real Phi-3 vocabulary: llama-tokenize (0.3.36) gives these
	[ -f "$VOCAB/ggml-vocab-phi-3.gguf" ] || { echo "missing $VOCAB: run make models"; false; }
	run chord-tok -m "$VOCAB/ggml-vocab-phi-3.gguf" --special <<< $'<|user|>\nhi <|end|>\n\n'
	[ "${lines[1]}" = "1 32010 7251 29871 32007" ]
	run chord-tok -m "$VOCAB/ggml-vocab-phi-3.gguf" --special <<< $'x<|end|>\n\nabc'
	[ "${lines[1]}" = "1 921 32007 25638" ]
}

@test "Llama 3 vocab (llama-bpe): a word that is a piece is taken whole, not merged (ignore_merges)" {
	mkbpe llama-bpe "$TMP/llama.gguf"
	mkbpe gpt2 "$TMP/gpt2.gguf"
	# as llama.cpp, where Llama 3 gives "Cửa Việt" = 34 91163 101798 (" Việt"
	# whole) rather than merging " Vi" "ệ" "t"
	[ "$(printf abc | chord-tok -m "$TMP/llama.gguf" --no-bos | tail -n 1)" = "4" ]
	[ "$(printf abc | chord-tok -m "$TMP/gpt2.gguf" --no-bos | tail -n 1)" = "3 2" ]
}

@test "Llama 3 vocab (llama-bpe): BOS by default when the file has no add_bos_token, as llama.cpp" {
	mkbpe llama-bpe "$TMP/llama.gguf"
	mkbpe gpt2 "$TMP/gpt2.gguf"
	[ "$(printf ab | chord-tok -m "$TMP/llama.gguf" | tail -n 1)" = "5 3" ]
	[ "$(printf ab | chord-tok -m "$TMP/gpt2.gguf" | tail -n 1)" = "3" ]
}

@test "a piece that occurs twice in the vocab is its last id, as in llama.cpp's map" {
	mkbpe llama-bpe "$TMP/dup.gguf" abc
	[ "$(printf abc | chord-tok -m "$TMP/dup.gguf" --no-bos | tail -n 1)" = "6" ]
}

@test "-l makes one batch per line; -c counts; --pieces shows each piece" {
	need_model "$SMOL"
	run chord-tok -l <<< $'Hello world\nHello'
	[ "${lines[1]}" = "19556 905" ]
	[ "${lines[2]}" = "19556" ]
	[ "$(echo 'Hello world' | chord-tok -c)" = "2" ]
	run chord-tok --pieces <<< 'Hello world'
	[ "${lines[0]}" = $'19556\tHello' ]
	[ "${lines[1]}" = $'905\t world' ]
}

@test "-d streams: a character split over byte tokens is held until complete" {
	need_model "$GEMMA"
	# U+20000 is not in Gemma's vocabulary: four byte-fallback tokens
	ids=$(printf '\xf0\xa0\x80\x80' | chord-tok -m "$GEMMA" --no-bos | tail -n 1)
	set -- $ids
	[ "$#" -eq 4 ]
	# all but the last id, the pipe kept open: nothing may come out yet
	hdr=$(printf x | chord-tok -m "$GEMMA" | head -n 1)
	{ printf '%s\n%s\n' "$hdr" "${*:1:3}"; sleep 2; } |
	    chord-tok -m "$GEMMA" -d > "$TMP/out" &
	sleep 1
	[ ! -s "$TMP/out" ]
	wait
	[ "$(printf '%s\n%s\n' "$hdr" "$ids" | chord-tok -m "$GEMMA" -d)" = $'\xf0\xa0\x80\x80' ]
}

@test "-d: ids out of range, junk and another vocab's stream are errors" {
	need_model "$SMOL"
	need_model "$GEMMA"
	run chord-tok -d <<< "99999"
	status_is 1
	[ "$output" = "chord-tok: stdin: line 1: token 99999 out of range (n_vocab 49152)" ]
	run chord-tok -d <<< "12 x"
	status_is 1
	[ "$output" = "chord-tok: stdin: line 1: not a token id: 'x'" ]
	printf 'hi' | chord-tok -m "$GEMMA" > "$TMP/g"
	run chord-tok -d < "$TMP/g"
	status_is 1
	[[ "$output" == "chord-tok: stdin: token stream is for vocab "*", model has "* ]]
}

@test "invalid UTF-8 input: no crash; bytes the vocab can't hold drop, as in llama.cpp" {
	need_model "$SMOL"
	need_model "$GEMMA"
	printf 'a\xff\xfeb\xc3' > "$TMP/bad"
	chord-tok "$TMP/bad" > "$TMP/ids"
	chord-tok -d < "$TMP/ids" > "$TMP/back"
	# 0xff and 0xfe never occur in UTF-8, so SmolLM2's byte pieces lack them
	[ "$(od -An -tx1 "$TMP/back")" = " 61 62 c3" ]
	# SentencePiece falls back to <0xFF>-style tokens and keeps every byte
	chord-tok -m "$GEMMA" --no-bos "$TMP/bad" | chord-tok -m "$GEMMA" -d > "$TMP/back"
	cmp "$TMP/bad" "$TMP/back"
}

@test "a missing model file is a clear error" {
	run chord-tok -m "$TMP/none.gguf" <<< hi
	status_is 1
	[ "$output" = "chord-tok: $TMP/none.gguf: No such file or directory" ]
}

@test "SPM byte tokens: only <0xHH> is a byte; a malformed one decodes as its text" {
	# a vocab-only GGUF whose BYTE-type tokens are <0x41> and five
	# malformed ones (strtol took <0xZZ> for NUL and <0x-1> for 0xff)
	python3 - "$TOP/t" "$TMP/v.gguf" <<-'PY'
	import sys
	sys.path.insert(0, sys.argv[1])
	from mkgguf import pack, kv, STR, ARR, I32, F32, U32
	toks = ["<unk>", "<s>", "</s>", "<0x41>", "<0xZZ>", "<0x-1>",
	        "<0x42A", "<0x4", "<0x4g>", "\u2581hi"]
	types = [2, 3, 3, 6, 6, 6, 6, 6, 6, 1]
	open(sys.argv[2], "wb").write(pack([
	    kv("general.architecture", STR, "llama"),
	    kv("tokenizer.ggml.model", STR, "llama"),
	    kv("tokenizer.ggml.tokens", ARR, (STR, toks)),
	    kv("tokenizer.ggml.scores", ARR, (F32, [0.0] * len(toks))),
	    kv("tokenizer.ggml.token_type", ARR, (I32, types)),
	    kv("tokenizer.ggml.unknown_token_id", U32, 0),
	    kv("tokenizer.ggml.bos_token_id", U32, 1),
	    kv("tokenizer.ggml.eos_token_id", U32, 2)], []))
	PY
	run chord-tok -m "$TMP/v.gguf" -d <<< "3 4 5 6 7 8 9"
	status_is 0
	[ "$output" = "A<0xZZ><0x-1><0x42A<0x4<0x4g> hi" ]
}

@test "--chat: an endless, huge, NUL-holding or directory template is a clear error" {
	need_model "$SMOL"
	run --separate-stderr timeout 60 chord-tok --chat /dev/zero <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: /dev/zero: template too large (over 1048576 bytes)" ]
	{ echo 'user {content}'; echo 'assistant x'; head -c 2000000 /dev/zero | tr '\0' '#'; } > "$TMP/big"
	run --separate-stderr chord-tok --chat "$TMP/big" <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: $TMP/big: template too large (over 1048576 bytes)" ]
	printf 'user {content}\n\0assistant x\n' > "$TMP/nul"
	run --separate-stderr chord-tok --chat "$TMP/nul" <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: $TMP/nul: NUL byte in template" ]
	run --separate-stderr chord-tok --chat "$TMP" <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: $TMP: Is a directory" ]
}

@test "SentencePiece: the text after a special token gets the space prefix too (llama.cpp)" {
	[ -f "$VOCAB/ggml-vocab-llama-spm.gguf" ] || { echo "missing $VOCAB: run make models"; false; }
	run --separate-stderr chord-tok -m "$VOCAB/ggml-vocab-llama-spm.gguf" --special <<< '<s>[INST] hi [/INST]'
	status_is 0
	# llama-tokenize (0.3.36) on the same vocabulary and text
	[ "${lines[1]}" = "1 1 518 25580 29962 7251 518 29914 25580 29962" ]
}

@test "T5 vocab (UGM): the cut of highest total score, not the longest piece" {
	mkugm "$TMP/ugm.gguf" 1 0
	# "▁ab": ▁ + ab = -2.2 beats ▁a + b = -2.5, ▁ab = -4, ▁ + a + b = -3;
	# EOS (id 1, by default for t5) only with the specials
	run --separate-stderr chord-tok -m "$TMP/ugm.gguf" <<< "ab"
	status_is 0
	[ "${lines[1]}" = "3 6 1" ]
	run --separate-stderr chord-tok -m "$TMP/ugm.gguf" --no-bos <<< "ab  ab"
	status_is 0
	# each space a ▁ of its own without remove_extra_whitespaces
	[ "${lines[1]}" = "3 6 3 3 6" ]
	run --separate-stderr chord-tok -m "$TMP/ugm.gguf" -d <<< \
	    "${lines[0]}"$'\n3 6 3 3 6'
	[ "$output" = " ab  ab" ]
}

@test "T5 vocab (UGM): remove_extra_whitespaces; a run of unknown characters is one <unk>" {
	mkugm "$TMP/ugm.gguf" 0 1
	# " ab   ab " -> "▁ab▁ab"; "abcc": ab, then c c (no piece) -> one unk
	run --separate-stderr chord-tok -m "$TMP/ugm.gguf" --no-bos <<< " ab   ab abcc"
	status_is 0
	[ "${lines[1]}" = "3 6 3 6 3 6 2" ]
	mkugm "$TMP/plain.gguf" 0 0
	run --separate-stderr chord-tok -m "$TMP/plain.gguf" --no-bos <<< "ab ab"
	status_is 0
	# no space prefix: "ab▁ab"; again ▁ + ab (-2.2) beats ▁ab (-4)
	[ "${lines[1]}" = "6 3 6" ]
}

@test "nomic-bert-moe vocab (UGM, precompiled charsmap): <s> text </s>, decodes back" {
	f=$VOCAB/ggml-vocab-nomic-bert-moe.gguf
	run --separate-stderr chord-tok -m "$f" <<< $'Hello world!  Caf\u00e9'
	# remove_extra_whitespaces: the two spaces decode as one
	status_is 0
	[[ "${lines[1]}" == "0 "*" 2" ]]
	run --separate-stderr chord-tok -m "$f" -d <<< "${lines[0]}"$'\n'"${lines[1]}"
	status_is 0
	[ "$output" = $' Hello world! Caf\u00e9' ]
	# the charsmap (NFKC): fullwidth ＡＢＣ and circled ① are ABC and 1
	[ "$(printf '\uff21\uff22\uff23 \u2460' | chord-tok -m "$f" --no-bos | tail -n 1)" = \
	    "$(printf 'ABC 1' | chord-tok -m "$f" --no-bos | tail -n 1)" ]
}
