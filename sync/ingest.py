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

An applier may also be a :class:`BatchApplier`. Messages it calls
``batchable`` are then verified and *prepared* (everything that needs no lock:
schema, disclosures, the rows to write) before the locks of their stream are
taken, and consecutive ones are applied together (``apply_many``: one lock of
the rows they touch, one INSERT per table), without a savepoint each. The
outcome is the same as one by one: a refused message is quarantined and
leaves no trace while the others of the run are applied. Preparing outside
the stream's lock lets a sender keep two requests in flight: the second does
its work while the first holds the stream, then applies after it. (A stream
whose next message opens the batch is locked first, so a request carrying
later messages waits for it rather than finding a gap.)

Applying must itself be idempotent per record version, because an operator's
retry may apply an old message after newer ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from sync.envelope import Envelope, verify_envelope
from sync.errors import EnvelopeMalformed, NotOwner, SyncError
from sync.keys import Keyring
from sync.tables import QuarantinedMessage, StreamCursor

__all__ = [
    "Applier",
    "BatchApplier",
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


@runtime_checkable
class BatchApplier(Protocol):
    """An :data:`Applier` that can also prepare messages ahead and apply runs of them.

    ``prepare`` checks what needs no lock and builds what ``apply_many`` will
    write; it raises a :class:`~sync.errors.SyncError` to refuse and must write
    nothing. ``apply_many`` applies prepared messages in order, with exactly
    the effect of calling the applier on each: per message ``None`` (applied)
    or the SyncError that refuses it, a refused one leaving no trace. Any
    other exception propagates and fails the whole request.
    """

    def __call__(
        self, session: Session, envelope: Envelope, disclosures: list[dict[str, Any]]
    ) -> None: ...

    def batchable(self, envelope: Envelope) -> bool:
        """Whether ``envelope`` goes through :meth:`prepare` and :meth:`apply_many`."""
        ...

    def prepare(
        self, session: Session, envelope: Envelope, disclosures: list[dict[str, Any]]
    ) -> Any:
        """Checks that need no lock; what :meth:`apply_many` needs. No writes."""
        ...

    def apply_many(self, session: Session, prepared: Sequence[Any]) -> list[SyncError | None]:
        """Apply prepared messages in order; per message, ``None`` or why it was refused."""
        ...


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
    owned: bool = False,
) -> IngestOutcome:
    """Apply a batch of ``{"envelope": {...}, "disclosures": [...]}`` from one sender.

    ``authenticated_sender`` is who signed the request carrying the batch; an
    envelope claiming another sender is quarantined, never applied. ``owned``:
    the messages were just decoded for this call and nothing else changes them,
    so envelopes may keep their payloads without a copy.
    """
    outcome = IngestOutcome()
    batch_cache: set[tuple[str, bytes, int]] = set()
    cursors: dict[str, StreamCursor] = {}
    bulk = apply if isinstance(apply, BatchApplier) else None
    items = [_parse(message, owned) for message in messages]
    if bulk is not None:
        _lock_streams_continued(session, items, authenticated_sender, cursors, now)
        for item in items:
            envelope = item.envelope
            if (
                envelope is not None
                and envelope.sender == authenticated_sender
                and bulk.batchable(envelope)
            ):
                try:
                    verify_envelope(envelope, keyring, batch_cache=batch_cache)
                    item.prepared = bulk.prepare(session, envelope, item.disclosures)
                except SyncError as exc:
                    item.error = exc
                item.batched = True
    run: list[_Item] = []

    def flush_run() -> None:
        """Apply the prepared messages of the run together; quarantine the refused."""
        ready = [item for item in run if item.error is None]
        if ready:
            assert bulk is not None
            errors = bulk.apply_many(session, [item.prepared for item in ready])
            for item, error in zip(ready, errors, strict=True):
                item.error = error
        for item in run:
            assert item.envelope is not None
            stream = stream_name(item.envelope.sender, item.envelope.recipient)
            if item.error is None:
                outcome.applied += 1
            else:
                quarantine(session, stream, item.message, item.error, now)
                outcome.quarantined.append((stream, item.envelope.seq, item.error.code))
        run.clear()

    for item in items:
        message, envelope = item.message, item.envelope
        if envelope is None:
            assert item.error is not None
            flush_run()
            stream = stream_name(authenticated_sender, "?")
            quarantine(session, stream, message, item.error, now, sender=authenticated_sender)
            outcome.quarantined.append((stream, -1, item.error.code))
            continue
        if envelope.sender != authenticated_sender:
            flush_run()
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
        if item.batched:
            run.append(item)
        else:
            flush_run()
            try:
                with session.begin_nested():
                    _apply_one(session, envelope, item.disclosures, keyring, apply, batch_cache)
                outcome.applied += 1
            except SyncError as exc:
                quarantine(session, stream, message, exc, now)
                outcome.quarantined.append((stream, envelope.seq, exc.code))
        cursor.last_seq = envelope.seq
        cursor.updated_at = now
        session.add(cursor)
    flush_run()
    session.flush()
    outcome.last_applied = {s: c.last_seq for s, c in cursors.items()}
    return outcome


@dataclass
class _Item:
    """One message of a batch: parsed, and for a :class:`BatchApplier` verified and
    prepared ahead (``error`` says why not)."""

    message: Mapping[str, Any]
    envelope: Envelope | None
    disclosures: list[dict[str, Any]]
    error: SyncError | None = None
    batched: bool = False
    prepared: Any = None


def _parse(message: Mapping[str, Any], owned: bool = False) -> _Item:
    raw = message.get("envelope")
    disclosures = message.get("disclosures") or []
    try:
        if not isinstance(raw, Mapping) or not isinstance(disclosures, list):
            raise EnvelopeMalformed("a message needs an envelope object and a disclosures list")
        return _Item(message, Envelope.from_dict(raw, owned=owned), list(disclosures))
    except SyncError as exc:
        return _Item(message, None, [], error=exc)


def _lock_streams_continued(
    session: Session,
    items: Sequence[_Item],
    sender: str,
    cursors: dict[str, StreamCursor],
    now: datetime,
) -> None:
    """Lock now the streams whose next message (by a plain read of the cursor) opens
    this batch; the others are locked when the loop reaches them, after preparing."""
    firsts: dict[str, int] = {}
    for item in items:
        if item.envelope is not None and item.envelope.sender == sender:
            stream = stream_name(item.envelope.sender, item.envelope.recipient)
            firsts.setdefault(stream, item.envelope.seq)
    if not firsts:
        return
    last = dict(
        session.exec(
            select(StreamCursor.stream, StreamCursor.last_seq).where(
                col(StreamCursor.stream).in_(list(firsts))
            )
        ).all()
    )
    for stream, seq in firsts.items():
        if seq == last.get(stream, 0) + 1:
            cursors[stream] = lock_cursor(session, stream, now)


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
