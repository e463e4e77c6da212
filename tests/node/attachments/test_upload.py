"""Uploading scans: typed by content, size-limited, hashed, deduplicated, audited."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import select

from node.attachments.service import sanitise_filename
from node.models import Attachment, AuditEvent
from schemas.forms.common import AttachmentRef
from tests.node.attachments.conftest import counts, stored_files, upload, uploaded
from tests.node.attachments.samples import EXE, HTML, ZIP, jpeg_bytes, pdf_bytes, png_bytes

LIMIT = 256 * 1024  # settings.max_attachment_bytes in the tests


@pytest.mark.parametrize(
    ("data", "filename", "declared", "media_type"),
    [
        (pdf_bytes(), "安全生产许可证.pdf", "application/pdf", "application/pdf"),
        (jpeg_bytes(), "资质证书.jpg", "image/jpeg", "image/jpeg"),
        (png_bytes(), "法人证书.png", "image/png", "image/png"),
        # Name and declared type are ignored: the content decides.
        (png_bytes(shade=9), "scan.pdf", "application/pdf", "image/png"),
        (pdf_bytes("x"), "scan", "application/octet-stream", "application/pdf"),
    ],
)
def test_upload_returns_the_ref_to_put_into_a_draft(
    client, session, settings, contractor, owner, data, filename, declared, media_type
):
    response = upload(client, owner, data, filename=filename, content_type=declared)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {
        "id": body["id"],
        "sha256": hashlib.sha256(data).hexdigest(),
        "filename": filename,
        "media_type": media_type,
        "size_bytes": len(data),
        "purpose": "safety_licence_scan",
    }
    AttachmentRef.model_validate(body)  # usable as is in a draft

    row = session.get(Attachment, body["id"])
    assert row.contractor_id == contractor.id
    assert row.storage_key == f"{body['sha256'][:2]}/{body['sha256'][2:4]}/{body['sha256']}"
    assert (settings.storage_dir / row.storage_key).read_bytes() == data
    event = session.exec(select(AuditEvent).where(AuditEvent.entity_id == body["id"])).one()
    assert event.action == "attachment.uploaded"
    assert event.detail["sha256"] == body["sha256"]
    assert event.client_address == "10.1.2.3"


def test_identical_uploads_share_one_stored_file(client, session, settings, owner, stranger):
    data = pdf_bytes("same scan")
    first = uploaded(client, owner, data, filename="a.pdf")
    second = uploaded(client, owner, data, filename="b.pdf", purpose="qualification_scan")
    third = uploaded(client, stranger, data)
    assert len({first["id"], second["id"], third["id"]}) == 3
    assert first["sha256"] == second["sha256"] == third["sha256"]
    keys = {session.get(Attachment, a["id"]).storage_key for a in (first, second, third)}
    assert len(keys) == 1
    assert len(stored_files(settings)) == 1
    assert uploaded(client, owner, pdf_bytes("another"))["sha256"] != first["sha256"]
    assert len(stored_files(settings)) == 2


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("evil.pdf", EXE),
        ("invoice.pdf", HTML),
        ("scan.png", ZIP),
        ("empty.pdf", b""),
        ("glued.pdf", b"%PDF-1.4\n" + EXE),
        ("cut.png", png_bytes()[:-12]),
    ],
)
def test_a_file_that_is_not_pdf_jpeg_or_png_is_refused_and_nothing_stored(
    client, session, settings, owner, filename, data
):
    before = counts(session, settings)
    response = upload(client, owner, data, filename=filename)
    assert response.status_code == 415, response.text
    body = response.json()
    assert body["error"] == "attachment_type_not_allowed"
    assert "PDF、JPEG 或 PNG" in body["detail"] and "PDF, JPEG or PNG" in body["detail"]
    assert counts(session, settings) == before


def test_the_limit_is_inclusive(client, owner):
    exactly = pdf_bytes(size=LIMIT)
    assert len(exactly) == LIMIT
    assert uploaded(client, owner, exactly)["size_bytes"] == LIMIT


def test_one_byte_over_the_limit_is_413_and_nothing_stored(client, session, settings, owner):
    before = counts(session, settings)
    response = upload(client, owner, pdf_bytes(size=LIMIT + 1))
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "attachment_too_large"
    assert "0.25 MB" in response.json()["detail"]
    assert response.json()["limit_bytes"] == LIMIT
    assert counts(session, settings) == before


def _multipart(file_bytes_total: int):
    """A multipart body sent chunked (no Content-Length), ``file_bytes_total`` of file."""
    yield (
        b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nother\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n"
    )
    for _ in range(file_bytes_total // 16384):
        yield b"%" * 16384
    yield b"\r\n--b--\r\n"


def test_a_far_too_large_body_is_refused_before_it_is_read(client, session, settings, owner):
    before = counts(session, settings)
    # Refused before authentication, even: by the declared length ...
    declared = upload(client, {}, b"%" * (4 * LIMIT))
    assert declared.status_code == 413
    assert declared.json()["error"] == "attachment_too_large"
    # ... or, for a chunked body, as soon as too much has arrived.
    chunked = client.post(
        "/api/v1/attachments",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
        content=_multipart(4 * LIMIT),
    )
    assert chunked.status_code == 413
    assert chunked.json()["error"] == "attachment_too_large"
    # A body within the allowance reaches the endpoint (and needs a login).
    assert upload(client, {}, pdf_bytes()).status_code == 401
    assert counts(session, settings) == before


@pytest.mark.parametrize(
    ("files", "data", "field", "rule"),
    [
        (None, {"purpose": "safety_licence_scan"}, "file", "missing"),
        ({"file": ("a.pdf", pdf_bytes(), "application/pdf")}, {}, "purpose", "missing"),
        (
            {"file": ("a.pdf", pdf_bytes(), "application/pdf")},
            {"purpose": "selfie"},
            "purpose",
            "enum",
        ),
    ],
)
def test_missing_file_or_bad_purpose_is_422_naming_the_field(
    client, session, settings, owner, files, data, field, rule
):
    before = counts(session, settings)
    response = client.post("/api/v1/attachments", headers=owner, files=files, data=data)
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["rule"] for e in response.json()["errors"]}
    assert errors == {field: rule}
    assert counts(session, settings) == before


def test_only_contractors_upload(client, session, settings, county, province):
    before = counts(session, settings)
    for headers in (county, province):
        refused = upload(client, headers)
        assert refused.status_code == 403
        assert refused.json()["error"] == "role_not_allowed"
    assert upload(client, {}).status_code == 401
    assert counts(session, settings) == before


def test_the_display_name_is_sanitised(client, owner):
    # A Windows path, and a right-to-left override disguising the extension.
    named = uploaded(client, owner, jpeg_bytes(), filename="C:\\Users\\王工\\证书\u202egpj.exe.jpg")
    assert named["filename"] == "证书gpj.exe.jpg"
    unnamed = uploaded(client, owner, jpeg_bytes("2"), filename="../..")
    assert unnamed["filename"] == "attachment.jpg"
    long = uploaded(client, owner, png_bytes(shade=3), filename="许" * 300 + ".png")
    assert len(long["filename"]) == 200 and long["filename"].endswith("许.png")


def test_listing_my_attachments(client, owner, stranger):
    uploaded(client, owner, pdf_bytes("1"))
    uploaded(client, owner, png_bytes(), purpose="qualification_scan")
    uploaded(client, stranger, pdf_bytes("2"))
    mine = client.get("/api/v1/attachments", headers=owner).json()
    assert mine["total"] == 2
    assert {i["purpose_label"] for i in mine["items"]} == {
        "安全生产许可证扫描件",
        "施工资质证书扫描件",
    }
    only = client.get(
        "/api/v1/attachments", headers=owner, params={"purpose": "qualification_scan"}
    ).json()
    assert [i["media_type"] for i in only["items"]] == ["image/png"]
    assert only["items"][0]["ref"]["id"] == only["items"][0]["id"]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("营业执照.pdf", "营业执照.pdf"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("a\x00b\tc\nd\x7f.pdf", "abcd.pdf"),
        ("\u200b\u2028证书.pdf ", "证书.pdf"),
        ("  ", "attachment.pdf"),
        (None, "attachment.pdf"),
        ("x" * 300, "x" * 200),
        ("x" * 300 + ".verylongextension", "x" * 200),
    ],
)
def test_sanitise_filename(raw, shown):
    assert sanitise_filename(raw, "application/pdf") == shown
