"""The other contractor forms (basic info, licence, reward/penalty), drawn from the
schemas' titles, with the same inline errors."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from node.models import Record
from schemas.enums import RecordKind, Role
from tests.node.factories import basic_info, licence, make_user, reward_penalty
from tests.node.web.support import csrf_of, form_fields, login


@pytest.fixture
def logged_in(client, session, contractor):
    user = make_user(session, Role.CONTRACTOR, "150102", contractor=contractor)
    login(client, user.username)
    return client


def _post(client, slug: str, body: dict, action: str = "submit"):
    token = csrf_of(client, f"/filings/new/{slug}")
    return client.post(
        f"/filings/new/{slug}",
        data={**form_fields(body), "csrf_token": token, "action": action},
        follow_redirects=False,
    )


def test_basic_info_starts_from_what_the_node_knows_and_submits(logged_in, session, contractor):
    page = logged_in.get("/filings/new/basic-info")
    assert f'value="{contractor.uscc}"' in page.text
    assert '<label for="f-avg_headcount">年平均从业总人数' in page.text
    response = _post(logged_in, "basic-info", basic_info(contractor))
    assert response.status_code == 303, response.text
    record = session.exec(select(Record).where(Record.kind == RecordKind.BASIC_INFO)).one()
    assert record.state == "submitted"
    shown = logged_in.get(response.headers["location"])
    assert "HSE、ISO 45001" in shown.text and "安全生产标准化二级企业" in shown.text
    # One per company: a second "new" goes to the one there is.
    again = _post(logged_in, "basic-info", basic_info(contractor), action="save")
    assert again.status_code == 303
    assert again.headers["location"] == f"/filings/{record.id}/edit"


def test_a_headcount_that_is_not_a_number_is_said_at_the_field(logged_in, contractor):
    response = _post(logged_in, "basic-info", basic_info(contractor, avg_headcount="三百"))
    assert response.status_code == 422
    assert 'id="f-avg_headcount-err1"' in response.text
    assert "年平均从业总人数：应为整数" in response.text


def test_licence_dates_out_of_order_are_refused_at_the_end_date(logged_in):
    body = licence(valid_from="2027-03-01", valid_to="2024-02-28")
    response = _post(logged_in, "licence", body, action="save")
    assert response.status_code == 422
    err = re.search(r'id="f-valid_to-err1">(.*?)</p>', response.text, re.S)
    assert err and "有效期" in err.group(1)


def test_a_reward_is_filed_with_the_own_code_only(logged_in, contractor, session):
    ok = _post(logged_in, "reward-penalty", reward_penalty(contractor))
    assert ok.status_code == 303, ok.text
    other = reward_penalty(contractor, contractor_uscc="91150102MA0N1A2B3W")
    refused = _post(logged_in, "reward-penalty", other, action="save")
    assert refused.status_code == 422
    assert "只能填报本单位的奖惩情况" in refused.text
    assert len(session.exec(select(Record)).all()) == 1
