"""Operator APIs (hub users: the bureau's staff read, its administrators act) and the
Prometheus endpoint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST

from central.access import ADMIN, BUREAU, Scope, allow, public
from central.deps import ClockDep, SessionDep, SettingsDep
from central.operations import metrics, service
from central.operations.schemas import QuarantineItem, QuarantineList, SyncStatus
from central.principal import HubPrincipal

router = APIRouter(tags=["operations"])

ReaderDep = Annotated[HubPrincipal, allow(BUREAU, Scope.NATIONAL, "every node's sync state")]
ActorDep = Annotated[HubPrincipal, allow(ADMIN, Scope.NATIONAL, "retry or skip any message")]

_OPERATOR: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录 / not logged in"},
    403: {"description": "无权限 / role not allowed"},
}


@router.get(
    "/api/v1/sync/status",
    summary="同步状态 / sync status per node",
    response_model=SyncStatus,
    responses=_OPERATOR,
)
def sync_status(_: ReaderDep, session: SessionDep, clock: ClockDep) -> SyncStatus:
    """Per node: contact, incoming streams, the hub's queue to it, quarantine counts."""
    return service.sync_status(session, clock.now())


@router.get(
    "/api/v1/sync/quarantine",
    summary="隔离消息列表 / quarantined messages",
    response_model=QuarantineList,
    responses={**_OPERATOR, 422: {"description": "参数错误 / bad parameter"}},
)
def quarantine_list(
    _: ReaderDep,
    session: SessionDep,
    status: str = Query("pending", description="pending, applied or skipped"),
    node: str | None = Query(None, description="只看某节点 / one node only"),
    limit: int = Query(100, ge=1, le=1000),
) -> QuarantineList:
    return QuarantineList(
        items=service.list_quarantine(session, status=status, node=node, limit=limit)
    )


@router.post(
    "/api/v1/sync/quarantine/{quarantine_id}/retry",
    summary="重试隔离消息 / retry a quarantined message",
    response_model=QuarantineItem,
    responses={
        **_OPERATOR,
        404: {"description": "不存在 / not found"},
        409: {"description": "已处理 / resolved already"},
    },
)
def quarantine_retry(
    quarantine_id: int,
    principal: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> QuarantineItem:
    """Verify and apply it again; it stays pending (with the new reason) if it still fails."""
    return service.retry(
        session, quarantine_id, actor=principal.actor, now=clock.now(), hub_id=settings.hub_id
    )


@router.post(
    "/api/v1/sync/quarantine/{quarantine_id}/skip",
    summary="放弃隔离消息 / skip a quarantined message",
    response_model=QuarantineItem,
    responses={
        **_OPERATOR,
        404: {"description": "不存在 / not found"},
        409: {"description": "已处理 / resolved already"},
    },
)
def quarantine_skip(
    quarantine_id: int, principal: ActorDep, session: SessionDep, clock: ClockDep
) -> QuarantineItem:
    return service.skip(session, quarantine_id, actor=principal.actor, now=clock.now())


@router.get(
    "/metrics",
    summary="Prometheus 指标 / Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "exposition text"}},
    dependencies=[public("Prometheus scrapes; counts only, no names; restrict at the proxy")],
)
def prometheus(session: SessionDep, clock: ClockDep) -> Response:
    """Computed from the database at each scrape; restrict access at the reverse proxy."""
    return Response(metrics.render(session, clock.now()), media_type=CONTENT_TYPE_LATEST)
