"""Request dependencies: the session (one transaction per request), settings, clock,
the hub key, the signed node behind a sync request, the operator."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from central.audit.service import Actor
from central.config import CentralSettings
from central.db import transaction
from central.errors import Forbidden, NotAuthenticated, PayloadTooLarge, Unavailable
from central.models import HubNode
from sync.clock import Clock
from sync.keys import SigningKey


def get_session(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.session_factory) as session:
        yield session


def get_settings(request: Request) -> CentralSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_clock(request: Request) -> Clock:
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


def operator(request: Request, settings: SettingsDep) -> Actor:
    """The operator, by the interim bearer token (``MINEFED_CENTRAL_OPERATOR_TOKEN``).

    Interim until hub accounts exist: one shared secret, compared in constant
    time. Missing → 401; wrong → 403; not configured → 403 (the operator APIs
    are off).
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(
            "需要运维令牌", "operator bearer token required", code="not_authenticated"
        )
    expected = settings.operator_token
    if not expected:
        raise Forbidden(
            "未配置运维令牌，运维接口已关闭",
            "no operator token configured: the operator APIs are off",
            code="operator_api_disabled",
        )
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Forbidden("运维令牌无效", "invalid operator token", code="invalid_operator_token")
    return Actor("operator", request.client.host if request.client else None)


OperatorDep = Annotated[Actor, Depends(operator)]
