#!/usr/bin/env python3
# chat-templates.py TEST_CPP > chat-templates.jsonl
#
# Extracts the expected renderings of llama.cpp's built-in chat templates
# from its own test, tests/test-chat-template.cpp (llama.cpp as vendored in
# llama-cpp-python 0.3.36): every test case's model template text, the
# conversation it is rendered with (add_generation_prompt true) and the
# expected output of llama_chat_apply_template, and where the test renders
# it with llama.cpp's Jinja engine too, the bos_token and eos_token it gives
# and the output expected there. Cases that add roles other than
# system/user/assistant (granite's tool calls) are left out.
#
# The C++ is read as C++: TestCase{...} aggregates whose fields come in
# declaration order (name, template_str, expected_output, ...), each a run of
# adjacent string literals, perhaps inside U8C(...).
import json
import re
import sys

FIELDS = ["name", "template", "expected", "expected_jinja", "bos", "eos",
          "supported_with_jinja", "extra"]
ESC = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'",
       "0": "\0"}


def literal(s, i):
    """The C++ string literal at s[i] (a '"'): (value, index after)."""
    out = bytearray()
    i += 1
    while s[i] != '"':
        if s[i] == "\\":
            out += ESC[s[i + 1]].encode()
            i += 2
        else:
            out += s[i].encode()
            i += 1
    return out.decode(), i + 1


def values(s, i, close):
    """Comma-separated values up to the matching close: a list of strings
    (adjacent literals joined), lists (nested braces) or bare words."""
    vals, cur, word = [], None, ""
    while True:
        if s.startswith("/*", i):
            i = s.index("*/", i) + 2
        elif s.startswith("//", i):
            i = s.index("\n", i)
        elif s[i] == '"':
            v, i = literal(s, i)
            cur = (cur or "") + v
        elif s[i] == "{":
            cur, i = values(s, i + 1, "}")
        elif s[i] in ",}" or s[i] == close:
            if cur is None and word.strip():
                cur = word.strip()
            if cur is not None:
                vals.append(cur)
            cur, word = None, ""
            if s[i] == close or s[i] == "}":
                return vals, i + 1
            i += 1
        elif s.startswith("U8C(", i):
            i += 4
        elif s[i] == ")":
            i += 1
        else:
            word += s[i]
            i += 1


src = open(sys.argv[1], encoding="utf-8").read()
conv_at = src.index("std::vector<llama_chat_message> conversation {")
conv, _ = values(src, src.index("{", conv_at) + 1, "}")
conv = [{"role": r, "content": c} for r, c in conv]
at = src.index("std::vector<TestCase> test_cases {")
cases, _ = values(src, src.index("{", at) + 1, "}")
for c in cases:
    case = dict(zip(FIELDS, c))
    if case.get("extra"):
        continue
    g = {"source": "llama.cpp tests/test-chat-template.cpp: "
         + case["name"], "template": case["template"], "messages": conv,
         "expected": case["expected"]}
    if case.get("supported_with_jinja", "true") == "true":
        # what --jinja renders: bos_token and eos_token as given, no BOS
        # or EOS stripped (the test has no model)
        g["jinja"] = {"bos": case.get("bos", ""), "eos": case.get("eos", ""),
                      "expected": case.get("expected_jinja")
                      or case["expected"]}
    print(json.dumps(g, ensure_ascii=False))
