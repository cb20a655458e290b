#!/usr/bin/env python3
"""goldcheck.py: compare chord's tools with the llama.cpp goldens.

  goldcheck.py tokens MODEL GOLDEN.jsonl   every string: same ids, and -d
                                           gives llama.cpp's detokenized text
  goldcheck.py requant MODEL GOLDEN.jsonl WORKDIR
                                           the model requantized type by type
                                           against llama.cpp on the same files
  goldcheck.py logits MODEL GOLDEN.jsonl TOL
                                           every prompt: same argmax, top-20
                                           logits within TOL; prints the
                                           largest difference
  goldcheck.py synth GOLDEN.jsonl VOCABDIR WORKDIR [MODEL]
                                           the synthetic models of
                                           t/mksynth.py (or only MODEL)
                                           against llama.cpp on the same files
Prints one line per difference and a summary; exits 1 on any."""
import json
import struct
import subprocess
import sys


def tokens(model, golden):
    bad = n = 0
    for line in open(golden):
        r = json.loads(line)
        args = ["chord-tok", "-m", model] + ([] if r["add_special"] else ["--no-bos"])
        if r["parse_special"]:
            args.append("--special")
        p = subprocess.run(args, input=(r["text"] + "\n").encode(), capture_output=True)
        lines = p.stdout.decode().splitlines()
        got = [int(x) for x in lines[1].split()] if len(lines) > 1 else []
        n += 1
        if p.returncode != 0 or got != r["ids"]:
            bad += 1
            print("ids differ: %r special=%s: want %s got %s %s" % (
                r["text"][:40], r["parse_special"], r["ids"][:12], got[:12],
                p.stderr.decode()[:100]))
            continue
        if r["detok"] is None:
            continue
        d = ["chord-tok", "-m", model, "-d"] + (["--special"] if r["parse_special"] else [])
        p = subprocess.run(d, input=p.stdout, capture_output=True)
        if p.stdout.decode("utf-8", "replace") != r["detok"]:
            bad += 1
            print("detok differs: %r: want %r got %r" % (r["text"][:40], r["detok"][:40],
                                                       p.stdout[:40]))
    print("%d strings, %d differences" % (n, bad))
    return bad


def logits(model, golden, tol):
    bad = 0
    worst = 0.0
    for line in open(golden):
        r = json.loads(line)
        p = subprocess.run(["chord-fwd", "-m", model],
                           input=(" ".join(map(str, r["ids"])) + "\n").encode(),
                           capture_output=True)
        out = p.stdout
        n_new = struct.unpack("<I", out[64 + 16:64 + 20])[0]
        at = 64 + 20 + 4 * n_new
        lg = struct.unpack("<%df" % r["n_vocab"], out[at:at + 4 * r["n_vocab"]])
        argmax = max(range(len(lg)), key=lambda i: lg[i])
        diff = max(abs(lg[i] - v) for i, v in r["top"])
        worst = max(worst, diff)
        if argmax != r["argmax"] or diff > tol:
            bad += 1
            print("%r: argmax %d (want %d), top-20 difference %.4f" % (
                r["prompt"][:40], argmax, r["argmax"], diff))
    print("largest top-20 difference %.4f, %d differences" % (worst, bad))
    return bad


TOL_ONE, TOL_FIVE = 0.1, 1.5
# Types whose kernels sum as ggml's do: their logits must be llama.cpp's.
EXACT = {"f16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "q3_K", "q4_K", "q5_K", "q6_K"}
TOL_EXACT = 0.00005     # the goldens keep 4 decimals


def requant(model, golden, workdir):
    """Each type of t/golden/requant-smollm2.jsonl, made by gguf-repack from
    the model dequantized to f32: the same file as llama.cpp read (sha256);
    chord-fwd's logits against llama.cpp's (tolerances in t/golden/README.md)."""
    import hashlib
    import os
    bad, made = 0, {}
    f32 = os.path.join(workdir, "f32.gguf")
    subprocess.run(["gguf-repack", "-q", "-t", "f32", model, f32], check=True)
    for line in open(golden):
        r = json.loads(line)
        f = os.path.join(workdir, r["type"] + ".gguf")
        if r["type"] == "f32":
            f = f32
        elif f not in made:
            subprocess.run(["gguf-repack", "-q", "-t", r["type"], f32, f], check=True)
        if f not in made:
            made[f] = hashlib.sha256(open(f, "rb").read()).hexdigest()
        if made[f] != r["sha256"]:
            print("%s: gguf-repack wrote another file than llama.cpp read" % r["type"])
            bad += 1
            continue
        p = subprocess.run(["chord-fwd", "-m", f],
                           input=(" ".join(map(str, r["ids"])) + "\n").encode(),
                           capture_output=True)
        out = p.stdout
        n_new = struct.unpack("<I", out[80:84])[0]
        at = 84 + 4 * n_new
        lg = struct.unpack("<%df" % r["n_vocab"], out[at:at + 4 * r["n_vocab"]])
        argmax = max(range(len(lg)), key=lambda i: lg[i])
        diff = max(abs(lg[i] - v) for i, v in r["top"])
        top3 = [i for i, _ in r["top"][:3]]
        one = len(r["ids"]) == 1
        if r["type"] in EXACT:
            ok = argmax == r["argmax"] and diff <= TOL_EXACT
        elif one:
            ok = argmax == r["argmax"] and diff <= TOL_ONE
        else:
            ok = argmax in top3 and diff <= TOL_FIVE
        print("%-5s %d tokens: argmax %d (llama.cpp %d), top-20 difference %.4f%s" % (
            r["type"], len(r["ids"]), argmax, r["argmax"], diff, "" if ok else "  FAIL"))
        bad += not ok
    return bad


def last_logits(model, ids, n_vocab):
    """chord-fwd's logits of the last position of one batch."""
    p = subprocess.run(["chord-fwd", "-m", model],
                       input=(" ".join(map(str, ids)) + "\n").encode(),
                       capture_output=True)
    if p.returncode != 0:
        raise SystemExit("chord-fwd -m %s: %s" % (model, p.stderr.decode()))
    out = p.stdout
    n_new = struct.unpack("<I", out[80:84])[0]
    at = 84 + 4 * n_new
    return struct.unpack("<%df" % n_vocab, out[at:at + 4 * n_vocab])


def synth(golden, vocab_dir, workdir, only=None):
    """Each synthetic model of t/golden/synth.jsonl, written again by
    t/mksynth.py and gguf-repack: the same file as llama.cpp read (sha256),
    and chord-fwd's logits equal to llama.cpp's to the goldens' 4 decimals."""
    import hashlib
    import os
    bad, made = 0, {}
    top = os.path.dirname(os.path.abspath(__file__))
    for line in open(golden):
        r = json.loads(line)
        if only and r["model"] != only:
            continue
        f32 = os.path.join(workdir, r["model"] + "-f32.gguf")
        f = os.path.join(workdir, "%s-%s.gguf" % (r["model"], r["type"]))
        if f not in made:
            if not os.path.exists(f32):
                subprocess.run([sys.executable, os.path.join(top, "mksynth.py"),
                                r["arch"], os.path.join(vocab_dir, r["vocab"]), f32],
                               check=True)
            subprocess.run(["gguf-repack", "-q", "-t", r["type"], f32, f], check=True)
            made[f] = hashlib.sha256(open(f, "rb").read()).hexdigest()
        if made[f] != r["sha256"]:
            print("%s %s: not the file llama.cpp read" % (r["model"], r["type"]))
            bad += 1
            continue
        lg = last_logits(f, r["ids"], r["n_vocab"])
        argmax = max(range(len(lg)), key=lambda i: lg[i])
        diff = max(abs(lg[i] - v) for i, v in r["top"])
        ok = argmax == r["argmax"] and diff <= TOL_EXACT
        print("%-9s %-4s %d tokens: argmax %d (llama.cpp %d), top-20 difference %.4f%s" % (
            r["model"], r["type"], len(r["ids"]), argmax, r["argmax"], diff,
            "" if ok else "  FAIL"))
        bad += not ok
    return bad


def main():
    a = sys.argv[1:]
    if a[0] == "synth":
        sys.exit(1 if synth(a[1], a[2], a[3], a[4] if len(a) > 4 else None) else 0)
    if a[0] == "tokens":
        sys.exit(1 if tokens(a[1], a[2]) else 0)
    if a[0] == "requant":
        sys.exit(1 if requant(a[1], a[2], a[3]) else 0)
    if a[0] == "logits":
        sys.exit(1 if logits(a[1], a[2], float(a[3])) else 0)
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
