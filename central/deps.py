"""Request dependencies: the session (one transaction per request), settings, clock,
the hub key, the signed node behind a sync request, the hub user behind an API call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from central.config import CentralSettings
from central.db import transaction
from central.errors import PayloadTooLarge, Unavailable
from central.models import HubNode
from central.principal import HubPrincipal
from sync.clock import Clock
from sync.keys import SigningKey


def get_session(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.session_factory) as session:
        yield session


# async: trivial dependencies must not each cost a hop to the thread pool.
async def get_settings(request: Request) -> CentralSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


def get_hub_key(request: Request) -> SigningKey:
    key: SigningKey | None = request.app.state.signing_key
    if key is None:
        raise Unavailable(
            "枢纽尚未配置签名密钥（请运行 minefed central keygen）",
            "the hub has no signing key yet (run minefed central keygen)",
            code="hub_key_missing",
        )
    return key


#: Bytes allowed per message of a batch when reading a signed request's body.
BODY_BYTES_PER_MESSAGE = 64 * 1024


async def raw_body(request: Request) -> bytes:
    """The request body, read only up to ``max_batch`` × 64 KiB (413 beyond).

    The body is read before the signature can be checked (the signature
    covers its digest), so an unauthenticated client must not be able to make
    the hub buffer an arbitrarily large one.
    """
    settings: CentralSettings = request.app.state.settings
    limit = settings.max_batch * BODY_BYTES_PER_MESSAGE
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"请求正文过大（上限 {limit} 字节）",
        f"request body larger than {limit} bytes",
        code="body_too_large",
    )


# scope="function": commit before the response is sent, so a failed commit is a 500
# the client sees, never a success that was not kept.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[CentralSettings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
HubKeyDep = Annotated[SigningKey, Depends(get_hub_key)]
RawBody = Annotated[bytes, Depends(raw_body)]


def request_target(request: Request) -> str:
    """The path and query exactly as the client sent them (what a node signs)."""
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return (path + (b"?" + query if query else b"")).decode("latin-1")


def signed_node(
    request: Request,
    body: RawBody,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    _key: HubKeyDep,
) -> HubNode:
    """The enrolled node whose signature authenticates this request (401/403 otherwise)."""
    from central.sync.service import authenticate

    return authenticate(
        session,
        method=request.method,
        target=request_target(request),
        body=body,
        headers=request.headers,
        now=clock.now(),
        window_s=settings.request_window_s,
    )


SignedNode = Annotated[HubNode, Depends(signed_node)]


def client_address(request: Request) -> str | None:
    """The caller's address; X-Forwarded-For is believed only from a configured proxy
    (``MINEFED_CENTRAL_TRUSTED_PROXIES``), so nobody can throttle another address."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    trusted: list[str] = request.app.state.settings.trusted_proxies
    if forwarded and peer in trusted:
        return forwarded.split(",")[0].strip()[:64]
    return peer


#: Only so the OpenAPI page offers "Authorize"; the header is read in ``current_principal``.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def current_principal(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    _bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> HubPrincipal:
    """The hub user behind this request: a bearer token, or a page session cookie.

    Security: a bearer token (``Authorization: Bearer``) is used as is; a
    session cookie authenticates only with its CSRF token
    (``X-CSRF-Token``) on any method that can change something, since a
    browser sends cookies on cross-site requests too. A token of one kind is
    never accepted as the other. Credentials are looked up by SHA-256.
    """
    from central.auth.service import authenticate

    return authenticate(
        session,
        authorization=request.headers.get("authorization", ""),
        cookies=request.cookies,
        method=request.method,
        csrf=request.headers.get("x-csrf-token"),
        secret_key=request.app.state.settings.secret_key,
        now=clock.now(),
        client_address=client_address(request),
    )


CurrentPrincipal = Annotated[HubPrincipal, Depends(current_principal)]
