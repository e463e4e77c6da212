"""Request dependencies: the session (one transaction per request), the actor, roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from node.attachments.storage import AttachmentStorage
from node.config import NodeSettings
from node.db import transaction
from node.errors import Forbidden, NotAuthenticated
from node.models import ApiToken, User
from node.principal import Actor
from node.sync.publish import bind_publisher
from sync.clock import Clock

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.session_factory) as session:
        # Approvals publish in this transaction, signed with the node's key.
        bind_publisher(session, getattr(request.app.state, "publisher", None))
        yield session


def get_settings(request: Request) -> NodeSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


def get_storage(request: Request) -> AttachmentStorage:
    return request.app.state.storage  # type: ignore[no-any-return]


# scope="function": commit before the response is sent, so a failed commit is a 500
# the client sees, never a success that was not kept.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[NodeSettings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
StorageDep = Annotated[AttachmentStorage, Depends(get_storage)]


def client_address(request: Request, settings: NodeSettings) -> str | None:
    """The caller's address; X-Forwarded-For is believed only from a configured proxy."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in settings.trusted_proxies:
        return forwarded.split(",")[0].strip()[:64]
    return peer


def current_actor(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    """The account behind this request: a bearer token, or a page session cookie.

    Security: a bearer token (``Authorization: Bearer``) is used as is; a
    session cookie authenticates only with its CSRF token (``X-CSRF-Token``)
    on any method that can change something, because a browser sends cookies
    on cross-site requests too. A token of one kind is never accepted as the
    other. Tokens are looked up by SHA-256; a disabled, deleted or reset
    account's tokens are revoked when that happens, and ``is_active`` is
    checked here as well.
    """
    from node.auth.tokens import (
        BEARER,
        CSRF_HEADER,
        SAFE_METHODS,
        SESSION,
        SESSION_COOKIE,
        csrf_matches,
        token_digest,
    )

    cookie = request.cookies.get(SESSION_COOKIE)
    if token:
        secret, kind = token, BEARER
    elif cookie:
        secret, kind = cookie, SESSION
    else:
        raise NotAuthenticated("请先登录", "authentication required", code="not_authenticated")
    now: datetime = clock.now()
    digest = token_digest(secret)
    row = session.get(ApiToken, digest)
    if row is None or row.kind != kind or row.revoked_at is not None or row.expires_at <= now:
        raise NotAuthenticated(
            "登录已失效，请重新登录", "token invalid, expired or revoked", code="invalid_token"
        )
    unsafe = request.method.upper() not in SAFE_METHODS
    sent = request.headers.get(CSRF_HEADER)
    if kind == SESSION and unsafe and not csrf_matches(settings.secret_key, secret, sent):
        raise Forbidden(
            "缺少或错误的 CSRF 令牌", "missing or wrong X-CSRF-Token", code="csrf_failed"
        )
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise NotAuthenticated("账号已停用", "account disabled", code="account_disabled")
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        division_code=user.division_code,
        contractor_id=user.contractor_id,
        client_address=client_address(request, settings),
        now=now,
        must_change_password=user.must_change_password,
        credential_hash=digest,
        credential_kind=kind,
    )


ActorDep = Annotated[Actor, Depends(current_actor)]


def require_roles(*roles: str) -> Callable[[Actor], Actor]:
    """A dependency that lets only the named roles through (403 otherwise)."""
    allowed = frozenset(roles)

    def check(actor: ActorDep) -> Actor:
        if actor.role not in allowed:
            raise Forbidden(
                "当前账号无权执行此操作",
                f"role {actor.role} may not do this (allowed: {', '.join(sorted(allowed))})",
                code="role_not_allowed",
            )
        return actor

    return check
