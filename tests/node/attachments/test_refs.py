"""Drafts refer to uploaded scans: each ref must exist, be the contractor's own and match."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from node.models import AuditEvent, Record, RecordVersion
from tests.node.attachments.conftest import uploaded
from tests.node.attachments.samples import jpeg_bytes, pdf_bytes, png_bytes
from tests.node.factories import licence, new_id, project_department


def totals(session):
    return (
        session.exec(select(func.count()).select_from(Record)).one(),
        session.exec(select(func.count()).select_from(RecordVersion)).one(),
        session.exec(select(func.count()).select_from(AuditEvent)).one(),
    )


def refused_with(response, expected):
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    assert {e["field"]: e["rule"] for e in body["errors"]} == expected
    assert all(" / " in e["message"] for e in body["errors"])


def test_a_licence_with_matching_refs_is_filed_and_submitted(client, owner):
    refs = [
        uploaded(client, owner, pdf_bytes("licence")),
        uploaded(client, owner, png_bytes(), purpose="qualification_scan"),
    ]
    created = client.post("/api/v1/filings/licences", headers=owner, json=licence(attachments=refs))
    assert created.status_code == 201, created.text
    assert created.json()["latest"]["data"]["attachments"] == refs
    submitted = client.post(f"/api/v1/filings/{created.json()['id']}/submit", headers=owner)
    assert submitted.status_code == 200, submitted.text


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"id": "unknown"}, "attachment_unknown"),
        ({"sha256": "0" * 64}, "attachment_mismatch"),
        ({"size_bytes": 1}, "attachment_mismatch"),
        ({"media_type": "image/png"}, "attachment_mismatch"),
    ],
)
def test_a_bad_ref_is_422_naming_it_and_nothing_is_filed(client, session, owner, change, rule):
    good = uploaded(client, owner, pdf_bytes("good"))
    bad = uploaded(client, owner, jpeg_bytes())
    if change.get("id") == "unknown":
        change = {"id": new_id()}
    before = totals(session)
    response = client.post(
        "/api/v1/filings/licences",
        headers=owner,
        json=licence(attachments=[good, {**bad, **change}]),
    )
    refused_with(response, {"attachments.1": rule})
    assert totals(session) == before


def test_another_contractors_attachment_is_unknown(client, session, owner, stranger):
    theirs = uploaded(client, stranger)
    before = totals(session)
    response = client.post(
        "/api/v1/filings/project-departments",
        headers=owner,
        json=project_department(attachments=[theirs]),
    )
    refused_with(response, {"attachments.0": "attachment_unknown"})
    assert totals(session) == before


def test_an_edit_with_a_bad_ref_changes_nothing(client, session, owner):
    ref = uploaded(client, owner)
    created = client.post(
        "/api/v1/filings/licences", headers=owner, json=licence(attachments=[ref])
    )
    record_id = created.json()["id"]
    before = totals(session)
    response = client.patch(
        f"/api/v1/filings/{record_id}",
        headers=owner,
        json={"attachments": [ref, {**ref, "sha256": "f" * 64}]},
    )
    refused_with(response, {"attachments.1": "attachment_mismatch"})
    assert totals(session) == before
    latest = client.get(f"/api/v1/filings/{record_id}", headers=owner).json()["latest"]
    assert latest["data"]["attachments"] == [ref]


def test_a_draft_whose_scan_was_deleted_does_not_submit(client, session, owner):
    ref = uploaded(client, owner)
    created = client.post(
        "/api/v1/filings/project-departments",
        headers=owner,
        json=project_department(attachments=[ref]),
    )
    record_id = created.json()["id"]
    assert client.delete(f"/api/v1/attachments/{ref['id']}", headers=owner).status_code == 204
    response = client.post(f"/api/v1/filings/{record_id}/submit", headers=owner)
    refused_with(response, {"attachments.0": "attachment_unknown"})
    assert client.get(f"/api/v1/filings/{record_id}", headers=owner).json()["state"] == "draft"
