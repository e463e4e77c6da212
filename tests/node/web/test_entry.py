"""The regulator's entry pages: an accident, published on entry, grade derived."""

from __future__ import annotations

import pytest
from sqlmodel import select

from node.models import Record
from schemas.enums import RecordKind, Role
from tests.node.entry.conftest import accident_form, penalty_form
from tests.node.factories import make_user
from tests.node.web.support import csrf_of, form_fields, login


@pytest.fixture
def regulator(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    login(client, user.username)
    return client


def _fields(body: dict) -> dict:
    fields: dict = form_fields({k: v for k, v in body.items() if k != "categories"})
    fields["categories"] = [str(c) for c in body.get("categories", [])]
    fields["occurred_at"] = "2026-05-14T09:30"  # as a datetime-local input sends it
    return fields


def test_an_accident_is_entered_and_published_with_its_categories(regulator, session, contractor):
    page = regulator.get("/entry/accident")
    assert 'type="checkbox" name="categories" value="11"' in page.text
    assert "冒顶片帮" in page.text and 'type="datetime-local"' in page.text
    token = csrf_of(regulator, "/entry/accident")
    done = regulator.post(
        "/entry/accident",
        data={**_fields(accident_form(contractor)), "csrf_token": token, "action": "enter"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    record = session.exec(select(Record).where(Record.kind == RecordKind.ACCIDENT)).one()
    assert record.state == "approved" and record.entered_by_regulator
    shown = regulator.get(done.headers["location"])
    assert "已录入并公示" in shown.text
    assert "物体打击、冒顶片帮" in shown.text


def test_an_accident_without_a_category_is_refused_at_the_checkboxes(regulator, contractor):
    token = csrf_of(regulator, "/entry/accident")
    response = regulator.post(
        "/entry/accident",
        data={**_fields(accident_form(contractor, categories=[])), "csrf_token": token},
    )
    assert response.status_code == 422
    assert 'id="f-categories-err1"' in response.text


def test_a_contractor_cannot_open_the_entry_pages(client, session, contractor):
    user = make_user(session, Role.CONTRACTOR, "150102", contractor=contractor)
    login(client, user.username)
    assert client.get("/entry/accident").status_code == 403


def test_a_penalty_is_entered(regulator, session, contractor):
    token = csrf_of(regulator, "/entry/reward-penalty")
    done = regulator.post(
        "/entry/reward-penalty",
        data={**form_fields(penalty_form(contractor)), "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert "处罚" in regulator.get(done.headers["location"]).text
