#!/usr/bin/env python3
"""mklogits.py: synthetic logits streams (lib/stream.h) for chord-sample.

  mklogits.py N_VOCAB SPEC...   one frame per SPEC, to stdout

SPEC is comma-separated logits (the rest are 0), like "5=3.0,7=nan", or
"uniform". Header: eos 2, eog [2]. Frame k has pos k, token 10+k."""
import math
import struct
import sys

n_vocab = int(sys.argv[1])
out = sys.stdout.buffer
out.write(b"CHLG" + struct.pack("<IIIQiiiI6i", 1, n_vocab, 0, 0x1234, 1, 2, -1,
                                 1, 2, -1, -1, -1, -1, -1))
for k, spec in enumerate(sys.argv[2:]):
    x = [0.0] * n_vocab
    if spec != "uniform":
        for item in spec.split(","):
            i, v = item.split("=")
            x[int(i)] = float(v)
    out.write(b"CHFR" + struct.pack("<IiII", k, 10 + k, 1, 1) + struct.pack("<i", 10 + k))
    out.write(struct.pack("<%df" % n_vocab, *x))
