#!/usr/bin/env python3
"""chatcheck.py [--jinja] GOLDEN.jsonl: every conversation of the golden
(from llama.cpp's tests/test-chat-template.cpp, see t/golden/chat-templates.py)
rendered by chord-tok --jsonl --render from a vocab-only GGUF whose
tokenizer.chat_template is the test's template.

Without --jinja, with --chat auto: chord must pick the built-in template
llama.cpp picks and render the text llama.cpp expects. With --jinja, with
--chat jinja: the template itself run, bos_token and eos_token the test's."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkgguf import pack, kv, STR, ARR, I32, F32, BOOL, U32  # noqa: E402


def gguf(path, template, bos="", eos=""):
    """SPM vocab: <unk>, a, then bos and eos (if given) as control tokens;
    the vocab adds neither."""
    toks, types, ids = ["<unk>", "a"], [2, 1], []
    for name, text in (("bos", bos), ("eos", eos)):
        if text:
            ids.append(kv(f"tokenizer.ggml.{name}_token_id", U32, len(toks)))
            toks.append(text)
            types.append(3)
    open(path, "wb").write(pack([
        kv("tokenizer.ggml.model", STR, "llama"),
        kv("tokenizer.ggml.tokens", ARR, (STR, toks)),
        kv("tokenizer.ggml.scores", ARR, (F32, [0.0] * len(toks))),
        kv("tokenizer.ggml.token_type", ARR, (I32, types)),
        kv("tokenizer.ggml.add_bos_token", BOOL, False),
        kv("tokenizer.chat_template", STR, template),
    ] + ids, []))


jinja = sys.argv[1] == "--jinja"
n = bad = 0
with tempfile.TemporaryDirectory() as tmp:
    for line in open(sys.argv[-1], encoding="utf-8"):
        g = json.loads(line)
        if jinja and "jinja" not in g:
            continue
        path = os.path.join(tmp, "m.gguf")
        if jinja:
            gguf(path, g["template"], g["jinja"]["bos"], g["jinja"]["eos"])
            want = g["jinja"]["expected"]
        else:
            gguf(path, g["template"])
            want = g["expected"]
        conv = "".join(json.dumps(m) + "\n" for m in g["messages"])
        r = subprocess.run(["chord-tok", "-m", path, "-v", "--chat",
                            "jinja" if jinja else "auto", "--jsonl",
                            "--render"], input=conv.encode(),
                           capture_output=True)
        n += 1
        got = r.stdout.decode("utf-8", "replace")
        if r.returncode != 0 or got != want:
            bad += 1
            print(f"{g['source']}: {r.stderr.decode().strip()}")
            print(f"  want {want!r}\n  got  {got!r}")
print(f"{n} conversations, {bad} differences")
