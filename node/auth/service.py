"""Logging in and out. Passwords are checked here, at the node, so a province works
while the hub is down; the hash never leaves this database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from node.audit.service import record_event
from node.auth.passwords import check_password_rules, hash_password, needs_rehash, verify_password
from node.auth.tokens import new_token, token_digest
from node.errors import NotAuthenticated, TooManyRequests
from node.models import ApiToken, User
from node.principal import Actor

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
# Verified against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = hash_password("not-a-real-password-Zz9!")


def login(
    session: Session, username: str, password: str, now: datetime, client: str | None, ttl_s: int
) -> tuple[str, User]:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        verify_password(_DUMMY_HASH, password)
        raise NotAuthenticated(
            "用户名或密码错误", "wrong user name or password", code="bad_credentials"
        )
    if user.locked_until and user.locked_until > now:
        raise TooManyRequests(
            f"连续登录失败次数过多，账号已临时锁定至 {user.locked_until:%H:%M}",
            "too many failed logins; account temporarily locked",
            code="account_locked",
        )
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        session.add(user)
        record_event(
            session,
            None,
            "auth.login_failed",
            "user",
            user.id,
            {"username": username},
            client_address=client,
        )
        raise NotAuthenticated(
            "用户名或密码错误",
            "wrong user name or password",
            code="bad_credentials",
            keep_changes=True,
        )
    if not user.is_active:
        raise NotAuthenticated("账号已停用", "account disabled", code="account_disabled")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    token = new_token()
    session.add(
        ApiToken(
            token_hash=token_digest(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
            client_address=client,
        )
    )
    record_event(
        session, None, "auth.login", "user", user.id, {"username": username}, client_address=client
    )
    return token, user


def logout(session: Session, token: str, actor: Actor) -> None:
    row = session.get(ApiToken, token_digest(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = actor.now
        session.add(row)
    record_event(session, actor, "auth.logout", "user", actor.user_id)


def change_password(session: Session, actor: Actor, old: str, new: str) -> None:
    user = session.get(User, actor.user_id)
    assert user is not None
    if not verify_password(user.password_hash, old):
        raise NotAuthenticated("原密码错误", "current password is wrong", code="bad_credentials")
    check_password_rules(new, user.username)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = actor.now
    session.add(user)
    record_event(session, actor, "auth.password_changed", "user", user.id)
