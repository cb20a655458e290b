#!/usr/bin/env python3
"""mkbomb.py: decompression bombs for the tests, made in a moment.

  mkbomb.py KIND OUT MIB [--nogguf]

A small GGUF model (one f32 tensor of 32 values) followed by zeros, MIB MiB
in all once decoded (0: the model alone), as KIND: zst, gz, zip or tar.zst; --nogguf: zeros only.
The zeros are one compressed piece repeated (zstd frames and gzip members
concatenate; a deflate stream flushed in full can repeat a block), so a GiB
costs milliseconds to make and a few hundred KB on disk."""
import struct
import subprocess
import sys
import zlib

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import mkgguf  # noqa: E402

PIECE = 16 << 20
ZEROS = bytes(PIECE)


def model():
    return mkgguf.pack([mkgguf.kv("general.architecture", mkgguf.STR,
                                  "llama")],
                       [("a.weight", [32], 0, None)])


def zstd(b):
    return subprocess.run(["zstd", "-q", "-c", "-1"], input=b,
                          stdout=subprocess.PIPE, check=True).stdout


def pieces(head, total):
    """(head bytes, number of zero pieces, zero bytes left over)."""
    n = total - len(head)
    return n // PIECE, n % PIECE


def zst_bomb(head, total):
    k, rest = pieces(head, total)
    z = zstd(ZEROS)
    return zstd(head) + z * k + zstd(bytes(rest))


def deflate(head, total):
    """Raw deflate of head + zeros, and its CRC-32."""
    k, rest = pieces(head, total)
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    out = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    z = c.compress(ZEROS) + c.flush(zlib.Z_FULL_FLUSH)
    out += z * k
    out += c.compress(bytes(rest)) + c.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(k):
        crc = zlib.crc32(ZEROS, crc)
    crc = zlib.crc32(bytes(rest), crc)
    return out, crc


def gz_bomb(head, total):
    data, crc = deflate(head, total)
    return (b"\x1f\x8b\x08\x00" + b"\0" * 4 + b"\x00\x03" + data +
            struct.pack("<II", crc, total & 0xffffffff))


def zip_bomb(head, total):
    data, crc = deflate(head, total)
    name = b"m.gguf"
    local = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 8, 0, 0x21, crc,
                        len(data), total, len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 8, 0,
                          0x21, crc, len(data), total, len(name), 0, 0, 0, 0,
                          0o100644 << 16, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 1, 1, len(central),
                      len(local) + len(data), 0)
    return local + data + central + end


def tar_zst_bomb(head, total):
    import tarfile
    ti = tarfile.TarInfo("m.gguf")
    ti.size = total
    hdr = ti.tobuf(tarfile.USTAR_FORMAT)
    size = len(hdr) + (total + 511) // 512 * 512 + 1024
    return zst_bomb(hdr + head, size)


def main():
    a = sys.argv[1:]
    if len(a) not in (3, 4) or (len(a) == 4 and a[3] != "--nogguf"):
        sys.exit(__doc__)
    kind, out, total = a[0], a[1], int(a[2]) << 20
    head = b"" if len(a) == 4 else model()
    total = max(total, len(head))       # 0: the model alone
    make = {"zst": zst_bomb, "gz": gz_bomb, "zip": zip_bomb,
            "tar.zst": tar_zst_bomb}.get(kind)
    if not make:
        sys.exit("unknown kind " + kind)
    open(out, "wb").write(make(head, total))


if __name__ == "__main__":
    main()
