"""Rewards and penalties entered by regulators, apart from those contractors file."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlmodel import select

from node.models import AuditEvent, Record, RecordVersion
from tests.node.entry.conftest import penalty_form
from tests.node.factories import make_contractor, reward_penalty

ENTERED = "/api/v1/rewards-penalties/entered"


def _counts(session) -> tuple[int, int, int]:
    return (
        session.exec(select(func.count()).select_from(Record)).one(),
        session.exec(select(func.count()).select_from(RecordVersion)).one(),
        session.exec(select(func.count()).select_from(AuditEvent)).one(),
    )


def test_an_entered_penalty_is_published_and_corrected(
    client, session, contractor, county_headers, province_headers, contractor_headers
):
    created = client.post(ENTERED, headers=county_headers, json=penalty_form(contractor))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "reward_penalty" and body["entered_by_regulator"] is True
    assert (body["state"], body["current_version_no"]) == ("approved", 1)
    assert body["current"]["review_division"] == "150102"
    assert body["grade"] is None and body["title"] == "呼应急罚〔2026〕15号"

    # Any regulator of the province sees it; so does the contractor, read-only.
    assert client.get(f"{ENTERED}/{body['id']}", headers=province_headers).status_code == 200
    assert client.get(f"{ENTERED}/{body['id']}", headers=contractor_headers).status_code == 200
    refused = client.put(
        f"{ENTERED}/{body['id']}",
        headers=contractor_headers,
        json=penalty_form(contractor, description="无", correction_reason="更正"),
    )
    assert refused.status_code == 403
    patch = client.patch(
        f"/api/v1/filings/{body['id']}", headers=contractor_headers, json={"description": "无"}
    )
    assert patch.status_code == 403 and patch.json()["error"] == "not_editable"

    corrected = client.put(
        f"{ENTERED}/{body['id']}",
        headers=county_headers,
        json=penalty_form(
            contractor, document_no="呼应急罚〔2026〕16号", correction_reason="文书编号录入有误"
        ),
    )
    assert corrected.status_code == 200, corrected.text
    out = corrected.json()
    assert (out["current_version_no"], out["title"]) == (2, "呼应急罚〔2026〕16号")
    assert [v["state"] for v in out["history"]] == ["approved", "approved"]
    actions = session.exec(
        select(AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.entity_id == body["id"])
        .order_by(AuditEvent.id)
    ).all()
    assert [a for a, _ in actions] == [
        "entry.reward_penalty_entered",
        "entry.reward_penalty_corrected",
    ]
    assert actions[1][1]["fields"] == ["document_no"]


def test_entered_and_filed_rewards_are_kept_apart(
    client, session, contractor, contractor_headers, county_headers
):
    filed = client.post(
        "/api/v1/filings/rewards-penalties",
        headers=contractor_headers,
        json=reward_penalty(contractor),
    )
    assert filed.status_code == 201
    assert filed.json()["state"] == "draft" and filed.json()["entered_by_regulator"] is False
    # A contractor's filing is not a regulator's entry, so it cannot be "corrected" here.
    not_an_entry = client.put(
        f"{ENTERED}/{filed.json()['id']}",
        headers=county_headers,
        json=penalty_form(contractor, correction_reason="更正"),
    )
    assert not_an_entry.status_code == 404
    # And contractors enter nothing.
    refused = client.post(ENTERED, headers=contractor_headers, json=penalty_form(contractor))
    assert refused.status_code == 403


def test_unknown_or_out_of_province_contractors_are_refused(client, session, county_headers):
    elsewhere = make_contractor(session, province="110000")
    before = _counts(session)
    refused = client.post(ENTERED, headers=county_headers, json=penalty_form(elsewhere))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "contractor_unknown"
    assert refused.json()["field"] == "contractor_uscc"
    future = client.post(
        ENTERED,
        headers=county_headers,
        json=penalty_form(make_contractor(session), decided_on="2026-06-16"),
    )
    assert future.status_code == 422
    assert future.json()["errors"][0]["field"] == "decided_on"
    assert _counts(session) == before
    assert client.get(f"{ENTERED}/{uuid.uuid4()}", headers=county_headers).status_code == 404
