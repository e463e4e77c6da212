from __future__ import annotations

from sqlmodel import select

from node.models import AuditEvent, User
from schemas.enums import Role
from tests.node.factories import PASSWORD, make_user, token_for


def login(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_login_issues_a_working_bearer_token(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    response = login(client, user.username)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 8 * 3600
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "county_regulator"
    assert me.json()["division_code"] == "150102"


def test_wrong_password_is_401_with_bilingual_message_and_audited(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    response = login(client, user.username, "wrong-Password-1")
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "bad_credentials"
    assert "用户名或密码错误" in body["detail"] and "wrong user name or password" in body["detail"]
    events = session.exec(select(AuditEvent).where(AuditEvent.entity_id == str(user.id))).all()
    assert [e.action for e in events] == ["auth.login_failed"]
    assert events[0].client_address == "10.1.2.3"


def test_unknown_user_gets_the_same_answer(client):
    response = login(client, "nobody-here")
    assert response.status_code == 401
    assert response.json()["error"] == "bad_credentials"


def test_five_failures_lock_the_account_even_for_the_right_password(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    for _ in range(5):
        assert login(client, user.username, "wrong-Password-1").status_code == 401
    locked = login(client, user.username)
    assert locked.status_code == 429
    assert locked.json()["error"] == "account_locked"
    session.expire_all()
    assert session.get(User, user.id).locked_until is not None


def test_lock_expires_after_fifteen_minutes(client, session, clock):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    for _ in range(5):
        login(client, user.username, "wrong-Password-1")
    clock.advance(15 * 60 + 1)
    assert login(client, user.username).status_code == 200


def test_no_token_missing_token_and_garbage_token(client):
    assert client.get("/api/v1/auth/me").status_code == 401
    bad = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_token"


def test_logout_revokes_the_token(client, session):
    user = make_user(session, Role.CONTRACTOR)
    headers = token_for(session, user)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_expired_token_is_refused(client, session, clock):
    user = make_user(session, Role.CONTRACTOR)
    headers = token_for(session, user, days=1)
    clock.advance(2 * 86400)
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401


def test_disabled_account_cannot_log_in_or_use_tokens(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    headers = token_for(session, user)
    user.is_active = False
    session.add(user)
    session.flush()
    assert login(client, user.username).status_code == 401
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_change_password_checks_rules_and_old_password(client, session):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    headers = token_for(session, user)
    weak = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"old_password": PASSWORD, "new_password": "short"},
    )
    assert weak.status_code == 422
    assert weak.json()["error"] == "weak_password"
    assert "长度至少10位" in weak.json()["detail"]
    wrong_old = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"old_password": "nope-Nope-123", "new_password": "New-Secret-2026"},
    )
    assert wrong_old.status_code == 401
    ok = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"old_password": PASSWORD, "new_password": "New-Secret-2026"},
    )
    assert ok.status_code == 204
    assert login(client, user.username, "New-Secret-2026").status_code == 200
    assert login(client, user.username).status_code == 401


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "up"
