"""Who reads and who deletes: the owner; regulators through records they can see."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlmodel import select

from node.models import Attachment, AuditEvent
from schemas.enums import Role
from tests.node.attachments.conftest import counts, stored_files, uploaded
from tests.node.attachments.samples import jpeg_bytes, pdf_bytes, png_bytes
from tests.node.factories import licence, make_user, project_department, token_for


def file_department(client, headers, refs, *, submit=True):
    created = client.post(
        "/api/v1/filings/project-departments",
        headers=headers,
        json=project_department("150102", attachments=refs),
    )
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    if submit:
        submitted = client.post(f"/api/v1/filings/{record_id}/submit", headers=headers)
        assert submitted.status_code == 200, submitted.text
    return record_id


def read_both(client, headers, attachment_id):
    meta = client.get(f"/api/v1/attachments/{attachment_id}", headers=headers)
    body = client.get(f"/api/v1/attachments/{attachment_id}/content", headers=headers)
    assert meta.status_code == body.status_code
    return body


def downloads(session, attachment_id):
    return session.exec(
        select(AuditEvent).where(
            AuditEvent.entity_id == attachment_id, AuditEvent.action == "attachment.downloaded"
        )
    ).all()


def test_the_owner_reads_metadata_and_content(client, session, owner):
    data = jpeg_bytes("licence")
    ref = uploaded(client, owner, data, filename="安全生产许可证 2024.jpg")
    meta = client.get(f"/api/v1/attachments/{ref['id']}", headers=owner)
    assert meta.status_code == 200
    assert meta.json()["ref"] == ref
    assert meta.json()["purpose_label"] == "安全生产许可证扫描件"

    content = client.get(f"/api/v1/attachments/{ref['id']}/content", headers=owner)
    assert content.status_code == 200
    assert content.content == data
    assert content.headers["content-type"] == "image/jpeg"
    assert content.headers["content-length"] == str(len(data))
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''" + quote("安全生产许可证 2024.jpg", safe="")
    )
    assert downloads(session, ref["id"]) == []  # only regulators' downloads are audited


def test_another_contractor_gets_404_for_everything(client, session, settings, owner, stranger):
    ref = uploaded(client, owner)
    before = counts(session, settings)
    for response in (
        client.get(f"/api/v1/attachments/{ref['id']}", headers=stranger),
        client.get(f"/api/v1/attachments/{ref['id']}/content", headers=stranger),
        client.delete(f"/api/v1/attachments/{ref['id']}", headers=stranger),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "attachment_not_found"
    assert counts(session, settings) == before
    missing = client.get("/api/v1/attachments/00000000-0000-4000-8000-000000000000", headers=owner)
    assert missing.status_code == 404 and missing.json()["error"] == "attachment_not_found"


def test_a_regulator_reads_what_a_visible_record_handed_in_references(
    client, session, owner, county, other_county, province
):
    data = pdf_bytes("department")
    ref = uploaded(client, owner, data)
    unrelated = uploaded(client, owner, png_bytes())

    # Referenced by a draft only: not handed in, not readable.
    record_id = file_department(client, owner, [ref], submit=False)
    assert read_both(client, county, ref["id"]).status_code == 404

    assert client.post(f"/api/v1/filings/{record_id}/submit", headers=owner).status_code == 200
    body = read_both(client, county, ref["id"])
    assert body.status_code == 200 and body.content == data
    assert read_both(client, province, ref["id"]).status_code == 200
    # Another county cannot see the record, so not its attachment either.
    assert read_both(client, other_county, ref["id"]).status_code == 404
    # An attachment no record references stays the contractor's own.
    assert read_both(client, county, unrelated["id"]).status_code == 404

    events = downloads(session, ref["id"])
    assert len(events) == 2
    assert {e.detail["record_id"] for e in events} == {record_id}
    assert {e.actor_role for e in events} == {"county_regulator", "provincial_regulator"}

    # Returned for changes: the reviewer can still open what was handed in.
    returned = client.post(
        f"/api/v1/review/{record_id}/return",
        headers=county,
        json={"version_no": 1, "reason": "扫描件不清晰"},
    )
    assert returned.status_code == 200, returned.text
    assert read_both(client, county, ref["id"]).status_code == 200


def test_licence_scans_are_for_the_regulators_of_the_province(client, session, owner, province):
    ref = uploaded(client, owner)
    created = client.post(
        "/api/v1/filings/licences", headers=owner, json=licence(attachments=[ref])
    )
    assert created.status_code == 201, created.text
    client.post(f"/api/v1/filings/{created.json()['id']}/submit", headers=owner)
    assert read_both(client, province, ref["id"]).status_code == 200
    elsewhere = token_for(session, make_user(session, Role.PROVINCIAL_REGULATOR, "140000"))
    assert read_both(client, elsewhere, ref["id"]).status_code == 404
    # The bureau's roles exist at the hub only: a node refuses them outright.
    national = token_for(session, make_user(session, Role.NATIONAL_ADMIN, "000000"))
    refused = read_both(client, national, ref["id"])
    assert (refused.status_code, refused.json()["error"]) == (403, "role_not_allowed")


def test_the_owner_deletes_an_unused_attachment(client, session, settings, owner):
    ref = uploaded(client, owner)
    assert len(stored_files(settings)) == 1
    assert client.delete(f"/api/v1/attachments/{ref['id']}", headers=owner).status_code == 204
    assert session.get(Attachment, ref["id"]) is None
    assert stored_files(settings) == []
    event = session.exec(
        select(AuditEvent).where(
            AuditEvent.entity_id == ref["id"], AuditEvent.action == "attachment.deleted"
        )
    ).one()
    assert event.detail["content_removed"] is True
    assert client.delete(f"/api/v1/attachments/{ref['id']}", headers=owner).status_code == 404


def test_shared_content_stays_until_its_last_row_goes(client, session, settings, owner, stranger):
    data = pdf_bytes("shared")
    mine = uploaded(client, owner, data)
    theirs = uploaded(client, stranger, data)
    assert client.delete(f"/api/v1/attachments/{mine['id']}", headers=owner).status_code == 204
    assert len(stored_files(settings)) == 1
    kept = client.get(f"/api/v1/attachments/{theirs['id']}/content", headers=stranger)
    assert kept.content == data
    assert client.delete(f"/api/v1/attachments/{theirs['id']}", headers=stranger).status_code == 204
    assert stored_files(settings) == []


def test_an_attachment_handed_in_or_approved_cannot_be_deleted(
    client, session, settings, owner, county
):
    ref = uploaded(client, owner)
    record_id = file_department(client, owner, [ref])
    before = counts(session, settings)
    refused = client.delete(f"/api/v1/attachments/{ref['id']}", headers=owner)
    assert refused.status_code == 409
    assert refused.json()["error"] == "attachment_in_use"
    assert refused.json()["record_ids"] == [record_id]
    assert counts(session, settings) == before

    approved = client.post(
        f"/api/v1/review/{record_id}/approve", headers=county, json={"version_no": 1}
    )
    assert approved.status_code == 200, approved.text
    assert client.delete(f"/api/v1/attachments/{ref['id']}", headers=owner).status_code == 409
    # A new draft without the scan does not free it: the approved version still needs it.
    edited = client.patch(f"/api/v1/filings/{record_id}", headers=owner, json={"attachments": []})
    assert edited.status_code == 200, edited.text
    assert client.delete(f"/api/v1/attachments/{ref['id']}", headers=owner).status_code == 409
    assert session.get(Attachment, ref["id"]) is not None
    assert len(stored_files(settings)) == 1


@pytest.mark.parametrize("withdraw", [False, True])
def test_an_attachment_referenced_only_by_drafts_can_be_deleted(client, session, owner, withdraw):
    ref = uploaded(client, owner)
    record_id = file_department(client, owner, [ref], submit=withdraw)
    if withdraw:
        assert (
            client.post(f"/api/v1/filings/{record_id}/withdraw", headers=owner).status_code == 200
        )
    assert client.delete(f"/api/v1/attachments/{ref['id']}", headers=owner).status_code == 204


def test_regulators_do_not_delete(client, session, settings, owner, county):
    ref = uploaded(client, owner)
    file_department(client, owner, [ref])
    before = counts(session, settings)
    refused = client.delete(f"/api/v1/attachments/{ref['id']}", headers=county)
    assert refused.status_code == 403 and refused.json()["error"] == "role_not_allowed"
    assert counts(session, settings) == before


def test_content_lost_from_storage_is_a_clear_404(client, session, settings, owner):
    ref = uploaded(client, owner)
    for path in stored_files(settings):
        path.unlink()
    response = client.get(f"/api/v1/attachments/{ref['id']}/content", headers=owner)
    assert response.status_code == 404
    assert response.json()["error"] == "attachment_content_missing"
