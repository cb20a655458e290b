#!/usr/bin/env python3
"""mklogits.py: synthetic logits streams (lib/stream.h) for chord-sample.

  mklogits.py N_VOCAB SPEC...   one frame per SPEC, to stdout

SPEC is comma-separated logits (the rest are 0), like "5=3.0,7=nan", or
"uniform"; "@ID:SPEC" makes ID the frame's token (to craft bad ones).
Header: eos 2, eog [2]. Frame k has pos k, token (10+k) mod N_VOCAB."""
import struct
import sys

n_vocab = int(sys.argv[1])
out = sys.stdout.buffer
out.write(b"CHLG" + struct.pack("<IIIQiiiI6i", 1, n_vocab, 0, 0x1234, 1, 2, -1,
                                 1, 2, -1, -1, -1, -1, -1))
for k, spec in enumerate(sys.argv[2:]):
    token = (10 + k) % n_vocab
    if spec.startswith("@"):
        tok, spec = spec[1:].split(":", 1)
        token = int(tok)
    out.write(b"CHFR" + struct.pack("<IiII", k, token, 1, 1) + struct.pack("<i", token))
    if spec == "uniform":      # all 0.0: fast even for a vocab of 2^24
        out.write(bytes(4 * n_vocab))
        continue
    x = [0.0] * n_vocab
    for item in spec.split(","):
        i, v = item.split("=")
        x[int(i)] = float(v)
    out.write(struct.pack("<%df" % n_vocab, *x))
