#!/usr/bin/env python3
"""mksynth.py: a synthetic model of an architecture chord runs: random
weights (seeded, so the same file every time) in the real tensor layout and
shapes, and a real vocabulary copied from one of llama.cpp's
models/ggml-vocab-*.gguf files. The weights are F32; gguf-repack turns them
into other types.

usage: mksynth.py ARCH VOCAB.gguf OUT.gguf

ARCH: qwen3, phi3, llama3 (llama with rope_freqs, Llama 3's vocabulary),
llama-spm (llama with a SentencePiece vocabulary), qwen2."""
import sys

import numpy as np
import gguf

DIM, FFN, N_LAYER, N_HEAD, N_KV, HEAD = 256, 512, 2, 8, 2, 64


def copy_vocab(w, path):
    """Every tokenizer.* key of the vocabulary file, as it is there."""
    r = gguf.GGUFReader(path)
    for f in r.fields.values():
        if not f.name.startswith("tokenizer."):
            continue
        t = f.types[0]
        if t == gguf.GGUFValueType.ARRAY:
            sub = f.types[1]
            if sub == gguf.GGUFValueType.STRING:
                vals = [bytes(f.parts[i]) for i in f.data]
            else:
                vals = [f.parts[i].tolist()[0] for i in f.data]
            w.add_key_value(f.name, vals, t, sub_type=sub)
        elif t == gguf.GGUFValueType.STRING:
            w.add_key_value(f.name, bytes(f.parts[f.data[0]]), t)
        else:
            w.add_key_value(f.name, f.parts[f.data[0]].tolist()[0], t)
    return len(r.fields["tokenizer.ggml.tokens"].data)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    arch, vocab, out = sys.argv[1:]
    name = {"llama3": "llama", "llama-spm": "llama"}.get(arch, arch)
    rng = np.random.default_rng(1234)
    w = gguf.GGUFWriter(out, name)
    w.add_name("chord synthetic " + arch)
    n_vocab = copy_vocab(w, vocab)
    head = HEAD
    # qwen3 has more query heads than dim / head (Q is wider than the
    # residual stream); the others have dim = heads x head size, as phi3
    # requires
    n_head = N_HEAD if arch == "qwen3" else DIM // HEAD
    qd = n_head * head
    w.add_context_length(4096)
    w.add_embedding_length(DIM)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(FFN)
    w.add_head_count(n_head)
    w.add_head_count_kv(N_KV)
    w.add_key_length(head)
    w.add_value_length(head)
    w.add_rope_dimension_count(head)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0 if arch != "qwen3" else 1000000.0)

    def mat(name, cols, rows, scale=0.08):
        w.add_tensor(name, (rng.standard_normal((rows, cols)) * scale)
                     .astype(np.float32))

    def vec(name, n):
        w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(n))
                     .astype(np.float32))

    mat("token_embd.weight", DIM, n_vocab, 0.5)
    vec("output_norm.weight", DIM)
    mat("output.weight", DIM, n_vocab)
    if arch == "llama3":
        # Llama 3.1's frequency divisors: 1 for high frequencies, 8 for low
        w.add_tensor("rope_freqs.weight", np.concatenate(
            [np.ones(head // 4), np.linspace(1, 8, head // 4)])
            .astype(np.float32))
    for i in range(N_LAYER):
        b = "blk.%d." % i
        vec(b + "attn_norm.weight", DIM)
        if arch == "phi3":
            mat(b + "attn_qkv.weight", DIM, qd + 2 * N_KV * head)
        else:
            mat(b + "attn_q.weight", DIM, qd)
            mat(b + "attn_k.weight", DIM, N_KV * head)
            mat(b + "attn_v.weight", DIM, N_KV * head)
        if arch == "qwen2":
            for t, n in (("q", qd), ("k", N_KV * head), ("v", N_KV * head)):
                w.add_tensor(b + "attn_%s.bias" % t, (0.5 * rng.standard_normal(n))
                             .astype(np.float32))
        if arch == "qwen3":
            vec(b + "attn_q_norm.weight", head)
            vec(b + "attn_k_norm.weight", head)
        mat(b + "attn_output.weight", qd, DIM)
        vec(b + "ffn_norm.weight", DIM)
        if arch == "phi3":
            mat(b + "ffn_up.weight", DIM, 2 * FFN)
        else:
            mat(b + "ffn_gate.weight", DIM, FFN)
            mat(b + "ffn_up.weight", DIM, FFN)
        mat(b + "ffn_down.weight", FFN, DIM)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
