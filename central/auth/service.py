"""Logging in at the hub, and the bureau's own users (national administrators and staff).

The same rules as at the nodes (docs/accounts.md, "Login"): argon2id, five
failures lock an account for 15 minutes, too many failures from one address
are throttled, an unknown user name costs the same hash verification as a
wrong password, and a user with an initial or one-time password may only
replace it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from central.audit.service import Actor, record_event
from central.auth.passwords import (
    check_password_rules,
    hash_password,
    needs_rehash,
    new_one_time_code,
    verify_absent,
    verify_password,
)
from central.auth.tokens import (
    SAFE_METHODS,
    SESSION_COOKIE,
    csrf_matches,
    new_token,
    token_digest,
)
from central.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    TooManyRequests,
)
from central.models import HubAuditEvent, HubCredential, HubUser, HubUserRole
from central.principal import HubPrincipal

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
#: Failed logins from one address within ``LOCKOUT`` before it is throttled.
MAX_FAILURES_PER_ADDRESS = 20
BEARER = "bearer"
SESSION = "session"
ROLES = frozenset({HubUserRole.NATIONAL_ADMIN, HubUserRole.NATIONAL_STAFF})


def _refused(code: str = "invalid_token") -> NotAuthenticated:
    return NotAuthenticated(
        "登录已失效，请重新登录", "token invalid, expired or revoked", code=code
    )


def authenticate(
    session: Session,
    *,
    authorization: str,
    cookies: Mapping[str, str],
    method: str,
    csrf: str | None,
    secret_key: str,
    now: datetime,
    client_address: str | None,
) -> HubPrincipal:
    """The hub user of a request (see ``central.deps.current_principal``)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        secret, kind = value.strip(), BEARER
    elif cookies.get(SESSION_COOKIE):
        secret, kind = cookies[SESSION_COOKIE], SESSION
    else:
        raise NotAuthenticated("请先登录", "authentication required", code="not_authenticated")
    digest = token_digest(secret)
    row = session.get(HubCredential, digest)
    if row is None or row.kind != kind or row.revoked_at is not None or row.expires_at <= now:
        raise _refused()
    unsafe = method.upper() not in SAFE_METHODS
    if kind == SESSION and unsafe and not csrf_matches(secret_key, secret, csrf):
        raise Forbidden(
            "缺少或错误的 CSRF 令牌", "missing or wrong X-CSRF-Token", code="csrf_failed"
        )
    user = session.get(HubUser, row.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("账号已停用", "account disabled", code="account_disabled")
    return HubPrincipal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        must_change_password=user.must_change_password,
        credential_hash=digest,
        credential_kind=kind,
        client_address=client_address,
        now=now,
    )


def _throttled(session: Session, client: str | None, now: datetime) -> bool:
    if client is None:
        return False
    failures = session.exec(
        select(func.count())
        .select_from(HubAuditEvent)
        .where(
            col(HubAuditEvent.action) == "auth.login_failed",
            col(HubAuditEvent.client_address) == client,
            col(HubAuditEvent.at) > now - LOCKOUT,
        )
    ).one()
    return int(failures) >= MAX_FAILURES_PER_ADDRESS


def login(
    session: Session,
    username: str,
    password: str,
    *,
    now: datetime,
    client: str | None,
    ttl_s: int,
    kind: str = BEARER,
) -> tuple[str, HubUser]:
    """Check the password; a new bearer token or session secret (shown once)."""
    failed = Actor("anonymous", client)
    if _throttled(session, client, now):
        raise _too_many("too many failed logins from this address; try again later")
    user = session.exec(select(HubUser).where(HubUser.username == username)).first()
    if user is None:
        verify_absent(password)
        record_event(
            session, failed, "auth.login_failed", "hub_user", None, now, {"username": username[:64]}
        )
        raise _bad_credentials()
    if user.locked_until and user.locked_until > now:
        raise _too_many("too many failed logins; account temporarily locked", user.locked_until)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        session.add(user)
        record_event(
            session, failed, "auth.login_failed", "hub_user", user.id, now, {"username": username}
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
            "一次性密码已过期，请联系管理员重置",
            "the one-time code has expired; ask an administrator for a new one",
            code="one_time_code_expired",
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    secret = new_token()
    session.add(
        HubCredential(
            token_hash=token_digest(secret),
            user_id=user.id,
            kind=kind,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
            client_address=client,
        )
    )
    record_event(
        session,
        Actor(user.username, client),
        "auth.login",
        "hub_user",
        user.id,
        now,
        {"kind": kind},
    )
    return secret, user


def _bad_credentials() -> NotAuthenticated:
    # The failure is counted and audited: keep those changes although the request fails.
    return NotAuthenticated(
        "用户名或密码错误", "wrong user name or password", code="bad_credentials", keep_changes=True
    )


def _too_many(en: str, until: datetime | None = None) -> TooManyRequests:
    zh = (
        f"连续登录失败次数过多，账号已临时锁定至 {until:%H:%M} (UTC)"
        if until
        else "登录失败次数过多，请稍后再试"
    )
    return TooManyRequests(zh, en, code="account_locked" if until else "login_throttled")


def logout(session: Session, principal: HubPrincipal) -> None:
    """Revoke the credential this request came with."""
    row = session.get(HubCredential, principal.credential_hash)
    if row is not None and row.revoked_at is None:
        row.revoked_at = principal.now
        session.add(row)
    record_event(
        session,
        principal.actor,
        "auth.logout",
        "hub_user",
        principal.user_id,
        principal.now,
        {"kind": principal.credential_kind},
    )


def revoke_all(session: Session, user_id: uuid.UUID, now: datetime) -> int:
    """Every live token and session of a user stops working now."""
    result = session.execute(
        update(HubCredential)
        .where(col(HubCredential.user_id) == user_id, col(HubCredential.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def change_password(session: Session, principal: HubPrincipal, old: str, new: str) -> None:
    user = session.get(HubUser, principal.user_id)
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
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.credential_expires_at = None
    user.password_changed_at = principal.now
    session.add(user)
    record_event(
        session, principal.actor, "auth.password_changed", "hub_user", user.id, principal.now
    )


# ---------------------------------------------------------------- the bureau's users


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    now: datetime,
    must_change_password: bool = True,
) -> HubUser:
    """A national administrator or staff member (the first one from the CLI)."""
    if role not in ROLES:
        raise InvalidInput(
            "国家中心账号的角色须为国家局管理员或工作人员",
            f"a hub user's role is one of {', '.join(sorted(ROLES))}",
            code="invalid_role",
            field="role",
        )
    check_password_rules(password, username)
    if session.exec(select(HubUser.id).where(HubUser.username == username)).first():
        raise Conflict(
            f"用户名 {username} 已存在",
            f"username {username} is taken",
            code="username_taken",
            field="username",
        )
    user = HubUser(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        must_change_password=must_change_password,
        created_at=now,
        created_by=actor.name[:64],
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        actor,
        "hub_user.created",
        "hub_user",
        user.id,
        now,
        {"username": username, "role": role},
    )
    return user


def list_users(session: Session) -> list[HubUser]:
    """Every hub user, oldest first."""
    return list(
        session.exec(select(HubUser).order_by(col(HubUser.created_at), col(HubUser.username)))
    )


def _user(session: Session, user_id: uuid.UUID) -> HubUser:
    user = session.exec(select(HubUser).where(col(HubUser.id) == user_id).with_for_update()).first()
    if user is None:
        raise NotFound("账号不存在", f"no hub user {user_id}", code="user_not_found")
    return user


def set_active(
    session: Session, principal: HubPrincipal, user_id: uuid.UUID, active: bool
) -> HubUser:
    """Disable (tokens and sessions revoked) or re-enable a hub user; never oneself."""
    if user_id == principal.user_id and not active:
        raise Conflict("不能停用自己的账号", "you cannot disable yourself", code="self_disable")
    user = _user(session, user_id)
    user.is_active = active
    session.add(user)
    if not active:
        revoke_all(session, user.id, principal.now)
    record_event(
        session,
        principal.actor,
        "hub_user.enabled" if active else "hub_user.disabled",
        "hub_user",
        user.id,
        principal.now,
        {"username": user.username},
    )
    return user


def reset_password(
    session: Session, principal: HubPrincipal, user_id: uuid.UUID, code_ttl_s: int
) -> tuple[HubUser, str, datetime]:
    """A one-time code for a hub user (shown once); their sessions end."""
    user = _user(session, user_id)
    code = new_one_time_code()
    expires = principal.now + timedelta(seconds=code_ttl_s)
    user.password_hash = hash_password(code)
    user.must_change_password = True
    user.credential_expires_at = expires
    user.failed_logins = 0
    user.locked_until = None
    user.password_changed_at = principal.now
    session.add(user)
    revoke_all(session, user.id, principal.now)
    record_event(
        session,
        principal.actor,
        "hub_user.password_reset",
        "hub_user",
        user.id,
        principal.now,
        {"username": user.username},
    )
    return user, code, expires
