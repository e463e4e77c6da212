"""Content decides the type: genuine files pass, anything dressed up as one does not."""

from __future__ import annotations

import pytest

from node.attachments.sniff import require_allowed_type, sniff_media_type
from node.errors import UnsupportedMediaType
from tests.node.attachments.samples import EXE, HTML, ZIP, jpeg_bytes, pdf_bytes, png_bytes


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (pdf_bytes(), "application/pdf"),
        (pdf_bytes(size=200_000), "application/pdf"),
        (png_bytes(), "image/png"),
        (png_bytes(width=64, height=64, shade=7), "image/png"),
        (jpeg_bytes(), "image/jpeg"),
        (jpeg_bytes() + b"\x00\x00", "image/jpeg"),  # scanner padding after EOI
    ],
)
def test_genuine_files_are_recognised(data, media_type):
    assert sniff_media_type(data) == media_type
    assert require_allowed_type(data) == media_type


_PDF = pdf_bytes()
_PNG = png_bytes()
_JPEG = jpeg_bytes()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(EXE, id="windows-executable"),
        pytest.param(HTML, id="html"),
        pytest.param(ZIP, id="zip"),
        pytest.param(b"%PDF-1.4\n" + b"\x00garbage" * 10, id="pdf-header-on-garbage"),
        pytest.param(b"%PDF-1.7\n%%EOF\n", id="pdf-header-and-eof-only"),
        pytest.param(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n" + EXE, id="pdf-header-glued-to-exe"),
        pytest.param(_PDF[:-200], id="pdf-truncated"),
        pytest.param(_PDF.replace(b"startxref\n", b"startxref\n9999999"), id="pdf-xref-outside"),
        pytest.param(b"\n" + _PDF, id="pdf-header-not-first"),
        pytest.param(_PNG[:-12], id="png-without-iend"),
        pytest.param(_PNG[:8] + EXE, id="png-signature-on-exe"),
        pytest.param(_PNG[:29] + b"\x00\x00\x00\x00" + _PNG[33:], id="png-bad-ihdr-crc"),
        pytest.param(_JPEG[:-2], id="jpeg-without-eoi"),
        pytest.param(b"\xff\xd8\xff\xe0\xff\xd9", id="jpeg-markers-only"),
        pytest.param(b"\xff\xd8\xff\xe0" + HTML + b"\xff\xd9", id="jpeg-header-on-html"),
    ],
)
def test_anything_else_is_refused(data):
    assert sniff_media_type(data) is None
    with pytest.raises(UnsupportedMediaType) as refused:
        require_allowed_type(data)
    assert refused.value.code == "attachment_type_not_allowed"
    assert refused.value.status_code == 415
    zh, _, en = refused.value.detail.partition(" / ")
    for name in ("PDF", "JPEG", "PNG"):
        assert name in zh and name in en
    assert refused.value.extra["allowed"] == ["application/pdf", "image/jpeg", "image/png"]
