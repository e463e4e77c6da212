"""Key rotation (signed by the old key) and the public key list."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from central.access import public, signed_by_node
from central.deps import ClockDep, HubKeyDep, RawBody, SessionDep, SettingsDep, SignedNode
from central.errors import BadRequest
from central.keys import service
from central.keys.schemas import PublicKeys, RotationAnswer
from sync.request_auth import HEADER_KEY_ID

router = APIRouter(tags=["keys"])


@router.post(
    "/sync/v1/keys/rotate",
    summary="节点密钥轮换 / rotate a node key (signed with the old key)",
    response_model=RotationAnswer,
    responses={
        400: {"description": "正文格式错误 / malformed body"},
        401: {"description": "请求签名无效 / request authentication failed"},
        409: {"description": "新公钥已登记 / new key already registered"},
        422: {"description": "轮换声明无效 / invalid rotation statement"},
    },
    dependencies=[signed_by_node("signed with the old key; only its own key")],
)
def rotate(
    node: SignedNode,
    body: RawBody,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    hub_key: HubKeyDep,
) -> RotationAnswer:
    """`{"statement": make_rotation_statement(old, new_public, node_id, now)}`."""
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("statement"), dict):
        raise BadRequest(
            '请求正文应为 {"statement": {...}}',
            'body must be {"statement": {...}}',
            code="invalid_body",
        )
    new, old = service.rotate_key(
        session,
        data["statement"],
        sender=node.node_id,
        request_key_id=request.headers[HEADER_KEY_ID],
        now=clock.now(),
        hub_id=settings.hub_id,
        hub_key=hub_key,
    )
    return RotationAnswer(
        key=service.record_of(new).to_dict(), retired=service.record_of(old).to_dict()
    )


@router.get(
    "/api/v1/public/keys",
    summary="公开密钥列表 / the hub key and every node key with validity",
    response_model=PublicKeys,
    dependencies=[public("public keys, for anyone to verify signed records offline")],
)
def public_keys(request: Request, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Public, no authentication: what anyone needs to verify a signed record offline."""
    return service.public_keys(session, settings.hub_id, request.app.state.signing_key)
