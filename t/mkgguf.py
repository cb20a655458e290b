#!/usr/bin/env python3
"""mkgguf.py: GGUF files for the tests, and llama.cpp's own reading of them.

  mkgguf.py synth OUT [--version 2|3]  every metadata type, several tensor types
  mkgguf.py broken KIND OUT            a file broken in one way (kinds: --list)
  mkgguf.py escapes OUT [--dup]        terminal escapes in keys, values, names
  mkgguf.py ref FILE                   JSON of what the `gguf` package reads,
                                       in gguf-inspect --json's shape
  mkgguf.py compare OURS.json REF.json every key and tensor agree

Files are packed by hand (struct) so that broken ones can be anything."""
import json
import struct
import sys

import numpy as np

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i",
          F32: "<f", BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}
# ggml type: (block size, bytes per block)
GGML = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 8: (32, 34),
        12: (256, 144), 30: (1, 2)}


def s(x):
    b = x.encode() if isinstance(x, str) else x
    return struct.pack("<Q", len(b)) + b


def val(t, v):
    if t == STR:
        return s(v)
    if t == ARR:
        et, items = v
        out = struct.pack("<IQ", et, len(items))
        for it in items:
            out += val(et, it)
        return out
    return struct.pack(SCALAR[t], v)


def kv(key, t, v):
    return s(key) + struct.pack("<I", t) + val(t, v)


def tinfo(name, dims, gtype, off):
    out = s(name) + struct.pack("<I", len(dims))
    for d in dims:
        out += struct.pack("<Q", d)
    return out + struct.pack("<IQ", gtype, off)


def nbytes(dims, gtype):
    blk, size = GGML[gtype]
    n = 1
    for d in dims[1:]:
        n *= d
    return dims[0] // blk * size * n


def pack(kvs, tensors, version=3, align=32, n_kv=None, n_t=None):
    """kvs: list of bytes; tensors: list of (name, dims, gtype, data or None)."""
    head = b"GGUF" + struct.pack("<IQQ", version,
                                 len(tensors) if n_t is None else n_t,
                                 len(kvs) if n_kv is None else n_kv)
    body = b"".join(kvs)
    infos, datas, off = b"", b"", 0
    rng = np.random.default_rng(7)
    for name, dims, gtype, data in tensors:
        n = nbytes(dims, gtype)
        if data is None:
            data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
            if gtype == 0:
                data = rng.standard_normal(n // 4).astype("<f4").tobytes()
        infos += tinfo(name, dims, gtype, off)
        pad = (-n) % align
        datas += data + b"\0" * pad
        off += n + pad
    out = head + body + infos
    out += b"\0" * ((-len(out)) % align)
    return out + datas


def synth_kvs():
    return [
        kv("general.architecture", STR, "llama"),
        kv("general.name", STR, "synthetic \"quoted\" \u00e9\u4e2d\U0001F600"),
        kv("test.u8", U8, 255), kv("test.i8", I8, -128),
        kv("test.u16", U16, 65535), kv("test.i16", I16, -32768),
        kv("test.u32", U32, 4294967295), kv("test.i32", I32, -2147483648),
        kv("test.f32", F32, 0.25), kv("test.bool", BOOL, True),
        kv("test.u64", U64, 2**64 - 1), kv("test.i64", I64, -2**63),
        kv("test.f64", F64, 3.141592653589793),
        kv("test.str.empty", STR, ""),
        kv("test.str.ctl", STR, "tab\there\nnewline\x1b[31m"),
        kv("test.arr.u8", ARR, (U8, [1, 2, 3])),
        kv("test.arr.i32", ARR, (I32, list(range(-5, 20)))),
        kv("test.arr.f32", ARR, (F32, [0.5, -1.5])),
        kv("test.arr.bool", ARR, (BOOL, [True, False])),
        kv("test.arr.f64", ARR, (F64, [1e300])),
        kv("test.arr.str", ARR, (STR, ["a", "", "\u00fcml", "x" * 40])),
        kv("test.arr.empty", ARR, (I64, [])),
        kv("test.arr.nested", ARR, (ARR, [(U16, [1, 2]), (STR, ["p", "q"]),
                                          (ARR, [(I8, [-1])])])),
        kv("general.alignment", U32, 64),
    ]


def synth_tensors():
    return [("f32.weight", [64, 3], 0, None), ("f16.weight", [32], 1, None),
            ("q4_0.weight", [64, 2], 2, None), ("q4_1.weight", [32, 2, 2], 3, None),
            ("q8_0.weight", [32], 8, None), ("q4_k.weight", [256, 2], 12, None),
            ("bf16.weight", [8, 1, 1, 2], 30, None)]


def base_file(**kw):
    return pack([kv("general.architecture", STR, "llama"),
                 kv("test.arr.str", ARR, (STR, ["a", "b"]))],
                [("a.weight", [32, 2], 8, None), ("b.weight", [64], 0, None)],
                **kw)


def broken(kind):
    arch = kv("general.architecture", STR, "llama")
    one = [("a.weight", [32, 2], 8, None)]
    if kind == "magic":
        return b"GGUG" + base_file()[4:]
    if kind == "version":
        return base_file(version=4)
    if kind == "version1":
        return base_file(version=1)
    if kind == "kvcount":
        return pack([arch], one, n_kv=2**62)
    if kind == "tensorcount":
        return pack([arch], one, n_t=2**40)
    if kind == "keylen":
        return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**63) + b"x" * 64
    if kind == "strlen":
        return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("k") + struct.pack("<IQ", STR, 2**64 - 1) + b"x" * 64
    if kind == "arrlen":
        return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("k") + struct.pack("<IIQ", ARR, U32, 2**62) + b"x" * 64
    if kind == "strarrlen":
        return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("k") + struct.pack("<IIQ", ARR, STR, 2**40) + b"x" * 64
    if kind == "valtype":
        return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("k") + struct.pack("<I", 13) + b"x" * 64
    if kind == "elemtype":
        return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("k") + struct.pack("<IIQ", ARR, 99, 1) + b"x" * 64
    if kind == "nest":
        v = (U8, [1])
        for _ in range(40):
            v = (ARR, [v])
        return pack([kv("k", ARR, v)], [])
    if kind == "bool":
        return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("k") + struct.pack("<IB", BOOL, 7) + b"x" * 64
    if kind == "dupkey":
        return pack([arch, arch], one)
    if kind == "duptensor":
        return pack([arch], one + one)
    if kind == "ndims":
        f = pack([arch], one)
        return f.replace(s("a.weight") + struct.pack("<I", 2), s("a.weight") + struct.pack("<I", 5))
    if kind == "zerodim":
        f = pack([arch], one)
        return f.replace(struct.pack("<QQ", 32, 2), struct.pack("<QQ", 32, 0))
    if kind == "dimoverflow":
        f = pack([arch], [("a.weight", [32, 2, 2, 2], 8, None)])
        return f.replace(struct.pack("<QQQQ", 32, 2, 2, 2), struct.pack("<QQQQ", 32, 2**31, 2**31, 2**31))
    if kind == "ggmltype":
        f = pack([arch], one)
        return f.replace(struct.pack("<QQI", 32, 2, 8), struct.pack("<QQI", 32, 2, 4))
    if kind == "blocksize":
        f = pack([arch], one)
        return f.replace(struct.pack("<QQI", 32, 2, 8), struct.pack("<QQI", 33, 2, 8))
    if kind == "misaligned":
        f = pack([arch], one + [("b.weight", [32], 0, None)])
        return f.replace(struct.pack("<IQ", 0, 96), struct.pack("<IQ", 0, 100))
    if kind == "pastend":
        return pack([arch], one)[:-40]
    if kind == "offset":
        f = pack([arch], one + [("b.weight", [32], 0, None)])
        return f.replace(struct.pack("<IQ", 0, 96), struct.pack("<IQ", 0, 2**60))
    if kind == "alignment":
        return pack([arch, kv("general.alignment", U32, 48)], one, align=32)
    if kind == "alignmenttype":
        return pack([arch, kv("general.alignment", STR, "32")], one)
    if kind == "alignzero":
        return pack([arch, kv("general.alignment", U32, 0)], one)
    if kind == "alignbig":
        return pack([kv("general.alignment", U32, 2**31)], [])
    if kind == "overlap":
        f = pack([arch], one + [("b.weight", [32], 0, None)])
        return f.replace(struct.pack("<IQ", 0, 96), struct.pack("<IQ", 0, 32))
    raise SystemExit("unknown kind " + kind)


KINDS = ["magic", "version", "version1", "kvcount", "tensorcount", "keylen",
         "strlen", "arrlen", "strarrlen", "valtype", "elemtype", "nest", "bool",
         "dupkey", "duptensor", "ndims", "zerodim", "dimoverflow", "ggmltype",
         "blocksize", "misaligned", "pastend", "offset", "alignment",
         "alignmenttype", "alignzero", "alignbig", "overlap"]


def escapes(dup=False):
    """Terminal escapes and bytes that are not UTF-8 in every kind of text;
    dup: the tensor twice, so that an error message names it."""
    bad = "\x1b[2J\x1b]0;pwned\x07\u009b31m\x7f"
    t = ("t" + bad + ".weight", [32], 0, None)
    return pack([kv("general.architecture", STR, "llama"),
                 kv("evil" + bad, STR, "value" + bad),
                 kv("evil.bytes", STR, b"\xff\xfe\x1b[H"),
                 kv("evil.arr", ARR, (STR, ["x" + bad]))],
                [t, t] if dup else [t])


def ref(path):
    """What llama.cpp's gguf package reads, shaped like gguf-inspect --json."""
    import gguf
    r = gguf.GGUFReader(path)
    names = {U8: "u8", I8: "i8", U16: "u16", I16: "i16", U32: "u32",
             I32: "i32", F32: "f32", BOOL: "bool", STR: "str", ARR: "arr",
             U64: "u64", I64: "i64", F64: "f64"}
    meta = {}
    for name, f in r.fields.items():
        if name.startswith("GGUF."):
            continue
        t = f.types[0]
        tname = names[t]
        if t == ARR:
            et = int(f.parts[3][0])   # element type, also for empty arrays
            tname = "arr[%s,%d]" % (names[et], len(f.data))
        v = f.contents()
        if isinstance(v, float) and t == F32:
            v = float(np.float32(v))
        meta[name] = {"type": tname, "value": v}
    tensors = [{"name": t.name, "type": t.tensor_type.name.lower(),
                "shape": [int(x) for x in t.shape],
                "offset": int(t.data_offset - r.data_offset),
                "bytes": int(t.n_bytes)} for t in r.tensors]
    return {"metadata": meta, "tensors": tensors}


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1e-30)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def compare(ours_path, ref_path):
    """Every key and tensor of the reference must be in ours, equal."""
    ours, ref_ = json.load(open(ours_path)), json.load(open(ref_path))
    bad = []
    om = ours["metadata"]
    if set(om) != set(ref_["metadata"]):
        bad.append("keys differ: %s" % (set(om) ^ set(ref_["metadata"])))
    for k, v in ref_["metadata"].items():
        # The gguf package flattens arrays of arrays (it reads
        # [[1, 2], ["p"]] as five scalars), so it is no reference there.
        if v["type"].startswith("arr[arr"):
            continue
        if k in om and (om[k]["type"] != v["type"] or not same(om[k]["value"], v["value"])):
            bad.append("%s: ours %r, gguf %r" % (k, om[k], v))
    ot = ours["tensors"]
    if len(ot) != len(ref_["tensors"]):
        bad.append("tensor count: ours %d, gguf %d" % (len(ot), len(ref_["tensors"])))
    for a, b in zip(ot, ref_["tensors"]):
        a = dict(a, type=a["type"].lower())
        a.pop("xxh3", None)
        if a != b:
            bad.append("tensor: ours %r, gguf %r" % (a, b))
    for line in bad[:20]:
        print(line)
    print("%d keys, %d tensors compared, %d differences"
          % (len(ref_["metadata"]), len(ref_["tensors"]), len(bad)))
    sys.exit(1 if bad else 0)


def main():
    a = sys.argv[1:]
    if a and a[0] == "--list":
        print("\n".join(KINDS))
    elif len(a) >= 2 and a[0] == "synth":
        version = int(a[3]) if len(a) == 4 and a[2] == "--version" else 3
        open(a[1], "wb").write(pack(synth_kvs(), synth_tensors(), version, 64))
    elif len(a) in (2, 3) and a[0] == "escapes":
        open(a[1], "wb").write(escapes(a[2:] == ["--dup"]))
    elif len(a) == 3 and a[0] == "broken":
        open(a[2], "wb").write(broken(a[1]))
    elif len(a) == 3 and a[0] == "compare":
        compare(a[1], a[2])
    elif len(a) == 2 and a[0] == "ref":
        json.dump(ref(a[1]), sys.stdout, ensure_ascii=False)
        print()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
