#!/usr/bin/env python3
"""mkseeds.py: the GGUF seeds of the fuzz corpora, made at build time so
that no binary model is committed.

  mkseeds.py DIR    writes DIR/gguf/ (t/mkgguf.py's synthetic file, a few
                    small valid and broken ones) and DIR/model/ (two tiny llama models: a BPE
                    vocab with f32 weights, an SPM vocab with q8_0 weights)"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from mkgguf import (ARR, BOOL, F32, I32, STR, U32, base_file,  # noqa: E402
                    broken, kv, pack, synth_kvs, synth_tensors)

F32T, Q8_0T = 0, 8


def q8_0(rows, cols, rng):
    """q8_0 blocks of small sane values: fp16 scale, then 32 int8."""
    out = b""
    for _ in range(rows * cols // 32):
        out += struct.pack("<e", 0.01) + rng.integers(-64, 64, 32,
                                                      dtype=np.int8).tobytes()
    return out


def llama(tokens, vocab_kvs, dim, ffn, gtype):
    """A one-layer llama: 2 heads, weights of gtype (norms are f32)."""
    rng = np.random.default_rng(1)
    n = len(tokens)

    def mat(name, cols, rows):
        data = None if gtype == F32T else q8_0(rows, cols, rng)
        return (name, [cols, rows], gtype, data)

    def vec(name):
        return (name, [dim], F32T, np.ones(dim, dtype="<f4").tobytes())

    kvs = [kv("general.architecture", STR, "llama"),
           kv("llama.embedding_length", U32, dim),
           kv("llama.block_count", U32, 1),
           kv("llama.feed_forward_length", U32, ffn),
           kv("llama.attention.head_count", U32, 2),
           kv("llama.attention.head_count_kv", U32, 1),
           kv("llama.context_length", U32, 64),
           kv("llama.attention.layer_norm_rms_epsilon", F32, 1e-5),
           kv("tokenizer.ggml.tokens", ARR, (STR, tokens))] + vocab_kvs
    tensors = [mat("token_embd.weight", dim, n), vec("output_norm.weight"),
               vec("blk.0.attn_norm.weight"),
               mat("blk.0.attn_q.weight", dim, dim),
               mat("blk.0.attn_k.weight", dim, dim // 2),
               mat("blk.0.attn_v.weight", dim, dim // 2),
               mat("blk.0.attn_output.weight", dim, dim),
               vec("blk.0.ffn_norm.weight"),
               mat("blk.0.ffn_gate.weight", dim, ffn),
               mat("blk.0.ffn_up.weight", dim, ffn),
               mat("blk.0.ffn_down.weight", ffn, dim)]
    return pack(kvs, tensors)


def bpe():
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a", "b", "c",
              "\u0120", "\u0120a", "ab", "abc", "\u010a", "1"]
    types = [3, 3, 3] + [1] * (len(tokens) - 3)
    return llama(tokens, [
        kv("tokenizer.ggml.model", STR, "gpt2"),
        kv("tokenizer.ggml.pre", STR, "smollm"),
        kv("tokenizer.ggml.token_type", ARR, (I32, types)),
        kv("tokenizer.ggml.merges", ARR, (STR, ["a b", "ab c", "\u0120 a"])),
        kv("tokenizer.ggml.bos_token_id", U32, 1),
        kv("tokenizer.ggml.eos_token_id", U32, 2)], 16, 32, F32T)


def spm():
    tokens = ["<unk>", "<s>", "</s>", "<start_of_turn>", "<0x0A>", "<0x41>",
              "\u2581", "\u2581a", "a", "b", "ab", "<end_of_turn>"]
    types = [2, 3, 3, 3, 6, 6, 1, 1, 1, 1, 1, 3]
    scores = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -3.0, -1.5, 0.0]
    return llama(tokens, [
        kv("tokenizer.ggml.model", STR, "llama"),
        kv("tokenizer.ggml.scores", ARR, (F32, scores)),
        kv("tokenizer.ggml.token_type", ARR, (I32, types)),
        kv("tokenizer.ggml.bos_token_id", U32, 1),
        kv("tokenizer.ggml.eos_token_id", U32, 2),
        kv("tokenizer.ggml.add_space_prefix", BOOL, True)], 32, 64, Q8_0T)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    top = sys.argv[1]
    seeds = {
        "gguf/synth.gguf": pack(synth_kvs(), synth_tensors(), 3, 64),
        "gguf/synth-v2.gguf": pack(synth_kvs(), synth_tensors(), 2, 64),
        "gguf/base.gguf": base_file(),
        "gguf/empty.gguf": pack([], []),
        "model/bpe.gguf": bpe(),
        "model/spm.gguf": spm(),
    }
    for kind in ["nest", "misaligned", "alignment", "dupkey", "bool"]:
        seeds["gguf/broken-%s.gguf" % kind] = broken(kind)
    for name, data in seeds.items():
        path = os.path.join(top, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
