"""Scans on a filing's page: upload into the draft, refuse what is not a scan, remove."""

from __future__ import annotations

import re

import pytest

from schemas.enums import Role
from tests.node.attachments.samples import png_bytes
from tests.node.factories import make_user, project_department
from tests.node.web.support import csrf_of, form_fields, login


@pytest.fixture
def draft(client, session, contractor):
    user = make_user(session, Role.CONTRACTOR, "150102", contractor=contractor)
    login(client, user.username)
    token = csrf_of(client, "/filings/new/project-department")
    created = client.post(
        "/filings/new/project-department",
        data={**form_fields(project_department()), "csrf_token": token, "action": "save"},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    found = re.search(r"/filings/([0-9a-f-]{36})", created.headers["location"])
    assert found
    return found.group(1), token


def test_a_scan_is_uploaded_into_the_draft_and_can_be_removed(client, draft):
    record_id, token = draft
    page = client.get(f"/filings/{record_id}")
    assert 'enctype="multipart/form-data"' in page.text and '<label for="f-file">' in page.text
    uploaded = client.post(
        f"/filings/{record_id}/attachments",
        data={"csrf_token": token, "purpose": "other"},
        files={"file": ("协议.png", png_bytes(), "image/png")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    page = client.get(uploaded.headers["location"])
    assert "协议.png" in page.text and "附件已上传" in page.text
    attachment_id = re.search(r"/api/v1/attachments/([0-9a-f-]{36})/content", page.text)
    assert attachment_id
    content = client.get(f"/api/v1/attachments/{attachment_id.group(1)}/content")
    assert content.status_code == 200 and content.content == png_bytes()

    removed = client.post(
        f"/filings/{record_id}/attachments/{attachment_id.group(1)}/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert "协议.png" not in client.get(f"/filings/{record_id}").text


def test_a_file_that_is_not_a_scan_is_refused_on_the_page(client, draft):
    record_id, token = draft
    refused = client.post(
        f"/filings/{record_id}/attachments",
        data={"csrf_token": token, "purpose": "other"},
        files={"file": ("notes.png", b"just text, not an image", "image/png")},
    )
    assert refused.status_code == 415
    assert 'id="attach-err"' in refused.text
    assert "notes.png" not in client.get(f"/filings/{record_id}").text
