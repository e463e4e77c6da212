"""Logging in and out. Passwords are checked here, at the node, so a province works
while the hub is down; the hash never leaves this database.

Protection against guessing: five failed logins lock an account for 15
minutes; more than :data:`MAX_FAILURES_PER_ADDRESS` failures from one address
within those 15 minutes throttle that address (every user name); an unknown
user name costs the same hash verification as a wrong password. An account
whose password is initial or a one-time code from the hub may log in, but may
only replace it (node/access.py); an expired one-time code does not log in.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from node.audit.service import record_event
from node.auth.passwords import (
    check_password_rules,
    hash_password,
    needs_rehash,
    verify_absent,
    verify_password,
)
from node.auth.tokens import BEARER, new_token, token_digest
from node.errors import InvalidInput, NotAuthenticated, TooManyRequests
from node.models import ApiToken, AuditEvent, User
from node.principal import Actor

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 20


def _bad_credentials() -> NotAuthenticated:
    # The failure is counted and audited: keep those changes although the request fails.
    return NotAuthenticated(
        "用户名或密码错误", "wrong user name or password", code="bad_credentials", keep_changes=True
    )


def _throttled(session: Session, client: str | None, now: datetime) -> bool:
    if client is None:
        return False
    failures = session.exec(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            col(AuditEvent.action) == "auth.login_failed",
            col(AuditEvent.client_address) == client,
            col(AuditEvent.at) > now - LOCKOUT,
        )
    ).one()
    return int(failures) >= MAX_FAILURES_PER_ADDRESS


def login(
    session: Session,
    username: str,
    password: str,
    now: datetime,
    client: str | None,
    ttl_s: int,
    kind: str = BEARER,
) -> tuple[str, User]:
    """Check the password; a new bearer token or page session secret (shown once)."""
    if _throttled(session, client, now):
        raise TooManyRequests(
            "该地址登录失败次数过多，请稍后再试",
            "too many failed logins from this address; try again later",
            code="login_throttled",
        )
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.deleted_at is not None:
        verify_absent(password)
        record_event(
            session,
            None,
            "auth.login_failed",
            "user",
            user.id if user else None,
            {"username": username[:64]},
            client_address=client,
            at=now,
        )
        raise _bad_credentials()
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
            at=now,
        )
        raise _bad_credentials()
    if not user.is_active:
        raise NotAuthenticated("账号已停用", "account disabled", code="account_disabled")
    if (
        user.must_change_password
        and user.credential_expires_at is not None
        and user.credential_expires_at <= now
    ):
        raise NotAuthenticated(
            "一次性密码已过期，请联系国家局重置",
            "the one-time code has expired; ask the national bureau for a new one",
            code="one_time_code_expired",
        )
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
            kind=kind,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
            client_address=client,
        )
    )
    record_event(
        session,
        None,
        "auth.login",
        "user",
        user.id,
        {"username": username, "kind": kind},
        client_address=client,
        at=now,
    )
    return token, user


def logout(session: Session, actor: Actor) -> None:
    """Revoke the token or session this request came with."""
    row = session.get(ApiToken, actor.credential_hash) if actor.credential_hash else None
    if row is not None and row.revoked_at is None:
        row.revoked_at = actor.now
        session.add(row)
    record_event(
        session, actor, "auth.logout", "user", actor.user_id, {"kind": actor.credential_kind}
    )


def revoke_all(session: Session, user_id: uuid.UUID, now: datetime) -> int:
    """Every live token and page session of a user stops working now."""
    result = session.execute(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def change_password(session: Session, actor: Actor, old: str, new: str) -> None:
    from node.accounts.reports import report_account

    user = session.get(User, actor.user_id)
    assert user is not None
    if not verify_password(user.password_hash, old):
        raise NotAuthenticated("原密码错误", "current password is wrong", code="bad_credentials")
    check_password_rules(new, user.username)
    if verify_password(user.password_hash, new):
        raise InvalidInput(
            "新密码不能与原密码相同",
            "the new password must differ from the current one",
            code="weak_password",
            field="new_password",
        )
    was_forced = user.must_change_password
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.credential_expires_at = None
    user.password_changed_at = actor.now
    session.add(user)
    record_event(session, actor, "auth.password_changed", "user", user.id)
    if was_forced:
        # The hub shows whether the one-time code has been replaced.
        report_account(session, user, actor.now)
