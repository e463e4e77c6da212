"""The sending side: a transactional outbox and per-destination delivery state.

:func:`enqueue` is called inside the transaction that makes the change it
announces (an approval, a directive), so a message exists if and only if the
change committed. Sequence numbers per recipient come from a counter row
locked for the rest of that transaction: concurrent senders queue behind
each other, so numbers are assigned in commit order and the drain never sees
seq 6 committed before seq 5.

Delivery state (acknowledged seq, failures, backoff) is persisted, never kept
in memory, so a worker killed mid-batch loses nothing: the next worker resends
from the receiver's last acknowledged seq, and the receiver ignores what it has.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from sync.backoff import next_delay_s
from sync.disclosure import Disclosure
from sync.envelope import BatchItem, Envelope, seal, seal_batch
from sync.keys import SigningKey
from sync.tables import OutboxMessage, PeerState

__all__ = [
    "due_peers",
    "enqueue",
    "enqueue_batch",
    "enqueue_envelope",
    "lock_peer",
    "pending",
    "pending_json",
    "record_ack",
    "record_failure",
]


def lock_peer(session: Session, peer: str) -> PeerState:
    """The delivery state of ``peer``, created if new, locked until commit."""
    session.execute(insert(PeerState).values(peer=peer).on_conflict_do_nothing())
    state = session.exec(select(PeerState).where(PeerState.peer == peer).with_for_update()).one()
    return state


def _next_seq(session: Session, recipient: str) -> int:
    state = lock_peer(session, recipient)
    seq = state.next_seq
    state.next_seq = seq + 1
    session.add(state)
    return seq


def enqueue(
    session: Session,
    *,
    kind: str,
    sender: str,
    recipient: str,
    payload: Mapping[str, Any],
    key: SigningKey,
    now: datetime,
    disclosures: Sequence[Disclosure] = (),
) -> OutboxMessage:
    """Sign ``payload`` as the next message to ``recipient`` and queue it.

    Must run in the caller's transaction; nothing is committed here.
    """
    seq = _next_seq(session, recipient)
    envelope = seal(kind, sender, seq, recipient, payload, key, now)
    message = OutboxMessage(
        recipient=recipient,
        seq=seq,
        kind=kind,
        envelope=envelope.to_dict(),
        disclosures=[d.to_dict() for d in disclosures],
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def enqueue_batch(
    session: Session,
    *,
    sender: str,
    recipient: str,
    items: Sequence[tuple[str, Mapping[str, Any], Sequence[Disclosure]]],
    key: SigningKey,
    now: datetime,
) -> list[OutboxMessage]:
    """Queue ``(kind, payload, disclosures)`` items as the next messages to
    ``recipient``, in order, signed together by one batch signature
    (:func:`sync.envelope.seal_batch`: each envelope stays verifiable alone, and
    a receiver that caches the verified root checks one Ed25519 signature for
    the lot instead of one each). At most :data:`sync.envelope.MAX_BATCH` items.

    Must run in the caller's transaction; nothing is committed here.
    """
    if not items:
        return []
    state = lock_peer(session, recipient)
    first = state.next_seq
    state.next_seq = first + len(items)
    session.add(state)
    envelopes = seal_batch(
        [
            BatchItem(kind, first + i, recipient, payload)
            for i, (kind, payload, _) in enumerate(items)
        ],
        sender,
        key,
        now,
    )
    messages = [
        OutboxMessage(
            recipient=recipient,
            seq=envelope.seq,
            kind=envelope.kind,
            envelope=envelope.to_dict(),
            disclosures=[d.to_dict() for d in disclosures],
            created_at=now,
        )
        for envelope, (_, _, disclosures) in zip(envelopes, items, strict=True)
    ]
    session.add_all(messages)
    session.flush()
    return messages


def enqueue_envelope(
    session: Session,
    recipient: str,
    envelope: Envelope,
    now: datetime,
    disclosures: Sequence[Mapping[str, Any]] = (),
) -> OutboxMessage:
    """Queue an envelope signed by someone else (the hub relaying between provinces)."""
    seq = _next_seq(session, recipient)
    message = OutboxMessage(
        recipient=recipient,
        seq=seq,
        kind=envelope.kind,
        envelope=envelope.to_dict(),
        disclosures=[dict(d) for d in disclosures],
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def pending(
    session: Session, recipient: str, *, after: int | None = None, limit: int = 500
) -> list[OutboxMessage]:
    """Messages to ``recipient`` after ``after`` (default: after the acknowledged seq)."""
    if after is None:
        state = session.get(PeerState, recipient)
        after = state.acked_seq if state else 0
    return list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == recipient, col(OutboxMessage.seq) > after)
            .order_by(col(OutboxMessage.seq))
            .limit(limit)
        )
    )


def pending_json(
    session: Session, recipient: str, *, after: int | None = None, limit: int = 500
) -> list[tuple[int, str]]:
    """:func:`pending` as ``(seq, message)``, each message the JSON text of
    ``{"envelope", "disclosures"}`` written by PostgreSQL from the stored JSONB.

    For a sender that forwards messages unchanged: nothing is parsed into
    Python objects and written out again (the receiver verifies the envelope
    from its values, so the spelling of the JSON does not matter).
    """
    if after is None:
        state = session.get(PeerState, recipient)
        after = state.acked_seq if state else 0
    rows = session.execute(
        text(
            "SELECT seq, jsonb_build_object('envelope', envelope, 'disclosures', disclosures)::text "
            "FROM sync_outbox WHERE recipient = :recipient AND seq > :after "
            "ORDER BY seq LIMIT :limit"
        ),
        {"recipient": recipient, "after": after, "limit": limit},
    )
    return [(int(seq), str(message)) for seq, message in rows]


def record_ack(session: Session, peer: str, acked_seq: int, now: datetime) -> PeerState:
    """The receiver says it has applied everything up to ``acked_seq``."""
    state = lock_peer(session, peer)
    # Never move backwards: an old answer arriving late must not cause a resend storm.
    state.acked_seq = max(state.acked_seq, acked_seq)
    state.failures = 0
    state.backoff_until = None
    state.last_error = None
    state.last_attempt_at = now
    state.last_success_at = now
    session.add(state)
    return state


def record_failure(
    session: Session,
    peer: str,
    error: str,
    now: datetime,
    *,
    rng: random.Random | None = None,
    base_s: float = 1.0,
    cap_s: float = 3600.0,
) -> PeerState:
    """A delivery attempt failed in a way that means "peer down": back off."""
    state = lock_peer(session, peer)
    state.failures += 1
    delay = next_delay_s(state.failures, rng, base_s=base_s, cap_s=cap_s)
    state.backoff_until = now + timedelta(seconds=delay)
    state.last_error = error[:1000]
    state.last_attempt_at = now
    session.add(state)
    return state


def due_peers(session: Session, now: datetime) -> list[str]:
    """Destinations with unacknowledged messages whose backoff has passed."""
    backlog = (
        select(OutboxMessage.recipient)
        .join(PeerState, col(PeerState.peer) == col(OutboxMessage.recipient))
        .where(
            col(OutboxMessage.seq) > col(PeerState.acked_seq),
            (col(PeerState.backoff_until).is_(None)) | (col(PeerState.backoff_until) <= now),
        )
        .group_by(col(OutboxMessage.recipient))
        .having(func.count() > 0)
    )
    return [str(r) for r in session.exec(backlog)]
