"""The filing workflow over HTTP: contractor files, regulators decide."""

from __future__ import annotations

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from node.models import AuditEvent, Record, RecordVersion
from tests.node.factories import (
    basic_info,
    licence,
    make_contractor,
    project_department,
)


def file_department(client, headers, **over):
    created = client.post(
        "/api/v1/filings/project-departments", headers=headers, json=project_department(**over)
    )
    assert created.status_code == 201, created.text
    return created.json()


def submit(client, headers, record_id):
    response = client.post(f"/api/v1/filings/{record_id}/submit", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_project_department_returned_fixed_and_approved(
    client, session, contractor_headers, county_headers
):
    record = file_department(client, contractor_headers)
    assert record["state"] == "draft" and record["latest_version_no"] == 1
    assert record["current_version_no"] is None
    submitted = submit(client, contractor_headers, record["id"])
    assert submitted["state"] == "submitted"
    assert submitted["latest"]["review_division"] == "150102"

    queue = client.get("/api/v1/review/queue", headers=county_headers).json()
    assert [i["id"] for i in queue["items"]] == [record["id"]]

    returned = client.post(
        f"/api/v1/review/{record['id']}/return",
        headers=county_headers,
        json={"version_no": 1, "reason": "负责人身份证号与书面报告不一致"},
    )
    assert returned.status_code == 200, returned.text
    seen = client.get(f"/api/v1/filings/{record['id']}", headers=contractor_headers).json()
    assert seen["state"] == "returned"
    assert seen["latest"]["return_reason"] == "负责人身份证号与书面报告不一致"

    edited = client.patch(
        f"/api/v1/filings/{record['id']}",
        headers=contractor_headers,
        json={"work_content": "井下采矿及支护"},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["latest_version_no"] == 2
    assert edited.json()["state"] == "draft"
    submit(client, contractor_headers, record["id"])

    detail = client.get(f"/api/v1/review/{record['id']}", headers=county_headers).json()
    assert {
        "field": "work_content",
        "change": "added",
        "before": None,
        "after": "井下采矿及支护",
    } in detail["changes"] or detail["changes"]

    approved = client.post(
        f"/api/v1/review/{record['id']}/approve", headers=county_headers, json={"version_no": 2}
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["state"] == "approved" and body["current_version_no"] == 2
    assert body["published_at"] is not None
    assert [v["state"] for v in body["history"]] == ["returned", "approved"]

    actions = session.exec(
        select(AuditEvent.action)
        .where(AuditEvent.entity_id == record["id"])
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "filing.draft_created",
        "filing.submitted",
        "review.returned",
        "filing.new_version",
        "filing.submitted",
        "review.approved",
    ]


def test_the_approved_version_stays_current_while_an_edit_is_reviewed(
    client, session, contractor_headers, county_headers
):
    record = file_department(client, contractor_headers)
    submit(client, contractor_headers, record["id"])
    client.post(
        f"/api/v1/review/{record['id']}/approve", headers=county_headers, json={"version_no": 1}
    )
    edit = client.patch(
        f"/api/v1/filings/{record['id']}",
        headers=contractor_headers,
        json={"project_name": "某铁矿二期井下采矿工程项目部"},
    )
    assert edit.json()["current_version_no"] == 1
    assert edit.json()["latest_version_no"] == 2
    submit(client, contractor_headers, record["id"])
    detail = client.get(f"/api/v1/review/{record['id']}", headers=county_headers).json()
    assert detail["record"]["current"]["data"]["project_name"] == "某铁矿井下采矿工程项目部"
    assert detail["changes"] == [
        {
            "field": "project_name",
            "change": "changed",
            "before": "某铁矿井下采矿工程项目部",
            "after": "某铁矿二期井下采矿工程项目部",
        }
    ]
    row = session.get(Record, record["id"])
    session.refresh(row)
    assert row.title == "某铁矿井下采矿工程项目部"  # index columns follow the version in force


def test_editing_while_under_review_is_a_409_and_withdraw_reopens(client, contractor_headers):
    record = file_department(client, contractor_headers)
    submit(client, contractor_headers, record["id"])
    blocked = client.patch(
        f"/api/v1/filings/{record['id']}", headers=contractor_headers, json={"work_content": "x"}
    )
    assert blocked.status_code == 409
    assert blocked.json()["error"] == "under_review"
    withdrawn = client.post(f"/api/v1/filings/{record['id']}/withdraw", headers=contractor_headers)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"] == "draft"
    assert (
        client.patch(
            f"/api/v1/filings/{record['id']}",
            headers=contractor_headers,
            json={"work_content": "井下支护"},
        ).status_code
        == 200
    )


def test_delete_draft(client, session, contractor_headers, county_headers):
    record = file_department(client, contractor_headers)
    assert (
        client.delete(
            f"/api/v1/filings/{record['id']}/draft", headers=contractor_headers
        ).status_code
        == 204
    )
    assert (
        client.get(f"/api/v1/filings/{record['id']}", headers=contractor_headers).status_code == 404
    )

    kept = file_department(client, contractor_headers)
    submit(client, contractor_headers, kept["id"])
    client.post(
        f"/api/v1/review/{kept['id']}/approve", headers=county_headers, json={"version_no": 1}
    )
    client.patch(
        f"/api/v1/filings/{kept['id']}", headers=contractor_headers, json={"work_content": "y"}
    )
    assert (
        client.delete(f"/api/v1/filings/{kept['id']}/draft", headers=contractor_headers).status_code
        == 204
    )
    after = client.get(f"/api/v1/filings/{kept['id']}", headers=contractor_headers).json()
    assert after["state"] == "approved" and after["latest_version_no"] == 1
    not_draft = client.delete(f"/api/v1/filings/{kept['id']}/draft", headers=contractor_headers)
    assert not_draft.status_code == 409


def test_decisions_check_state_and_version(client, contractor_headers, county_headers):
    record = file_department(client, contractor_headers)
    early = client.post(
        f"/api/v1/review/{record['id']}/approve", headers=county_headers, json={"version_no": 1}
    )
    assert early.status_code == 409 and early.json()["error"] == "not_submitted"
    submit(client, contractor_headers, record["id"])
    stale = client.post(
        f"/api/v1/review/{record['id']}/approve", headers=county_headers, json={"version_no": 7}
    )
    assert stale.status_code == 409 and stale.json()["error"] == "version_mismatch"
    no_reason = client.post(
        f"/api/v1/review/{record['id']}/return",
        headers=county_headers,
        json={"version_no": 1, "reason": ""},
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"


def test_approved_versions_are_locked_in_the_database(
    client, session, contractor_headers, county_headers
):
    record = file_department(client, contractor_headers)
    submit(client, contractor_headers, record["id"])
    client.post(
        f"/api/v1/review/{record['id']}/approve", headers=county_headers, json={"version_no": 1}
    )
    with pytest.raises(DBAPIError, match="approved and locked"), session.begin_nested():
        session.execute(
            text("UPDATE record_version SET data = '{}' WHERE record_id = :id"),
            {"id": record["id"]},
        )


def test_basic_info_one_per_contractor_and_derived_department_count(
    client, session, contractor, contractor_headers, county_headers, province_headers
):
    created = client.post(
        "/api/v1/filings/basic-info", headers=contractor_headers, json=basic_info(contractor)
    )
    assert created.status_code == 201, created.text
    again = client.post(
        "/api/v1/filings/basic-info", headers=contractor_headers, json=basic_info(contractor)
    )
    assert again.status_code == 409 and again.json()["error"] == "basic_info_exists"
    submit(client, contractor_headers, created.json()["id"])
    # Basic info is reviewed in the home province, not by a county.
    by_county = client.post(
        f"/api/v1/review/{created.json()['id']}/approve",
        headers=county_headers,
        json={"version_no": 1},
    )
    assert by_county.status_code == 403
    ok = client.post(
        f"/api/v1/review/{created.json()['id']}/approve",
        headers=province_headers,
        json={"version_no": 1},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["project_department_count"] == 0
    for _ in range(2):
        dept = file_department(client, contractor_headers)
        submit(client, contractor_headers, dept["id"])
        client.post(
            f"/api/v1/review/{dept['id']}/approve", headers=county_headers, json={"version_no": 1}
        )
    file_department(client, contractor_headers)  # a draft does not count
    info = client.get(f"/api/v1/filings/{created.json()['id']}", headers=contractor_headers).json()
    assert info["project_department_count"] == 2


def test_basic_info_must_be_the_contractors_own_uscc(
    client, session, contractor, contractor_headers
):
    other = make_contractor(session)
    response = client.post(
        "/api/v1/filings/basic-info",
        headers=contractor_headers,
        json=basic_info(contractor, uscc=other.uscc),
    )
    assert response.status_code == 422
    assert response.json()["error"] == "uscc_not_own"
    assert response.json()["field"] == "uscc"


def test_licence_filed_and_listed(client, contractor_headers, province_headers):
    created = client.post("/api/v1/filings/licences", headers=contractor_headers, json=licence())
    assert created.status_code == 201, created.text
    submit(client, contractor_headers, created.json()["id"])
    client.post(
        f"/api/v1/review/{created.json()['id']}/approve",
        headers=province_headers,
        json={"version_no": 1},
    )
    mine = client.get(
        "/api/v1/filings", headers=contractor_headers, params={"kind": "licence"}
    ).json()
    assert mine["total"] == 1
    assert mine["items"][0]["state"] == "approved"
    assert mine["items"][0]["title"] == "(蒙)FM安许证字〔2024〕0001"


def test_an_incomplete_draft_saves_but_does_not_submit(client, session, contractor_headers):
    created = client.post(
        "/api/v1/filings/project-departments",
        headers=contractor_headers,
        json={"project_name": "未填完的项目部"},
    )
    assert created.status_code == 201, created.text
    refused = client.post(
        f"/api/v1/filings/{created.json()['id']}/submit", headers=contractor_headers
    )
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert {"county_code", "head", "start_month"} <= fields
    assert all("/" in e["message"] for e in refused.json()["errors"])
    assert (
        session.get(
            RecordVersion,
            session.exec(
                select(RecordVersion.id).where(RecordVersion.record_id == created.json()["id"])
            ).one(),
        ).state
        == "draft"
    )


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        (
            {"head": {"name": "张三", "resident_id": "150102198001010010", "phone": "13800000000"}},
            "head.resident_id",
            "resident_id_check_digit",
        ),
        ({"contracting_mode": "subletting"}, "contracting_mode", "enum"),
        (
            {"start_month": "2027-01", "expected_end_month": "2026-01"},
            "expected_end_month",
            "date_order",
        ),
        ({"county_code": "150203"}, "county_code", None),
        ({"unknown_field": 1}, "unknown_field", "extra_forbidden"),
        ({"start_month": "2026-13"}, "start_month", None),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(
    client, session, contractor_headers, change, field, rule
):
    before_records = session.exec(select(func.count()).select_from(Record)).one()
    before_audit = session.exec(select(func.count()).select_from(AuditEvent)).one()
    response = client.post(
        "/api/v1/filings/project-departments",
        headers=contractor_headers,
        json=project_department(**change),
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    hit = [e for e in body["errors"] if e["field"] == field]
    assert hit, body["errors"]
    if rule:
        assert hit[0]["rule"] == rule
    assert " / " in hit[0]["message"]
    assert session.exec(select(func.count()).select_from(Record)).one() == before_records
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == before_audit
