#!/usr/bin/env python3
"""dequant.py: chord's dequantizers against the gguf package's (llama.cpp's
own Python reader), bit for bit.

  dequant.py DEQUANT_TEST MODEL.gguf TENSOR...   real tensors
  dequant.py DEQUANT_TEST                        random blocks of every type"""
import subprocess
import sys

import gguf
import numpy as np

# where each type keeps its fp16 scales (random bits there could be NaN)
SCALES = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2],
          "Q8_0": [0], "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2],
          "Q5_K": [0, 2], "Q6_K": [208], "F16": [], "BF16": []}


def compare(name, ours, ref):
    same = ours.shape == ref.shape and np.array_equal(ours, ref)
    print("%s: %s" % (name, "same" if same else "DIFFERENT"))
    return same


def main():
    prog, ok = sys.argv[1], True
    if len(sys.argv) > 2:
        r = gguf.GGUFReader(sys.argv[2])
        for name in sys.argv[3:]:
            t = [x for x in r.tensors if x.name == name][0]
            ref = gguf.quants.dequantize(t.data, t.tensor_type).astype("<f4").ravel()
            out = subprocess.run([prog, sys.argv[2], name], capture_output=True, check=True)
            ok &= compare("%s (%s)" % (name, t.tensor_type.name), np.frombuffer(out.stdout, "<f4"), ref)
    else:
        rng = np.random.default_rng(3)
        for tname, offs in SCALES.items():
            qt = gguf.GGMLQuantizationType[tname]
            blck, size = gguf.GGML_QUANT_SIZES[qt]
            raw = rng.integers(0, 256, size * 64, dtype=np.uint8)
            if tname in ("F16", "BF16"):   # finite values only
                x = rng.standard_normal(64 * blck).astype(np.float32)
                raw = (x.astype(np.float16).view(np.uint8) if tname == "F16"
                       else (x.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8))
            blocks = raw.reshape(64, size)
            for o in offs:
                blocks[:, o:o + 2] = (rng.standard_normal(64) * 0.1).astype(np.float16).view(np.uint8).reshape(64, 2)
            ref = gguf.quants.dequantize(blocks.ravel(), qt).astype("<f4").ravel()
            out = subprocess.run([prog, tname.lower()], input=blocks.tobytes(), capture_output=True, check=True)
            ok &= compare("random %s" % tname, np.frombuffer(out.stdout, "<f4"), ref)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
