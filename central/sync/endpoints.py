"""``/sync/v1``: nodes push messages up and pull their inbox down (signed requests)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from central.access import signed_by_node
from central.deps import ClockDep, RawBody, SessionDep, SettingsDep, SignedNode
from central.sync import service
from central.sync.schemas import InboxAnswer, MessagesAnswer

router = APIRouter(prefix="/sync/v1", tags=["sync"])

_SIGNED: dict[int | str, dict[str, Any]] = {
    401: {"description": "请求签名无效 / request authentication failed (SyncError code)"},
    403: {"description": "节点已暂停 / node suspended"},
    503: {"description": "枢纽无签名密钥 / the hub has no signing key"},
}


@router.post(
    "/messages",
    summary="节点上送消息 / push signed messages",
    response_model=MessagesAnswer,
    responses={
        **_SIGNED,
        400: {"description": "正文格式错误 / malformed body"},
        413: {"description": "消息过多 / too many messages"},
    },
    dependencies=[signed_by_node("its own streams (and relays it signed)")],
)
def push_messages(
    node: SignedNode, body: RawBody, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> MessagesAnswer:
    """Apply `{"messages": [{"envelope", "disclosures"}, …]}` in seq order per stream.

    Answers the last applied seq per stream; refused messages are quarantined
    and listed (see docs/sync-protocol.md).
    """
    messages = service.parse_messages(body, settings.max_batch)
    return service.receive(session, node, messages, now=clock.now(), hub_id=settings.hub_id)


@router.get(
    "/inbox",
    summary="节点拉取收件箱 / pull the node's inbox",
    response_model=InboxAnswer,
    responses={**_SIGNED, 409: {"description": "游标超前 / inbox cursor ahead of the hub"}},
    dependencies=[signed_by_node("its own inbox only")],
)
def pull_inbox(
    node: SignedNode,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    after: int = Query(0, ge=0, description="节点已应用的最后投递序号 / last delivery seq applied"),
    limit: int | None = Query(None, ge=1, description="最多返回条数 / most messages to return"),
) -> InboxAnswer:
    """Directives and relays queued for the authenticated node, after `after`."""
    size = min(limit or settings.max_batch, settings.max_batch)
    return service.inbox(session, node, after=after, limit=size, now=clock.now())
