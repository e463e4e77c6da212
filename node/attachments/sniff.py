"""What a file is, decided by its bytes alone.

The name a user gives a file and the Content-Type its browser declares are both
chosen by the sender; a renamed executable or an HTML page must not be stored
and later served as a "PDF". Each accepted type is checked at both ends, so a
known header glued onto anything else, or a truncated upload, is refused too.
"""

from __future__ import annotations

import re
import struct
import zlib

from node.errors import UnsupportedMediaType

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
ALLOWED_MEDIA_TYPES = (PDF, JPEG, PNG)

# Readers look for %%EOF within the last 1024 bytes; so do we.
_PDF_TAIL_BYTES = 1024
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
# Bounded repetitions keep the search linear on hostile input (a long run of digits).
_PDF_OBJECT = re.compile(rb"(?<![0-9])\d{1,10}[ \t\r\n]{1,8}\d{1,5}[ \t\r\n]{1,8}obj\b")
_PDF_STARTXREF = re.compile(rb"startxref[ \t\r\n]{1,8}(\d{1,12})[ \t\r\n]{1,8}%%EOF")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # zero length, type, CRC of "IEND"


def _is_pdf(data: bytes) -> bool:
    if not _PDF_HEADER.match(data):
        return False
    # The cross-reference pointer must close the file and point inside it.
    pointers = list(_PDF_STARTXREF.finditer(data[-_PDF_TAIL_BYTES:]))
    if not pointers or not 0 < int(pointers[-1].group(1)) < len(data):
        return False
    return _PDF_OBJECT.search(data) is not None


def _is_jpeg(data: bytes) -> bool:
    # SOI, then a marker (APPn, DQT, SOF, COM …) whose segment length fits the file,
    # a start-of-scan somewhere, and EOI at the end (scanners may pad with NULs).
    if len(data) < 8 or data[:3] != b"\xff\xd8\xff" or not 0xC0 <= data[3] <= 0xFE:
        return False
    (segment_length,) = struct.unpack(">H", data[4:6])
    if segment_length < 2 or 4 + segment_length > len(data) - 2:
        return False
    return b"\xff\xda" in data and data.rstrip(b"\x00").endswith(b"\xff\xd9")


def _is_png(data: bytes) -> bool:
    # Signature, then IHDR as the first chunk (13 bytes, valid CRC, non-zero size),
    # image data, and IEND as the last chunk.
    if len(data) < 8 + 25 + 12 or data[:8] != _PNG_SIGNATURE:
        return False
    length, chunk_type = struct.unpack(">I4s", data[8:16])
    if length != 13 or chunk_type != b"IHDR":
        return False
    width, height = struct.unpack(">II", data[16:24])
    (crc,) = struct.unpack(">I", data[29:33])
    if width == 0 or height == 0 or zlib.crc32(data[12:29]) != crc:
        return False
    return b"IDAT" in data and data.endswith(_PNG_IEND)


def sniff_media_type(data: bytes) -> str | None:
    """``application/pdf``, ``image/jpeg`` or ``image/png`` if the bytes are one of
    those, else None."""
    if _is_pdf(data):
        return PDF
    if _is_jpeg(data):
        return JPEG
    if _is_png(data):
        return PNG
    return None


def require_allowed_type(data: bytes) -> str:
    """The media type of ``data``, or 415 ``attachment_type_not_allowed``."""
    media_type = sniff_media_type(data)
    if media_type is None:
        raise UnsupportedMediaType(
            "仅接受 PDF、JPEG 或 PNG 格式的扫描件（按文件内容判断，与文件名无关）",
            "only PDF, JPEG or PNG scans are accepted (judged by the file's content, not its name)",
            code="attachment_type_not_allowed",
            allowed=list(ALLOWED_MEDIA_TYPES),
        )
    return media_type
