"""The registry of node keys: loading it as a keyring, changing it, announcing it.

Every change (enrollment, rotation, revocation) is followed, in the same
transaction, by a ``directive.keyring`` to every enrolled node, so the nodes
can verify relays from other provinces end to end. Rows are never deleted:
validity only ever narrows (``sync.keys.Keyring`` semantics), and a retired or
revoked key keeps verifying what it signed while it was valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from central.audit.service import Actor, record_event
from central.errors import Conflict, InvalidInput, NotFound
from central.models import HubNode, HubNodeKey
from sync.errors import KeyProblem, RotationInvalid, SyncError
from sync.keys import KeyRecord, Keyring, SigningKey, VerifyKey, verify_rotation_statement
from sync.outbox import enqueue

#: How long a rotated-out key keeps verifying new messages. Messages the node
#: signed just before switching, still in its outbox or in flight, must verify
#: when they arrive; ten minutes covers a push cycle and its retries. After
#: ``valid_to`` the old key verifies only what claims an earlier ``issued_at``.
ROTATION_OVERLAP_S = 600

#: The skew accepted between a rotation statement's ``valid_from`` and our clock.
ROTATION_MAX_SKEW_S = 300

# Advisory lock id serialising key-registry broadcasts ("mfkeyreg").
_REGISTRY_LOCK = 0x6D666B6579726567


def whole_second(at: datetime) -> datetime:
    """``at`` truncated to whole seconds, the precision of key validity on the wire."""
    return at.replace(microsecond=0)


def record_of(row: HubNodeKey) -> KeyRecord:
    return KeyRecord(
        owner=row.owner,
        key_id=row.key_id,
        public_key=VerifyKey.from_b64(row.public_key),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        revoked_at=row.revoked_at,
    )


def load_keyring(session: Session) -> Keyring:
    """Every registered node key, as a :class:`sync.keys.Keyring`."""
    return Keyring(record_of(row) for row in session.exec(select(HubNodeKey)))


def hub_key_view(hub_id: str, key: SigningKey) -> dict[str, str]:
    public = key.public()
    return {
        "owner": hub_id,
        "key_id": public.key_id,
        "public_key": public.to_b64(),
        "fingerprint": public.fingerprint,
    }


def live_keys(session: Session, owner: str, now: datetime) -> list[HubNodeKey]:
    """Keys of ``owner`` that can still sign new messages (not revoked, not retired)."""
    rows = session.exec(select(HubNodeKey).where(HubNodeKey.owner == owner))
    return [
        r
        for r in rows
        if (r.revoked_at is None or r.revoked_at > now) and (r.valid_to is None or r.valid_to > now)
    ]


def key_state(row: HubNodeKey, now: datetime) -> str:
    """``revoked``, ``retired`` (past ``valid_to``), ``rotating`` (a ``valid_to`` ahead:
    the overlap after a rotation), ``pending`` (not valid yet) or ``active``."""
    if row.revoked_at is not None and row.revoked_at <= now:
        return "revoked"
    if row.valid_to is not None and row.valid_to <= now:
        return "retired"
    if row.valid_from > now:
        return "pending"
    if row.valid_to is not None or row.revoked_at is not None:
        return "rotating"
    return "active"


def keys_by_owner(session: Session) -> dict[str, list[HubNodeKey]]:
    """Every registered node key, per owner, newest first."""
    out: dict[str, list[HubNodeKey]] = {}
    rows = session.exec(select(HubNodeKey).order_by(col(HubNodeKey.valid_from).desc()))
    for row in rows:
        out.setdefault(row.owner, []).append(row)
    return out


def register_key(
    session: Session, owner: str, public_key: VerifyKey, valid_from: datetime, now: datetime
) -> HubNodeKey:
    """Add a key to the registry; 409 ``key_conflict`` if its id is taken already."""
    if session.get(HubNodeKey, public_key.key_id) is not None:
        raise Conflict(
            "该公钥已登记",
            f"key {public_key.key_id} is registered already",
            code="key_conflict",
        )
    row = HubNodeKey(
        key_id=public_key.key_id,
        owner=owner,
        public_key=public_key.to_b64(),
        valid_from=whole_second(valid_from),
        registered_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _locked_key(session: Session, key_id: str) -> HubNodeKey:
    row = session.exec(
        select(HubNodeKey).where(col(HubNodeKey.key_id) == key_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound("密钥不存在", f"no key {key_id}", code="key_not_found")
    return row


def retire_key(session: Session, key_id: str, at: datetime) -> HubNodeKey:
    """End ``key_id``'s validity at ``at`` (never later than an earlier end)."""
    row = _locked_key(session, key_id)
    at = max(whole_second(at), row.valid_from)
    if row.valid_to is None or at < row.valid_to:
        row.valid_to = at
        session.add(row)
        session.flush()
    return row


def revoke_key(
    session: Session,
    key_id: str,
    at: datetime,
    *,
    actor: Actor,
    now: datetime,
    hub_id: str,
    hub_key: SigningKey,
) -> HubNodeKey:
    """Revoke ``key_id`` from ``at`` on (an earlier revocation is never moved later).

    Audited; every node is sent the new keyring.
    """
    row = _locked_key(session, key_id)
    at = whole_second(at)
    previous = row.revoked_at
    if previous is None or at < previous:
        row.revoked_at = at
        session.add(row)
        session.flush()
    record_event(
        session,
        actor,
        "key.revoked",
        "node_key",
        key_id,
        now,
        {
            "owner": row.owner,
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            "previously_revoked_at": previous.isoformat() if previous else None,
        },
    )
    broadcast_keyring(session, hub_id=hub_id, hub_key=hub_key, now=now)
    return row


def rotate_key(
    session: Session,
    statement: Mapping[str, Any],
    *,
    sender: str,
    request_key_id: str,
    now: datetime,
    hub_id: str,
    hub_key: SigningKey,
) -> tuple[HubNodeKey, HubNodeKey]:
    """Register the successor announced by ``statement`` and retire the old key.

    Security: the statement must be signed by the old key, valid at the
    statement's ``valid_from``, which must be within five minutes of our clock
    (so a stolen, since-revoked key cannot backdate a rotation); the request
    must come from the statement's owner, signed with that same old key, and
    that key must not have been rotated out already. The old key keeps verifying for :data:`ROTATION_OVERLAP_S` (messages already
    signed), then only what it signed before.
    """
    keyring = load_keyring(session)
    try:
        new_record = verify_rotation_statement(
            statement, keyring, now=now, max_skew_s=ROTATION_MAX_SKEW_S
        )
    except (RotationInvalid, KeyProblem) as exc:
        raise InvalidInput.from_sync(exc) from exc
    except SyncError as exc:  # a bad signature on the statement, say
        raise InvalidInput.from_sync(exc) from exc
    if statement["owner"] != sender or statement["old_key_id"] != request_key_id:
        raise InvalidInput(
            "密钥轮换声明须由该节点用旧密钥提交",
            "the statement's owner and old key must be the request's sender and key",
            code="rotation_invalid",
        )
    current = _locked_key(session, request_key_id)
    if current.valid_to is not None:
        # A retired key (still inside its overlap) must not appoint a second
        # successor: whoever else holds it could otherwise take the node over.
        raise InvalidInput(
            "旧密钥已被轮换，不能再次指定继任密钥",
            f"{request_key_id} has been rotated out already",
            code="rotation_invalid",
        )
    new_row = register_key(session, sender, new_record.public_key, new_record.valid_from, now)
    old_row = retire_key(session, request_key_id, now + timedelta(seconds=ROTATION_OVERLAP_S))
    record_event(
        session,
        Actor(sender),
        "key.rotated",
        "node_key",
        new_row.key_id,
        now,
        {"owner": sender, "old_key_id": old_row.key_id, "old_valid_to": str(old_row.valid_to)},
    )
    broadcast_keyring(session, hub_id=hub_id, hub_key=hub_key, now=now)
    return new_row, old_row


def broadcast_keyring(session: Session, *, hub_id: str, hub_key: SigningKey, now: datetime) -> int:
    """Queue a ``directive.keyring`` with the whole registry to every enrolled node.

    Returns the keyring version: a PostgreSQL sequence, so versions only grow
    (a rolled-back transaction leaves a gap, which is harmless: nodes keep the
    highest version they have seen).
    """
    # One registry change at a time: a concurrent enrollment waits here until ours
    # commits, then reads the registry with our key in it, so the last keyring
    # every node receives (the highest version) is always complete.
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _REGISTRY_LOCK})
    version = int(session.execute(text("SELECT nextval('hub_keyring_version_seq')")).scalar_one())
    payload = {"keys": load_keyring(session).to_list(), "version": version}
    for node_id in session.exec(select(HubNode.node_id).order_by(col(HubNode.node_id))):
        enqueue(
            session,
            kind="directive.keyring",
            sender=hub_id,
            recipient=node_id,
            payload=payload,
            key=hub_key,
            now=now,
        )
    return version


def public_keys(session: Session, hub_id: str, hub_key: SigningKey | None) -> dict[str, Any]:
    """The hub's key and every node key with its validity (public)."""
    return {
        "hub": hub_key_view(hub_id, hub_key) if hub_key is not None else None,
        "keys": load_keyring(session).to_list(),
    }
