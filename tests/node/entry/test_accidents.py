"""Accidents entered by regulators: published on entry, corrected by new versions."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from node.entry import service
from node.errors import InvalidInput
from node.models import AuditEvent, Record, RecordVersion
from node.principal import Actor
from schemas.enums import RecordKind, Role
from tests.node.entry.conftest import accident_form
from tests.node.factories import (
    NOW,
    make_contractor,
    make_user,
    project_department,
    token_for,
)


def _counts(session) -> tuple[int, int, int]:
    return (
        session.exec(select(func.count()).select_from(Record)).one(),
        session.exec(select(func.count()).select_from(RecordVersion)).one(),
        session.exec(select(func.count()).select_from(AuditEvent)).one(),
    )


def enter(client, headers, form):
    response = client.post("/api/v1/accidents", headers=headers, json=form)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_entered_accident_is_published_at_once(client, session, contractor, county_headers):
    body = enter(client, county_headers, accident_form(contractor))
    assert body["kind"] == "accident" and body["entered_by_regulator"] is True
    assert body["state"] == "approved"
    assert body["current_version_no"] == 1 and body["latest_version_no"] == 1
    assert body["published_at"] == "2026-06-15T02:00:00Z"
    assert body["grade"] == "general" and body["grade_label"] == "一般"
    assert body["contractor_uscc"] == contractor.uscc
    assert body["current"]["review_division"] == "150102"
    assert body["current"]["data"]["categories"] == [1, 11]
    assert body["current"]["decided_at"] == "2026-06-15T02:00:00Z"

    row = session.get(Record, uuid.UUID(body["id"]))
    session.refresh(row)
    assert (row.county_code, row.deaths, str(row.event_on)) == ("150102", 1, "2026-05-14")
    assert row.created_by is not None
    event = session.exec(select(AuditEvent).where(AuditEvent.entity_id == body["id"])).one()
    assert event.action == "entry.accident_entered"
    assert event.detail == {
        "version": 1,
        "contractor_id": str(contractor.id),
        "division": "150102",
        "grade": "general",
    }
    # Nothing waits for review: the county's queue stays empty.
    assert client.get("/api/v1/review/queue", headers=county_headers).json()["total"] == 0


@pytest.mark.parametrize(
    ("deaths", "serious", "loss_yuan", "grade", "label"),
    [
        (2, 9, 9_999_999, "general", "一般"),
        (3, 0, 0, "larger", "较大"),
        (0, 10, 0, "larger", "较大"),
        (0, 0, 10_000_000, "larger", "较大"),
        (9, 49, 49_999_999, "larger", "较大"),
        (10, 0, 0, "major", "重大"),
        (0, 0, 50_000_000, "major", "重大"),
        (30, 0, 0, "especially_major", "特别重大"),
        (0, 100, 0, "especially_major", "特别重大"),
    ],
)
def test_the_grade_is_derived_at_the_boundaries(
    client, session, contractor, county_headers, deaths, serious, loss_yuan, grade, label
):
    form = accident_form(
        contractor, deaths=deaths, serious_injuries=serious, direct_loss_yuan=loss_yuan
    )
    body = enter(client, county_headers, form)
    assert (body["grade"], body["grade_label"]) == (grade, label)
    row = session.get(Record, uuid.UUID(body["id"]))
    session.refresh(row)
    assert row.grade == grade


def test_the_grade_cannot_be_typed(client, contractor, county_headers):
    refused = client.post(
        "/api/v1/accidents",
        headers=county_headers,
        json=accident_form(contractor, grade="general", deaths=5),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "grade"


def test_categories_are_multi_select_and_duplicates_are_refused(
    client, session, contractor, county_headers
):
    body = enter(client, county_headers, accident_form(contractor, categories=[19, 8, 15]))
    assert body["current"]["data"]["categories"] == [8, 15, 19]
    before = _counts(session)
    for categories, rule in (([11, 11], "categories_unique"), ([], None), ([21], None)):
        refused = client.post(
            "/api/v1/accidents",
            headers=county_headers,
            json=accident_form(contractor, categories=categories),
        )
        assert refused.status_code == 422, categories
        error = refused.json()["errors"][0]
        assert error["field"].startswith("categories")
        if rule:
            assert error["rule"] == rule
    assert _counts(session) == before


def test_an_accident_in_the_future_of_the_injected_clock_is_refused(
    client, session, contractor, county_headers
):
    # The clock is fixed at 2026-06-15 10:00 Beijing time: half an hour later is the future,
    # whatever the machine's own clock says.
    before = _counts(session)
    refused = client.post(
        "/api/v1/accidents",
        headers=county_headers,
        json=accident_form(contractor, occurred_at="2026-06-15T10:30:00+08:00"),
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("occurred_at", "datetime_in_future")
    assert _counts(session) == before
    earlier = enter(
        client, county_headers, accident_form(contractor, occurred_at="2026-06-15T09:30:00")
    )
    # A time without an offset is Beijing time; it is stored with its offset.
    assert earlier["current"]["data"]["occurred_at"] == "2026-06-15T09:30:00+08:00"


def test_the_service_judges_the_future_by_the_actors_clock(session, contractor):
    regulator = make_user(session, Role.COUNTY_REGULATOR, "150102")
    actor = Actor(
        user_id=regulator.id,
        username=regulator.username,
        role=regulator.role,
        division_code="150102",
        contractor_id=None,
        client_address=None,
        now=NOW,
    )
    with pytest.raises(InvalidInput) as refused:
        service.enter(
            session,
            actor,
            RecordKind.ACCIDENT,
            accident_form(contractor, occurred_at="2026-06-15T02:00:01Z"),
        )
    assert refused.value.extra["errors"][0]["rule"] == "datetime_in_future"
    record = service.enter(
        session,
        actor,
        RecordKind.ACCIDENT,
        accident_form(contractor, occurred_at="2026-06-14T17:00:00Z"),
    )
    # 17:00 UTC on the 14th is 01:00 on the 15th in Beijing: the accident's date in China.
    assert str(record.event_on) == "2026-06-15"


def test_a_correction_is_a_new_published_version_and_keeps_the_first(
    client, session, contractor, county_headers
):
    first = enter(client, county_headers, accident_form(contractor))
    corrected = client.put(
        f"/api/v1/accidents/{first['id']}",
        headers=county_headers,
        json=accident_form(contractor, deaths=3, categories=[11], correction_reason="经复核更正"),
    )
    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert body["state"] == "approved"
    assert body["current_version_no"] == 2 and body["latest_version_no"] == 2
    assert body["grade"] == "larger"
    assert [(v["version_no"], v["state"]) for v in body["history"]] == [
        (1, "approved"),
        (2, "approved"),
    ]
    assert body["history"][0]["data"]["deaths"] == 1
    assert body["current"]["data"]["deaths"] == 3
    version_1 = client.get(f"/api/v1/filings/{first['id']}/versions/1", headers=county_headers)
    assert version_1.json()["data"]["categories"] == [1, 11]

    row = session.get(Record, uuid.UUID(first["id"]))
    session.refresh(row)
    assert (row.grade, row.deaths) == ("larger", 3)
    events = session.exec(
        select(AuditEvent).where(AuditEvent.entity_id == first["id"]).order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["entry.accident_entered", "entry.accident_corrected"]
    assert events[1].detail == {
        "version": 2,
        "previous_version": 1,
        "fields": ["categories", "deaths"],
        "reason": "经复核更正",
    }
    assert body["history"][0]["correction_reason"] is None
    assert body["current"]["correction_reason"] == "经复核更正"

    # The same correction again changes nothing: no third version, no audit event.
    before = _counts(session)
    again = client.put(
        f"/api/v1/accidents/{first['id']}",
        headers=county_headers,
        json=accident_form(contractor, deaths=3, categories=[11], correction_reason="经复核更正"),
    )
    assert again.status_code == 200 and again.json()["latest_version_no"] == 2
    assert _counts(session) == before

    # Version 1 is locked in the database as well.
    with pytest.raises(DBAPIError, match="approved and locked"), session.begin_nested():
        session.execute(
            text("UPDATE record_version SET data = '{}' WHERE record_id = :id AND version_no = 1"),
            {"id": first["id"]},
        )


def test_a_correction_needs_a_reason(client, session, contractor, county_headers):
    first = enter(client, county_headers, accident_form(contractor))
    before = _counts(session)
    missing = client.put(
        f"/api/v1/accidents/{first['id']}",
        headers=county_headers,
        json=accident_form(contractor, deaths=3),
    )
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["correction_reason"]
    blank = client.put(
        f"/api/v1/accidents/{first['id']}",
        headers=county_headers,
        json=accident_form(contractor, deaths=3, correction_reason="  "),
    )
    assert blank.status_code == 422 and blank.json()["error"] == "reason_required"
    assert blank.json()["field"] == "correction_reason"
    assert "更正须填写理由" in blank.json()["detail"]
    assert _counts(session) == before


def test_corrections_stay_with_the_entering_authority(
    client, session, contractor, county_headers, other_county_headers, province_headers
):
    by_province = enter(client, province_headers, accident_form(contractor))
    assert by_province["current"]["review_division"] == "150000"
    # The county sees the accident in its county, but a provincial investigation is the
    # province's to correct.
    refused = client.put(
        f"/api/v1/accidents/{by_province['id']}",
        headers=county_headers,
        json=accident_form(contractor, deaths=2, correction_reason="经复核更正"),
    )
    assert refused.status_code == 403 and refused.json()["error"] == "not_your_entry"

    by_county = enter(client, county_headers, accident_form(contractor))
    unseen = client.put(
        f"/api/v1/accidents/{by_county['id']}",
        headers=other_county_headers,
        json=accident_form(contractor, deaths=2, correction_reason="经复核更正"),
    )
    assert unseen.status_code == 404
    upward = client.put(
        f"/api/v1/accidents/{by_county['id']}",
        headers=province_headers,
        json=accident_form(contractor, deaths=2, correction_reason="经复核更正"),
    )
    assert upward.status_code == 200, upward.text
    # The record stays the county's: its division does not move up with the correction.
    assert upward.json()["current"]["review_division"] == "150102"
    # Nor can a correction move the accident out of the owner's county.
    moved = client.put(
        f"/api/v1/accidents/{by_county['id']}",
        headers=province_headers,
        json=accident_form(contractor, county="150103", correction_reason="经复核更正"),
    )
    assert moved.status_code == 403 and moved.json()["error"] == "outside_jurisdiction"
    assert moved.json()["field"] == "county_code"


def test_an_accident_outside_the_jurisdiction_is_refused(
    client, session, contractor, other_county_headers, city_headers
):
    before = _counts(session)
    refused = client.post(
        "/api/v1/accidents",
        headers=other_county_headers,
        json=accident_form(contractor, county="150102"),
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "outside_jurisdiction"
    assert refused.json()["field"] == "county_code"
    assert _counts(session) == before
    other_city = client.post(
        "/api/v1/accidents",
        headers=city_headers,
        json=accident_form(contractor, county="150206"),
    )
    assert other_city.status_code == 403
    assert _counts(session) == before
    assert enter(client, city_headers, accident_form(contractor, county="150102"))


def test_contractors_cannot_enter_but_read_their_own(
    client, session, contractor, contractor_headers, county_headers
):
    before = _counts(session)
    refused = client.post(
        "/api/v1/accidents", headers=contractor_headers, json=accident_form(contractor)
    )
    assert refused.status_code == 403 and refused.json()["error"] == "role_not_allowed"
    assert _counts(session) == before

    own = enter(client, county_headers, accident_form(contractor))
    enter(client, county_headers, accident_form(make_contractor(session)))
    listed = client.get("/api/v1/accidents", headers=contractor_headers)
    assert listed.status_code == 200, listed.text
    assert [i["id"] for i in listed.json()["items"]] == [own["id"]]
    detail = client.get(f"/api/v1/accidents/{own['id']}", headers=contractor_headers)
    assert detail.status_code == 200 and detail.json()["grade"] == "general"
    change = client.put(
        f"/api/v1/accidents/{own['id']}",
        headers=contractor_headers,
        json=accident_form(contractor, deaths=0, correction_reason="经复核更正"),
    )
    assert change.status_code == 403
    # Nor through the filing workflow: a regulator's entry is not the contractor's to edit.
    patch = client.patch(
        f"/api/v1/filings/{own['id']}", headers=contractor_headers, json={"deaths": 0}
    )
    assert patch.status_code == 403 and patch.json()["error"] == "not_editable"
    assert (
        client.get("/api/v1/accidents/report-to-licensing-authority", headers=contractor_headers)
    ).status_code == 403
    stranger = token_for(session, make_user(session, Role.CONTRACTOR))
    assert client.get(f"/api/v1/accidents/{own['id']}", headers=stranger).status_code == 404
    assert client.get("/api/v1/accidents", headers=stranger).json()["total"] == 0


def test_an_unknown_contractor_is_refused_naming_the_field(client, session, county_headers):
    stranger = make_contractor(session)
    form = accident_form(stranger)
    session.delete(stranger)  # a valid USCC that this node does not know
    session.flush()
    before = _counts(session)
    refused = client.post("/api/v1/accidents", headers=county_headers, json=form)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "contractor_unknown" and body["field"] == "contractor_uscc"
    assert (
        form["contractor_uscc"] in body["detail"] and "filed a project department" in body["detail"]
    )
    assert _counts(session) == before


def test_the_project_department_must_be_the_contractors(
    client, session, contractor, contractor_headers, county_headers
):
    created = client.post(
        "/api/v1/filings/project-departments",
        headers=contractor_headers,
        json=project_department(),
    )
    department_id = created.json()["id"]
    before = _counts(session)
    draft = client.post(
        "/api/v1/accidents",
        headers=county_headers,
        json=accident_form(contractor, project_department_id=department_id),
    )
    assert draft.status_code == 422 and draft.json()["error"] == "project_department_mismatch"
    assert _counts(session) == before

    client.post(f"/api/v1/filings/{department_id}/submit", headers=contractor_headers)
    client.post(
        f"/api/v1/review/{department_id}/approve", headers=county_headers, json={"version_no": 1}
    )
    other = make_contractor(session)
    before = _counts(session)
    for form in (
        accident_form(other, project_department_id=department_id),
        accident_form(contractor, project_department_id=str(uuid.uuid4())),
    ):
        refused = client.post("/api/v1/accidents", headers=county_headers, json=form)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "project_department_mismatch"
        assert refused.json()["field"] == "project_department_id"
    assert _counts(session) == before

    linked = enter(
        client, county_headers, accident_form(contractor, project_department_id=department_id)
    )
    row = session.get(Record, uuid.UUID(linked["id"]))
    session.refresh(row)
    assert str(row.related_record_id) == department_id


def test_the_list_filters_and_pages_newest_first(
    client, session, contractor, county_headers, city_headers, province_headers
):
    other = make_contractor(session)
    old = enter(
        client,
        county_headers,
        accident_form(contractor, occurred_at="2025-03-01T08:00:00+08:00", categories=[3]),
    )
    larger = enter(
        client,
        county_headers,
        accident_form(contractor, occurred_at="2026-02-01T08:00:00+08:00", deaths=4),
    )
    elsewhere = enter(
        client,
        province_headers,
        accident_form(other, county="150206", occurred_at="2026-05-01T08:00:00+08:00"),
    )

    def ids(headers, **params):
        response = client.get("/api/v1/accidents", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert ids(province_headers) == [elsewhere["id"], larger["id"], old["id"]]
    assert ids(county_headers) == [larger["id"], old["id"]]
    assert ids(city_headers) == [larger["id"], old["id"]]
    assert ids(province_headers, grade="larger") == [larger["id"]]
    assert ids(province_headers, category=11) == [elsewhere["id"], larger["id"]]
    assert ids(province_headers, category=[1, 11]) == [elsewhere["id"], larger["id"]]
    assert ids(province_headers, category=[3, 11]) == []
    assert ids(province_headers, occurred_from="2026-01-01") == [elsewhere["id"], larger["id"]]
    assert ids(province_headers, occurred_to="2026-02-01") == [larger["id"], old["id"]]
    assert ids(province_headers, contractor_uscc=other.uscc) == [elsewhere["id"]]
    assert ids(province_headers, county_code="150206") == [elsewhere["id"]]

    page = client.get(
        "/api/v1/accidents", headers=province_headers, params={"page": 2, "page_size": 2}
    ).json()
    assert page["total"] == 3 and [i["id"] for i in page["items"]] == [old["id"]]
    item = client.get("/api/v1/accidents", headers=county_headers).json()["items"][0]
    assert item["grade"] == "larger" and item["grade_label"] == "较大"
    assert item["category_labels"] == ["物体打击", "冒顶片帮"]
    assert item["occurred_at"] == "2026-02-01T08:00:00+08:00"

    bad = client.get(
        "/api/v1/accidents",
        headers=province_headers,
        params={"occurred_from": "2026-03-01", "occurred_to": "2026-01-01"},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "occurred_to"
