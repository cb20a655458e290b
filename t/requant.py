#!/usr/bin/env python3
"""requant.py: the default model with every 2-d weight but the embedding
requantized to TYPE by the gguf package (deterministic), for checking
chord-fwd against llama.cpp type by type.

  requant.py MODEL.gguf TYPE OUT.gguf      (TYPE: q4_0 q5_0 q5_1 q8_0 f16 bf16)"""
import sys

import gguf
import numpy as np


def main():
    src, tname, out = sys.argv[1], sys.argv[2].upper(), sys.argv[3]
    qt = gguf.GGMLQuantizationType[tname]
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(out, arch)
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        t = f.types
        if t[0] == gguf.GGUFValueType.ARRAY:
            w.add_key_value(name, f.contents(), t[0], sub_type=t[-1])
        else:
            w.add_key_value(name, f.contents(), t[0])
    for t in r.tensors:
        if len(t.shape) == 2 and t.name != "token_embd.weight":
            x = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
            x = x.reshape(int(t.shape[1]), int(t.shape[0]))
            if qt == gguf.GGMLQuantizationType.F16:
                data = x.astype(np.float16)
            else:
                data = gguf.quants.quantize(x, qt)
            w.add_tensor(t.name, data, raw_dtype=qt)
        else:
            w.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
