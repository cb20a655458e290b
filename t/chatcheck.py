#!/usr/bin/env python3
"""chatcheck.py GOLDEN.jsonl: every conversation of the golden (from
llama.cpp's tests/test-chat-template.cpp, see t/golden/chat-templates.py)
rendered by `chord-tok --chat auto --jsonl --render` from a vocab-only GGUF
whose tokenizer.chat_template is the test's template: chord must pick the
template llama.cpp picks and render the text llama.cpp expects."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkgguf import pack, kv, STR, ARR, I32, F32, BOOL  # noqa: E402

TOKS = ["<unk>", "<s>", "</s>", "a"]


def gguf(path, template):
    open(path, "wb").write(pack([
        kv("tokenizer.ggml.model", STR, "llama"),
        kv("tokenizer.ggml.tokens", ARR, (STR, TOKS)),
        kv("tokenizer.ggml.scores", ARR, (F32, [0.0] * len(TOKS))),
        kv("tokenizer.ggml.token_type", ARR, (I32, [2, 3, 3, 1])),
        kv("tokenizer.ggml.add_bos_token", BOOL, False),
        kv("tokenizer.chat_template", STR, template),
    ], []))


n = bad = 0
with tempfile.TemporaryDirectory() as tmp:
    for line in open(sys.argv[1], encoding="utf-8"):
        g = json.loads(line)
        path = os.path.join(tmp, "m.gguf")
        gguf(path, g["template"])
        conv = "".join(json.dumps(m) + "\n" for m in g["messages"])
        r = subprocess.run(["chord-tok", "-m", path, "-v", "--chat", "auto",
                            "--jsonl", "--render"], input=conv.encode(),
                           capture_output=True)
        n += 1
        got = r.stdout.decode("utf-8", "replace")
        if r.returncode != 0 or got != g["expected"]:
            bad += 1
            print(f"{g['source']}: {r.stderr.decode().strip()}")
            print(f"  want {g['expected']!r}\n  got  {got!r}")
print(f"{n} conversations, {bad} differences")
