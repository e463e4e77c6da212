"""The accounts page: quota, the jurisdiction's accounts, a new account with errors
said at the field."""

from __future__ import annotations

import pytest
from sqlmodel import select

from node.models import User
from schemas.enums import Role
from schemas.identifiers import make_uscc
from tests.node.factories import make_user
from tests.node.web.support import csrf_of, login


@pytest.fixture
def admin(client, session):
    user = make_user(session, Role.PROVINCIAL_ADMIN, "150000")
    login(client, user.username)
    return client


def test_the_administrator_creates_a_county_regulator(admin, session):
    page = admin.get("/accounts")
    assert "承包单位账号配额" in page.text and '<label for="f-username">' in page.text
    token = csrf_of(admin, "/accounts")
    done = admin.post(
        "/accounts",
        data={
            "csrf_token": token,
            "username": "xinchengqu-reviewer",
            "display_name": "新城区审核员",
            "role": "county_regulator",
            "division_code": "150102",
            "password": "Initial-Pass-2026",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    user = session.exec(select(User).where(User.username == "xinchengqu-reviewer")).one()
    assert user.must_change_password and user.role == "county_regulator"
    assert "xinchengqu-reviewer" in admin.get("/accounts").text


def test_a_weak_password_and_a_bad_user_name_are_said_at_their_fields(admin):
    token = csrf_of(admin, "/accounts")
    bad_name = admin.post(
        "/accounts",
        data={
            "csrf_token": token,
            "username": "有 空格",
            "display_name": "x",
            "role": "county_regulator",
            "division_code": "150102",
            "password": "Initial-Pass-2026",
        },
    )
    assert bad_name.status_code == 422 and 'id="f-username-err1"' in bad_name.text
    weak = admin.post(
        "/accounts",
        data={
            "csrf_token": token,
            "username": "weak-one",
            "display_name": "x",
            "role": "county_regulator",
            "division_code": "150102",
            "password": "short",
        },
    )
    assert weak.status_code == 422
    assert "密码" in weak.text and 'value="short"' not in weak.text


def test_a_county_regulator_gives_a_contractor_its_account(client, session):
    regulator = make_user(session, Role.COUNTY_REGULATOR, "150102")
    login(client, regulator.username)
    page = client.get("/accounts")
    assert '<option value="county_regulator"' not in page.text, "regulators make contractors only"
    token = csrf_of(client, "/accounts")
    uscc = make_uscc("150102", "77000001")
    done = client.post(
        "/accounts",
        data={
            "csrf_token": token,
            "username": "hengxin",
            "display_name": "恒信矿山",
            "role": "contractor",
            "division_code": "150102",
            "password": "Initial-Pass-2026",
            "contractor.uscc": uscc,
            "contractor.name": "内蒙古恒信矿山工程有限公司",
            "contractor.central_soe": "false",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert uscc in client.get("/accounts").text
