#!/usr/bin/env bats
# chord-tok --chat: llama.cpp's built-in chat templates (llama-chat.cpp),
# the conversation rendered to one text and tokenized once.

load helper

# mktmpl OUT TEMPLATE: a vocab-only SPM GGUF whose tokenizer.chat_template is
# TEMPLATE. Ids: 0 <unk> 1 <s> 2 </s> 3 a.
mktmpl() {
	python3 - "$TOP/t" "$1" "$2" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from mkgguf import pack, kv, STR, ARR, I32, F32
toks = ["<unk>", "<s>", "</s>", "a"]
open(sys.argv[2], "wb").write(pack([
    kv("tokenizer.ggml.model", STR, "llama"),
    kv("tokenizer.ggml.tokens", ARR, (STR, toks)),
    kv("tokenizer.ggml.scores", ARR, (F32, [0.0] * len(toks))),
    kv("tokenizer.ggml.token_type", ARR, (I32, [2, 3, 3, 1])),
    kv("tokenizer.chat_template", STR, sys.argv[3]),
], []))
PY
}

# render TEMPLATE [-sys TEXT]: the user message "hi" rendered, as a C string
render() {
	local t=$1
	shift
	printf 'hi' | chord-tok --chat "$t" "$@" --render | od -An -c | tr -s ' \n' ' '
}

@test "llama.cpp's own test conversations: --chat auto picks its template and renders its text" {
	run python3 "$TOP/t/chatcheck.py" "$GOLDEN/chat-templates.jsonl"
	echo "$output"
	status_is 0
	[ "${lines[-1]}" = "33 conversations, 0 differences" ]
}

@test "system + user on SmolLM2 (chatml): llama.cpp's ids" {
	need_model "$SMOL"
	# llama-tokenize -m SMOL (0.3.36) on the text llama.cpp renders
	want="1 9690 198 6077 5453 30 2 198 1 4093 198 1780 314 216 34 27 34 47 2 198 1 520 9531 198"
	[ "$(printf 'What is 2+2?' | chord-tok --chat chatml -sys 'Be brief.' | tail -n 1)" = "$want" ]
}

@test "system + user on Gemma 3 (gemma): llama.cpp's ids, the system text heads the user turn" {
	need_model "$GEMMA"
	# llama-tokenize -m GEMMA (0.3.36) on "<start_of_turn>user\nBe brief.\n\n
	# What is 2+2?<end_of_turn>\n<start_of_turn>model\n"
	want="2 105 2364 107 3912 8652 236761 108 3689 563 236743 236778 236862 236778 236881 106 107 105 4368 107"
	[ "$(printf 'What is 2+2?' | chord-tok -m "$GEMMA" --chat gemma -sys 'Be brief.' | tail -n 1)" = "$want" ]
}

@test "control tokens in a message are parsed, as llama.cpp's tools tokenize the whole text" {
	need_model "$SMOL"
	[ "$(printf '<|im_end|>' | chord-tok --chat chatml | tail -n 1)" = "1 4093 198 2 2 198 1 520 9531 198" ]
}

@test "gemma: the system prompt, trimmed, opens the first user turn; one turn without" {
	[ "$(render gemma -sys ' Be brief. ')" = " < s t a r t _ o f _ t u r n > u s e r \n B e b r i e f . \n \n h i < e n d _ o f _ t u r n > \n < s t a r t _ o f _ t u r n > m o d e l \n " ]
	[ "$(render gemma)" = " < s t a r t _ o f _ t u r n > u s e r \n h i < e n d _ o f _ t u r n > \n < s t a r t _ o f _ t u r n > m o d e l \n " ]
}

@test "llama2 keeps a system prompt as plain text, llama2-sys in <<SYS>>" {
	[ "$(render llama2)" = " [ I N S T ] h i [ / I N S T ] " ]
	[ "$(render llama2 -sys 'Be brief.')" = " [ I N S T ] B e b r i e f . \n h i [ / I N S T ] " ]
	[ "$(render llama2-sys -sys 'Be brief.')" = " [ I N S T ] < < S Y S > > \n B e b r i e f . \n < < / S Y S > > \n \n h i [ / I N S T ] " ]
}

@test "zephyr ends turns with <|endoftext|>, phi3 with <|end|>; llama3 trims" {
	[ "$(render zephyr -sys 'S')" = " < | s y s t e m | > \n S < | e n d o f t e x t | > \n < | u s e r | > \n h i < | e n d o f t e x t | > \n < | a s s i s t a n t | > \n " ]
	[ "$(render phi3)" = " < | u s e r | > \n h i < | e n d | > \n < | a s s i s t a n t | > \n " ]
	[ "$(printf ' hi \n' | chord-tok --chat llama3 --render)" = "$(printf '<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n')" ]
}

@test "llama3: the vocab's <|begin_of_text|> comes first" {
	python3 - "$TOP/t" "$TMP/l3.gguf" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from mkgguf import pack, kv, STR, ARR, I32, U32
toks = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|eot_id|>", "user", "assistant", "\u010a\u010a", "h", "i", "hi"]
open(sys.argv[2], "wb").write(pack([
    kv("tokenizer.ggml.model", STR, "gpt2"),
    kv("tokenizer.ggml.pre", STR, "llama3"),
    kv("tokenizer.ggml.tokens", ARR, (STR, toks)),
    kv("tokenizer.ggml.token_type", ARR, (I32, [3, 3, 3, 3] + [1] * 6)),
    kv("tokenizer.ggml.merges", ARR, (STR, ["h i"])),
    kv("tokenizer.ggml.bos_token_id", U32, 0),
], []))
PY
	[ "$(printf hi | chord-tok -m "$TMP/l3.gguf" --chat llama3 | tail -n 1)" = "0 1 4 2 6 9 3 1 5 2 6" ]
}

@test "--jsonl: a three-turn conversation, ending with the assistant's prefix" {
	need_model "$SMOL"
	conv='{"role": "system", "content": "S"}
{"role": "user", "content": "caf\u00e9 \ud83d\ude00", "name": null}

{"content": "A", "role": "assistant"}
{"role":"user","content":"q\"\\\n"}'
	want=$(printf '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\ncafé 😀<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\nq"\\\n<|im_end|>\n<|im_start|>assistant\nX')
	[ "$(printf '%s\n' "$conv" | chord-tok --chat chatml --jsonl --render; echo X)" = "$want" ]
	# (chord-tok drops one final newline of its input, as llama.cpp's -f)
	ids=$(printf '%s\n' "${want%X}" | chord-tok --special | tail -n 1)
	[ "$(printf '%s\n' "$conv" | chord-tok --chat chatml --jsonl | tail -n 1)" = "$ids" ]
}

@test "--jsonl: a bad line or role is an error naming the line, exit 1" {
	need_model "$SMOL"
	run --separate-stderr chord-tok --chat chatml --jsonl <<< $'{"role": "user", "content": "a"}\n{"role": "user", "content": "a"'
	status_is 1
	[ "$stderr" = 'chord-tok: stdin: line 2: not a JSON object (at byte 31)' ]
	run --separate-stderr chord-tok --chat chatml --jsonl <<< '{"role": "tool", "content": "a"}'
	status_is 1
	[ "$stderr" = "chord-tok: stdin: line 1: unknown role 'tool'" ]
	run --separate-stderr chord-tok --chat chatml --jsonl <<< '{"role": "user"}'
	status_is 1
	[ "$stderr" = 'chord-tok: stdin: line 1: needs "role" and "content"' ]
	run --separate-stderr chord-tok --jsonl <<< '{}'
	status_is 2
	[ "${stderr_lines[0]}" = "chord-tok: --jsonl, --render and -v need --chat" ]
	run --separate-stderr chord-tok --chat chatml --jsonl -sys S <<< '{}'
	status_is 2
	[ "${stderr_lines[0]}" = "chord-tok: --system and --jsonl exclude each other" ]
}

@test "--chat auto -v names the template; none in the model is chatml, as in llama.cpp" {
	need_model "$SMOL"
	run --separate-stderr chord-tok -v --chat auto --render <<< hi
	status_is 0
	[ "$stderr" = "chord-tok: $CHORD_DATA/default.gguf: chat template chatml" ] ||
	    [ "$stderr" = "chord-tok: $SMOL: chat template chatml" ]
	mktmpl "$TMP/g.gguf" "{% for m in messages %}<start_of_turn>{% endfor %}"
	run --separate-stderr chord-tok -m "$TMP/g.gguf" -v --chat auto --render <<< hi
	[ "$stderr" = "chord-tok: $TMP/g.gguf: chat template gemma" ]
	mktmpl "$TMP/n.gguf" "llama2-sys"
	run --separate-stderr chord-tok -m "$TMP/n.gguf" -v --chat auto --render <<< hi
	[ "$stderr" = "chord-tok: $TMP/n.gguf: chat template llama2-sys" ]
	mktmpl "$TMP/u.gguf" "{{ messages }}"
	run --separate-stderr chord-tok -m "$TMP/u.gguf" --chat auto <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: $TMP/u.gguf: chat template not recognised; name one, or use --chat jinja" ]
}

@test "every llama.cpp template name renders system + user" {
	need_model "$SMOL"
	for t in chatml llama2 llama2-sys llama2-sys-bos llama2-sys-strip \
	    mistral-v1 mistral-v3 mistral-v3-tekken mistral-v7 \
	    mistral-v7-tekken phi3 phi4 falcon3 zephyr monarch gemma orion \
	    openchat vicuna vicuna-orca deepseek deepseek2 deepseek3 \
	    deepseek-ocr command-r llama3 chatglm3 chatglm4 glmedge minicpm \
	    exaone3 exaone4 exaone-moe rwkv-world granite granite-4.0 \
	    granite-4.1 gigachat megrez yandex bailing bailing-think bailing2 \
	    llama4 smolvlm hunyuan-moe gpt-oss hunyuan-dense hunyuan-vl \
	    kimi-k2 seed_oss grok-2 pangu-embedded solar-open dots1 alpaca; do
		out=$(printf 'hi' | chord-tok --chat "$t" -sys S --render) ||
		    { echo "$t failed"; false; }
		[[ "$out" == *hi* ]] || { echo "$t: $out"; false; }
	done
}

@test "a template file: missing {content} or an unknown part is an error with its line" {
	need_model "$SMOL"
	printf '# t\nuser hi\n' > "$TMP/t1"
	run --separate-stderr chord-tok --chat "$TMP/t1" <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: $TMP/t1: line 2: user has no {content}" ]
	printf 'user {content}\nbogus x\n' > "$TMP/t2"
	run --separate-stderr chord-tok --chat "$TMP/t2" <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: $TMP/t2: line 2: unknown part 'bogus'" ]
	printf 'begin B\nuser \\s<{content}>\nprompt P\\s\ntrim user\n' > "$TMP/t3"
	[ "$(printf ' hi \n' | chord-tok --chat "$TMP/t3" --render)" = "B <hi>P " ]
}

@test "--chat jinja: llama.cpp's Jinja renderings of its test templates" {
	run python3 "$TOP/t/chatcheck.py" --jinja "$GOLDEN/chat-templates.jsonl"
	echo "$output"
	status_is 0
	[ "${lines[-1]}" = "32 conversations, 0 differences" ]
}

@test "--chat jinja on SmolLM2: its own template, its default system prompt when there is none" {
	need_model "$SMOL"
	want=$(printf '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nX')
	[ "$(printf hi | chord-tok --chat jinja --render; echo X)" = "$want" ]
	[ "$(printf hi | chord-tok --chat jinja -sys S --render)" = "$(printf hi | chord-tok --chat chatml -sys S --render)" ]
	[ "$(printf hi | chord-tok --chat jinja -sys S | tail -n 1)" = "$(printf hi | chord-tok --chat chatml -sys S | tail -n 1)" ]
}

@test "--chat jinja: what the subset lacks, a raise_exception, runaway nesting: errors with the byte, exit 1" {
	mktmpl "$TMP/a.gguf" "{% include 'x' %}"
	run --separate-stderr chord-tok -m "$TMP/a.gguf" --chat jinja <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: chat template: at byte 0: '{% include %}' not supported" ]
	mktmpl "$TMP/b.gguf" "ab{{ raise_exception('no ' ~ messages[0].role) }}"
	run --separate-stderr chord-tok -m "$TMP/b.gguf" --chat jinja <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: chat template: at byte 47: raise_exception: no user" ]
	mktmpl "$TMP/c.gguf" "{{ $(printf '(%.0s' $(seq 300))1 }}"
	run --separate-stderr chord-tok -m "$TMP/c.gguf" --chat jinja <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: chat template: at byte 202: nested too deep" ]
	mktmpl "$TMP/d.gguf" "{{ 'abc"
	run --separate-stderr chord-tok -m "$TMP/d.gguf" --chat jinja <<< hi
	status_is 1
	[ "$stderr" = "chord-tok: chat template: at byte 3: unterminated string" ]
}
