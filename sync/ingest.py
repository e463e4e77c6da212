"""The receiving side: idempotent, in-order application of envelopes.

Per stream (one sender to one recipient) the receiver keeps the last applied
``seq`` in PostgreSQL and, for each incoming message:

- ``seq <= last``: a duplicate, ignored;
- ``seq > last + 1``: a gap, nothing more of that stream is applied in this
  request; the answer says ``last`` and the sender resends from there;
- ``seq == last + 1``: verified and applied inside a savepoint. A message that
  fails (a :class:`~sync.errors.SyncError`: bad signature, unknown or revoked
  key, not the owner, schema) is **quarantined** with its reason and the
  cursor moves past it, so it does not block the messages behind it. An
  operator can later retry it (after the key registry is fixed, say) or skip
  it. Any other exception is a fault on our side: it propagates, nothing of
  the request is kept, and the sender retries later.

Applying must itself be idempotent per record version, because an operator's
retry may apply an old message after newer ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from sync.envelope import Envelope, verify_envelope
from sync.errors import EnvelopeMalformed, NotOwner, SyncError
from sync.keys import Keyring
from sync.tables import QuarantinedMessage, StreamCursor

__all__ = [
    "Applier",
    "IngestOutcome",
    "ingest",
    "lock_cursor",
    "quarantine",
    "retry_quarantined",
    "skip_quarantined",
    "stream_name",
]

#: ``apply(session, envelope, disclosures)``; raises SyncError to refuse the message.
Applier = Callable[[Session, Envelope, list[dict[str, Any]]], None]


def stream_name(sender: str, recipient: str) -> str:
    return f"{sender}>{recipient}"


def lock_cursor(session: Session, stream: str, now: datetime) -> StreamCursor:
    """The cursor of ``stream``, created at 0 if new, locked until commit."""
    session.execute(
        insert(StreamCursor)
        .values(stream=stream, last_seq=0, updated_at=now)
        .on_conflict_do_nothing()
    )
    return session.exec(
        select(StreamCursor).where(StreamCursor.stream == stream).with_for_update()
    ).one()


@dataclass
class IngestOutcome:
    """What happened to one batch, per stream: the last applied seq is the answer."""

    last_applied: dict[str, int] = field(default_factory=dict)
    applied: int = 0
    duplicates: int = 0
    quarantined: list[tuple[str, int, str]] = field(default_factory=list)
    gaps: dict[str, int] = field(default_factory=dict)  # stream → first seq not applied


def _reason(error: SyncError) -> str:
    text = f"{error.message}: {error.detail}" if error.detail else error.message
    return text[:2000]


def quarantine(
    session: Session,
    stream: str,
    message: Mapping[str, Any],
    error: SyncError,
    now: datetime,
    *,
    sender: str | None = None,
) -> QuarantinedMessage:
    """Keep ``message`` with the reason it was refused.

    ``sender`` is who actually sent it (the authenticated party) when known;
    otherwise the envelope's claim is recorded.
    """
    envelope = message.get("envelope") if isinstance(message.get("envelope"), Mapping) else {}
    assert isinstance(envelope, Mapping)
    seq = envelope.get("seq")
    row = QuarantinedMessage(
        stream=stream,
        sender=(sender if sender is not None else str(envelope.get("sender", "")))[:64],
        seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else -1,
        kind=str(envelope.get("kind", ""))[:64],
        message=dict(message),
        reason_code=error.code,
        reason=_reason(error),
        received_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _apply_one(
    session: Session,
    envelope: Envelope,
    disclosures: list[dict[str, Any]],
    keyring: Keyring,
    apply: Applier,
    batch_cache: set[tuple[str, bytes, int]],
) -> None:
    verify_envelope(envelope, keyring, batch_cache=batch_cache)
    apply(session, envelope, disclosures)


def ingest(
    session: Session,
    messages: Sequence[Mapping[str, Any]],
    *,
    authenticated_sender: str,
    keyring: Keyring,
    now: datetime,
    apply: Applier,
) -> IngestOutcome:
    """Apply a batch of ``{"envelope": {...}, "disclosures": [...]}`` from one sender.

    ``authenticated_sender`` is who signed the request carrying the batch; an
    envelope claiming another sender is quarantined, never applied.
    """
    outcome = IngestOutcome()
    batch_cache: set[tuple[str, bytes, int]] = set()
    cursors: dict[str, StreamCursor] = {}
    for message in messages:
        raw = message.get("envelope")
        disclosures = message.get("disclosures") or []
        try:
            if not isinstance(raw, Mapping) or not isinstance(disclosures, list):
                raise EnvelopeMalformed("a message needs an envelope object and a disclosures list")
            envelope = Envelope.from_dict(raw)
        except SyncError as exc:
            stream = stream_name(authenticated_sender, "?")
            quarantine(session, stream, message, exc, now, sender=authenticated_sender)
            outcome.quarantined.append((stream, -1, exc.code))
            continue
        if envelope.sender != authenticated_sender:
            # Filed under who really sent it, never under the party it impersonates.
            stream = stream_name(authenticated_sender, envelope.recipient)
            error = NotOwner(f"envelope from {envelope.sender} sent by {authenticated_sender}")
            quarantine(session, stream, message, error, now, sender=authenticated_sender)
            outcome.quarantined.append((stream, envelope.seq, error.code))
            continue
        stream = stream_name(envelope.sender, envelope.recipient)
        if stream in outcome.gaps:
            continue
        cursor = cursors.get(stream) or lock_cursor(session, stream, now)
        cursors[stream] = cursor
        if envelope.seq <= cursor.last_seq:
            outcome.duplicates += 1
            continue
        if envelope.seq > cursor.last_seq + 1:
            outcome.gaps[stream] = cursor.last_seq + 1
            continue
        try:
            with session.begin_nested():
                _apply_one(session, envelope, list(disclosures), keyring, apply, batch_cache)
            outcome.applied += 1
        except SyncError as exc:
            quarantine(session, stream, message, exc, now)
            outcome.quarantined.append((stream, envelope.seq, exc.code))
        cursor.last_seq = envelope.seq
        cursor.updated_at = now
        session.add(cursor)
    session.flush()
    outcome.last_applied = {s: c.last_seq for s, c in cursors.items()}
    return outcome


def retry_quarantined(
    session: Session,
    quarantine_id: int,
    *,
    keyring: Keyring,
    apply: Applier,
    operator: str,
    now: datetime,
) -> QuarantinedMessage:
    """Verify and apply a quarantined message again (after the cause was fixed).

    On success it is marked ``applied``; on failure it stays ``pending`` with
    the new reason. The stream's cursor is not touched: it moved on already.
    """
    row = session.exec(
        select(QuarantinedMessage)
        .where(col(QuarantinedMessage.id) == quarantine_id)
        .with_for_update()
    ).one()
    if row.status != "pending":
        return row
    try:
        with session.begin_nested():
            stored = row.message.get("envelope")
            if not isinstance(stored, Mapping):
                raise EnvelopeMalformed("the quarantined message has no envelope object")
            envelope = Envelope.from_dict(stored)
            _apply_one(
                session, envelope, list(row.message.get("disclosures") or []), keyring, apply, set()
            )
        row.status = "applied"
        row.resolved_by = operator
        row.resolved_at = now
    except SyncError as exc:
        row.reason_code = exc.code
        row.reason = _reason(exc)
    session.add(row)
    session.flush()
    return row


def skip_quarantined(
    session: Session, quarantine_id: int, *, operator: str, now: datetime
) -> QuarantinedMessage:
    """Give up on a quarantined message; it stays on record as ``skipped``."""
    row = session.exec(
        select(QuarantinedMessage)
        .where(col(QuarantinedMessage.id) == quarantine_id)
        .with_for_update()
    ).one()
    if row.status == "pending":
        row.status = "skipped"
        row.resolved_by = operator
        row.resolved_at = now
        session.add(row)
        session.flush()
    return row
