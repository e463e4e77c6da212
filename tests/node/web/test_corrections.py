"""The regulator's correction pages: the list of entries with filters, the correction
form with a required reason and inline errors, the history with the reasons."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from node.models import AuditEvent, Record, RecordVersion
from schemas.enums import Role
from tests.node.entry.conftest import accident_form, penalty_form
from tests.node.factories import make_user
from tests.node.web.support import csrf_of, form_fields, login


@pytest.fixture
def regulator(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    login(client, user.username)
    return client


def _enter(client, path, form) -> str:
    headers = {"X-CSRF-Token": csrf_of(client, "/entries/accident")}
    response = client.post(path, json=form, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _fields(body: dict) -> dict:
    fields: dict = form_fields({k: v for k, v in body.items() if k != "categories"})
    fields["categories"] = [str(c) for c in body.get("categories", [])]
    fields["occurred_at"] = body["occurred_at"][:16]  # as a datetime-local input sends it
    return fields


def _versions(session, record_id: str) -> list[RecordVersion]:
    return list(
        session.exec(
            select(RecordVersion)
            .where(RecordVersion.record_id == uuid.UUID(record_id))
            .order_by(RecordVersion.version_no)
        )
    )


def test_the_list_filters_by_period_county_and_category(regulator, session, contractor):
    roof = _enter(regulator, "/api/v1/accidents", accident_form(contractor, categories=[11]))
    shock = _enter(
        regulator,
        "/api/v1/accidents",
        accident_form(contractor, categories=[5], occurred_at="2026-03-02T10:00:00+08:00"),
    )
    everything = regulator.get("/entries/accident")
    assert everything.status_code == 200
    assert "共 2 条" in everything.text
    assert f"/entries/accident/{roof}/correct" in everything.text
    assert "冒顶片帮" in everything.text and "触电" in everything.text

    by_category = regulator.get("/entries/accident", params={"category": "5"})
    assert "共 1 条" in by_category.text and shock in by_category.text
    assert roof not in by_category.text
    by_period = regulator.get(
        "/entries/accident", params={"from": "2026-05-01", "to": "2026-05-31"}
    )
    assert "共 1 条" in by_period.text and roof in by_period.text
    elsewhere = regulator.get("/entries/accident", params={"county": "150103"})
    assert "共 0 条" in elsewhere.text
    ignored = regulator.get("/entries/accident", params={"county": "15x", "from": "May"})
    assert "已忽略" in ignored.text and "共 2 条" in ignored.text


def test_the_list_shows_only_what_the_regulator_may_correct(client, session, contractor):
    county = make_user(session, Role.COUNTY_REGULATOR, "150102")
    province = make_user(session, Role.PROVINCIAL_REGULATOR, "150000")
    login(client, province.username)
    by_province = _enter(client, "/api/v1/accidents", accident_form(contractor))
    login(client, county.username)
    by_county = _enter(client, "/api/v1/accidents", accident_form(contractor))
    page = client.get("/entries/accident")
    assert by_county in page.text and by_province not in page.text
    # The province's entry is the province's to correct: no form, and no button on its page.
    assert client.get(f"/entries/accident/{by_province}/correct").status_code == 403
    assert "更正 / Correct" not in client.get(f"/filings/{by_province}").text
    assert "更正 / Correct" in client.get(f"/filings/{by_county}").text


def test_a_correction_needs_a_reason_and_shows_every_error_inline(regulator, session, contractor):
    record_id = _enter(regulator, "/api/v1/accidents", accident_form(contractor))
    form_url = f"/entries/accident/{record_id}/correct"
    page = regulator.get(form_url)
    assert page.status_code == 200
    assert 'value="2026-05-14T09:30"' in page.text  # the stored time, as the input shows it
    assert 'name="correction_reason"' in page.text and "第 1 版" in page.text
    assert "更正事故情况表" in page.text
    token = csrf_of(regulator, form_url)
    refused = regulator.post(
        form_url,
        data={
            **_fields(accident_form(contractor, deaths="-1")),
            "correction_reason": " ",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422
    assert 'id="f-correction_reason-err1"' in refused.text
    assert "更正须填写理由" in refused.text
    assert 'id="f-deaths-err1"' in refused.text
    assert 'value="-1"' in refused.text  # what was typed stays
    assert len(_versions(session, record_id)) == 1


def test_a_correction_is_a_new_version_with_its_reason_audited(regulator, session, contractor):
    record_id = _enter(regulator, "/api/v1/accidents", accident_form(contractor))
    form_url = f"/entries/accident/{record_id}/correct"
    token = csrf_of(regulator, form_url)
    done = regulator.post(
        form_url,
        data={
            **_fields(accident_form(contractor, deaths=3)),
            "correction_reason": "经复核，死亡人数为3人",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/filings/{record_id}?done=corrected"
    shown = regulator.get(done.headers["location"])
    assert "已更正并公示" in shown.text
    assert "更正理由：经复核，死亡人数为3人" in shown.text
    versions = _versions(session, record_id)
    assert [(v.version_no, v.state, v.data["deaths"]) for v in versions] == [
        (1, "approved", 1),
        (2, "approved", 3),
    ]
    assert versions[1].correction_reason == "经复核，死亡人数为3人"
    # The time went through the form unchanged: only deaths changed.
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "entry.accident_corrected")
    ).one()
    assert event.detail["fields"] == ["deaths"]
    assert event.detail["reason"] == "经复核，死亡人数为3人"
    record = session.get(Record, uuid.UUID(record_id))
    session.refresh(record)
    assert (record.grade, record.current_version_no) == ("larger", 2)


def test_a_penalty_is_listed_by_kind_and_corrected(regulator, session, contractor):
    penalty = _enter(regulator, "/api/v1/rewards-penalties/entered", penalty_form(contractor))
    listed = regulator.get("/entries/reward-penalty", params={"category": "penalty"})
    assert "共 1 条" in listed.text and penalty in listed.text
    assert "共 0 条" in regulator.get("/entries/reward-penalty?category=reward").text
    form_url = f"/entries/reward-penalty/{penalty}/correct"
    done = regulator.post(
        form_url,
        data={
            **form_fields(penalty_form(contractor, document_no="呼应急罚〔2026〕16号")),
            "correction_reason": "文书编号录入有误",
            "csrf_token": csrf_of(regulator, form_url),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert [v.data["document_no"] for v in _versions(session, penalty)] == [
        "呼应急罚〔2026〕15号",
        "呼应急罚〔2026〕16号",
    ]
