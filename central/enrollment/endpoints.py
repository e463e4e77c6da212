"""``POST /sync/v1/enroll``: a node presents its one-time token and its public key."""

from __future__ import annotations

from fastapi import APIRouter, Request

from central.access import public
from central.deps import ClockDep, HubKeyDep, SessionDep, SettingsDep
from central.enrollment import service
from central.enrollment.schemas import EnrollAnswer, EnrollRequest

router = APIRouter(prefix="/sync/v1", tags=["sync"])


@router.post(
    "/enroll",
    summary="节点注册 / enroll a node with its one-time token",
    response_model=EnrollAnswer,
    responses={
        401: {"description": "令牌无效 / token invalid"},
        409: {"description": "已注册或公钥冲突 / already enrolled or key conflict"},
        410: {"description": "令牌已使用或已过期 / token used or expired"},
    },
    dependencies=[public("the one-time enrollment token in the body is the credential")],
)
def enroll(
    body: EnrollRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    hub_key: HubKeyDep,
) -> EnrollAnswer:
    """Register the node's public key and answer with the hub key and the keyring."""
    _, keyring = service.enroll(
        session,
        node_id=body.node_id,
        token=body.token,
        public_key=body.public_key,
        now=clock.now(),
        hub_id=settings.hub_id,
        hub_key=hub_key,
        client_address=request.client.host if request.client else None,
        clock_tolerance_s=settings.request_window_s,
    )
    public = hub_key.public()
    return EnrollAnswer(
        hub_public_key=public.to_b64(),
        hub_key_id=public.key_id,
        hub_key_fingerprint=public.fingerprint,
        keyring=keyring.to_list(),
    )
