"""A decompression bomb: a small PNG file whose header says 12000x12000 (1-bit grey with a transparent
colour, so the file is tiny but decodes to 144 million pixels, 576 MB as RGBA), written byte by byte."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 12000) -> bytes:
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale, no interlace
    row = b"\0" + bytes((side + 7) // 8)  # filter byte + one bit per pixel, all black
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"tRNS", struct.pack(">H", 0))
            + _chunk(b"IDAT", data) + _chunk(b"IEND", b""))


def write_bomb(path: Path, side: int = 12000) -> Path:
    path.write_bytes(bomb_png(side))
    return path
