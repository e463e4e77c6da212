"""Publishing: an approved record version, signed, into the outbox in the approval's
own transaction (DESIGN.md, "Record lifecycle").

The signing key and the kick reach the services through the session: the
request dependency (and every task or command that publishes) binds a
:class:`Publisher` to the session it opens (:func:`bind_publisher`). Services
keep their signatures, tests bind the publisher they want, and nothing global
outlives a test.

Before enrollment there is no key and nothing can be signed. Approval must
still work (a province may start before its node is enrolled, and the demo seeds
data that way), so the version is left unpublished: a warning is logged, the
audit trail gets a ``sync.unpublished`` note, and :func:`publish_backlog` --
which ``minefed node enroll`` runs, and ``minefed node publish-backlog`` runs
again on demand -- publishes every approved version the ledger
(``node_publication``) does not hold yet. Nothing is lost; it is only late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_
from sqlmodel import Session, col, select

from node.audit.service import record_event
from node.config import NodeSettings
from node.db import after_commit
from node.filing.indexing import apply_index
from node.models import Contractor, NodeFederation, NodePublication, Record, RecordVersion
from node.principal import Actor
from node.sync.keystore import KeyFile
from schemas.enums import RecordKind, ReviewState
from schemas.forms import SENSITIVE
from sync.clock import format_rfc3339
from sync.disclosure import Disclosure, conceal
from sync.envelope import MAX_BATCH
from sync.keys import SigningKey
from sync.outbox import enqueue, enqueue_batch
from sync.tables import OutboxMessage

__all__ = [
    "HUB",
    "TOMBSTONE_REASONS",
    "Publisher",
    "bind_publisher",
    "enrollment",
    "publish_backlog",
    "publish_record",
    "publish_tombstone",
    "publisher_of",
    "record_payload",
]

log = logging.getLogger("minefed.node.sync")

#: The recipient of every publication.
HUB = "hub"

TOMBSTONE_REASONS = frozenset({"withdrawn", "retention"})

_SESSION_KEY = "minefed.publisher"

Kick = Callable[[], None]


class Publisher:
    """What publishing needs beyond the database: the key file and a way to wake the
    delivery worker once the transaction has committed."""

    def __init__(self, key_file: KeyFile | Path, kick: Kick | None = None) -> None:
        self.key_file = key_file if isinstance(key_file, KeyFile) else KeyFile(key_file)
        self._kick = kick

    @classmethod
    def from_settings(cls, settings: NodeSettings) -> Publisher:
        """The publisher of a running node: its key file, kicks sent to its broker."""
        from node.sync.broker import CeleryKick

        return cls(settings.key_file, CeleryKick(settings))

    def signing_key(self) -> SigningKey | None:
        return self.key_file.load()

    def kick(self) -> None:
        """Ask a worker to push now. Never raises: the periodic sweep delivers anyway."""
        if self._kick is None:
            return
        try:
            self._kick()
        except Exception:  # a broker outage delays delivery, it must not fail a request
            log.warning("could not kick sync.push; the sweep will deliver", exc_info=True)


def bind_publisher(session: Session, publisher: Publisher | None) -> None:
    """Let services publishing in ``session``'s transaction use ``publisher``."""
    if publisher is None:
        session.info.pop(_SESSION_KEY, None)
    else:
        session.info[_SESSION_KEY] = publisher


def publisher_of(session: Session) -> Publisher | None:
    publisher = session.info.get(_SESSION_KEY)
    return publisher if isinstance(publisher, Publisher) else None


def enrollment(session: Session) -> tuple[NodeFederation, Publisher, SigningKey] | str:
    """The enrollment, publisher and key to sign with, or why there are none."""
    publisher = publisher_of(session)
    if publisher is None:
        return "no_publisher"
    federation = session.get(NodeFederation, 1)
    if federation is None:
        return "not_enrolled"
    key = publisher.signing_key()
    if key is None:
        log.error("node is enrolled but its key file %s is missing", publisher.key_file.path)
        return "key_file_missing"
    return federation, publisher, key


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_rfc3339(value)


def record_payload(
    session: Session, record: Record, version: RecordVersion, owner: str
) -> tuple[dict[str, Any], list[Disclosure]]:
    """The ``record.publish`` payload of docs/sync-protocol.md and its disclosures.

    Sensitive values (``schemas.forms.SENSITIVE``) are replaced by salted-digest
    slots; their disclosures travel beside the envelope, to the hub only.

    Division codes are derived from the published version's own data (as the
    index columns are), so an older version republished later keeps its place.
    """
    contractor = session.get(Contractor, record.contractor_id)
    assert contractor is not None
    index = Record(kind=record.kind, contractor_id=record.contractor_id, state=record.state)
    apply_index(index, version.data, contractor)
    # Disclosure paths are relative to ``data`` ("head.resident_id"), as the
    # protocol says: a receiver opens them with reveal(payload["data"], disclosures).
    data, disclosures = conceal(version.data, SENSITIVE[RecordKind(record.kind)])
    payload: dict[str, Any] = {
        "record_id": str(record.id),
        "kind": record.kind,
        "version_no": version.version_no,
        "owner": owner,
        "contractor": {"uscc": contractor.uscc, "name": contractor.name},
        "province_code": index.province_code,
        "city_code": index.city_code,
        "county_code": index.county_code,
        "first_entered_at": format_rfc3339(record.created_at),
        "approved_at": _time(version.decided_at),
        "data": data,
    }
    return payload, disclosures


def _actor_and_now(when: Actor | datetime) -> tuple[Actor | None, datetime]:
    return (when, when.now) if isinstance(when, Actor) else (None, when)


def publish_record(
    session: Session, record: Record, version: RecordVersion, when: Actor | datetime
) -> OutboxMessage | None:
    """Sign ``version`` of ``record`` and queue it for the hub, in the caller's transaction.

    Call it after the version is approved and the record re-indexed. A version
    already published is not queued again. Returns the outbox row, or ``None``
    when nothing was queued (already published, or not enrolled: see the module
    docstring).
    """
    actor, now = _actor_and_now(when)
    assert record.id is not None
    if record.owner_node is not None:
        return None  # a copy of a record another node owns and publishes
    if session.get(NodePublication, (record.id, version.version_no)) is not None:
        return None
    found = enrollment(session)
    if isinstance(found, str):
        log.warning(
            "record %s version %s left unpublished (%s); "
            "`minefed node publish-backlog` publishes it after enrollment",
            record.id,
            version.version_no,
            found,
        )
        # entity_id stays empty: the record's own history lists what was done to it.
        record_event(
            session,
            actor,
            "sync.unpublished",
            record.kind,
            None,
            {"record_id": str(record.id), "version": version.version_no, "reason": found},
        )
        return None
    federation, publisher, key = found
    payload, disclosures = record_payload(session, record, version, federation.node_id)
    message = enqueue(
        session,
        kind="record.publish",
        sender=federation.node_id,
        recipient=HUB,
        payload=payload,
        key=key,
        now=now,
        disclosures=disclosures,
    )
    _record_publication(session, record, version, message.seq, now)
    session.flush()
    after_commit(session, publisher.kick)
    return message


def _record_publication(
    session: Session, record: Record, version: RecordVersion, outbox_seq: int, now: datetime
) -> None:
    """The ledger row that says this version is queued for the hub, as message ``outbox_seq``."""
    assert record.id is not None
    session.add(
        NodePublication(
            record_id=record.id,
            version_no=version.version_no,
            kind=record.kind,
            outbox_seq=outbox_seq,
            published_at=now,
        )
    )


def publish_tombstone(
    session: Session, record: Record, reason: str, when: Actor | datetime
) -> OutboxMessage | None:
    """Queue a signed ``record.tombstone`` (withdrawal or retention) for the hub.

    Call it in the transaction that deletes or withdraws the record. Returns
    ``None`` (with a warning) when the node is not enrolled: then the hub never
    had the record either, since nothing is published before enrollment.
    """
    if reason not in TOMBSTONE_REASONS:
        raise ValueError(f"tombstone reason must be one of {sorted(TOMBSTONE_REASONS)}")
    actor, now = _actor_and_now(when)
    found = enrollment(session)
    if isinstance(found, str):
        log.warning("tombstone of record %s not sent (%s)", record.id, found)
        return None
    federation, publisher, key = found
    payload = {
        "record_id": str(record.id),
        "kind": record.kind,
        "owner": federation.node_id,
        "reason": reason,
        "deleted_at": format_rfc3339(now),
    }
    message = enqueue(
        session,
        kind="record.tombstone",
        sender=federation.node_id,
        recipient=HUB,
        payload=payload,
        key=key,
        now=now,
    )
    record_event(
        session,
        actor,
        "sync.tombstone_queued",
        record.kind,
        record.id,
        {"reason": reason, "seq": message.seq},
    )
    after_commit(session, publisher.kick)
    return message


def publish_backlog(session: Session, now: datetime, *, limit: int = 500) -> int:
    """Publish up to ``limit`` approved versions not published yet, oldest decision first.

    Idempotent: the ledger says what is done. Returns how many were queued;
    call again until it returns less than ``limit``. Raises ``LookupError``
    when the node cannot sign (not enrolled, or no key file).
    """
    found = enrollment(session)
    if isinstance(found, str):
        raise LookupError(found)
    rows = session.exec(
        select(RecordVersion, Record)
        .join(Record, col(Record.id) == col(RecordVersion.record_id))
        .outerjoin(
            NodePublication,
            and_(
                col(NodePublication.record_id) == col(RecordVersion.record_id),
                col(NodePublication.version_no) == col(RecordVersion.version_no),
            ),
        )
        .where(
            RecordVersion.state == ReviewState.APPROVED,
            col(NodePublication.record_id).is_(None),
            col(Record.owner_node).is_(None),
        )
        .order_by(
            col(RecordVersion.decided_at),
            col(RecordVersion.record_id),
            col(RecordVersion.version_no),
        )
        .limit(limit)
    ).all()
    queued = _publish_many(session, [(record, version) for version, record in rows], now)
    if queued:
        record_event(
            session, None, "sync.backlog_published", "publication", None, {"count": queued}
        )
    return queued


def _publish_many(
    session: Session, pairs: Sequence[tuple[Record, RecordVersion]], now: datetime
) -> int:
    """Queue approved versions for the hub under batch signatures (one Ed25519
    signature per :data:`~sync.envelope.MAX_BATCH` messages, which the hub then
    verifies once); how many were queued. The backlog's path: a single approval
    goes through :func:`publish_record`."""
    found = enrollment(session)
    if isinstance(found, str):
        raise LookupError(found)
    federation, publisher, key = found
    todo = [
        (record, version)
        for record, version in pairs
        if session.get(NodePublication, (record.id, version.version_no)) is None
    ]
    for start in range(0, len(todo), MAX_BATCH):
        part = todo[start : start + MAX_BATCH]
        items = []
        for record, version in part:
            payload, disclosures = record_payload(session, record, version, federation.node_id)
            items.append(("record.publish", payload, disclosures))
        messages = enqueue_batch(
            session,
            sender=federation.node_id,
            recipient=HUB,
            items=items,
            key=key,
            now=now,
        )
        for (record, version), message in zip(part, messages, strict=True):
            _record_publication(session, record, version, message.seq, now)
        session.flush()
    if todo:
        after_commit(session, publisher.kick)
    return len(todo)
