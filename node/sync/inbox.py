"""Applying what the node pulls from the hub: hub directives and relays from other provinces.

Every envelope is verified before anything is applied, and with the right key:

- ``directive.*`` only from ``hub``, verified with the hub key **pinned at
  enrollment** (``node_federation``); a keyring directive can never replace it;
- ``relay.*`` only from another node, verified with that node's key from the
  keyring the hub sent (``node_keyring``). The sending node signed the relay,
  so a hub that altered it is caught here (``bad_signature``).

Order and idempotency work on two levels. The inbox's delivery seq (cursor
``hub>node:X#inbox``) says how far the node has read its queue at the hub; each
envelope's own seq, per stream ``<sender>><recipient>``, makes application
idempotent (``seq <= last`` is a duplicate) and in order. A message that fails
is quarantined and both cursors move past it, so it never blocks the inbox; an
operator retries or skips it. An envelope whose seq skips ahead is quarantined
as ``sequence_gap`` rather than waiting: in the pull direction nothing would
ever resend the missing ones, and an operator must hear about it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from node.accounts.directives import ACCOUNT_APPLIERS
from node.crossprov.appliers import CROSSPROV_APPLIERS
from node.models import NodeFederation, NodeKeyring, RelayNotice
from sync.envelope import Envelope, verify_envelope
from sync.errors import (
    EnvelopeMalformed,
    KeyMalformed,
    SchemaInvalid,
    SyncError,
    WrongRecipient,
)
from sync.ingest import Applier, lock_cursor, quarantine, stream_name
from sync.keys import KeyRecord, Keyring, VerifyKey
from sync.tables import QuarantinedMessage

__all__ = [
    "APPLIERS",
    "HUB_KEY_VALID_FROM",
    "InboxOutcome",
    "KindNotAllowed",
    "SequenceGap",
    "UnknownKind",
    "apply_inbox",
    "inbox_stream",
    "make_applier",
    "quarantine_with_detail",
    "verification_keyring",
]

log = logging.getLogger("minefed.node.sync")

#: The pinned hub key has no validity window of its own: the pin is the authority.
HUB_KEY_VALID_FROM = datetime(2000, 1, 1, tzinfo=UTC)

#: Longest ``relay.notice`` text.
NOTICE_MAX_CHARS = 2000


class SequenceGap(SyncError):
    """An envelope's seq skips ahead of the stream's last applied seq."""

    code = "sequence_gap"
    message_zh = "消息序号不连续（之前的消息缺失）"
    message_en = "sequence gap: earlier messages of this stream are missing"


class UnknownKind(SyncError):
    """No applier for this kind on this node (yet)."""

    code = "unknown_kind"
    message_zh = "本节点不能处理该类消息"
    message_en = "this node has no applier for the message kind"


class KindNotAllowed(SyncError):
    """The sender may not send this kind (the hub sends directives, nodes send relays)."""

    code = "kind_not_allowed"
    message_zh = "发送方无权发送该类消息"
    message_en = "the sender may not send this kind of message"


def inbox_stream(node_id: str) -> str:
    """The pull cursor's name: ``hub>node:X#inbox`` (delivery seqs, not envelope seqs)."""
    return f"hub>{node_id}#inbox"


def quarantine_with_detail(
    session: Session, stream: str, message: Mapping[str, Any], error: SyncError, now: datetime
) -> QuarantinedMessage:
    """:func:`sync.ingest.quarantine`, keeping what exactly failed for the operator."""
    row = quarantine(session, stream, message, error, now)
    if error.detail and error.detail not in row.reason:
        row.reason = f"{error.message}: {error.detail}"[:2000]
        session.add(row)
    return row


# ---------------------------------------------------------------- keys


def _record_of(row: NodeKeyring) -> KeyRecord:
    return KeyRecord(
        owner=row.owner,
        key_id=row.key_id,
        public_key=VerifyKey.from_b64(row.public_key),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        revoked_at=row.revoked_at,
    )


def verification_keyring(session: Session, federation: NodeFederation) -> Keyring:
    """The pinned hub key plus every node key the hub announced (never a hub key from it)."""
    hub_key = VerifyKey.from_b64(federation.hub_public_key)
    records = [
        KeyRecord(
            owner="hub",
            key_id=federation.hub_key_id,
            public_key=hub_key,
            valid_from=HUB_KEY_VALID_FROM,
        )
    ]
    rows = session.exec(
        select(NodeKeyring).where(
            col(NodeKeyring.owner) != "hub", col(NodeKeyring.key_id) != federation.hub_key_id
        )
    )
    for row in rows:
        try:
            records.append(_record_of(row))
        except KeyMalformed:
            log.error("unusable key %s in node_keyring ignored", row.key_id)
    return Keyring(records)


# ---------------------------------------------------------------- appliers

#: ``apply(session, envelope, disclosures, now)`` for one kind; raise SyncError to refuse.
KindApplier = Callable[[Session, Envelope, list[dict[str, Any]], datetime], None]


def apply_keyring(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    """``directive.keyring``: replace the node keyring, if this version is newer."""
    payload = envelope.payload
    version, keys = payload.get("version"), payload.get("keys")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SchemaInvalid("directive.keyring needs an integer version from 1")
    if not isinstance(keys, list):
        raise SchemaInvalid("directive.keyring needs a list of keys")
    records = [KeyRecord.from_dict(item) for item in keys]  # KeyMalformed refuses
    Keyring(records)  # KeyConflict refuses two records under one id
    federation = session.exec(select(NodeFederation).with_for_update()).first()
    if federation is None:
        raise SchemaInvalid("node is not enrolled")
    if version <= federation.keyring_version:
        log.info("keyring version %s ignored (have %s)", version, federation.keyring_version)
        return
    session.execute(delete(NodeKeyring))
    for record in records:
        session.add(_keyring_row(record, version))
    federation.keyring_version = version
    session.add(federation)
    session.flush()


def _keyring_row(record: KeyRecord, version: int) -> NodeKeyring:
    return NodeKeyring(
        key_id=record.key_id,
        owner=record.owner,
        public_key=record.public_key.to_b64(),
        valid_from=record.valid_from,
        valid_to=record.valid_to,
        revoked_at=record.revoked_at,
        directive_version=version,
    )


def store_keyring(session: Session, records: Sequence[KeyRecord], version: int) -> None:
    """Replace the node keyring with ``records`` (at enrollment: version 0)."""
    session.execute(delete(NodeKeyring))
    for record in records:
        session.add(_keyring_row(record, version))
    session.flush()


def apply_relay_notice(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    """``relay.notice``: keep the notice for the province's regulators (once per envelope)."""
    text = envelope.payload.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > NOTICE_MAX_CHARS:
        raise SchemaInvalid(f"relay.notice needs a text of 1 to {NOTICE_MAX_CHARS} characters")
    session.execute(
        insert(RelayNotice)
        .values(
            sender=envelope.sender,
            seq=envelope.seq,
            kind=envelope.kind,
            payload=envelope.payload,
            received_at=now,
        )
        .on_conflict_do_nothing(constraint="uq_relay_notice_sender_seq")
    )


#: Appliers by kind. Later features register theirs here (``relay.project_department`` …).
APPLIERS: dict[str, KindApplier] = {
    "directive.keyring": apply_keyring,
    "relay.notice": apply_relay_notice,
    # The bureau's account decisions (docs/accounts.md).
    **ACCOUNT_APPLIERS,
    # Project departments across provinces, tombstones to copies (docs/cross-province.md).
    **CROSSPROV_APPLIERS,
}


def check_authority(envelope: Envelope, node_id: str) -> None:
    """Who may send what to this node: the hub directives, other nodes relays."""
    if envelope.recipient != node_id:
        raise WrongRecipient(f"addressed to {envelope.recipient}, not {node_id}")
    if envelope.kind.startswith("directive."):
        if envelope.sender != "hub":
            raise KindNotAllowed(f"{envelope.kind} from {envelope.sender}: only the hub directs")
    elif envelope.kind.startswith("relay."):
        if envelope.sender in ("hub", node_id):
            raise KindNotAllowed(f"{envelope.kind} from {envelope.sender}: relays come from nodes")
    else:
        raise KindNotAllowed(f"{envelope.kind} is not sent to nodes")


def make_applier(node_id: str, now: datetime) -> Applier:
    """The ``sync.ingest.Applier`` of this node (also used by quarantine retries)."""

    def apply(session: Session, envelope: Envelope, disclosures: list[dict[str, Any]]) -> None:
        check_authority(envelope, node_id)
        applier = APPLIERS.get(envelope.kind)
        if applier is None:
            raise UnknownKind(f"no applier for {envelope.kind}")
        applier(session, envelope, disclosures, now)

    return apply


# ---------------------------------------------------------------- a page of the inbox


@dataclass
class InboxOutcome:
    last_delivery_seq: int = 0
    applied: int = 0
    duplicates: int = 0
    quarantined: list[tuple[str, int, str]] = field(default_factory=list)


class InboxMalformed(Exception):
    """The hub's answer cannot be read (no delivery seq): nothing of the page is applied."""


def apply_inbox(
    session: Session,
    items: Sequence[Mapping[str, Any]],
    *,
    federation: NodeFederation,
    now: datetime,
) -> InboxOutcome:
    """Apply one page of the inbox in the caller's transaction (see the module docstring)."""
    node_id = federation.node_id
    cursor = lock_cursor(session, inbox_stream(node_id), now)
    outcome = InboxOutcome(last_delivery_seq=cursor.last_seq)
    keyring = verification_keyring(session, federation)
    apply = make_applier(node_id, now)
    batch_cache: set[tuple[str, bytes, int]] = set()
    for item in items:
        delivery_seq = item.get("delivery_seq") if isinstance(item, Mapping) else None
        if isinstance(delivery_seq, bool) or not isinstance(delivery_seq, int):
            raise InboxMalformed("inbox message without an integer delivery_seq")
        if delivery_seq <= cursor.last_seq:
            outcome.duplicates += 1
            continue
        message = {"envelope": item.get("envelope"), "disclosures": item.get("disclosures") or []}
        applied_kind = _ingest_one(
            session, message, node_id, keyring, apply, batch_cache, now, outcome
        )
        if applied_kind == "directive.keyring":
            keyring = verification_keyring(session, federation)
        cursor.last_seq = delivery_seq
        cursor.updated_at = now
        session.add(cursor)
    session.flush()
    outcome.last_delivery_seq = cursor.last_seq
    return outcome


def _ingest_one(
    session: Session,
    message: dict[str, Any],
    node_id: str,
    keyring: Keyring,
    apply: Applier,
    batch_cache: set[tuple[str, bytes, int]],
    now: datetime,
    outcome: InboxOutcome,
) -> str | None:
    """Verify and apply one envelope; returns its kind if applied."""
    inbox = inbox_stream(node_id)
    try:
        raw, disclosures = message["envelope"], message["disclosures"]
        if not isinstance(raw, Mapping) or not isinstance(disclosures, list):
            raise EnvelopeMalformed("a message needs an envelope object and a disclosures list")
        envelope = Envelope.from_dict(raw)
        if envelope.recipient != node_id:
            raise WrongRecipient(f"addressed to {envelope.recipient}, not {node_id}")
    except SyncError as exc:
        quarantine_with_detail(session, inbox, message, exc, now)
        outcome.quarantined.append((inbox, -1, exc.code))
        return None
    stream = stream_name(envelope.sender, envelope.recipient)
    cursor = lock_cursor(session, stream, now)
    if envelope.seq <= cursor.last_seq:
        outcome.duplicates += 1
        return None
    applied: str | None = None
    try:
        if envelope.seq > cursor.last_seq + 1:
            raise SequenceGap(f"expected seq {cursor.last_seq + 1}, got {envelope.seq}")
        with session.begin_nested():
            verify_envelope(envelope, keyring, recipient=node_id, batch_cache=batch_cache)
            apply(session, envelope, list(disclosures))
        outcome.applied += 1
        applied = envelope.kind
    except SyncError as exc:
        quarantine_with_detail(session, stream, message, exc, now)
        outcome.quarantined.append((stream, envelope.seq, exc.code))
    cursor.last_seq = envelope.seq
    cursor.updated_at = now
    session.add(cursor)
    return applied
