#!/usr/bin/env python3
"""settype.py: copy a GGUF file with one tensor's type id changed in its
header (its data left as it is), to make files of types chord cannot run.

usage: settype.py IN.gguf OUT.gguf TENSOR TYPE_ID"""
import struct
import sys


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    src, dst, name, type_id = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
    data = bytearray(open(src, "rb").read())
    # a tensor info: u64 name length, name, u32 n_dims, u64 dims[n], u32 type
    key = struct.pack("<Q", len(name)) + name
    at = data.find(key)
    if at < 0:
        sys.exit("settype.py: no tensor %s" % name.decode())
    at += len(key)
    n_dims = struct.unpack_from("<I", data, at)[0]
    at += 4 + 8 * n_dims
    struct.pack_into("<I", data, at, type_id)
    open(dst, "wb").write(data)


if __name__ == "__main__":
    main()
