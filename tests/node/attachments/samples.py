"""Small but genuine PDF, PNG and JPEG files, built byte by byte."""

from __future__ import annotations

import struct
import zlib


def pdf_bytes(note: str = "minefed", *, size: int | None = None) -> bytes:
    """A one-page PDF with a correct cross-reference table; ``note`` varies the
    content (and so the digest); ``size`` pads it to exactly that many bytes."""

    def build(padding: int) -> bytes:
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ]
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        out += b"% " + note.encode() + b"\n"
        if padding:
            out += b"%" + b"x" * padding + b"\n"
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
        for offset in offsets:
            out += f"{offset:010d} 00000 n \n".encode()
        out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
        out += f"startxref\n{xref}\n%%EOF\n".encode()
        return bytes(out)

    if size is None:
        return build(0)
    padding = size - len(build(0)) - 2  # "%" and "\n" around the padding
    for _ in range(5):  # the offsets' digit count may shift by a byte or two
        data = build(padding)
        if len(data) == size:
            return data
        padding += size - len(data)
    raise AssertionError(f"could not build a PDF of exactly {size} bytes")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int = 3, height: int = 2, shade: int = 0) -> bytes:
    """An RGB PNG of ``width`` × ``height`` pixels of one colour."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes([shade, 128, 255]) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_bytes(comment: str = "minefed") -> bytes:
    """A decodable 8×8 grey baseline JPEG: one block, DC and AC codes of one bit each."""
    text = comment.encode()
    huffman_counts = bytes([1] + [0] * 15)
    return b"".join(
        [
            b"\xff\xd8",  # SOI
            b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",  # APP0
            b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text,  # COM
            b"\xff\xdb\x00\x43\x00" + bytes([1] * 64),  # DQT
            b"\xff\xc0\x00\x0b\x08\x00\x08\x00\x08\x01\x01\x11\x00",  # SOF0, 8×8, 1 component
            b"\xff\xc4\x00\x14\x00" + huffman_counts + b"\x00",  # DHT, DC table 0
            b"\xff\xc4\x00\x14\x10" + huffman_counts + b"\x00",  # DHT, AC table 0
            b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00",  # SOS
            b"\x3f",  # DC diff 0, EOB, padded with ones
            b"\xff\xd9",  # EOI
        ]
    )


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"PK\x05\x06" + b"\x00" * 18
