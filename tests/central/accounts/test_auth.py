"""Logging in at the hub: bearer tokens, page sessions with CSRF, lockout and throttling,
one-time codes, and the bureau's own users."""

from __future__ import annotations

from sqlmodel import select

from central.auth.tokens import SESSION_COOKIE
from central.models import HubAuditEvent, HubCredential, HubUser
from tests.central.support import PASSWORD, hub_token_for, make_hub_user


def login(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_a_bearer_token_for_a_hub_user(client, session):
    user = make_hub_user(session, "national_staff", "staff-1")
    token = login(client, "staff-1")
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "bearer" and token.json()["expires_in"] == 8 * 3600
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert (me["id"], me["role"]) == (str(user.id), "national_staff")
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    stored = session.exec(select(HubCredential).where(HubCredential.user_id == user.id)).one()
    assert stored.token_hash != token.json()["access_token"]  # SHA-256 only


def test_wrong_passwords_lock_the_account_and_are_audited(client, session, clock):
    make_hub_user(session, "national_admin", "admin-1")
    for _ in range(5):
        bad = login(client, "admin-1", "Wrong-Password-1")
        assert (bad.status_code, bad.json()["error"]) == (401, "bad_credentials")
    locked = login(client, "admin-1")
    assert (locked.status_code, locked.json()["error"]) == (429, "account_locked")
    failures = session.exec(
        select(HubAuditEvent).where(HubAuditEvent.action == "auth.login_failed")
    ).all()
    assert len(failures) == 5 and failures[0].client_address == "10.9.8.7"
    clock.advance(15 * 60 + 1)
    assert login(client, "admin-1").status_code == 200


def test_an_unknown_user_gets_the_same_answer_and_addresses_are_throttled(client, session):
    unknown = login(client, "nobody")
    assert (unknown.status_code, unknown.json()["error"]) == (401, "bad_credentials")
    for n in range(19):
        login(client, f"nobody-{n}")
    make_hub_user(session, "national_admin", "admin-2")
    throttled = login(client, "admin-2")
    assert (throttled.status_code, throttled.json()["error"]) == (429, "login_throttled")


def test_page_sessions_need_csrf_on_unsafe_requests(client, session, app):
    make_hub_user(session, "national_admin", "admin-3")
    opened = client.post("/api/v1/auth/session", data={"username": "admin-3", "password": PASSWORD})
    assert opened.status_code == 200, opened.text
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    csrf = opened.json()["csrf_token"]
    assert client.get("/api/v1/hub-users").status_code == 200  # a read: the cookie suffices
    body = {
        "username": "staff-2",
        "display_name": "工作人员",
        "role": "national_staff",
        "password": "Initial-Pass-2026",
    }
    forged = client.post("/api/v1/hub-users", json=body)
    assert (forged.status_code, forged.json()["error"]) == (403, "csrf_failed")
    created = client.post("/api/v1/hub-users", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    assert client.get("/api/v1/auth/session").json()["csrf_token"] == csrf
    # A session secret is not a bearer token.
    secret = opened.cookies[SESSION_COOKIE]
    client.cookies.clear()
    as_bearer = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert as_bearer.status_code == 401
    client.cookies.set(SESSION_COOKIE, secret)
    assert client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.set(SESSION_COOKIE, secret)
    assert client.get("/api/v1/auth/me").status_code == 401

    app.state.settings = app.state.settings.model_copy(update={"environment": "production"})
    again = client.post("/api/v1/auth/session", data={"username": "admin-3", "password": PASSWORD})
    assert "Secure" in again.headers["set-cookie"]


def test_the_bureau_manages_its_own_users(client, session, admin_headers, staff_headers):
    body = {
        "username": "staff-3",
        "display_name": "工作人员",
        "role": "national_staff",
        "password": "Initial-Pass-2026",
    }
    assert client.post("/api/v1/hub-users", json=body, headers=staff_headers).status_code == 403
    bad_role = client.post(
        "/api/v1/hub-users", json={**body, "role": "provincial_admin"}, headers=admin_headers
    )
    assert bad_role.status_code == 422
    created = client.post("/api/v1/hub-users", json=body, headers=admin_headers)
    assert created.status_code == 201 and created.json()["must_change_password"] is True
    user_id = created.json()["id"]
    taken = client.post("/api/v1/hub-users", json=body, headers=admin_headers)
    assert (taken.status_code, taken.json()["error"]) == (409, "username_taken")

    # A reset: a one-time code shown once, sessions revoked, a new password required.
    user = session.get(HubUser, user_id)
    old = hub_token_for(session, user)
    reset = client.post(f"/api/v1/hub-users/{user_id}/password-reset", headers=admin_headers)
    assert reset.status_code == 200, reset.text
    code = reset.json()["one_time_code"]
    assert len(code) == 19 and code.count("-") == 3
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401
    fresh = login(client, "staff-3", code)
    assert fresh.status_code == 200 and fresh.json()["must_change_password"] is True

    disabled = client.post(f"/api/v1/hub-users/{user_id}/disable", headers=admin_headers)
    assert disabled.json()["is_active"] is False
    assert login(client, "staff-3", code).json()["error"] == "account_disabled"
    enabled = client.post(f"/api/v1/hub-users/{user_id}/enable", headers=admin_headers)
    assert enabled.json()["is_active"] is True
    listed = client.get("/api/v1/hub-users", headers=admin_headers).json()
    assert "staff-3" in {u["username"] for u in listed}
    assert "password_hash" not in str(listed)


def test_throttling_counts_the_client_behind_a_trusted_proxy(client, session, app):
    app.state.settings = app.state.settings.model_copy(update={"trusted_proxies": ["10.9.8.7"]})
    make_hub_user(session, "national_admin", "admin-4")
    for n in range(20):
        client.post(
            "/api/v1/auth/token",
            data={"username": f"nobody-{n}", "password": "x"},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
    # The proxy's other clients are not locked out by one client's guessing.
    assert login(client, "admin-4").status_code == 200
    throttled = client.post(
        "/api/v1/auth/token",
        data={"username": "admin-4", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert (throttled.status_code, throttled.json()["error"]) == (429, "login_throttled")
