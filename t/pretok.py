#!/usr/bin/env python3
"""pretok.py: chord's BPE pre-tokenizers against the regexes llama.cpp gives
for them (llama-vocab.cpp), run by Python's `regex` module.

  pretok.py PRETOK_TEST_BINARY CORPUS.jsonl...   (texts from the goldens)"""
import json
import subprocess
import sys

import regex

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
          r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
         r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
PRES = {"gpt2": [GPT2], "smollm": [r"\p{N}", GPT2], "llama3": [LLAMA3],
        "qwen2": [QWEN2]}

EXTRA = ["Hello  world\n\n  foo", "x\r\n\r\ny", "123456789 12 1", "I'M HERE'S",
         "  \t\n  a", "a\u00a0\u00a0b", "emoji 😀😀 ok", "(1+2)*3=9;\n", "'''",
         "tab\t\ttab", "end with spaces   ", "\n", "", "ÀÉÎ õ 中文 123abc"]


def split(pats, text):
    pieces = [text]
    for p in pats:
        out = []
        for piece in pieces:      # matched and unmatched spans both stay
            at = 0
            for m in regex.finditer(p, piece):
                if m.start() > at:
                    out.append(piece[at:m.start()])
                out.append(m.group())
                at = m.end()
            if at < len(piece):
                out.append(piece[at:])
        pieces = out
    return [len(x.encode()) for x in pieces if x]


def main():
    binary, files = sys.argv[1], sys.argv[2:]
    texts = list(EXTRA)
    for f in files:
        texts += sorted({json.loads(l)["text"] for l in open(f)})
    bad = n = 0
    for pre, pats in PRES.items():
        for t in texts:
            p = subprocess.run([binary, pre], input=t.encode(), capture_output=True)
            got = [int(x) for x in p.stdout.split()]
            n += 1
            if got != split(pats, t):
                bad += 1
                print("%s %r: chord %s, regex %s" % (pre, t[:30], got[:10], split(pats, t)[:10]))
    print("%d splits compared, %d differences" % (n, bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
