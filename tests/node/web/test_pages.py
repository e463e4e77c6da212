"""The node's pages over HTTP (in process): login, the contractor's project-department
form with inline errors, submit, return with a reason, fix, approve."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from node.models import Record
from schemas.enums import Role
from tests.node.factories import make_user, project_department
from tests.node.web.support import csrf_of, form_fields, login


@pytest.fixture
def contractor_user(session, contractor):
    return make_user(session, Role.CONTRACTOR, "150102", contractor=contractor)


@pytest.fixture
def county_user(session):
    return make_user(session, Role.COUNTY_REGULATOR, "150102")


@pytest.fixture
def regulator_client(app) -> Iterator[httpx.Client]:
    with TestClient(app, base_url="http://node.test", client=("10.1.2.4", 5000)) as c:
        yield c


def _record_id(location: str) -> str:
    found = re.search(r"/filings/([0-9a-f-]{36})", location)
    assert found, location
    return found.group(1)


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/filings", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/filings"
    page = client.get("/login?next=/filings")
    assert page.status_code == 200
    assert '<label for="username">' in page.text and '<label for="password">' in page.text
    assert 'lang="zh-CN"' in page.text


def test_a_wrong_password_is_said_plainly_and_a_right_one_opens_the_dashboard(
    client, contractor_user
):
    wrong = client.post("/login", data={"username": contractor_user.username, "password": "x"})
    assert wrong.status_code == 401
    assert "用户名或密码" in wrong.text
    assert "minefed_session" not in wrong.headers.get("set-cookie", "")
    ok = login(client, contractor_user.username)
    assert ok.headers["location"] == "/filings"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    dashboard = client.get("/filings")
    assert dashboard.status_code == 200
    assert "我的填报" in dashboard.text
    assert "no-store" in dashboard.headers["cache-control"]


def test_a_login_page_never_redirects_off_site(client, contractor_user):
    response = client.post(
        "/login",
        data={
            "username": contractor_user.username,
            "password": "Correct-Horse-9",
            "next": "//evil",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/filings"


def test_inline_errors_name_the_field_and_the_rule_and_nothing_is_saved(
    client, session, contractor_user
):
    login(client, contractor_user.username)
    token = csrf_of(client, "/filings/new/project-department")
    body = project_department()
    body["project_name"] = ""
    body["head"]["resident_id"] = "150102198001010000"  # wrong check digit
    response = client.post(
        "/filings/new/project-department",
        data={**form_fields(body), "csrf_token": token, "action": "submit"},
    )
    assert response.status_code == 422
    html = response.text
    assert 'class="error-summary"' in html and 'role="alert"' in html
    # Each error is next to its input, which points at it for screen readers.
    assert 'id="f-head-resident_id-err1"' in html
    assert 'aria-describedby="f-head-resident_id-hint f-head-resident_id-err1"' in html
    assert "公民身份号码" in html and "校验" in html
    assert 'id="f-project_name-err1"' in html
    # What was typed is kept.
    assert 'value="150102198001010000"' in html
    assert session.exec(select(Record)).all() == []


def test_a_cross_field_rule_is_shown_at_the_later_field(client, contractor_user):
    login(client, contractor_user.username)
    token = csrf_of(client, "/filings/new/project-department")
    body = project_department(expected_end_month="2025-01")
    response = client.post(
        "/filings/new/project-department",
        data={**form_fields(body), "csrf_token": token, "action": "save"},
    )
    assert response.status_code == 422
    assert 'id="f-expected_end_month-err1"' in response.text
    assert "进场年月不能晚于预计完工年月" in response.text


def test_a_form_post_without_the_csrf_token_is_refused(client, session, contractor_user):
    login(client, contractor_user.username)
    response = client.post(
        "/filings/new/project-department", data=form_fields(project_department())
    )
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert session.exec(select(Record)).all() == []


def test_a_contractor_cannot_open_the_review_queue(client, contractor_user):
    login(client, contractor_user.username)
    response = client.get("/review")
    assert response.status_code == 403
    assert "无权访问" in response.text


def test_file_submit_return_fix_approve(client, regulator_client, contractor_user, county_user):
    login(client, contractor_user.username)
    token = csrf_of(client, "/filings/new/project-department")
    body = project_department()
    created = client.post(
        "/filings/new/project-department",
        data={**form_fields(body), "csrf_token": token, "action": "submit"},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    record_id = _record_id(created.headers["location"])
    page = client.get(created.headers["location"])
    assert "已提交审核" in page.text and "待审核" in page.text

    login(regulator_client, county_user.username)
    queue = regulator_client.get("/review")
    assert f"/review/{record_id}" in queue.text
    filtered = regulator_client.get("/review", params={"kind": "licence"})
    assert f"/review/{record_id}" not in filtered.text
    detail = regulator_client.get(f"/review/{record_id}")
    assert "首次填报" in detail.text and body["head"]["resident_id"] in detail.text
    rtoken = csrf_of(regulator_client, f"/review/{record_id}")

    empty = regulator_client.post(
        f"/review/{record_id}/return", data={"csrf_token": rtoken, "version_no": "1", "reason": ""}
    )
    assert empty.status_code == 422 and "退回须填写理由" in empty.text
    reason = "应急预案备案号与书面报告不一致，请核对"
    returned = regulator_client.post(
        f"/review/{record_id}/return",
        data={"csrf_token": rtoken, "version_no": "1", "reason": reason},
        follow_redirects=False,
    )
    assert returned.status_code == 303

    dashboard = client.get("/filings")
    assert "被退回" in dashboard.text and reason in dashboard.text
    edit = client.get(f"/filings/{record_id}/edit")
    assert reason in edit.text
    fixed = client.post(
        f"/filings/{record_id}/edit",
        data={
            **form_fields({**body, "emergency_plan_no": "150102-2026-009"}),
            "csrf_token": token,
            "action": "submit",
        },
        follow_redirects=False,
    )
    assert fixed.status_code == 303, fixed.text

    detail = regulator_client.get(f"/review/{record_id}")
    assert "第 2 版" in detail.text
    # Nothing in force yet: the fix is shown against the returned version.
    assert "与第 1 版（已退回）相比的变化" in detail.text
    row = re.search(r"<th scope=\"row\">应急预案备案号</th>(.*?)</tr>", detail.text, re.S)
    assert row and "<del>150102-2026-001</del>" in row.group(1)
    assert "<ins>150102-2026-009</ins>" in row.group(1)
    approved = regulator_client.post(
        f"/review/{record_id}/approve",
        data={"csrf_token": rtoken, "version_no": "2"},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    page = client.get(f"/filings/{record_id}")
    assert "已通过" in page.text and "公示中：第 2 版" in page.text


def test_an_edit_of_a_published_record_shows_what_changed(
    client, regulator_client, contractor_user, county_user
):
    login(client, contractor_user.username)
    login(regulator_client, county_user.username)
    token = csrf_of(client, "/filings/new/project-department")
    rtoken = csrf_of(regulator_client, "/review")
    body = project_department()
    created = client.post(
        "/filings/new/project-department",
        data={**form_fields(body), "csrf_token": token, "action": "submit"},
        follow_redirects=False,
    )
    record_id = _record_id(created.headers["location"])
    regulator_client.post(
        f"/review/{record_id}/approve", data={"csrf_token": rtoken, "version_no": "1"}
    )
    client.post(
        f"/filings/{record_id}/edit",
        data={
            **form_fields({**body, "work_content": "井下采矿及充填"}),
            "csrf_token": token,
            "action": "submit",
        },
    )
    detail = regulator_client.get(f"/review/{record_id}")
    assert "与第 1 版（已通过）相比的变化" in detail.text
    row = re.search(r"<th scope=\"row\">主要工作内容</th>(.*?)</tr>", detail.text, re.S)
    assert row, "the changed field is a row of the diff"
    assert "<del>井下采矿、掘进及支护</del>" in row.group(1)
    assert "<ins>井下采矿及充填</ins>" in row.group(1)
    assert "项目名称</th>" not in detail.text.split("填报内容")[0], "unchanged fields stay out"


def test_an_initial_password_must_be_replaced_before_anything_else(client, session, contractor):
    user = make_user(session, Role.CONTRACTOR, "150102", contractor=contractor)
    user.must_change_password = True
    session.add(user)
    session.flush()
    assert login(client, user.username).headers["location"] == "/password"
    blocked = client.get("/filings", follow_redirects=False)
    assert blocked.status_code == 303 and blocked.headers["location"] == "/password"
    token = csrf_of(client, "/password")
    changed = client.post(
        "/password",
        data={
            "csrf_token": token,
            "old_password": "Correct-Horse-9",
            "new_password": "Brand-New-Pass-42",
            "new_password_again": "Brand-New-Pass-42",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/filings"
    assert client.get("/filings").status_code == 200


def test_logging_out_ends_the_session(client, contractor_user):
    login(client, contractor_user.username)
    token = csrf_of(client, "/filings")
    secret = client.cookies["minefed_session"]
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    # The secret itself is revoked at the node, not only dropped by the browser.
    client.cookies.set("minefed_session", secret)
    assert client.get("/filings", follow_redirects=False).status_code == 303
