"""Request dependencies: the session (one transaction per request), the actor."""

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


def _csrf_refused() -> Forbidden:
    return Forbidden("缺少或错误的 CSRF 令牌", "missing or wrong X-CSRF-Token", code="csrf_failed")


def credential_actor(
    request: Request,
    session: Session,
    settings: NodeSettings,
    now: datetime,
    credential: tuple[str, str],
    csrf_sent: str | None,
    *,
    unauthenticated: type[NotAuthenticated] = NotAuthenticated,
    csrf_refused: Callable[[], Forbidden] = _csrf_refused,
) -> Actor:
    """The account behind ``credential`` (its secret and kind, bearer or session).

    Security: tokens are looked up by SHA-256, and a token of one kind is never
    accepted as the other. A session authenticates only with its CSRF token
    (``csrf_sent``) on any method that can change something, because a browser
    sends cookies on cross-site requests too. A disabled, deleted or reset
    account's tokens are revoked when that happens, and ``is_active`` is
    checked here as well. The API and the pages (``node/web/session.py``) both
    resolve their actor here; they differ only in where the credential and the
    CSRF token come from and in the errors they raise (``unauthenticated``,
    ``csrf_refused``).
    """
    from node.auth.tokens import SAFE_METHODS, SESSION, csrf_matches, token_digest

    secret, kind = credential
    digest = token_digest(secret)
    row = session.get(ApiToken, digest)
    if row is None or row.kind != kind or row.revoked_at is not None or row.expires_at <= now:
        raise unauthenticated(
            "登录已失效，请重新登录", "token invalid, expired or revoked", code="invalid_token"
        )
    unsafe = request.method.upper() not in SAFE_METHODS
    if kind == SESSION and unsafe and not csrf_matches(settings.secret_key, secret, csrf_sent):
        raise csrf_refused()
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise unauthenticated("账号已停用", "account disabled", code="account_disabled")
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


def current_actor(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    """The account behind this request: a bearer token, or a page session cookie
    with its CSRF token in ``X-CSRF-Token`` (:func:`credential_actor`)."""
    from node.auth.tokens import BEARER, CSRF_HEADER, SESSION, SESSION_COOKIE

    cookie = request.cookies.get(SESSION_COOKIE)
    if token:
        credential = (token, BEARER)
    elif cookie:
        credential = (cookie, SESSION)
    else:
        raise NotAuthenticated("请先登录", "authentication required", code="not_authenticated")
    return credential_actor(
        request, session, settings, clock.now(), credential, request.headers.get(CSRF_HEADER)
    )


ActorDep = Annotated[Actor, Depends(current_actor)]
