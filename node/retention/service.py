"""Five-year retention (信息保留时效): the owner node deletes, tombstones travel.

Five years after a project department was first entered it is deleted, with
its accidents and the attachments nothing else references; a contractor whose
last project department (in every province) goes this way loses its basic
info, licences, rewards/penalties and attachments too. Its account stays until
the bureau deletes it (docs/retention.md).

- **Who.** Only the owner deletes: the node of the department's location (for
  a department relayed from another province, that is this node, and the home
  node holds a read-only copy). Copies go when the owner's
  ``relay.record.tombstone`` arrives (``node.crossprov.appliers``).
- **When.** "Due" is decided by the China date: a department first entered on
  day D is due from D + 5 years (29 February: from 28 February). The date comes
  from the injected clock (the daily task) or ``--as-of``. Nothing is stored
  about the last run, so a run after downtime catches up and a second run finds
  nothing: idempotent.
- **How.** One transaction per department: its tombstone to the hub and, for
  a relayed filing, to the home node, in the outbox of the same transaction as
  the deletion. While the hub is down the tombstones wait in the outbox.
- **What is kept.** The audit trail records the fact of each deletion (kind,
  id, first entry, reason, counts), never the deleted content; ``node_tombstone``
  keeps the same fact so nothing deleted can come back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from node.attachments.service import remove
from node.attachments.storage import AttachmentStorage, FilesystemStorage
from node.audit.service import record_event
from node.db import SessionFactory, transaction
from node.models import Attachment, Contractor, NodeTombstone, Record, RecordVersion, User
from node.principal import CHINA_TZ
from node.sync.publish import Publisher, bind_publisher, publish_tombstone
from schemas.enums import RecordKind

__all__ = [
    "RETENTION_YEARS",
    "RetentionPlan",
    "RetentionReport",
    "bind_storage",
    "cutoff_instant",
    "delete_record",
    "plan",
    "retire_contractor_if_gone",
    "run",
]

RETENTION_YEARS = 5

#: What goes with the contractor when its last project department has gone.
CONTRACTOR_KINDS = (RecordKind.BASIC_INFO, RecordKind.LICENCE, RecordKind.REWARD_PENALTY)

_STORAGE_KEY = "minefed.storage"


def bind_storage(session: Session, storage: AttachmentStorage) -> None:
    """Let deletions in ``session``'s transaction remove attachment bytes from ``storage``."""
    session.info[_STORAGE_KEY] = storage


def storage_of(session: Session) -> AttachmentStorage:
    storage = session.info.get(_STORAGE_KEY)
    if storage is None:
        from node.config import get_settings

        storage = FilesystemStorage(get_settings().storage_dir)
        session.info[_STORAGE_KEY] = storage
    return storage


def china_date(instant: datetime) -> date:
    return instant.astimezone(CHINA_TZ).date()


def cutoff_instant(as_of: date) -> datetime:
    """Departments first entered before this instant are due on ``as_of``.

    ``as_of`` minus five years, as a China date (29 February → 28 February),
    and the whole of that day included: a department first entered on day D goes
    on D five years later; one entered on 29 February, on 1 March.
    """
    try:
        last_day = as_of.replace(year=as_of.year - RETENTION_YEARS)
    except ValueError:  # 29 February in a leap year, five years back is not one
        last_day = as_of.replace(year=as_of.year - RETENTION_YEARS, day=28)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=CHINA_TZ)


# ---------------------------------------------------------------- what is due


def _due_departments(session: Session, as_of: date, limit: int | None = None) -> list[Record]:
    stmt = (
        select(Record)
        .where(
            col(Record.kind) == RecordKind.PROJECT_DEPARTMENT,
            col(Record.owner_node).is_(None),  # a copy goes when its owner says so
            col(Record.created_at) < cutoff_instant(as_of),
        )
        .order_by(col(Record.created_at), col(Record.id))
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.exec(stmt))


def _accidents_of(session: Session, department_ids: Iterable[uuid.UUID]) -> list[Record]:
    ids = list(department_ids)
    if not ids:
        return []
    return list(
        session.exec(
            select(Record).where(
                col(Record.kind) == RecordKind.ACCIDENT,
                col(Record.related_record_id).in_(ids),
                col(Record.owner_node).is_(None),
            )
        )
    )


def _referenced_attachment_ids(session: Session, record_ids: Iterable[uuid.UUID]) -> set[str]:
    ids = list(record_ids)
    if not ids:
        return set()
    rows = session.exec(
        select(
            func.jsonb_array_elements(
                func.coalesce(col(RecordVersion.data)["attachments"], func.jsonb_build_array())
            ).op("->>")("id")
        ).where(col(RecordVersion.record_id).in_(ids))
    ).all()
    return {str(r) for r in rows if r}


def _still_referenced(session: Session, attachment_id: str) -> bool:
    found = session.exec(
        select(col(RecordVersion.id))
        .where(col(RecordVersion.data)["attachments"].contains([{"id": attachment_id}]))
        .limit(1)
    ).first()
    return found is not None


@dataclass
class RetentionPlan:
    """What a run as of ``as_of`` deletes (``minefed node retention --dry-run``)."""

    as_of: date
    cutoff: datetime
    departments: list[dict[str, Any]] = field(default_factory=list)
    accidents: int = 0
    attachments: int = 0
    contractors: list[str] = field(default_factory=list)  # USCCs whose information goes

    def counts(self) -> dict[str, int]:
        return {
            "project_departments": len(self.departments),
            "accidents": self.accidents,
            "attachments": self.attachments,
            "contractors": len(self.contractors),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "cutoff": self.cutoff.isoformat(),
            "counts": self.counts(),
            "project_departments": self.departments,
            "contractors": self.contractors,
        }


def plan(session: Session, as_of: date, province_code: str) -> RetentionPlan:
    """What would go as of ``as_of``; changes nothing."""
    result = RetentionPlan(as_of=as_of, cutoff=cutoff_instant(as_of))
    departments = _due_departments(session, as_of)
    due_ids = {d.id for d in departments}
    contractors = {
        c.id: c
        for c in session.exec(
            select(Contractor).where(col(Contractor.id).in_({d.contractor_id for d in departments}))
        )
    }
    for d in departments:
        result.departments.append(
            {
                "record_id": str(d.id),
                "title": d.title,
                "contractor_uscc": contractors[d.contractor_id].uscc,
                "first_entered_at": d.created_at.isoformat(),
                "county_code": d.county_code,
                "home_node": d.home_node,
            }
        )
    accidents = _accidents_of(session, due_ids)
    result.accidents = len(accidents)
    going = due_ids | {a.id for a in accidents}
    attachments = {
        a
        for a in _referenced_attachment_ids(session, going)
        if not _referenced_outside(session, a, going)
    }
    for contractor in contractors.values():
        remaining = session.exec(
            select(func.count())
            .select_from(Record)
            .where(
                col(Record.contractor_id) == contractor.id,
                col(Record.kind) == RecordKind.PROJECT_DEPARTMENT,
                col(Record.id).not_in(due_ids),
            )
        ).one()
        if remaining == 0 and contractor.home_province_code == province_code:
            result.contractors.append(contractor.uscc)
            attachments |= {
                str(a)
                for a in session.exec(
                    select(col(Attachment.id)).where(col(Attachment.contractor_id) == contractor.id)
                )
            }
    result.attachments = len(attachments)
    return result


def _referenced_outside(session: Session, attachment_id: str, going: set[uuid.UUID]) -> bool:
    found = session.exec(
        select(col(RecordVersion.id))
        .where(
            col(RecordVersion.data)["attachments"].contains([{"id": attachment_id}]),
            col(RecordVersion.record_id).not_in(going),
        )
        .limit(1)
    ).first()
    return found is not None


# ---------------------------------------------------------------- deleting


def delete_record(
    session: Session, record: Record, *, reason: str, now: datetime, own_node: str | None
) -> None:
    """Delete ``record`` with its versions, in the caller's transaction.

    When this node owns it (``own_node`` given), the tombstone goes to the hub and,
    for a filing relayed from another province, to the home node holding a copy.
    The attachments it referenced are the caller's (:func:`delete_orphan_attachments`).
    """
    from node.crossprov.service import relay_tombstone

    owner = own_node if record.owner_node is None else record.owner_node
    if record.owner_node is None and own_node is not None:
        publish_tombstone(session, record, reason, now)
        if record.home_node:
            relay_tombstone(session, record.home_node, record, own_node, reason, now)
    versions = session.exec(
        select(func.count())
        .select_from(RecordVersion)
        .where(col(RecordVersion.record_id) == record.id)
    ).one()
    session.execute(
        insert(NodeTombstone)
        .values(
            record_id=record.id,
            kind=record.kind,
            owner=owner or "",
            reason=reason,
            deleted_at=now,
            received_at=now,
        )
        .on_conflict_do_nothing()
    )
    # The fact, never the content: no title, no form data, no names.
    record_event(
        session,
        None,
        "retention.record_deleted",
        record.kind,
        record.id,
        {
            "reason": reason,
            "first_entered_at": record.created_at.isoformat(),
            "versions": int(versions),
            "owner": owner,
        },
        at=now,
    )
    session.execute(delete(RecordVersion).where(col(RecordVersion.record_id) == record.id))
    session.execute(delete(Record).where(col(Record.id) == record.id))
    session.flush()


def delete_orphan_attachments(
    session: Session, attachment_ids: Iterable[str], now: datetime
) -> int:
    """Delete attachments no remaining version references; their bytes with their last row."""
    storage = storage_of(session)
    deleted = 0
    for attachment_id in sorted(set(attachment_ids)):
        try:
            key = uuid.UUID(attachment_id)
        except ValueError:
            continue
        row = session.get(Attachment, key, with_for_update=True)
        if row is None or _still_referenced(session, attachment_id):
            continue
        _delete_attachment(session, storage, row, now)
        deleted += 1
    return deleted


def _delete_attachment(
    session: Session, storage: AttachmentStorage, row: Attachment, now: datetime
) -> None:
    remove(session, storage, row, None, "retention.attachment_deleted", {"sha256": row.sha256}, now)


def retire_contractor_if_gone(
    session: Session, contractor: Contractor, *, now: datetime, own_node: str
) -> bool:
    """After a retention deletion: if none of the contractor's project departments is
    left (here or, as a copy, elsewhere), its information goes too.

    At its home node: basic info, licences, rewards/penalties (tombstoned to the
    hub) and attachments; the contractor row stays, marked deleted, because its
    account names it. At another node (a contractor known only through relayed
    filings) the row goes once nothing refers to it.
    """
    from node.crossprov.service import node_province

    left = session.exec(
        select(func.count())
        .select_from(Record)
        .where(
            col(Record.contractor_id) == contractor.id,
            col(Record.kind) == RecordKind.PROJECT_DEPARTMENT,
        )
    ).one()
    if left:
        return False
    if contractor.home_province_code != node_province(own_node):
        anything = session.exec(
            select(col(Record.id)).where(col(Record.contractor_id) == contractor.id).limit(1)
        ).first()
        account = session.exec(
            select(col(User.id)).where(col(User.contractor_id) == contractor.id).limit(1)
        ).first()
        if anything is None and account is None:
            session.delete(contractor)
            session.flush()
            record_event(
                session,
                None,
                "retention.contractor_forgotten",
                "contractor",
                contractor.id,
                {"uscc": contractor.uscc},
                at=now,
            )
            return True
        return False
    if contractor.deleted_at is not None:
        return False
    records = list(
        session.exec(
            select(Record).where(
                col(Record.contractor_id) == contractor.id,
                col(Record.kind).in_(CONTRACTOR_KINDS),
                col(Record.owner_node).is_(None),
            )
        )
    )
    for record in records:
        delete_record(session, record, reason="retention", now=now, own_node=own_node)
    storage = storage_of(session)
    attachments = list(
        session.exec(
            select(Attachment)
            .where(col(Attachment.contractor_id) == contractor.id)
            .with_for_update()
        )
    )
    for row in attachments:
        _delete_attachment(session, storage, row, now)
    contractor.deleted_at = now
    session.add(contractor)
    record_event(
        session,
        None,
        "retention.contractor_deleted",
        "contractor",
        contractor.id,
        {"uscc": contractor.uscc, "records": len(records), "attachments": len(attachments)},
        at=now,
    )
    session.flush()
    return True


def delete_department(
    session: Session, department: Record, *, now: datetime, own_node: str
) -> tuple[int, int, bool]:
    """One department, its accidents and orphaned attachments; then maybe its contractor.
    Returns (accidents, attachments, contractor retired)."""
    accidents = _accidents_of(session, [department.id])
    attachment_ids = _referenced_attachment_ids(
        session, [department.id, *(a.id for a in accidents)]
    )
    for accident in accidents:
        delete_record(session, accident, reason="retention", now=now, own_node=own_node)
    delete_record(session, department, reason="retention", now=now, own_node=own_node)
    attachments = delete_orphan_attachments(session, attachment_ids, now)
    contractor = session.get(Contractor, department.contractor_id, with_for_update=True)
    retired = contractor is not None and retire_contractor_if_gone(
        session, contractor, now=now, own_node=own_node
    )
    return len(accidents), attachments, retired


@dataclass
class RetentionReport:
    as_of: date
    project_departments: int = 0
    accidents: int = 0
    attachments: int = 0
    contractors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "project_departments": self.project_departments,
            "accidents": self.accidents,
            "attachments": self.attachments,
            "contractors": self.contractors,
        }


def run(
    factory: SessionFactory,
    *,
    as_of: date,
    now: datetime,
    own_node: str,
    publisher: Publisher | None,
    storage: AttachmentStorage,
    batch: int = 100,
) -> RetentionReport:
    """Delete everything due as of ``as_of``: one transaction per department.

    Safe to run twice, concurrently (rows are locked and skipped once gone) or
    after downtime (whatever became due meanwhile is due now).
    """
    report = RetentionReport(as_of=as_of)
    while True:
        with transaction(factory) as session:
            ids = [d.id for d in _due_departments(session, as_of, batch)]
        if not ids:
            break
        deleted_before = report.project_departments
        for record_id in ids:
            with transaction(factory) as session:
                bind_publisher(session, publisher)
                bind_storage(session, storage)
                department = session.exec(
                    select(Record)
                    .where(col(Record.id) == record_id)
                    .with_for_update(skip_locked=True)
                ).first()
                if department is None:
                    continue  # gone meanwhile (another run), or being deleted
                accidents, attachments, retired = delete_department(
                    session, department, now=now, own_node=own_node
                )
                report.project_departments += 1
                report.accidents += accidents
                report.attachments += attachments
                report.contractors += int(retired)
        if len(ids) < batch or report.project_departments == deleted_before:
            break  # the rest is being deleted by another run
    if report.project_departments:
        with transaction(factory) as session:
            record_event(
                session, None, "retention.run", "retention", None, report.to_dict(), at=now
            )
    return report
