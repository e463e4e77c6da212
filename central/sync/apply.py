"""Applying what nodes send: publications, tombstones and relays.

Called by :func:`sync.ingest.ingest` after the envelope's signature and key
validity were verified; everything here is *authority* and *schema*: who may
say what. Raising a :class:`~sync.errors.SyncError` quarantines the message
(nothing it did is kept: the ingest runs it in a savepoint).

Publications are applied in bulk (:class:`HubApplier` is a
:class:`sync.ingest.BatchApplier`): each is first *prepared* without locks
(schema, jurisdiction, disclosures, the form, the rows to write:
:func:`prepare_publication`), then a run of them is written at once
(:func:`write_publications`): ownership checked in order against the rows
they touch (locked once), then one INSERT of the log entries, one INSERT of the
new records' projections and one UPDATE of those replaced by a newer version. A
message applied alone goes the same way, as a run of one.

Applying is idempotent per record version, because an operator may retry an
old quarantined message long after newer versions arrived:

- only a higher ``version_no`` replaces the projection (``hub_record``); an
  older one is added to the publication log (it was genuinely signed) but
  never regresses the projection; the same version again changes nothing;
- a tombstone is final: content is deleted (projection, and the stored
  envelopes of earlier publications; their hashes stay), and any later
  publish of that record is ignored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import Table, null, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from central.models import HubNode, HubPublication, HubRecord
from central.sync.schemas import PublishPayload, TombstonePayload
from schemas.errors import format_error_list
from schemas.forms import FORMS, SENSITIVE
from schemas.identifiers import mask_phone, mask_resident_id
from sync.clock import parse_rfc3339
from sync.disclosure import Disclosure, concealed_paths, is_slot, reveal_with_slots, slots
from sync.envelope import Envelope
from sync.errors import DisclosureError, NotOwner, SchemaInvalid, SyncError, WrongRecipient
from sync.merkle import leaf_hash
from sync.outbox import enqueue_envelope

PUBLISH = "record.publish"
TOMBSTONE = "record.tombstone"


def _agreeing_fields(payload: PublishPayload) -> dict[str, str]:
    """Fields a form may repeat from the payload; where present they must agree."""
    return {
        "province_code": payload.province_code,
        "uscc": payload.contractor.uscc,
        "contractor_uscc": payload.contractor.uscc,
    }


class HubApplier:
    """The :data:`sync.ingest.Applier` of the hub, for one request (one ``now``)."""

    def __init__(self, hub_id: str, now: datetime) -> None:
        self.hub_id = hub_id
        self.now = now
        # Senders' hub_node rows, read once per request (a batch has one sender).
        self._nodes: dict[str, HubNode] = {}

    def batchable(self, envelope: Envelope) -> bool:
        """Publications to this hub are prepared ahead and applied in runs."""
        return envelope.kind == PUBLISH and envelope.recipient == self.hub_id

    def prepare(
        self, session: Session, envelope: Envelope, disclosures: list[dict[str, Any]]
    ) -> PreparedPublication:
        """Everything of a publication that needs no lock (:func:`prepare_publication`)."""
        node = self._nodes.get(envelope.sender) or session.get(HubNode, envelope.sender)
        if node is not None:  # else prepare_publication refuses it, after the schema
            self._nodes[envelope.sender] = node
        return prepare_publication(session, envelope, disclosures, self.now, node=node)

    def apply_many(
        self, session: Session, prepared: Sequence[PreparedPublication]
    ) -> list[SyncError | None]:
        """Apply prepared publications in order (:func:`write_publications`)."""
        return write_publications(session, prepared)

    def __call__(
        self, session: Session, envelope: Envelope, disclosures: list[dict[str, Any]]
    ) -> None:
        if envelope.kind in (PUBLISH, TOMBSTONE):
            if envelope.recipient != self.hub_id:
                raise WrongRecipient(f"{envelope.kind} goes to {self.hub_id}")
            if envelope.kind == PUBLISH:
                apply_publish(session, envelope, disclosures, self.now)
            else:
                apply_tombstone(session, envelope, self.now)
        elif envelope.kind.startswith("relay."):
            apply_relay(session, envelope, disclosures, self.now, self.hub_id)
        elif envelope.kind == "account.report":
            from central.accounts.reports import apply_report

            if envelope.recipient != self.hub_id:
                raise WrongRecipient(f"{envelope.kind} goes to {self.hub_id}")
            apply_report(session, envelope, self.now)
        else:
            raise SchemaInvalid(f"a node may not send {envelope.kind}")


# --- helpers --------------------------------------------------------------------


def _validated(model: type[BaseModel], data: Mapping[str, Any], **kw: Any) -> Any:
    try:
        return model.model_validate(data, **kw)
    except ValidationError as exc:
        # Field and rule only: messages and inputs could carry personal data.
        problems = "; ".join(
            f"{e['field']}: {e['rule']}" for e in format_error_list(exc.errors(), model)[:8]
        )
        raise SchemaInvalid(problems) from exc


def _sender_node(session: Session, envelope: Envelope) -> HubNode:
    node = session.get(HubNode, envelope.sender)
    if node is None:
        raise NotOwner(f"{envelope.sender} is not an enrolled node")
    return node


def _locked_record(session: Session, record_id: str) -> HubRecord | None:
    # populate_existing: publications are written with Core statements, so an
    # object already in the session may be older than its row.
    return session.exec(
        select(HubRecord)
        .where(col(HubRecord.record_id) == record_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _check_owner(existing: _Held | HubRecord | None, sender: str, owner: str, kind: str) -> None:
    if owner != sender:
        raise NotOwner(f"payload owner {owner} is not the sender {sender}")
    if existing is not None and existing.owner != sender:
        raise NotOwner(f"record owned by {existing.owner}")
    if existing is not None and existing.kind != kind:
        raise SchemaInvalid(f"record is a {existing.kind}, not a {kind}")


def _log(
    session: Session,
    envelope: Envelope,
    record_id: str,
    record_kind: str,
    version_no: int | None,
    now: datetime,
) -> bool:
    """Append to ``hub_publication`` unless that version (or tombstone) is there already."""
    data = envelope.canonical_bytes()
    inserted = session.execute(
        insert(HubPublication)
        .values(
            node_id=envelope.sender,
            record_id=record_id,
            kind=envelope.kind,
            record_kind=record_kind,
            version_no=version_no,
            envelope=envelope.to_dict(),
            envelope_sha256=hashlib.sha256(data).hexdigest(),
            leaf_hash=leaf_hash(data),
            received_at=now,
        )
        .on_conflict_do_nothing()
        .returning(col(HubPublication.id))
    ).first()
    return inserted is not None


def _disclosures(raw: Sequence[Any]) -> list[Disclosure]:
    out = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise DisclosureError("a disclosure is an object {path, salt, value}")
        out.append(Disclosure.from_dict(item))
    return out


def mask_value(name: str, value: Any) -> Any:
    """The public stand-in for a concealed value, by the kind of field it is."""
    if value is None:
        return None
    text = str(value)
    if "resident_id" in name:
        return mask_resident_id(text)
    if "phone" in name:
        return mask_phone(text)
    return "*" * len(text)


_LEAVES = (str, int, bool, type(None))


def masked_form(signed: Any, revealed: Any, name: str = "") -> Any:
    """``signed`` with every digest slot replaced by the masked revealed value."""
    kind = type(signed)
    if kind in _LEAVES:  # most values: no call for them below
        return signed
    if is_slot(signed):
        return mask_value(name, revealed)
    if kind is dict:
        return {
            k: v if type(v) in _LEAVES else masked_form(v, revealed[k], k)
            for k, v in signed.items()
        }
    if kind is list:
        return [
            s if type(s) in _LEAVES else masked_form(s, r, name)
            for s, r in zip(signed, revealed, strict=True)
        ]
    if isinstance(signed, dict):
        return {k: masked_form(v, revealed[k], k) for k, v in signed.items()}
    if isinstance(signed, list):
        return [masked_form(s, r, name) for s, r in zip(signed, revealed, strict=True)]
    return signed


# --- record.publish ---------------------------------------------------------------


@dataclass
class _Held:
    """What the checks need of a ``hub_record`` row (locked), or of one written earlier
    in the same run."""

    owner: str
    kind: str
    version_no: int
    deleted: bool


def _check_content(
    envelope: Envelope, payload: PublishPayload, node: HubNode, raw_disclosures: Sequence[Any]
) -> tuple[Any, list[Disclosure]]:
    """Jurisdiction, divisions, disclosures and the form; the revealed data and the
    parsed disclosures. Raises a SyncError; touches no table."""
    if payload.province_code != node.jurisdiction:
        raise NotOwner(
            f"province {payload.province_code} is not {node.node_id}'s jurisdiction "
            f"{node.jurisdiction}"
        )
    for code in (payload.city_code, payload.county_code):
        if code is not None and code[:2] != payload.province_code[:2]:
            raise SchemaInvalid(f"division {code} is not in province {payload.province_code}")

    disclosures = _disclosures(raw_disclosures)
    revealed, signed = reveal_with_slots(payload.data, disclosures)
    signed_slots = set(signed)
    # Slots left closed, and any inside a disclosed value (as slots(revealed) would).
    unopened = sorted(signed_slots - {d.path for d in disclosures}) + [
        inner
        for d in disclosures
        if isinstance(d.value, dict | list)
        for inner in slots({d.path: d.value})
    ]
    if unopened:
        raise SchemaInvalid(f"concealed without a disclosure: {', '.join(unopened[:5])}")
    # Personal data must never reach the public projection in clear: every
    # sensitive value of the form has to arrive concealed.
    in_clear = sorted(set(concealed_paths(revealed, SENSITIVE[payload.kind])) - signed_slots)
    if in_clear:
        raise SchemaInvalid(f"sensitive values not concealed: {', '.join(in_clear[:5])}")
    form_model = FORMS[payload.kind][0]
    _validated(form_model, revealed, context={"now": envelope.issued_at_dt})
    for field, expected in _agreeing_fields(payload).items():
        if field in revealed and revealed[field] != expected:
            raise SchemaInvalid(f"data.{field} disagrees with the payload")
    return revealed, disclosures


_PUBLICATIONS = cast(Table, HubPublication.__table__)  # type: ignore[attr-defined]
_RECORDS = cast(Table, HubRecord.__table__)  # type: ignore[attr-defined]


@dataclass
class PreparedPublication:
    """A publication checked as far as it can be without locks, with what its rows hold.

    JSON columns are carried as JSON text, made once: the envelope as its
    canonical bytes (the same JSON value as the wire form, and what
    ``leaf_hash`` commits to), the masked form and the disclosures.
    """

    envelope: Envelope
    payload: PublishPayload
    envelope_json: str
    envelope_sha256: str
    leaf_hash: bytes
    public_data_json: str
    disclosures_json: str
    received_at: datetime


def prepare_publication(
    session: Session,
    envelope: Envelope,
    raw_disclosures: Sequence[Any],
    now: datetime,
    *,
    node: HubNode | None = None,
) -> PreparedPublication:
    """The payload's shape, the sender's enrollment and jurisdiction, disclosures and
    the form (SyncError if any fails), and the rows an accepted publication writes.
    Locks and writes nothing; ownership is checked by :func:`write_publications`.
    ``node``: the sender's row, if the caller has it already."""
    payload: PublishPayload = _validated(PublishPayload, envelope.payload)
    if node is None or node.node_id != envelope.sender:
        node = _sender_node(session, envelope)
    if payload.owner != envelope.sender:
        raise NotOwner(f"payload owner {payload.owner} is not the sender {envelope.sender}")
    revealed, disclosures = _check_content(envelope, payload, node, raw_disclosures)
    data = envelope.canonical_bytes()
    return PreparedPublication(
        envelope,
        payload,
        envelope_json=data.decode("utf-8"),
        envelope_sha256=hashlib.sha256(data).hexdigest(),
        leaf_hash=leaf_hash(data),
        public_data_json=orjson.dumps(masked_form(payload.data, revealed)).decode("utf-8"),
        # Each raw disclosure was parsed strictly into exactly {path, salt, value}
        # (_disclosures), so it is what Disclosure.to_dict() would give.
        disclosures_json=orjson.dumps([d.to_dict() for d in disclosures]).decode("utf-8"),
        received_at=now,
    )


# One statement per table for a whole run: the columns travel as arrays and
# unnest() turns them back into rows (a statement per row, as executemany
# sends, costs the driver and the server far more). WITH ORDINALITY and ORDER
# BY keep the identity values of hub_publication in acceptance order. The
# arrays go in PostgreSQL's binary format (%(…)b): psycopg quotes every
# element of a text-format array with a regular expression, which for JSON
# texts full of quotes costs more than everything else here.
_INSERT_PUBLICATIONS = """
INSERT INTO hub_publication (node_id, record_id, kind, record_kind, version_no, envelope,
                             envelope_sha256, leaf_hash, received_at)
SELECT t.node_id, t.record_id, t.kind, t.record_kind, t.version_no, t.envelope::jsonb,
       t.envelope_sha256, t.leaf_hash, t.received_at
FROM unnest(%(node_id)b::text[], %(record_id)b::text[], %(kind)b::text[],
            %(record_kind)b::text[], %(version_no)b::int[], %(envelope)b::text[],
            %(envelope_sha256)b::text[], %(leaf_hash)b::bytea[],
            %(received_at)b::timestamptz[])
     WITH ORDINALITY AS t(node_id, record_id, kind, record_kind, version_no, envelope,
                          envelope_sha256, leaf_hash, received_at, ord)
ORDER BY t.ord
ON CONFLICT DO NOTHING
"""

# New records are inserted and new versions update their rows, in two statements
# (never one INSERT … ON CONFLICT DO UPDATE): the search table's triggers merge
# what an INSERT adds and recount what an UPDATE changes (hub migration 0007), and
# an upsert would show its inserted rows to both.
_RECORD_ROWS = """
FROM unnest(%(record_id)b::text[], %(kind)b::text[], %(owner)b::text[],
            %(contractor_uscc)b::text[], %(contractor_name)b::text[],
            %(province_code)b::text[], %(city_code)b::text[], %(county_code)b::text[],
            %(version_no)b::int[], %(public_data)b::text[], %(envelope)b::text[],
            %(disclosures)b::text[], %(approved_at)b::timestamptz[],
            %(first_entered_at)b::timestamptz[], %(received_at)b::timestamptz[])
     AS t(record_id, kind, owner, contractor_uscc, contractor_name, province_code,
          city_code, county_code, version_no, public_data, envelope, disclosures,
          approved_at, first_entered_at, received_at)
"""

_INSERT_RECORDS = f"""
INSERT INTO hub_record (record_id, kind, owner, contractor_uscc, contractor_name,
                        province_code, city_code, county_code, version_no, public_data,
                        envelope, disclosures, approved_at, first_entered_at, received_at,
                        deleted_at, delete_reason)
SELECT t.record_id, t.kind, t.owner, t.contractor_uscc, t.contractor_name, t.province_code,
       t.city_code, t.county_code, t.version_no, t.public_data::jsonb, t.envelope::jsonb,
       t.disclosures::jsonb, t.approved_at, t.first_entered_at, t.received_at, NULL, NULL
{_RECORD_ROWS}
"""

_UPDATE_RECORDS = f"""
UPDATE hub_record AS r SET
    contractor_uscc = t.contractor_uscc,
    contractor_name = t.contractor_name,
    province_code = t.province_code,
    city_code = t.city_code,
    county_code = t.county_code,
    version_no = t.version_no,
    public_data = t.public_data::jsonb,
    envelope = t.envelope::jsonb,
    disclosures = t.disclosures::jsonb,
    approved_at = t.approved_at,
    first_entered_at = t.first_entered_at,
    received_at = t.received_at
{_RECORD_ROWS}
WHERE r.record_id = t.record_id
  -- Defensive: the rows are locked and were checked before.
  AND r.version_no < t.version_no AND r.deleted_at IS NULL
"""  # noqa: S608 - made of this module's constants only


def _write_log(session: Session, items: Sequence[PreparedPublication]) -> None:
    session.connection().exec_driver_sql(
        _INSERT_PUBLICATIONS,
        {
            "received_at": [p.received_at for p in items],
            "node_id": [p.envelope.sender for p in items],
            "record_id": [p.payload.record_id for p in items],
            "kind": [p.envelope.kind for p in items],
            "record_kind": [p.payload.kind.value for p in items],
            "version_no": [p.payload.version_no for p in items],
            "envelope": [p.envelope_json for p in items],
            "envelope_sha256": [p.envelope_sha256 for p in items],
            "leaf_hash": [p.leaf_hash for p in items],
        },
    )


def record_rows(items: Sequence[PreparedPublication]) -> dict[str, list[Any]]:
    """The parameters of :data:`_INSERT_RECORDS` / :data:`_UPDATE_RECORDS` for ``items``."""
    payloads = [p.payload for p in items]
    return {
        "received_at": [p.received_at for p in items],
        "record_id": [p.record_id for p in payloads],
        "kind": [p.kind.value for p in payloads],
        "owner": [p.envelope.sender for p in items],
        "contractor_uscc": [p.contractor.uscc for p in payloads],
        "contractor_name": [p.contractor.name for p in payloads],
        "province_code": [p.province_code for p in payloads],
        "city_code": [p.city_code for p in payloads],
        "county_code": [p.county_code for p in payloads],
        "version_no": [p.version_no for p in payloads],
        "public_data": [p.public_data_json for p in items],
        "envelope": [p.envelope_json for p in items],
        "disclosures": [p.disclosures_json for p in items],
        "approved_at": [parse_rfc3339(p.approved_at) for p in payloads],
        "first_entered_at": [parse_rfc3339(p.first_entered_at) for p in payloads],
    }


def write_records(
    session: Session, new: Sequence[PreparedPublication], replacing: Sequence[PreparedPublication]
) -> None:
    """The projection: ``new`` records inserted, ``replacing`` versions over their rows."""
    connection = session.connection()
    if new:
        connection.exec_driver_sql(_INSERT_RECORDS, record_rows(new))
    if replacing:
        connection.exec_driver_sql(_UPDATE_RECORDS, record_rows(replacing))


def write_publications(
    session: Session, prepared: Sequence[PreparedPublication]
) -> list[SyncError | None]:
    """Apply prepared publications in order, as if one by one; per message ``None``
    or the SyncError that refuses it (a refused one writes nothing).

    Locks the ``hub_record`` rows of the run once, checks ownership in order
    (against those rows and what earlier messages of the run did), then writes
    the log entries with one INSERT (a version already logged is left alone) and
    the projections with one upsert (the highest version of each record; never
    over a tombstone or a higher version).
    """
    results: list[SyncError | None] = [None] * len(prepared)
    if not prepared:
        return results
    ids = sorted({p.payload.record_id for p in prepared})
    held = {
        row.record_id: _Held(row.owner, row.kind, row.version_no, row.deleted_at is not None)
        for row in session.execute(
            core_select(
                col(HubRecord.record_id),
                col(HubRecord.owner),
                col(HubRecord.kind),
                col(HubRecord.version_no),
                col(HubRecord.deleted_at),
            )
            .where(col(HubRecord.record_id).in_(ids))
            .order_by(col(HubRecord.record_id))
            .with_for_update()
        )
    }
    log: dict[tuple[str, int], PreparedPublication] = {}
    projection: dict[str, PreparedPublication] = {}
    stored = set(held)  # records with a row before this run
    for i, item in enumerate(prepared):
        payload, sender = item.payload, item.envelope.sender
        existing = held.get(payload.record_id)
        try:
            _check_owner(existing, sender, payload.owner, payload.kind.value)
        except SyncError as exc:
            results[i] = exc
            continue
        if existing is not None and existing.deleted:
            continue  # a tombstone is final; this is an old message retried
        log.setdefault((payload.record_id, payload.version_no), item)
        if existing is not None and existing.version_no >= payload.version_no:
            continue  # the same or an older version: logged, the projection keeps the newest
        projection[payload.record_id] = item
        held[payload.record_id] = _Held(sender, payload.kind.value, payload.version_no, False)
    if log:
        _write_log(session, list(log.values()))
    if projection:
        write_records(
            session,
            [p for r, p in projection.items() if r not in stored],
            [p for r, p in projection.items() if r in stored],
        )
    return results


def apply_publications(
    session: Session, items: Sequence[tuple[Envelope, list[dict[str, Any]]]], now: datetime
) -> list[SyncError | None]:
    """Prepare and apply publications in order; per message ``None`` or its refusal."""
    results: list[SyncError | None] = [None] * len(items)
    ready: list[tuple[int, PreparedPublication]] = []
    for i, (envelope, disclosures) in enumerate(items):
        try:
            ready.append((i, prepare_publication(session, envelope, disclosures, now)))
        except SyncError as exc:
            results[i] = exc
    written = write_publications(session, [p for _, p in ready])
    for (i, _), error in zip(ready, written, strict=True):
        results[i] = error
    return results


def apply_publish(
    session: Session, envelope: Envelope, raw_disclosures: list[dict[str, Any]], now: datetime
) -> None:
    """Check authority and schema of one publication, then log it and update the
    projection (a run of one: :func:`apply_publications`)."""
    (error,) = apply_publications(session, [(envelope, raw_disclosures)], now)
    if error is not None:
        raise error


# --- record.tombstone -------------------------------------------------------------


def apply_tombstone(session: Session, envelope: Envelope, now: datetime) -> None:
    """Delete a record's content at the hub; the signed tombstone takes its place."""
    payload: TombstonePayload = _validated(TombstonePayload, envelope.payload)
    _sender_node(session, envelope)
    existing = _locked_record(session, payload.record_id)
    _check_owner(existing, envelope.sender, payload.owner, payload.kind.value)
    if existing is not None and existing.deleted_at is not None:
        return
    _log(session, envelope, payload.record_id, payload.kind.value, None, now)
    # Content goes; hashes stay (the trigger allows exactly this change).
    session.execute(
        update(HubPublication)
        .where(
            col(HubPublication.record_id) == payload.record_id,
            col(HubPublication.kind) == PUBLISH,
            col(HubPublication.envelope).is_not(None),
        )
        .values(envelope=null())
    )
    record = existing or HubRecord(
        record_id=payload.record_id,
        kind=payload.kind.value,
        owner=envelope.sender,
        version_no=0,  # never seen published here
        envelope={},
        received_at=now,
    )
    record.contractor_uscc = None
    record.contractor_name = None
    record.province_code = record.city_code = record.county_code = None
    record.public_data = None
    record.disclosures = []
    record.approved_at = record.first_entered_at = None
    record.envelope = envelope.to_dict()
    record.deleted_at = parse_rfc3339(payload.deleted_at)
    record.delete_reason = payload.reason
    record.received_at = now
    session.add(record)
    session.flush()


# --- relay.* ----------------------------------------------------------------------


def apply_relay(
    session: Session,
    envelope: Envelope,
    raw_disclosures: list[dict[str, Any]],
    now: datetime,
    hub_id: str,
) -> None:
    """Queue a node-to-node message, unchanged, in the recipient's inbox.

    The hub cannot alter it: the sender's signature covers recipient and
    payload, and the recipient verifies it with the sender's key.
    """
    recipient = envelope.recipient
    if recipient in (hub_id, envelope.sender):
        raise WrongRecipient(f"a relay goes to another node, not {recipient}")
    if session.get(HubNode, recipient) is None:
        raise WrongRecipient(f"{recipient} is not an enrolled node")
    disclosures = [d.to_dict() for d in _disclosures(raw_disclosures)]
    enqueue_envelope(session, recipient, envelope, now, disclosures)
