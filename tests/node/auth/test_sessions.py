"""Page sessions: an HttpOnly cookie, a CSRF token on every unsafe request; bearer
tokens unaffected; throttling by address; an initial password must be replaced."""

from __future__ import annotations

from node.auth.tokens import SESSION_COOKIE
from node.config import NodeSettings
from schemas.enums import Role
from tests.node.factories import PASSWORD, make_user, token_for


def open_session(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/session", data={"username": username, "password": password})


def test_a_session_cookie_is_httponly_and_samesite(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    opened = open_session(client, user.username)
    assert opened.status_code == 200, opened.text
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # development and tests run over plain HTTP
    assert opened.json()["csrf_token"]
    # The cookie (kept by the client) authenticates reads.
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["username"] == user.username
    assert client.get("/api/v1/auth/session").json()["csrf_token"] == opened.json()["csrf_token"]


def test_secure_cookies_in_production(app, client, session):
    app.state.settings = app.state.settings.model_copy(update={"environment": "production"})
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    assert "Secure" in open_session(client, user.username).headers["set-cookie"]


def test_unsafe_requests_of_a_session_need_the_csrf_token(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    csrf = open_session(client, user.username).json()["csrf_token"]
    change = {"old_password": PASSWORD, "new_password": "New-Secret-2026"}
    forged = client.post("/api/v1/auth/password", json=change)
    assert (forged.status_code, forged.json()["error"]) == (403, "csrf_failed")
    wrong = client.post("/api/v1/auth/password", json=change, headers={"X-CSRF-Token": "0" * 64})
    assert (wrong.status_code, wrong.json()["error"]) == (403, "csrf_failed")
    done = client.post("/api/v1/auth/password", json=change, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 204, done.text


def test_bearer_tokens_need_no_csrf_token_and_kinds_do_not_mix(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    headers = token_for(session, user)
    change = {"old_password": PASSWORD, "new_password": "New-Secret-2026"}
    assert client.post("/api/v1/auth/password", json=change, headers=headers).status_code == 204
    # A session secret is no bearer token (it would skip the CSRF check), and vice versa.
    secret = open_session(client, user.username, "New-Secret-2026").cookies[SESSION_COOKIE]
    client.cookies.clear()
    as_bearer = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert (as_bearer.status_code, as_bearer.json()["error"]) == (401, "invalid_token")
    bearer = headers["Authorization"].split()[1]
    client.cookies.set(SESSION_COOKIE, bearer)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_closing_a_session_revokes_it(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    opened = open_session(client, user.username)
    secret = opened.cookies[SESSION_COOKIE]
    csrf = opened.json()["csrf_token"]
    assert client.delete("/api/v1/auth/session").status_code == 403  # no CSRF token
    closed = client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": csrf})
    assert closed.status_code == 204
    client.cookies.set(SESSION_COOKIE, secret)  # an attacker who kept the cookie
    assert client.get("/api/v1/auth/me").status_code == 401


def test_too_many_failures_from_one_address_are_throttled(client, session):
    for n in range(20):
        client.post("/api/v1/auth/token", data={"username": f"nobody-{n}", "password": "x"})
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    throttled = client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}
    )
    assert (throttled.status_code, throttled.json()["error"]) == (429, "login_throttled")


def test_throttling_expires(client, session, clock):
    for n in range(20):
        client.post("/api/v1/auth/token", data={"username": f"nobody-{n}", "password": "x"})
    clock.advance(15 * 60 + 1)
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    ok = client.post("/api/v1/auth/token", data={"username": user.username, "password": PASSWORD})
    assert ok.status_code == 200


def test_an_initial_password_may_only_be_replaced(client, session):
    admin = token_for(session, make_user(session, Role.PROVINCIAL_ADMIN, "150000"))
    client.post(
        "/api/v1/accounts",
        headers=admin,
        json={
            "username": "newcomer",
            "display_name": "新人",
            "role": "county_regulator",
            "division_code": "150102",
            "password": "Initial-Pass-2026",
        },
    )
    token = client.post(
        "/api/v1/auth/token", data={"username": "newcomer", "password": "Initial-Pass-2026"}
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    blocked = client.get("/api/v1/review/queue", headers=headers)
    assert (blocked.status_code, blocked.json()["error"]) == (403, "password_change_required")
    same = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"old_password": "Initial-Pass-2026", "new_password": "Initial-Pass-2026"},
    )
    assert (same.status_code, same.json()["error"]) == (422, "weak_password")
    client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"old_password": "Initial-Pass-2026", "new_password": "Grassland-77-Go"},
    )
    assert client.get("/api/v1/review/queue", headers=headers).status_code == 200


def test_settings_know_the_session_lifetime():
    assert NodeSettings(environment="test").session_ttl_s == 8 * 3600
