"""Sync status and the quarantine, for operators (API, CLI and metrics share these)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from central.audit.service import Actor, record_event
from central.errors import Conflict, InvalidInput, NotFound
from central.keys.service import live_keys, load_keyring
from central.models import HubNode
from central.operations.schemas import (
    NodeSyncStatus,
    OutboxState,
    QuarantineItem,
    SyncStatus,
)
from central.sync.apply import HubApplier
from sync.ingest import retry_quarantined, skip_quarantined
from sync.tables import OutboxMessage, PeerState, QuarantinedMessage, StreamCursor

QUARANTINE_STATUSES = ("pending", "applied", "skipped")


def backlog_by_node(session: Session) -> dict[str, tuple[int, datetime | None]]:
    """Per recipient: messages queued after its acknowledged seq, and the oldest one's time."""
    acked = func.coalesce(col(PeerState.acked_seq), 0)
    rows = session.execute(
        select(
            col(OutboxMessage.recipient),
            func.count(),
            func.min(col(OutboxMessage.created_at)),
        )
        .select_from(OutboxMessage)
        .outerjoin(PeerState, col(PeerState.peer) == col(OutboxMessage.recipient))
        .where(col(OutboxMessage.seq) > acked)
        .group_by(col(OutboxMessage.recipient))
    )
    return {str(r): (int(n), oldest) for r, n, oldest in rows}


def quarantine_counts(session: Session) -> dict[tuple[str, str, str], int]:
    """``(sender, kind, status) → count`` over the whole quarantine."""
    rows = session.execute(
        select(
            col(QuarantinedMessage.sender),
            col(QuarantinedMessage.kind),
            col(QuarantinedMessage.status),
            func.count(),
        ).group_by(
            col(QuarantinedMessage.sender),
            col(QuarantinedMessage.kind),
            col(QuarantinedMessage.status),
        )
    )
    return {(str(s), str(k), str(st)): int(n) for s, k, st, n in rows}


def sync_status(session: Session, now: datetime) -> SyncStatus:
    nodes = list(session.exec(select(HubNode).order_by(col(HubNode.node_id))))
    incoming: dict[str, dict[str, int]] = defaultdict(dict)
    for cursor in session.exec(select(StreamCursor)):
        sender = cursor.stream.split(">", 1)[0]
        incoming[sender][cursor.stream] = cursor.last_seq
    peers = {p.peer: p for p in session.exec(select(PeerState))}
    backlog = backlog_by_node(session)
    quarantined: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(QUARANTINE_STATUSES, 0)
    )
    for (sender, _kind, status), n in quarantine_counts(session).items():
        quarantined[sender][status] = quarantined[sender].get(status, 0) + n
    out = []
    for node in nodes:
        peer = peers.get(node.node_id)
        count, oldest = backlog.get(node.node_id, (0, None))
        out.append(
            NodeSyncStatus(
                node_id=node.node_id,
                jurisdiction=node.jurisdiction,
                display_name=node.display_name,
                status=node.status,
                enrolled_at=node.enrolled_at,
                last_contact_at=node.last_contact_at,
                live_key_ids=sorted(k.key_id for k in live_keys(session, node.node_id, now)),
                incoming=dict(sorted(incoming.get(node.node_id, {}).items())),
                outbox=OutboxState(
                    queued_seq=(peer.next_seq - 1) if peer else 0,
                    acked_seq=peer.acked_seq if peer else 0,
                    backlog=count,
                    oldest_unacked_at=oldest,
                    oldest_unacked_age_s=int((now - oldest).total_seconds()) if oldest else None,
                ),
                quarantine=dict(quarantined[node.node_id]),
            )
        )
    return SyncStatus(at=now, nodes=out)


def _item(row: QuarantinedMessage) -> QuarantineItem:
    envelope = row.message.get("envelope")
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    record_id = payload.get("record_id") if isinstance(payload, dict) else None
    assert row.id is not None
    return QuarantineItem(
        id=row.id,
        stream=row.stream,
        sender=row.sender,
        seq=row.seq,
        kind=row.kind,
        record_id=str(record_id)[:64] if record_id is not None else None,
        reason_code=row.reason_code,
        reason=row.reason,
        received_at=row.received_at,
        status=row.status,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
    )


def list_quarantine(
    session: Session, *, status: str | None = "pending", node: str | None = None, limit: int = 100
) -> list[QuarantineItem]:
    if status is not None and status not in QUARANTINE_STATUSES:
        raise InvalidInput(
            "状态应为 pending、applied 或 skipped",
            "status must be pending, applied or skipped",
            code="invalid_status",
            field="status",
        )
    query = select(QuarantinedMessage).order_by(col(QuarantinedMessage.id)).limit(limit)
    if status is not None:
        query = query.where(col(QuarantinedMessage.status) == status)
    if node is not None:
        query = query.where(col(QuarantinedMessage.sender) == node)
    return [_item(r) for r in session.exec(query)]


def _pending(session: Session, quarantine_id: int) -> QuarantinedMessage:
    row = session.get(QuarantinedMessage, quarantine_id)
    if row is None:
        raise NotFound(
            "隔离消息不存在", f"no quarantined message {quarantine_id}", code="not_found"
        )
    if row.status != "pending":
        raise Conflict(
            "该隔离消息已处理",
            f"quarantined message {quarantine_id} is {row.status} already",
            code="quarantine_resolved",
        )
    return row


def retry(
    session: Session, quarantine_id: int, *, actor: Actor, now: datetime, hub_id: str
) -> QuarantineItem:
    """Verify and apply a quarantined message again (after its cause was fixed); audited.

    Uses the current key registry and the same checks as a fresh push. On
    failure the message stays pending with the new reason.
    """
    before = _pending(session, quarantine_id)
    old_code = before.reason_code
    row = retry_quarantined(
        session,
        quarantine_id,
        keyring=load_keyring(session),
        apply=HubApplier(hub_id, now),
        operator=actor.name,
        now=now,
    )
    record_event(
        session,
        actor,
        "sync.quarantine.retried",
        "quarantine",
        quarantine_id,
        now,
        _audit_detail(row, previous_code=old_code),
    )
    return _item(row)


def skip(session: Session, quarantine_id: int, *, actor: Actor, now: datetime) -> QuarantineItem:
    """Give up on a quarantined message (it stays on record as skipped); audited."""
    _pending(session, quarantine_id)
    row = skip_quarantined(session, quarantine_id, operator=actor.name, now=now)
    record_event(
        session,
        actor,
        "sync.quarantine.skipped",
        "quarantine",
        quarantine_id,
        now,
        _audit_detail(row),
    )
    return _item(row)


def _audit_detail(row: QuarantinedMessage, **extra: Any) -> dict[str, Any]:
    return {
        "stream": row.stream,
        "seq": row.seq,
        "kind": row.kind,
        "status": row.status,
        "reason_code": row.reason_code,
        **extra,
    }
