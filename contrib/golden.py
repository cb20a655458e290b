#!/usr/bin/env python3
"""golden.py: the reference side of chord's tests, from llama.cpp.

Run through contrib/make-golden, which builds llama.cpp (contrib/llama-ref)
and sets PYTHONPATH / LLAMA_CPP_LIB_PATH / LLAMA_BIN. Writes into t/golden/:

  tokens-NAME.jsonl   token ids of a corpus, 4 ways each
  logits-NAME.jsonl   last-position logits and the 64-token greedy continuation
  ppl-NAME.json       llama-perplexity on t/golden/ppl-text.txt

usage: golden.py OUTDIR NAME=MODEL.gguf [NAME=MODEL.gguf ...]"""
import hashlib
import json
import os
import re
import subprocess
import sys

import numpy as np

import llama_cpp

CORPUS = [
    "", " ", "a", "\n", "Hello", "Hello world", " Hello world",
    "Hello, world! How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "  two leading spaces", "trailing spaces   ", "tabs\tand\ttabs",
    "many     spaces    between", "line one\nline two\n\nline four\n",
    "\n\n\n", "\t\t", " \n \n ",
    "I'm don't WE'LL they've She'd it's", "numbers 0 1 12 123 1234 12345 1234567",
    "3.14159 and 2,718,281 and 1e-9", "$1,000,000.00",
    "def main():\n    print(\"hi\")\n    return 0\n",
    "for (int i = 0; i < n; i++) { x[i] = y[i] * 2; }",
    "https://example.com/path?query=1&b=two#frag", "user@example.org",
    "日本語のテキストです。", "中文文本测试，标点符号！", "한국어 텍스트",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "مرحبا بالعالم", "नमस्ते दुनिया", "Γειά σου Κόσμε",
    "emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷", "café naïve résumé", "e\u0301 a\u0308 o\u0302",
    "<|im_start|>user\nhi<|im_end|>", "<|endoftext|>", "<start_of_turn>user",
    "<s> [INST] hello [/INST]", "<|im_start|><|im_start|>",
    "ALL CAPS SENTENCE", "MiXeD cAsE wOrDs", "snake_case and camelCase",
    "a-b_c.d/e\\f", "(((nested)))", "!!!???...", "----====____",
    "\u00a0non-breaking\u00a0space", "zero\u200bwidth", "\u3000ideographic space",
    "x" * 100, "The year 2024 had 366 days.", "don't stop",
]

PROMPTS = {
    "smollm2": [
        "The capital of France is",
        "def fibonacci(n):",
        "Once upon a time, in a small village by the sea,",
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
        "Hello",
        "The history of the Roman Empire spans more than a thousand years. " * 12,
    ],
    "gemma3": [
        "The capital of France is",
        "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
        "Hello",
    ],
}

N_CTX = 512
N_GREEDY = 64
PPL_CTX = 128
THREADS = 2


def load(path, vocab_only=False):
    return llama_cpp.Llama(path, vocab_only=vocab_only, n_ctx=N_CTX,
                           n_batch=N_CTX, n_threads=THREADS, verbose=False,
                           seed=0)


def text_or_none(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


def tokens(out, name, m):
    with open(os.path.join(out, "tokens-%s.jsonl" % name), "w") as f:
        for text in CORPUS:
            for add in (True, False):
                for special in (False, True):
                    ids = m.tokenize(text.encode(), add_bos=add, special=special)
                    # piece by piece: the bindings' detokenize() drops a
                    # space after BOS, which llama.cpp's own does not
                    detok = text_or_none(b"".join(
                        m.detokenize([t], special=special) for t in ids))
                    f.write(json.dumps({"text": text, "add_special": add,
                                        "parse_special": special, "ids": ids,
                                        "detok": detok},
                                       ensure_ascii=False) + "\n")


def summary(row):
    top = np.argsort(-row, kind="stable")[:20]
    return {"n_vocab": int(row.shape[0]), "argmax": int(top[0]),
            "top": [[int(i), round(float(row[i]), 4)] for i in top],
            "sum": round(float(row.astype(np.float64).sum()), 2),
            "sumsq": round(float((row.astype(np.float64) ** 2).sum()), 1),
            "min": round(float(row.min()), 4), "max": round(float(row.max()), 4)}


def logits(out, name, path, vocab):
    """Through contrib/llama-logits.c: the Python bindings of this sdist
    crash in eval, and the C API is what llama.cpp itself tests."""
    prompts = []
    for prompt in PROMPTS[name]:
        special = prompt.startswith("<")
        prompts.append((prompt, special,
                        vocab.tokenize(prompt.encode(), add_bos=True, special=special)))
    r = subprocess.run([os.environ["LLAMA_LOGITS"], path, str(N_CTX),
                        str(N_GREEDY), str(THREADS)],
                       input="".join(" ".join(map(str, ids)) + "\n"
                                     for _, _, ids in prompts).encode(),
                       capture_output=True, check=True)
    n_vocab = vocab.n_vocab()
    buf, at = r.stdout, 0
    with open(os.path.join(out, "logits-%s.jsonl" % name), "w") as f:
        for prompt, special, ids in prompts:
            row = np.frombuffer(buf, dtype="<f4", count=n_vocab, offset=at)
            at += 4 * n_vocab
            greedy = [int(x) for x in np.frombuffer(buf, dtype="<i4", count=N_GREEDY, offset=at)]
            at += 4 * N_GREEDY
            rec = {"prompt": prompt, "parse_special": special, "ids": ids}
            rec.update(summary(row))
            rec["greedy"] = greedy
            rec["greedy_text"] = text_or_none(b"".join(
                vocab.detokenize([t]) for t in greedy))
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


REQUANT_TYPES = ["q4_0", "q5_0", "q5_1", "q8_0", "f16", "bf16"]
REQUANT_PROMPTS = [[19556], [504, 3575, 282, 4649, 314]]


def requant(out, path, vocab_n):
    """The default model requantized type by type (t/requant.py, the gguf
    package), and llama.cpp's last-position logits on each file."""
    import tempfile
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(out, "requant-smollm2.jsonl"), "w") as f, \
            tempfile.TemporaryDirectory() as tmp:
        for t in REQUANT_TYPES:
            model = os.path.join(tmp, t + ".gguf")
            subprocess.run([sys.executable, os.path.join(here, "..", "t", "requant.py"),
                            path, t, model], check=True)
            sha = hashlib.sha256(open(model, "rb").read()).hexdigest()
            r = subprocess.run([os.environ["LLAMA_LOGITS"], model, str(N_CTX), "0",
                                str(THREADS)],
                               input="".join(" ".join(map(str, p)) + "\n"
                                             for p in REQUANT_PROMPTS).encode(),
                               capture_output=True, check=True)
            for k, ids in enumerate(REQUANT_PROMPTS):
                row = np.frombuffer(r.stdout, dtype="<f4", count=vocab_n,
                                    offset=4 * vocab_n * k)
                rec = {"type": t, "sha256": sha, "ids": ids}
                rec.update(summary(row))
                f.write(json.dumps(rec) + "\n")


def ppl(out, name, path):
    text = os.path.join(out, "ppl-text.txt")
    cmd = [os.path.join(os.environ["LLAMA_BIN"], "llama-perplexity"), "-m",
           path, "-f", text, "-c", str(PPL_CTX), "-b", str(PPL_CTX), "-t",
           str(THREADS)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    log = r.stdout + r.stderr
    final = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
    chunks = [float(x) for x in re.findall(r"\[\d+\]([0-9.]+)", log)]
    rec = {"file": "ppl-text.txt", "n_ctx": PPL_CTX, "n_chunks": len(chunks),
           "ppl": float(final.group(1)), "ppl_err": float(final.group(2)),
           "chunks": chunks,
           "command": "llama-perplexity -m MODEL -f ppl-text.txt -c %d -b %d -t %d"
                      % (PPL_CTX, PPL_CTX, THREADS)}
    with open(os.path.join(out, "ppl-%s.json" % name), "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
        print("golden: %s %s sha256 %s" % (name, os.path.basename(path), sha),
              file=sys.stderr)
        vocab = load(path, vocab_only=True)
        tokens(out, name, vocab)
        logits(out, name, path, vocab)
        ppl(out, name, path)
        if name == "smollm2":
            requant(out, path, vocab.n_vocab())


if __name__ == "__main__":
    main()
