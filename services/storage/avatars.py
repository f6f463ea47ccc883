"""Small PNG avatars drawn in code: a mirrored 5x5 pattern in a colour of the user's own."""

import hashlib
import struct
import zlib

CELLS, CELL_PIXELS = 5, 8
SIDE = CELLS * CELL_PIXELS
BACKGROUND = (240, 240, 240)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def avatar_png(user_id: int) -> bytes:
    """The user's avatar: the same bytes on every call, about 150 bytes of PNG."""
    digest = hashlib.sha256(f"avatar:{user_id}".encode()).digest()
    colour = bytes(64 + b % 160 for b in digest[:3])
    background = bytes(BACKGROUND)
    rows = []
    for row in range(CELLS):
        half = [digest[3 + row * 3 + col] % 2 == 0 for col in range(3)]
        cells = half + half[1::-1]  # mirrored: columns 0 1 2 1 0
        line = b"".join((colour if on else background) * CELL_PIXELS for on in cells)
        rows += [b"\x00" + line] * CELL_PIXELS  # filter byte 0, then RGB pixels
    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + _chunk(b"IEND", b""))
