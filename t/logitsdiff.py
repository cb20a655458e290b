#!/usr/bin/env python3
"""logitsdiff.py [--last] A B: compare two chord logits streams
(lib/stream.h) frame by frame (--last: only their last frames), A the
reference. Prints one line:

  frames=N argmax_same=K max_abs=D max_rel=R

max_rel is the largest |A - B| of a frame over the range (max - min) of A's
logits in that frame. Exit 1 if the streams differ in shape."""
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"CHLG":
        sys.exit(f"{path}: not a logits stream")
    n_vocab = struct.unpack_from("<I", data, 8)[0]
    off = 64
    while off < len(data):
        if data[off:off + 4] != b"CHFR":
            sys.exit(f"{path}: bad frame at byte {off}")
        pos, tok, _, n_new = struct.unpack_from("<IiII", data, off + 4)
        off += 20 + 4 * n_new
        lg = struct.unpack_from(f"<{n_vocab}f", data, off)
        off += 4 * n_vocab
        yield pos, tok, lg


def main():
    args = sys.argv[1:]
    last = args[0] == "--last"
    if last:
        args = args[1:]
    a = list(frames(args[0]))
    b = list(frames(args[1]))
    if last:
        a, b = a[-1:], b[-1:]
    if len(a) != len(b) or not a:
        print(f"frames differ: {len(a)} and {len(b)}")
        sys.exit(1)
    same = 0
    max_abs = max_rel = 0.0
    for (pa, ta, la), (pb, tb, lb) in zip(a, b):
        if (pa, ta) != (pb, tb) or len(la) != len(lb):
            print(f"frame at position {pa}: positions or tokens differ")
            sys.exit(1)
        ia = max(range(len(la)), key=la.__getitem__)
        ib = max(range(len(lb)), key=lb.__getitem__)
        same += ia == ib
        d = max(abs(x - y) for x, y in zip(la, lb))
        max_abs = max(max_abs, d)
        max_rel = max(max_rel, d / (max(la) - min(la)))
    print(f"frames={len(a)} argmax_same={same} max_abs={max_abs:.5f} "
          f"max_rel={max_rel:.5f}")


main()
