"""The public log API (checkpoint, proofs, a record's entries) and witness cosignatures."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from central.access import public, signed_by_node
from central.deps import ClockDep, RawBody, SessionDep, SignedNode
from central.errors import BadRequest
from central.transparency import service
from central.transparency.schemas import (
    ConsistencyProof,
    CosignatureAnswer,
    CosignatureIn,
    InclusionProof,
    RecordLog,
)

router = APIRouter(tags=["transparency"])

PUBLIC_NOTE = "the transparency log is public: anyone may verify"


@router.get(
    "/api/v1/public/log/checkpoint",
    summary="最新签名检查点 / the latest signed checkpoint (C2SP signed note)",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {}}, "description": "C2SP signed-note text"},
        503: {"description": "尚无检查点 / no checkpoint yet"},
    },
    dependencies=[public(PUBLIC_NOTE)],
)
def checkpoint(session: SessionDep) -> PlainTextResponse:
    """Origin, size and base64 root, a blank line, the hub's signature line and one
    line per witness cosignature (docs/transparency.md)."""
    return PlainTextResponse(
        service.checkpoint_note(session), headers={"Cache-Control": "no-cache"}
    )


@router.get(
    "/api/v1/public/log/inclusion",
    summary="包含证明 / RFC 9162 inclusion proof",
    response_model=InclusionProof,
    responses={400: {"description": "序号或大小超出日志 / index or size outside the log"}},
    dependencies=[public(PUBLIC_NOTE)],
)
def inclusion(
    session: SessionDep,
    index: Annotated[int, Query(ge=0, description="叶子序号 / leaf index")],
    size: Annotated[int, Query(ge=1, description="树的大小（检查点大小） / tree size")],
) -> dict[str, Any]:
    return service.inclusion(session, index, size)


@router.get(
    "/api/v1/public/log/consistency",
    summary="一致性证明 / RFC 9162 consistency proof",
    response_model=ConsistencyProof,
    responses={400: {"description": "0 < first ≤ second ≤ 日志大小 / sizes out of range"}},
    dependencies=[public(PUBLIC_NOTE)],
)
def consistency(
    session: SessionDep,
    first: Annotated[int, Query(ge=0, description="旧树大小 / older tree size (> 0)")],
    second: Annotated[int, Query(ge=1, description="新树大小 / newer tree size")],
) -> dict[str, Any]:
    return service.consistency(session, first, second)


@router.get(
    "/api/v1/public/log/records/{record_id}",
    summary="某记录的全部日志条目 / every log entry of a record",
    response_model=RecordLog,
    responses={404: {"description": "日志中没有该记录 / record not in the log"}},
    dependencies=[public(PUBLIC_NOTE)],
)
def record_log(session: SessionDep, record_id: str) -> dict[str, Any]:
    """What `minefed verify` checks: each entry's envelope (null once deleted) and leaf hash."""
    return service.record_entries(session, record_id)


@router.post(
    "/sync/v1/log/cosignatures",
    summary="见证节点提交联署签名 / a witness node's cosignature of a checkpoint",
    response_model=CosignatureAnswer,
    responses={
        400: {"description": "正文格式错误 / malformed body"},
        404: {"description": "检查点不存在 / no such checkpoint"},
        422: {"description": "签名无效 / cosignature does not verify"},
    },
    dependencies=[signed_by_node("a witness adds its own cosignature only")],
)
def cosign(
    node: SignedNode, body: RawBody, session: SessionDep, clock: ClockDep
) -> CosignatureAnswer:
    """`{"size": N, "cosignature": "— node:150000 <base64>"}` (docs/transparency.md)."""
    try:
        data = CosignatureIn.model_validate(json.loads(body))
    except (UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        raise BadRequest(
            '请求正文应为 {"size": N, "cosignature": "— …"}',
            'body must be {"size": N, "cosignature": "— …"}',
            code="invalid_body",
        ) from exc
    row = service.add_cosignature(
        session, node, size=data.size, line=data.cosignature, now=clock.now()
    )
    return CosignatureAnswer(
        size=row.checkpoint_size, witness=row.witness, received_at=row.received_at
    )
