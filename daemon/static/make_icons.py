#!/usr/bin/env python3
"""Draws the web client's icons (icon-192.png, icon-512.png, icon-maskable-512.png) into this
directory: a white "m" on the client's accent blue. Deterministic: the same bytes every run.
Only the standard library (zlib, struct). Not embedded; run it after changing the drawing."""
import struct
import zlib
from pathlib import Path

BLUE = (0x0B, 0x5F, 0xD6, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)


def png(size, pixel):
    rows = b"".join(
        b"\0" + b"".join(bytes(pixel(x / size, y / size)) for x in range(size)) for y in range(size)
    )
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def glyph(u, v, scale):
    """True inside the "m", drawn in a box of `scale` of the icon around its centre."""
    x, y = (u - 0.5) / scale + 0.5, (v - 0.5) / scale + 0.5
    if not (0.15 <= x <= 0.85 and 0.3 <= y <= 0.72):
        return False
    stem = 0.1
    if y <= 0.3 + stem:  # top bar
        return True
    return any(c <= x <= c + stem for c in (0.15, 0.45, 0.75))


def icon(scale, rounded):
    def pixel(u, v):
        if rounded:  # a rounded square: transparent corners
            r, cx, cy = 0.18, min(max(u, 0.18), 0.82), min(max(v, 0.18), 0.82)
            if (u - cx) ** 2 + (v - cy) ** 2 > r * r:
                return CLEAR
        return WHITE if glyph(u, v, scale) else BLUE
    return pixel


here = Path(__file__).parent
(here / "icon-192.png").write_bytes(png(192, icon(1.0, True)))
(here / "icon-512.png").write_bytes(png(512, icon(1.0, True)))
# Maskable: full bleed, the glyph inside the middle 80% that every mask keeps.
(here / "icon-maskable-512.png").write_bytes(png(512, icon(0.7, False)))
