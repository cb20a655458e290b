#!/usr/bin/env python3
"""quantref.py: chord's reference quantizers (t/quant-test) against the gguf
package's, which port llama.cpp's quantize_row_*_ref, bit for bit, on random
values of several shapes (normal, uniform, heavy-tailed, tiny, huge, sparse,
constant and zero blocks).

  quantref.py QUANT_TEST"""
import subprocess
import sys

import gguf
import numpy as np

TYPES = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]


def values():
    rng = np.random.default_rng(7)
    n = 256 * 32
    parts = [rng.standard_normal(n), rng.uniform(-1, 1, n),
             rng.standard_t(2, n) * 0.01, rng.standard_normal(n) * 1e-6,
             rng.standard_normal(n) * 1e3, np.zeros(1024), np.full(1024, 0.5),
             np.where(rng.random(n) < 0.9, 0, rng.standard_normal(n))]
    return np.concatenate(parts).astype("<f4")


def main():
    x, bad = values(), 0
    for name in TYPES:
        qt = gguf.GGMLQuantizationType[name]
        if name == "F16":
            ref = x.astype("<f2").tobytes()
        else:
            ref = gguf.quants.quantize(x.reshape(-1, 256), qt).tobytes()
        out = subprocess.run([sys.argv[1], name], input=x.tobytes(),
                             capture_output=True, check=True).stdout
        same = out == ref
        print("%s: %d values, %s" % (name, x.size, "same" if same else "DIFFERENT"))
        bad += not same
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
