"""Applying the cross-province relays pulled from the hub (``node/sync/inbox.py``).

Each applier runs after the envelope was verified with the sending node's key
and in order per stream; it raises a :class:`~sync.errors.SyncError` to
quarantine. Ownership is checked on every message: a filing only from the
contractor's home node, a decision or tombstone only from the record's owner.
A record that has a tombstone here is never brought back by a later relay.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

from node.audit.service import record_event
from node.crossprov import schemas as s
from node.crossprov.service import node_province
from node.filing.routing import review_division
from node.filing.service import reindex
from node.models import Contractor, NodeFederation, NodeTombstone, Record, RecordVersion
from node.retention.service import delete_record, retire_contractor_if_gone
from schemas.enums import RecordKind, ReviewState
from schemas.errors import format_error_list
from schemas.forms import FORMS
from sync.clock import parse_rfc3339
from sync.disclosure import Disclosure, reveal
from sync.envelope import Envelope
from sync.errors import DisclosureError, NotOwner, SchemaInvalid

__all__ = ["CROSSPROV_APPLIERS"]


def _problems(exc: ValidationError, model: type[BaseModel]) -> str:
    # Field and rule only: messages and inputs could carry personal data.
    return "; ".join(
        f"{e['field']}: {e['rule']}" for e in format_error_list(exc.errors(), model)[:8]
    )


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], payload: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(dict(payload))
    except ValidationError as exc:
        raise SchemaInvalid(_problems(exc, model)) from None


def _revealed(data: Mapping[str, Any], disclosures: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        return reveal(data, [Disclosure.from_dict(d) for d in disclosures])
    except DisclosureError:
        raise
    except (TypeError, ValueError) as exc:
        raise SchemaInvalid(f"disclosures: {exc}") from None


def _form(kind: str, data: dict[str, Any], issued_at: str) -> dict[str, Any]:
    model = FORMS[RecordKind(kind)][0]
    try:
        parsed = model.model_validate(data, context={"now": parse_rfc3339(issued_at)})
    except ValidationError as exc:
        raise SchemaInvalid(_problems(exc, model)) from None
    return parsed.model_dump(mode="json")


def _own_node(session: Session) -> str:
    federation = session.get(NodeFederation, 1)
    if federation is None:
        raise SchemaInvalid("node is not enrolled")
    return federation.node_id


def _tombstoned(session: Session, record_id: uuid.UUID) -> bool:
    return session.get(NodeTombstone, record_id) is not None


def _record(session: Session, record_id: str) -> Record | None:
    return session.exec(
        select(Record)
        .where(col(Record.id) == uuid.UUID(record_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _version(session: Session, record_id: uuid.UUID, version_no: int) -> RecordVersion | None:
    return session.exec(
        select(RecordVersion).where(
            col(RecordVersion.record_id) == record_id, col(RecordVersion.version_no) == version_no
        )
    ).first()


def _check_sender(record: Record, sender: str, *, filing: bool = False) -> None:
    """Ownership of a record held here: a filing or its withdrawal comes only from the
    node it was filed through (``filing``), a decision, tombstone or accident notice
    only from the record's owner."""
    if filing:
        if record.home_node != sender:
            raise NotOwner(f"record {record.id} was not filed through {sender}")
    elif record.owner_node != sender:
        raise NotOwner(f"record {record.id} is not owned by {sender}")


def _changed(
    session: Session,
    record: Record,
    contractor: Contractor | None,
    action: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    """Keep a changed record, refresh its search index and audit what came in."""
    record.updated_at = now
    session.add(record)
    session.flush()
    if contractor is None:
        contractor = session.get(Contractor, record.contractor_id)
        assert contractor is not None
    reindex(session, record, contractor)
    record_event(session, None, action, record.kind, record.id, detail, at=now)


# ---------------------------------------------------------------- at the location node


def _foreign_contractor(session: Session, info: s.ContractorInfo, sender: str) -> Contractor:
    if info.home_province_code != node_province(sender):
        raise NotOwner(
            f"{sender} is not the home node of a contractor of {info.home_province_code}"
        )
    contractor = session.exec(
        select(Contractor).where(col(Contractor.uscc) == info.uscc).with_for_update()
    ).first()
    if contractor is None:
        contractor = Contractor(
            uscc=info.uscc,
            name=info.name,
            home_province_code=info.home_province_code,
            central_soe=info.central_soe,
        )
    elif contractor.home_province_code != info.home_province_code:
        raise NotOwner(f"contractor {info.uscc} belongs to {contractor.home_province_code}")
    else:
        contractor.name, contractor.central_soe = info.name, info.central_soe
    session.add(contractor)
    session.flush()
    return contractor


def apply_filing_submit(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    """A version filed at the contractor's home node, for this node's review queue."""
    p = _parse(s.FilingSubmit, envelope.payload)
    record_id = uuid.UUID(p.record_id)
    if _tombstoned(session, record_id):
        return  # deleted here already: nothing brings it back
    own = node_province(_own_node(session))
    data = _form(p.kind, _revealed(p.data, disclosures), envelope.issued_at)
    if data.get("province_code") != own:
        raise NotOwner(f"the department lies in {data.get('province_code')}, not in {own}")
    contractor = _foreign_contractor(session, p.contractor, envelope.sender)
    record = _record(session, p.record_id)
    if record is None:
        record = Record(
            id=record_id,
            kind=p.kind,
            contractor_id=contractor.id,
            state=ReviewState.SUBMITTED,
            latest_version_no=p.version_no,
            created_at=parse_rfc3339(p.first_entered_at),
            updated_at=now,
            home_node=envelope.sender,
        )
        session.add(record)
        session.flush()
    else:
        _check_sender(record, envelope.sender, filing=True)
        if record.contractor_id != contractor.id:
            raise NotOwner(f"record {record_id} was not filed through {envelope.sender}")
        if _version(session, record_id, p.version_no) is not None:
            return  # this version is here already
    division = review_division(p.kind, data, contractor)
    session.add(
        RecordVersion(
            record_id=record_id,
            version_no=p.version_no,
            state=ReviewState.SUBMITTED,
            data=data,
            review_division=division,
            created_at=now,
            submitted_at=parse_rfc3339(p.submitted_at),
        )
    )
    record.latest_version_no = max(record.latest_version_no, p.version_no)
    record.state = ReviewState.SUBMITTED
    _changed(
        session,
        record,
        contractor,
        "crossprov.filing_received",
        {"version": p.version_no, "from": envelope.sender, "review_division": division},
        now,
    )


def apply_filing_withdraw(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    """The contractor took a version back before it was decided: it leaves the queue.

    Already decided: ignored, the decision is on its way to the home node and wins.
    """
    p = _parse(s.FilingWithdraw, envelope.payload)
    record = _record(session, p.record_id)
    if record is None:
        return
    _check_sender(record, envelope.sender, filing=True)
    version = _version(session, record.id, p.version_no)
    if (
        version is None
        or version.state != ReviewState.SUBMITTED
        or p.version_no != record.latest_version_no
    ):
        return
    session.delete(version)
    session.flush()
    detail = {"version": p.version_no, "from": envelope.sender}
    previous = session.exec(
        select(RecordVersion)
        .where(col(RecordVersion.record_id) == record.id)
        .order_by(col(RecordVersion.version_no).desc())
        .limit(1)
    ).first()
    if previous is None:
        # Never decided here: the home node holds the draft again, nothing stays here.
        session.delete(record)
        session.flush()
        record_event(
            session, None, "crossprov.filing_withdrawn", record.kind, record.id, detail, at=now
        )
        return
    record.latest_version_no = previous.version_no
    record.state = previous.state
    _changed(session, record, None, "crossprov.filing_withdrawn", detail, now)


# ---------------------------------------------------------------- at the home node


def apply_review_decision(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    """The location regulator decided: the contractor's record shows it as if local."""
    p = _parse(s.ReviewDecision, envelope.payload)
    record_id = uuid.UUID(p.record_id)
    if _tombstoned(session, record_id):
        return
    record = _record(session, p.record_id)
    if record is None:
        raise SchemaInvalid(f"no record {p.record_id} here (deleted as a draft meanwhile?)")
    _check_sender(record, envelope.sender)
    data = _revealed(p.data, disclosures)
    version = _version(session, record_id, p.version_no)
    if version is not None and version.state == ReviewState.APPROVED:
        return  # applied already (approved versions are locked)
    decided_at = parse_rfc3339(p.decided_at)
    if version is None:
        version = RecordVersion(
            record_id=record_id,
            version_no=p.version_no,
            state=p.decision,
            data=data,
            review_division=record.county_code or record.province_code or "000000",
            created_at=now,
        )
    # The owner's decision is the truth: if the contractor withdrew meanwhile, the
    # decided data replace the draft (docs/cross-province.md, "Races").
    version.data = data
    version.state = p.decision
    version.decided_at = decided_at
    version.return_reason = p.reason if p.decision == "returned" else None
    session.add(version)
    if p.version_no >= record.latest_version_no:
        record.latest_version_no = p.version_no
        record.state = p.decision
    if p.decision == "approved":
        record.current_version_no = max(record.current_version_no or 0, p.version_no)
        record.published_at = decided_at
    _changed(
        session,
        record,
        None,
        "crossprov.decision_received",
        {"version": p.version_no, "decision": p.decision, "from": envelope.sender},
        now,
    )


def apply_record_tombstone(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    """The owner deleted a record this node holds a copy of (or will: the tombstone
    is kept, so a copy arriving later is never created)."""
    p = _parse(s.RecordTombstone, envelope.payload)
    if p.owner != envelope.sender:
        raise NotOwner(f"payload owner {p.owner} is not the sender {envelope.sender}")
    record_id = uuid.UUID(p.record_id)
    record = _record(session, p.record_id)
    if record is None:
        from sqlalchemy.dialects.postgresql import insert

        session.execute(
            insert(NodeTombstone)
            .values(
                record_id=record_id,
                kind=p.kind.value,
                owner=p.owner,
                reason=p.reason,
                deleted_at=parse_rfc3339(p.deleted_at),
                received_at=now,
            )
            .on_conflict_do_nothing()
        )
        record_event(
            session,
            None,
            "crossprov.tombstone_kept",
            p.kind.value,
            record_id,
            {"from": envelope.sender, "reason": p.reason},
            at=now,
        )
        return
    _check_sender(record, envelope.sender)
    contractor_id = record.contractor_id
    delete_record(session, record, reason=p.reason, now=now, own_node=None)
    if p.reason == "retention":
        contractor = session.get(Contractor, contractor_id, with_for_update=True)
        if contractor is not None:
            retire_contractor_if_gone(session, contractor, now=now, own_node=_own_node(session))


def apply_accident_notice(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    """An accident another province recorded against one of this province's contractors:
    kept as a read-only copy, counted in this province's figures for its contractors."""
    p = _parse(s.AccidentNotice, envelope.payload)
    record_id = uuid.UUID(p.record_id)
    if _tombstoned(session, record_id):
        return
    if p.province_code != node_province(envelope.sender):
        raise NotOwner(f"{envelope.sender} does not investigate in {p.province_code}")
    contractor = session.exec(
        select(Contractor).where(col(Contractor.uscc) == p.contractor_uscc)
    ).first()
    own = node_province(_own_node(session))
    if contractor is None or contractor.home_province_code != own:
        raise SchemaInvalid(f"{p.contractor_uscc} is not a contractor of this province")
    data = _revealed(p.data, disclosures)
    record = _record(session, p.record_id)
    if record is None:
        record = Record(
            id=record_id,
            kind=RecordKind.ACCIDENT,
            contractor_id=contractor.id,
            state=ReviewState.APPROVED,
            latest_version_no=p.version_no,
            current_version_no=p.version_no,
            created_at=parse_rfc3339(p.first_entered_at),
            updated_at=now,
            published_at=parse_rfc3339(p.entered_at),
            entered_by_regulator=True,
            owner_node=envelope.sender,
        )
        session.add(record)
        session.flush()
    else:
        _check_sender(record, envelope.sender)
        if _version(session, record_id, p.version_no) is not None:
            return
    session.add(
        RecordVersion(
            record_id=record_id,
            version_no=p.version_no,
            state=ReviewState.APPROVED,
            data=data,
            review_division=p.province_code,
            created_at=now,
            decided_at=parse_rfc3339(p.entered_at),
        )
    )
    record.latest_version_no = max(record.latest_version_no, p.version_no)
    record.current_version_no = record.latest_version_no
    record.related_record_id = uuid.UUID(p.related_record_id) if p.related_record_id else None
    _changed(
        session,
        record,
        contractor,
        "crossprov.accident_notice_received",
        {"version": p.version_no, "from": envelope.sender},
        now,
    )


CROSSPROV_APPLIERS = {
    f"relay.{s.FILING_SUBMIT}": apply_filing_submit,
    f"relay.{s.FILING_WITHDRAW}": apply_filing_withdraw,
    f"relay.{s.REVIEW_DECISION}": apply_review_decision,
    f"relay.{s.RECORD_TOMBSTONE}": apply_record_tombstone,
    f"relay.{s.ACCIDENT_NOTICE}": apply_accident_notice,
}
