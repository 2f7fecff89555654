"""Writes the picture fixtures of the media tests (run from this directory with python3).

Each file is a small valid picture that carries the metadata a phone or an editor leaves in it
(EXIF with GPS, XMP, comments, text chunks, thumbnails, trailing bytes), so the tests can check
that `strip` removes it all. Standard library only; the output is deterministic.
"""

import struct
import zlib


def tiff(orientation, big_endian):
    """A TIFF block: IFD0 with Make, Orientation and a GPS pointer; a GPS IFD at 52.5 N 13.4 E."""
    e = ">" if big_endian else "<"
    head = (b"MM\x00\x2a" if big_endian else b"II\x2a\x00") + struct.pack(e + "I", 8)
    # IFD0 at 8: 3 entries, then next-IFD 0. Make's text goes after it.
    ifd0_len = 2 + 3 * 12 + 4
    make_at = 8 + ifd0_len
    make = b"PhoneMaker\x00"
    gps_at = make_at + len(make) + (len(make) & 1)
    ifd0 = struct.pack(e + "H", 3)
    ifd0 += struct.pack(e + "HHII", 0x010F, 2, len(make), make_at)
    ifd0 += struct.pack(e + "HHI", 0x0112, 3, 1) + struct.pack(e + "HH", orientation, 0)
    ifd0 += struct.pack(e + "HHII", 0x8825, 4, 1, gps_at)
    ifd0 += struct.pack(e + "I", 0)
    # GPS IFD: 4 entries; the rationals follow it.
    gps_len = 2 + 4 * 12 + 4
    lat_at = gps_at + gps_len
    lon_at = lat_at + 24
    gps = struct.pack(e + "H", 4)
    gps += struct.pack(e + "HHI", 1, 2, 2) + b"N\x00\x00\x00"
    gps += struct.pack(e + "HHII", 2, 5, 3, lat_at)
    gps += struct.pack(e + "HHI", 3, 2, 2) + b"E\x00\x00\x00"
    gps += struct.pack(e + "HHII", 4, 5, 3, lon_at)
    gps += struct.pack(e + "I", 0)
    lat = struct.pack(e + "6I", 52, 1, 31, 1, 0, 1)
    lon = struct.pack(e + "6I", 13, 1, 24, 1, 0, 1)
    out = head + ifd0 + make + b"\x00" * (len(make) & 1) + gps + lat + lon
    assert len(head + ifd0) == make_at and len(head + ifd0 + make) + (len(make) & 1) == gps_at
    return out


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
    b'exif:GPSLatitude="52,31.0N" exif:GPSLongitude="13,24.0E"/></rdf:RDF></x:xmpmeta>'
)


def seg(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg():
    """16 x 8 grey baseline JPEG (two blocks of flat grey) with every kind of metadata."""
    out = b"\xff\xd8"
    # JFIF with a 1 x 1 RGB thumbnail
    out += seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x01\x01" + b"\x10\x20\x30")
    out += seg(0xE1, b"Exif\x00\x00" + tiff(6, big_endian=False))
    out += seg(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
    out += seg(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"fake-icc-profile")
    out += seg(0xE2, b"MPF\x00" + b"II*\x00\x08\x00\x00\x00")
    out += seg(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x08GPS here")
    out += seg(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x00")
    out += seg(0xFE, b"shot at 52.5N 13.4E")
    out += seg(0xDB, b"\x00" + bytes([1] * 64))
    out += seg(0xC0, b"\x08" + struct.pack(">HH", 8, 16) + b"\x01" + b"\x01\x11\x00")
    # DC table 0: one code of length 1 for category 0; AC table 0: one code of length 1 for EOB.
    out += seg(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00")
    out += seg(0xC4, b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00")
    out += seg(0xDA, b"\x01" + b"\x01\x00" + b"\x00\x3f\x00")
    out += b"\x0f"  # two blocks: DC 0, EOB, DC 0, EOB = 0000, padded with ones
    out += b"\xff\xd9"
    out += b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*GPS"  # a second picture after the end
    return out


def chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png():
    """2 x 3 RGB PNG with text, time, EXIF and a private chunk."""
    raw = b"".join(b"\x00" + bytes([40 * y, 80, 160, 200, 40 * y, 10]) for y in range(3))
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 3, 8, 2, 0, 0, 0))
    out += chunk(b"gAMA", struct.pack(">I", 45455))
    out += chunk(b"eXIf", tiff(6, big_endian=True))
    out += chunk(b"tEXt", b"Comment\x00shot at 52.5N 13.4E")
    out += chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP)
    out += chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))
    out += chunk(b"IDAT", zlib.compress(raw, 9))
    out += chunk(b"tIME", struct.pack(">HBBBBB", 2026, 5, 1, 12, 0, 0))
    out += chunk(b"prVt", b"GPS private data")
    out += chunk(b"IEND", b"")
    out += b"trailing GPS bytes"
    return out


def riff_chunk(kind, payload):
    return kind + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)


def webp():
    """1 x 1 lossy WebP (extended format) with EXIF, XMP and an unknown odd-sized chunk."""
    vp8 = bytes.fromhex("3001009d012a010001000ec0fe25a400037000000000")
    flags = 0x08 | 0x04  # EXIF, XMP
    vp8x = bytes([flags, 0, 0, 0]) + (0).to_bytes(3, "little") + (0).to_bytes(3, "little")
    body = b"WEBP"
    body += riff_chunk(b"VP8X", vp8x)
    body += riff_chunk(b"VP8 ", vp8)
    body += riff_chunk(b"ZZZZ", b"odd")
    body += riff_chunk(b"EXIF", tiff(3, big_endian=False))
    body += riff_chunk(b"XMP ", XMP)
    return b"RIFF" + struct.pack("<I", len(body)) + body + b"after the RIFF: GPS"


def sub_blocks(data):
    out = b""
    for i in range(0, len(data), 255):
        part = data[i : i + 255]
        out += bytes([len(part)]) + part
    return out + b"\x00"


def gif():
    """3 x 2 logical screen, one 1 x 1 frame; looping, a comment, XMP and plain text."""
    out = b"GIF89a" + struct.pack("<HH", 3, 2) + b"\x80\x00\x00" + b"\xff\xff\xff\x00\x00\x00"
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    out += b"\x21\xfe" + sub_blocks(b"shot at 52.5N 13.4E")
    out += b"\x21\xff\x0bXMP DataXMP" + sub_blocks(XMP)
    out += b"\x21\xf9\x04\x01\x00\x00\x00\x00"
    out += b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00"
    out += b"\x02\x02\x44\x01\x00"
    out += b"\x21\x01\x0c" + bytes(12) + sub_blocks(b"GPS text")
    out += b"\x3b" + b"trailing GPS"
    return out


for name, data in [("photo.jpg", jpeg()), ("photo.png", png()), ("photo.webp", webp()), ("photo.gif", gif())]:
    assert len(data) < 4096
    with open(name, "wb") as f:
        f.write(data)
