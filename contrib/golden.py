#!/usr/bin/env python3
"""golden.py: the reference side of chord's tests, from llama.cpp.

Run through contrib/make-golden, which builds llama.cpp (contrib/llama-ref)
and sets PYTHONPATH / LLAMA_CPP_LIB_PATH / LLAMA_BIN. Writes into t/golden/:

  tokens-NAME.jsonl   token ids of a corpus, 4 ways each
  logits-NAME.jsonl   last-position logits and the 64-token greedy continuation
  ppl-NAME.json       llama-perplexity on t/golden/ppl-text.txt
  repack-smollm2.json llama-quantize and llama-gguf-split on the default
                      model, llama-perplexity on gguf-repack's files
  requant-smollm2.jsonl llama.cpp's logits on each of gguf-repack's files

  synth.jsonl         llama.cpp's logits on the synthetic models of
                      t/mksynth.py (qwen3, phi3, Llama 3, SPM llama), each
                      in Q8_0 and Q4_0, for a one- and a five-token prompt

GOLDEN_ONLY=repack makes only the repack files, GOLDEN_ONLY=synth only
synth.jsonl, GOLDEN_ONLY=model only the files of the models named.

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
    "qwen2": [
        "The capital of France is",
        "def fibonacci(n):",
        "<|im_start|>user\nWrite a function that reverses a string in C.<|im_end|>\n<|im_start|>assistant\n",
        "Hello",
    ],
}

# Synthetic models: (name, t/mksynth.py ARCH, vocabulary file)
SYNTH = [("qwen3", "qwen3", "ggml-vocab-qwen2.gguf"),
         ("phi3", "phi3", "ggml-vocab-phi-3.gguf"),
         ("llama3", "llama3", "ggml-vocab-llama-bpe.gguf"),
         ("llama-spm", "llama-spm", "ggml-vocab-llama-spm.gguf")]
SYNTH_TYPES = ["q8_0", "q4_0"]
SYNTH_PROMPTS = [[1000], [1000, 2000, 3000, 4000, 5000]]

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


# gguf-repack's type, llama-quantize's name for the same pure file type
REPACK_TYPES = [("f32", "F32"), ("f16", "F16"), ("bf16", "BF16"),
                ("q8_0", "Q8_0"), ("q5_1", "Q5_1"), ("q5_0", "Q5_0"),
                ("q4_1", "Q4_1"), ("q4_0", "Q4_0"), ("q6_K", "Q6_K"),
                ("q5_K", "Q5_K_S"), ("q4_K", "Q4_K_S"), ("q3_K", "Q3_K_S"),
                ("q2_K", "Q2_K")]
REQUANT_PROMPTS = [[19556], [504, 3575, 282, 4649, 314]]
SPLITS = [["--split-max-tensors", "100"], ["--split-max-size", "40M"]]


def tensor_digest(path):
    """sha256 of the sorted "name type xxh3" lines of a file's tensors:
    equal digests, equal tensors, whatever the order and metadata."""
    r = subprocess.run(["gguf-inspect", "--json", "--hash", path],
                       capture_output=True, text=True, check=True)
    lines = sorted("%s %s %s\n" % (t["name"], t["type"], t["xxh3"])
                   for t in json.loads(r.stdout)["tensors"])
    types = {}
    for l in lines:
        t = l.split()[1]
        types[t] = types.get(t, 0) + 1
    return hashlib.sha256("".join(lines).encode()).hexdigest(), types


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def llama_ppl(path):
    cmd = [os.path.join(os.environ["LLAMA_BIN"], "llama-perplexity"), "-m",
           path, "-f", os.path.join("t", "golden", "ppl-text.txt"), "-c",
           str(PPL_CTX), "-b", str(PPL_CTX), "-t", str(THREADS)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(re.search(r"Final estimate: PPL = ([0-9.]+)",
                           r.stdout + r.stderr).group(1))


def repack(out, path, vocab_n):
    """The default model through gguf-repack: dequantized to f32 and
    requantized to every type. For each type, the digest of the tensors
    llama-quantize --pure writes from the same f32 file (gguf-repack must
    match it), llama-perplexity on gguf-repack's file, and llama.cpp's
    logits on it (requant-smollm2.jsonl); the shards llama-gguf-split
    makes of the default model (sha256 of each)."""
    import tempfile
    bindir = os.environ["LLAMA_BIN"]
    rec = {"source_sha256": sha256(path), "ppl_text": "ppl-text.txt",
           "ppl_n_ctx": PPL_CTX, "types": [], "splits": []}
    with tempfile.TemporaryDirectory() as tmp, \
            open(os.path.join(out, "requant-smollm2.jsonl"), "w") as f:
        f32 = os.path.join(tmp, "f32.gguf")
        subprocess.run(["gguf-repack", "-q", "-t", "f32", path, f32], check=True)
        for t, ftype in REPACK_TYPES:
            ours = os.path.join(tmp, t + ".gguf")
            theirs = os.path.join(tmp, t + "-llama.gguf")
            if t != "f32":
                subprocess.run(["gguf-repack", "-q", "-t", t, f32, ours], check=True)
            else:
                ours = f32
            subprocess.run([os.path.join(bindir, "llama-quantize"), "--pure", f32,
                            theirs, ftype, str(THREADS)], capture_output=True,
                           check=True)
            digest, types = tensor_digest(theirs)
            print("golden: %s: llama-quantize %s, %s" % (t, ftype, types), file=sys.stderr)
            rec["types"].append({
                "type": t, "llama_ftype": ftype,
                "llama_quantize": "llama-quantize --pure F32.gguf OUT.gguf " + ftype,
                "tensors": digest, "tensor_types": types,
                "file_sha256": sha256(ours), "size": os.path.getsize(ours),
                "llama_ppl": llama_ppl(ours)})
            r = subprocess.run([os.environ["LLAMA_LOGITS"], ours, str(N_CTX), "0",
                                str(THREADS)],
                               input="".join(" ".join(map(str, p)) + "\n"
                                             for p in REQUANT_PROMPTS).encode(),
                               capture_output=True, check=True)
            for k, ids in enumerate(REQUANT_PROMPTS):
                row = np.frombuffer(r.stdout, dtype="<f4", count=vocab_n,
                                    offset=4 * vocab_n * k)
                line = {"type": t, "sha256": sha256(ours), "ids": ids}
                line.update(summary(row))
                f.write(json.dumps(line) + "\n")
        for args in SPLITS:
            prefix = os.path.join(tmp, "split")
            subprocess.run([os.path.join(bindir, "llama-gguf-split"), "--split"] +
                           args + [path, prefix], capture_output=True, check=True)
            shards = sorted(x for x in os.listdir(tmp) if x.startswith("split-"))
            rec["splits"].append({"args": args, "shards": [
                [x[len("split"):], sha256(os.path.join(tmp, x))] for x in shards]})
            for x in shards:
                os.unlink(os.path.join(tmp, x))
    with open(os.path.join(out, "repack-smollm2.json"), "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")


def synth(out):
    """llama.cpp's last-position logits on each synthetic model, made by
    t/mksynth.py from a vocabulary of $CHORD_VOCAB (the sdist's
    ggml-vocab-*.gguf files; contrib/fetch-models puts them in
    $CHORD_DATA/vocab) and requantized by gguf-repack."""
    import tempfile
    vocab_dir = os.environ["CHORD_VOCAB"]
    with tempfile.TemporaryDirectory() as tmp, \
            open(os.path.join(out, "synth.jsonl"), "w") as f:
        for name, arch, vocab in SYNTH:
            f32 = os.path.join(tmp, name + "-f32.gguf")
            subprocess.run([sys.executable, "t/mksynth.py", arch,
                            os.path.join(vocab_dir, vocab), f32], check=True)
            for t in SYNTH_TYPES:
                path = os.path.join(tmp, "%s-%s.gguf" % (name, t))
                subprocess.run(["gguf-repack", "-q", "-t", t, f32, path],
                               check=True)
                n_vocab = load(path, vocab_only=True).n_vocab()
                r = subprocess.run([os.environ["LLAMA_LOGITS"], path,
                                    str(N_CTX), "0", str(THREADS)],
                                   input="".join(" ".join(map(str, p)) + "\n"
                                                 for p in SYNTH_PROMPTS).encode(),
                                   capture_output=True, check=True)
                for k, ids in enumerate(SYNTH_PROMPTS):
                    row = np.frombuffer(r.stdout, dtype="<f4", count=n_vocab,
                                        offset=4 * n_vocab * k)
                    line = {"model": name, "arch": arch, "vocab": vocab,
                            "type": t, "sha256": sha256(path), "ids": ids}
                    line.update(summary(row))
                    f.write(json.dumps(line) + "\n")
                print("golden: synthetic %s %s" % (name, t), file=sys.stderr)


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
    only = os.environ.get("GOLDEN_ONLY")
    if only in (None, "synth"):
        synth(out)
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
        print("golden: %s %s sha256 %s" % (name, os.path.basename(path), sha),
              file=sys.stderr)
        vocab = load(path, vocab_only=True)
        if only in (None, "model"):
            tokens(out, name, vocab)
            logits(out, name, path, vocab)
            ppl(out, name, path)
        if name == "smollm2" and only in (None, "repack"):
            repack(out, path, vocab.n_vocab())


if __name__ == "__main__":
    main()
