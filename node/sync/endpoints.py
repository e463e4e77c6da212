"""``/api/v1/sync``: the operators' view of federation sync, quarantine, relayed notices;
and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily
from sqlmodel import col, func, select

from minefed.observability import exposition
from node.access import ADMIN, PROVINCIAL, Scope, allow, public
from node.audit.service import record_event
from node.deps import ClockDep, SessionDep, SettingsDep
from node.errors import Conflict, NotFound
from node.models import RelayNotice
from node.pagination import Page, PageDep
from node.principal import Actor
from node.sync import service
from node.sync.relay import send_relay
from node.sync.schemas import (
    NoticeIn,
    NoticeOut,
    NoticeSent,
    QuarantineItem,
    SyncStatus,
)
from schemas.enums import RecordKind
from sync.tables import QuarantinedMessage

router = APIRouter(tags=["sync"])

ProvincialDep = Annotated[
    Actor, allow(PROVINCIAL, Scope.PROVINCE, "the node's own federation state and notices")
]
AdminDep = Annotated[Actor, allow(ADMIN, Scope.PROVINCE, "act on the node's federation sync")]


@router.get(
    "/api/v1/sync/status",
    summary="同步状态 / federation sync status",
    description="每个收件方的发送、确认、积压与退避；收件游标；隔离消息数；接入信息。"
    " / Per destination: last sent and acknowledged seq, backlog, oldest unsent age,"
    " last error and backoff; the inbox cursor and last pull; quarantined messages by"
    " status; enrollment (node id, key id, hub key fingerprint).",
)
def sync_status(actor: ProvincialDep, session: SessionDep, settings: SettingsDep) -> SyncStatus:
    return SyncStatus.model_validate(service.status(session, settings, actor.now))


@router.get(
    "/api/v1/sync/quarantine",
    summary="隔离的消息 / quarantined messages",
)
def list_quarantine(
    actor: ProvincialDep,
    session: SessionDep,
    paging: PageDep,
    status: Annotated[
        Literal["pending", "applied", "skipped"] | None,
        Query(description="状态 / status (default: all)"),
    ] = None,
) -> Page[QuarantineItem]:
    query = select(QuarantinedMessage)
    count = select(func.count()).select_from(QuarantinedMessage)
    if status is not None:
        query = query.where(QuarantinedMessage.status == status)
        count = count.where(QuarantinedMessage.status == status)
    rows = session.exec(
        query.order_by(col(QuarantinedMessage.id).desc())
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    return Page.of([QuarantineItem.of(r) for r in rows], int(session.exec(count).one()), paging)


def _pending(session: SessionDep, quarantine_id: int, *, retry: bool) -> QuarantinedMessage:
    row = session.get(QuarantinedMessage, quarantine_id)
    if row is None:
        raise NotFound(
            "未找到该隔离消息",
            f"quarantined message {quarantine_id} not found",
            code="quarantine_not_found",
        )
    if row.status != "pending":
        raise Conflict(
            f"该消息已处理（{row.status}）",
            f"message already resolved ({row.status})",
            code="quarantine_resolved",
        )
    if retry and not isinstance(row.message.get("envelope"), dict):
        raise Conflict(
            "该消息格式错误，无法重试，只能跳过",
            "malformed message: it cannot be retried, only skipped",
            code="quarantine_malformed",
        )
    return row


@router.post(
    "/api/v1/sync/quarantine/{quarantine_id}/retry",
    summary="重新验证并应用隔离消息 / verify and apply a quarantined message again",
)
def retry_quarantined(actor: AdminDep, session: SessionDep, quarantine_id: int) -> QuarantineItem:
    _pending(session, quarantine_id, retry=True)
    try:
        row = service.retry(session, quarantine_id, actor.username, actor.now)
    except LookupError:
        raise Conflict(
            "本节点尚未接入国家中心", "this node is not enrolled", code="not_enrolled"
        ) from None
    record_event(
        session,
        actor,
        "sync.quarantine_retried",
        "sync_quarantine",
        str(quarantine_id),
        {"status": row.status, "reason_code": row.reason_code, "kind": row.kind},
    )
    return QuarantineItem.of(row)


@router.post(
    "/api/v1/sync/quarantine/{quarantine_id}/skip",
    summary="放弃隔离消息（保留记录）/ give up on a quarantined message (kept on record)",
)
def skip_quarantined(actor: AdminDep, session: SessionDep, quarantine_id: int) -> QuarantineItem:
    _pending(session, quarantine_id, retry=False)
    row = service.skip(session, quarantine_id, actor.username, actor.now)
    record_event(
        session,
        actor,
        "sync.quarantine_skipped",
        "sync_quarantine",
        str(quarantine_id),
        {"reason_code": row.reason_code, "kind": row.kind},
    )
    return QuarantineItem.of(row)


@router.post(
    "/api/v1/sync/notices",
    status_code=201,
    summary="向其他省级节点发送通知 / send a notice to another province's node",
    description="经国家中心转发，由本节点签名，国家中心无法篡改。"
    " / Relayed through the hub, signed by this node end to end.",
)
def send_notice(actor: AdminDep, session: SessionDep, body: NoticeIn) -> NoticeSent:
    message = send_relay(session, body.to_node, "notice", {"text": body.text}, actor.now)
    record_event(
        session,
        actor,
        "sync.notice_sent",
        "relay_notice",
        None,
        {"to_node": body.to_node, "seq": message.seq},
    )
    return NoticeSent(to_node=body.to_node, kind=message.kind, seq=message.seq)


def _notice_out(row: RelayNotice) -> NoticeOut:
    assert row.id is not None
    text = row.payload.get("text")
    return NoticeOut(
        id=row.id,
        sender=row.sender,
        seq=row.seq,
        kind=row.kind,
        text=text if isinstance(text, str) else None,
        payload=row.payload,
        received_at=row.received_at,
        read_at=row.read_at,
        read_by=row.read_by,
    )


@router.get(
    "/api/v1/sync/notices",
    summary="其他省级节点发来的通知 / notices relayed from other provinces",
)
def list_notices(
    actor: ProvincialDep,
    session: SessionDep,
    paging: PageDep,
    unread: Annotated[bool, Query(description="仅未读 / unread only")] = False,
) -> Page[NoticeOut]:
    query = select(RelayNotice)
    count = select(func.count()).select_from(RelayNotice)
    if unread:
        query = query.where(col(RelayNotice.read_at).is_(None))
        count = count.where(col(RelayNotice.read_at).is_(None))
    rows = session.exec(
        query.order_by(col(RelayNotice.received_at).desc(), col(RelayNotice.id).desc())
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    return Page.of([_notice_out(r) for r in rows], int(session.exec(count).one()), paging)


@router.post(
    "/api/v1/sync/notices/{notice_id}/read",
    summary="标记通知为已读 / mark a notice read",
)
def mark_notice_read(actor: ProvincialDep, session: SessionDep, notice_id: int) -> NoticeOut:
    row = session.get(RelayNotice, notice_id)
    if row is None:
        raise NotFound("未找到该通知", f"notice {notice_id} not found", code="notice_not_found")
    if row.read_at is None:
        row.read_at = actor.now
        row.read_by = actor.username
        session.add(row)
        session.flush()
    return _notice_out(row)


@router.get(
    "/metrics",
    tags=["health"],
    summary="Prometheus 指标 / Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    dependencies=[public("Prometheus scrapes; counts only, no names; restrict at the proxy")],
)
def metrics(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> Response:
    """Read from the database at each scrape, so every API worker reports the same; HTTP
    requests and latencies are the request middleware's, across workers
    (``minefed.observability``)."""
    backlog = GaugeMetricFamily(
        "minefed_node_outbox_backlog",
        "Messages not yet acknowledged, per destination",
        labels=["peer"],
    )
    oldest = GaugeMetricFamily(
        "minefed_node_outbox_oldest_unsent_age_seconds",
        "Age of the oldest unacknowledged message, per destination (0 when none)",
        labels=["peer"],
    )
    failures = GaugeMetricFamily(
        "minefed_node_outbox_consecutive_failures",
        "Consecutive failed delivery attempts, per destination",
        labels=["peer"],
    )
    quarantine = GaugeMetricFamily(
        "minefed_node_sync_quarantine",
        "Quarantined incoming messages, by status",
        labels=["status"],
    )
    queue = GaugeMetricFamily(
        "minefed_node_review_queue",
        "Records waiting for review, by kind",
        labels=["kind"],
    )
    for peer in service.status(session, settings, clock.now())["peers"]:
        backlog.add_metric([peer["peer"]], peer["backlog"])
        failures.add_metric([peer["peer"]], peer["failures"])
        oldest.add_metric([peer["peer"]], peer["oldest_unsent_age_s"] or 0)
    for status_name, n in service.quarantine_counts(session).items():
        quarantine.add_metric([status_name], n)
    sizes = service.review_queue_sizes(session)
    for kind in RecordKind:
        queue.add_metric([kind.value], sizes.get(kind.value, 0))
    from node.witness.service import summary as witness_summary

    witnessed = witness_summary(session)
    alarms = GaugeMetricFamily(
        "minefed_node_log_fork_alarms",
        "Fork alarms raised by this node's witness of the hub's log (0 = healthy)",
        value=witnessed["fork_alarms"],
    )
    size = GaugeMetricFamily(
        "minefed_node_log_witnessed_size",
        "Size of the last hub checkpoint this node verified as consistent",
        value=witnessed["size"] or 0,
    )
    families = [backlog, oldest, failures, quarantine, queue, alarms, size]
    return Response(exposition(families), media_type=CONTENT_TYPE_LATEST)
