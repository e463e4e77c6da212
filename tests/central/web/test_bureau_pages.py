"""The national bureau's pages at the hub: login, home, nodes and sync, accounts and
quotas, with the API's roles, the page session's CSRF token and the API's validation."""

from __future__ import annotations

import re

import pytest
from sqlmodel import col, select

from central.auth.tokens import SESSION_COOKIE
from central.models import HubAccount, HubAuditEvent, HubCredential, HubProvinceQuota, HubUser
from sync.tables import OutboxMessage, QuarantinedMessage
from tests.central.operations.test_operations import quarantine_one
from tests.central.support import PASSWORD, hub_token_for, make_hub_user, ok

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def log_in(client, username: str, password: str = PASSWORD):
    return client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has a form with the session's CSRF token"
    return found.group(1)


@pytest.fixture
def admin(client, session):
    """A national administrator, logged in through the login page."""
    user = make_hub_user(session, "national_admin", "bureau-admin")
    assert log_in(client, user.username).status_code == 303
    return user


@pytest.fixture
def staff(client, session):
    user = make_hub_user(session, "national_staff", "bureau-staff")
    assert log_in(client, user.username).status_code == 303
    return user


# ---------------------------------------------------------------- login


def test_login_opens_a_page_session_and_logout_ends_it(client, session):
    page = client.get("/login")
    assert page.status_code == 200
    assert '<label for="username">用户名' in page.text and '<label for="password">密码' in page.text
    user = make_hub_user(session, "national_admin", "admin-1")

    wrong = log_in(client, "admin-1", "Wrong-Password-1")
    assert wrong.status_code == 401
    assert "用户名或密码错误" in wrong.text and 'value="admin-1"' in wrong.text
    assert SESSION_COOKIE not in wrong.cookies

    opened = log_in(client, "admin-1")
    assert (opened.status_code, opened.headers["location"]) == (303, "/national")
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    row = session.exec(select(HubCredential).where(HubCredential.user_id == user.id)).one()
    assert row.kind == "session"

    home = client.get("/national")
    assert home.status_code == 200 and home.headers["cache-control"] == "no-store"
    for path, name in (
        ("/national/nodes", "节点与同步"),
        ("/national/accounts", "账号与配额"),
        ("/national/queries", "跨省查询"),
        ("/national/stats", "全国统计"),
    ):
        assert f'href="{path}">{name}</a>' in home.text
    # Logging out needs the session's CSRF token like every other form.
    assert client.post("/logout", follow_redirects=False).status_code == 403
    out = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    session.refresh(row)
    assert row.revoked_at is not None
    assert client.get("/national").status_code == 401


def test_a_visitor_without_a_session_gets_the_login_form_and_comes_back(client, session):
    make_hub_user(session, "national_staff", "staff-1")
    anonymous = client.get("/national/nodes?node=node:150000", follow_redirects=False)
    assert anonymous.status_code == 401
    assert 'action="/login"' in anonymous.text
    assert 'name="next" value="/national/nodes?node=node:150000"' in anonymous.text
    back = client.post(
        "/login",
        data={"username": "staff-1", "password": PASSWORD, "next": "/national/nodes"},
        follow_redirects=False,
    )
    assert back.headers["location"] == "/national/nodes"
    elsewhere = client.post(
        "/login",
        data={"username": "staff-1", "password": PASSWORD, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/national", "never an open redirect"


def test_the_pages_take_no_bearer_token(client, session):
    headers = hub_token_for(session, make_hub_user(session, "national_admin"))
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.get("/national/nodes", headers=headers).status_code == 401


def test_a_one_time_password_must_be_replaced_first(client, session):
    user = make_hub_user(session, "national_admin", "admin-2", must_change_password=True)
    opened = log_in(client, "admin-2")
    assert opened.headers["location"] == "/password"
    assert client.get("/national/accounts", follow_redirects=False).headers["location"] == (
        "/password"
    )
    form = client.get("/password")
    assert "请先设置新密码" in form.text
    token = csrf_of(form.text)

    def change(new: str, again: str):
        form = {"old_password": PASSWORD, "new_password": new, "new_password_again": again}
        return client.post("/password", data={"csrf_token": token, **form}, follow_redirects=False)

    differ = change("Brand-New-Pass-77", "Brand-New-Pass-78")
    assert differ.status_code == 422 and "两次输入的新密码不一致" in differ.text
    weak = change("short", "short")
    assert weak.status_code == 422 and "密码不符合要求" in weak.text
    changed = change("Brand-New-Pass-77", "Brand-New-Pass-77")
    assert changed.headers["location"] == "/national?done=password"
    session.refresh(user)
    assert user.must_change_password is False
    assert "密码已修改" in client.get("/national?done=password").text


# ---------------------------------------------------------------- nodes and sync


def test_the_nodes_page_shows_keys_lag_and_quarantine(client, session, clock, inner, staff):
    quarantine_one(client, inner, "bad-1")
    clock.advance(11 * 60)  # the keyring directive has waited 11 minutes: behind
    page = client.get("/national/nodes")
    assert page.status_code == 200
    text = page.text
    assert "内蒙古自治区" in text and "node:150000" in text
    assert inner.key.key_id in text and "有效 / active" in text
    assert "需处理 / attention" in text
    assert "落后：1 条指令未执行" in text
    assert "有 1 条隔离消息待处理" in text
    assert "schema_invalid" in text
    assert "第 1 条（node:150000&gt;hub）" in text
    # Staff read; only administrators act (no buttons, and the action is refused).
    assert "/retry" not in text and "只有国家局管理员可以操作" in text
    (row,) = session.exec(select(QuarantinedMessage)).all()
    refused = client.post(
        f"/national/nodes/quarantine/{row.id}/skip", data={"csrf_token": csrf_of(text)}
    )
    assert refused.status_code == 403 and "当前账号无权执行此操作" in refused.text
    session.refresh(row)
    assert row.status == "pending"


def test_a_revoked_key_and_a_missing_cosignature_are_named(
    client, session, clock, inner, hub_key, staff
):
    from central.audit.service import Actor
    from central.keys.service import revoke_key
    from central.transparency import service as log

    ok(inner.push(client, [inner.publish("r1")]))
    log.sequence(session, key=hub_key, origin="minefed.hub/log", now=clock.now())
    revoke_key(
        session,
        inner.key.key_id,
        clock.now(),
        actor=Actor("cli:ops"),
        now=clock.now(),
        hub_id="hub",
        hub_key=hub_key,
    )
    session.flush()
    text = client.get("/national/nodes").text
    assert "透明日志最新检查点：大小 1" in text
    assert "已吊销 / revoked" in text and "没有有效密钥 / no active key" in text
    assert "尚未见证最新检查点" in text and "尚无见证签名" in text


def test_an_administrator_skips_and_retries_through_forms_with_csrf(client, session, inner, admin):
    quarantine_one(client, inner, "bad-1")
    quarantine_one(client, inner, "bad-2")
    first, second = session.exec(select(QuarantinedMessage).order_by(col(QuarantinedMessage.id)))
    page = client.get("/national/nodes")
    assert f'action="/national/nodes/quarantine/{first.id}/retry"' in page.text
    token = csrf_of(page.text)

    forged = client.post(f"/national/nodes/quarantine/{first.id}/skip")
    assert forged.status_code == 403 and "CSRF" in forged.text
    wrong = client.post(f"/national/nodes/quarantine/{first.id}/skip", data={"csrf_token": "x"})
    assert wrong.status_code == 403

    skipped = client.post(
        f"/national/nodes/quarantine/{first.id}/skip",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert skipped.headers["location"] == "/national/nodes?done=skipped#quarantine"
    session.refresh(first)
    assert (first.status, first.resolved_by) == ("skipped", "bureau-admin")
    again = client.post(f"/national/nodes/quarantine/{first.id}/skip", data={"csrf_token": token})
    assert again.status_code == 409 and "该隔离消息已处理" in again.text

    retried = client.post(
        f"/national/nodes/quarantine/{second.id}/retry", data={"csrf_token": token}
    )
    assert retried.status_code == 200  # back on the page after the redirect
    assert "重试仍未成功" in retried.text  # the form is still invalid
    actions = session.exec(
        select(HubAuditEvent.action).where(col(HubAuditEvent.action).like("sync.quarantine.%"))
    ).all()
    assert sorted(actions) == ["sync.quarantine.retried", "sync.quarantine.skipped"]


# ---------------------------------------------------------------- accounts and quotas


def test_staff_see_accounts_and_quotas_but_neither_hub_users_nor_forms(
    client, session, inner, staff
):
    page = client.get("/national/accounts")
    assert page.status_code == 200
    assert "内蒙古自治区" in page.text and "未分配（不限）" in page.text
    assert 'id="hub-users"' not in page.text and "/quotas/150000" not in page.text
    token = csrf_of(page.text)  # the logout form
    refused = client.post(
        "/national/accounts/quotas/150000",
        data={"csrf_token": token, "contractor_accounts": "5"},
    )
    assert refused.status_code == 403
    assert session.exec(select(HubProvinceQuota)).first() is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [("-1", "承包单位账号数量上限：不能小于 0"), ("abc", "承包单位账号数量上限："), ("", "")],
)
def test_a_quota_out_of_range_is_refused_next_to_its_input(
    client, session, inner, admin, typed, message
):
    token = csrf_of(client.get("/national/accounts").text)
    refused = client.post(
        "/national/accounts/quotas/150000",
        data={"csrf_token": token, "contractor_accounts": typed},
    )
    assert refused.status_code == 422
    error = re.search(r'<p class="field-error" id="quota-150000-err">([^<]+)</p>', refused.text)
    assert error and message in error.group(1) and "contractor_accounts" in error.group(1)
    assert 'aria-invalid="true" aria-describedby="quota-150000-err"' in refused.text
    assert session.exec(select(HubProvinceQuota)).first() is None


def test_an_administrator_changes_a_quota_by_directive(client, session, inner, admin):
    token = csrf_of(client.get("/national/accounts").text)
    changed = client.post(
        "/national/accounts/quotas/150000",
        data={"csrf_token": token, "contractor_accounts": "20"},
        follow_redirects=False,
    )
    assert changed.headers["location"] == "/national/accounts?done=quota#quotas"
    quota = session.exec(select(HubProvinceQuota)).one()
    assert (quota.contractor_accounts, quota.updated_by) == (20, "bureau-admin")
    directive = session.exec(
        select(OutboxMessage).where(OutboxMessage.kind == "directive.quota")
    ).one()
    assert directive.recipient == "node:150000"
    audit = session.exec(
        select(HubAuditEvent).where(HubAuditEvent.action == "quota.allocated")
    ).one()
    assert audit.detail["contractor_accounts"] == 20
    page = client.get("/national/accounts?done=quota")
    assert "配额已修改" in page.text and 'value="20"' in page.text
    absent = client.post(
        "/national/accounts/quotas/140000",
        data={"csrf_token": token, "contractor_accounts": "3"},
    )
    assert absent.status_code == 409 and "节点尚未接入国家中心" in absent.text


def test_a_provincial_administrator_is_allocated_with_a_one_time_code(
    client, session, inner, admin
):
    token = csrf_of(client.get("/national/accounts").text)

    def allocate(username: str, display_name: str = "内蒙古自治区应急管理厅管理员"):
        form = {"province_code": "150000", "username": username, "display_name": display_name}
        return client.post("/national/accounts/province-admins", data={"csrf_token": token, **form})

    bad = allocate("a b", "")
    assert bad.status_code == 422
    assert "用户名：格式不正确" in bad.text and "姓名或单位：" in bad.text
    assert 'id="admin-username" name="username" type="text"' in bad.text
    assert 'value="a b"' in bad.text  # what was typed is kept
    created = allocate("nm-admin")
    assert created.status_code == 201
    code = re.search(r'<p class="code big">([A-Z0-9-]+)</p>', created.text)
    assert code and len(code.group(1)) == 19
    account = session.exec(select(HubAccount)).one()
    assert (account.username, account.status) == ("nm-admin", "pending")
    assert "nm-admin" in client.get("/national/accounts?province_code=150000").text

    taken = allocate("nm-admin", "又一个")
    assert taken.status_code == 409 and "该省已有用户名 nm-admin" in taken.text
    assert 'id="admin-username-err"' in taken.text, "the conflict is shown at its field"

    disabled = client.post(
        f"/national/accounts/{account.id}/disable",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert disabled.status_code == 303
    reset = client.post(
        f"/national/accounts/{account.id}/password-reset", data={"csrf_token": token}
    )
    assert reset.status_code == 200 and "一次性密码" in reset.text
    kinds = session.exec(
        select(OutboxMessage.kind)
        .where(OutboxMessage.recipient == "node:150000")
        .order_by(col(OutboxMessage.seq))
    ).all()
    assert kinds[-3:] == [
        "directive.account_create",
        "directive.account_disable",
        "directive.password_reset",
    ]


def test_hub_users_are_created_disabled_and_reset_by_an_administrator(client, session, admin):
    page = client.get("/national/accounts")
    assert 'id="hub-users"' in page.text and "bureau-admin" in page.text
    token = csrf_of(page.text)

    def create(role: str = "national_staff", password: str = "Initial-Pass-2026"):
        form = {"username": "staff-9", "display_name": "工作人员", "role": role}
        return client.post(
            "/national/accounts/hub-users",
            data={"csrf_token": token, "password": password, **form},
        )

    weak = create(password="weak")
    assert weak.status_code == 422 and "密码不符合要求" in weak.text
    assert session.exec(select(HubUser).where(HubUser.username == "staff-9")).first() is None
    bad_role = create(role="provincial_admin")
    assert bad_role.status_code == 422 and "角色：格式不正确" in bad_role.text
    created = create()
    assert created.status_code == 201 and "已创建国家中心账号 staff-9" in created.text
    user = session.exec(select(HubUser).where(HubUser.username == "staff-9")).one()
    assert user.must_change_password and user.created_by == "bureau-admin"

    off = client.post(
        f"/national/hub-users/{user.id}/disable", data={"csrf_token": token}, follow_redirects=False
    )
    assert off.headers["location"] == "/national/accounts?done=hub_disabled#hub-users"
    session.refresh(user)
    assert user.is_active is False
    reset = client.post(f"/national/hub-users/{user.id}/password-reset", data={"csrf_token": token})
    assert reset.status_code == 200 and "staff-9" in reset.text
    self_off = client.post(f"/national/hub-users/{admin.id}/disable", data={"csrf_token": token})
    assert self_off.status_code == 409 and "不能停用自己的账号" in self_off.text
    nothing = client.post(f"/national/hub-users/{user.id}/delete", data={"csrf_token": token})
    assert nothing.status_code == 422


# ---------------------------------------------------------------- the existing pages


def test_queries_and_statistics_share_the_bureau_layout(client, session, staff):
    for path in ("/national/queries", "/national/stats"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'aria-label="国家局导航 / bureau"' in page.text
        assert f'href="{path}" aria-current="page"' in page.text
        assert 'action="/logout"' in page.text
