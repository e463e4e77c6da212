"""Queries over entered accidents: the jurisdiction's list, and who must be reported."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from node.jurisdiction import within
from node.models import Contractor, Record, RecordVersion
from node.pagination import PageParams
from node.principal import Actor
from schemas.enums import AccidentCategory, AccidentGrade, RecordKind, RewardPenaltyKind

LARGER_OR_WORSE = (AccidentGrade.LARGER, AccidentGrade.MAJOR, AccidentGrade.ESPECIALLY_MAJOR)
#: DOMAIN.md: three or more 一般 accidents in one year are reported as well.
GENERAL_ACCIDENTS_TO_REPORT = 3


@dataclass(frozen=True)
class AccidentFilters:
    grade: AccidentGrade | None = None
    categories: tuple[AccidentCategory, ...] = ()
    occurred_from: date | None = None
    occurred_to: date | None = None
    contractor_uscc: str | None = None
    county_code: str | None = None


def _accidents_in_force() -> list[ColumnElement[bool]]:
    return [
        col(Record.kind) == RecordKind.ACCIDENT,
        col(Record.current_version_no).is_not(None),
    ]


def _visible_to(actor: Actor) -> ColumnElement[bool]:
    """Regulators: accidents located in their jurisdiction; contractors: their own."""
    if actor.is_contractor:
        return col(Record.contractor_id) == actor.contractor_id
    return within(col(Record.county_code), actor.division_code)


def list_accidents(
    session: Session, actor: Actor, filters: AccidentFilters, paging: PageParams
) -> tuple[int, list[tuple[Record, RecordVersion, Contractor]]]:
    """Accidents the actor may see, newest first, with their version in force."""
    where: list[Any] = [
        *_accidents_in_force(),
        _visible_to(actor),
        col(RecordVersion.record_id) == col(Record.id),
        col(RecordVersion.version_no) == col(Record.current_version_no),
        col(Contractor.id) == col(Record.contractor_id),
    ]
    if filters.grade:
        where.append(col(Record.grade) == filters.grade)
    if filters.categories:
        # JSONB containment: every asked category is among the accident's categories.
        where.append(
            col(RecordVersion.data)["categories"].contains([int(c) for c in filters.categories])
        )
    if filters.occurred_from:
        where.append(col(Record.event_on) >= filters.occurred_from)
    if filters.occurred_to:
        where.append(col(Record.event_on) <= filters.occurred_to)
    if filters.contractor_uscc:
        where.append(col(Contractor.uscc) == filters.contractor_uscc)
    if filters.county_code:
        where.append(col(Record.county_code) == filters.county_code)
    return _newest_first(session, where, paging)


def _newest_first(
    session: Session, where: list[Any], paging: PageParams
) -> tuple[int, list[tuple[Record, RecordVersion, Contractor]]]:
    tables = select(Record, RecordVersion, Contractor).where(*where)
    total = session.exec(select(func.count()).select_from(tables.subquery())).one()
    rows = session.exec(
        tables.order_by(col(Record.event_on).desc(), col(Record.created_at).desc(), col(Record.id))
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    return int(total), [(r, v, c) for r, v, c in rows]


@dataclass(frozen=True)
class EntryFilters:
    """What the correction pages filter regulator entries by."""

    period_from: date | None = None
    period_to: date | None = None
    #: Accidents: where it happened; rewards/penalties: the division that entered it.
    county_code: str | None = None
    #: Accidents: GB 6441 categories it includes (all of them).
    categories: tuple[AccidentCategory, ...] = ()
    #: Rewards/penalties: reward or penalty.
    reward_penalty_kind: RewardPenaltyKind | None = None


def list_correctable(
    session: Session, actor: Actor, kind: RecordKind, filters: EntryFilters, paging: PageParams
) -> tuple[int, list[tuple[Record, RecordVersion, Contractor]]]:
    """Regulator entries of ``kind`` the actor may correct (entered by a division its
    jurisdiction covers, as ``service.correct`` checks), newest first, with the
    version in force."""
    where: list[Any] = [
        col(Record.kind) == kind,
        col(Record.entered_by_regulator).is_(True),
        col(Record.current_version_no).is_not(None),
        col(RecordVersion.record_id) == col(Record.id),
        col(RecordVersion.version_no) == col(Record.current_version_no),
        col(Contractor.id) == col(Record.contractor_id),
        within(col(RecordVersion.review_division), actor.division_code),
    ]
    if filters.period_from:
        where.append(col(Record.event_on) >= filters.period_from)
    if filters.period_to:
        where.append(col(Record.event_on) <= filters.period_to)
    if filters.county_code:
        located = (
            Record.county_code if kind == RecordKind.ACCIDENT else RecordVersion.review_division
        )
        where.append(col(located) == filters.county_code)
    if filters.categories:
        where.append(
            col(RecordVersion.data)["categories"].contains([int(c) for c in filters.categories])
        )
    if filters.reward_penalty_kind:
        where.append(col(RecordVersion.data)["kind"].astext == filters.reward_penalty_kind.value)
    return _newest_first(session, where, paging)


@dataclass(frozen=True)
class ReportRow:
    contractor: Contractor
    larger_or_worse_count: int
    general_count: int
    deaths: int
    latest_occurred_on: date


def contractors_to_report(session: Session, jurisdiction: str, year: int) -> list[ReportRow]:
    """Contractors with a 较大-or-worse accident, or three or more 一般 accidents, that
    occurred in ``year`` (Beijing dates) inside ``jurisdiction``: one grouped query on the
    index columns."""
    larger = func.count().filter(col(Record.grade).in_(LARGER_OR_WORSE))
    general = func.count().filter(col(Record.grade) == AccidentGrade.GENERAL)
    # Five columns: more than sqlmodel's typed select() takes, so SQLAlchemy's own.
    stmt = (
        sa_select(
            col(Record.contractor_id),
            larger,
            general,
            func.coalesce(func.sum(col(Record.deaths)), 0),
            func.max(col(Record.event_on)),
        )
        .where(
            *_accidents_in_force(),
            within(col(Record.county_code), jurisdiction),
            # A range, not extract(year …), so the event_on index serves it.
            col(Record.event_on) >= date(year, 1, 1),
            col(Record.event_on) < date(year + 1, 1, 1),
        )
        .group_by(col(Record.contractor_id))
        .having((larger >= 1) | (general >= GENERAL_ACCIDENTS_TO_REPORT))
    )
    rows = session.execute(stmt).all()
    contractors = {
        c.id: c
        for c in session.exec(
            select(Contractor).where(col(Contractor.id).in_([r[0] for r in rows]))
        )
    }
    report = [
        ReportRow(
            contractor=contractors[contractor_id],
            larger_or_worse_count=int(n_larger),
            general_count=int(n_general),
            deaths=int(deaths),
            latest_occurred_on=latest,
        )
        for contractor_id, n_larger, n_general, deaths, latest in rows
    ]
    return sorted(
        report,
        key=lambda r: (-r.larger_or_worse_count, -r.general_count, r.contractor.uscc),
    )


def licence_issuing_authorities(
    session: Session, contractor_ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The issuing authority named by each contractor's licence in force (the latest
    valid one if several), to whom the report goes."""
    if not contractor_ids:
        return {}
    rows = session.exec(
        select(col(Record.contractor_id), col(RecordVersion.data)["issuing_authority"].astext)
        .where(
            and_(
                col(Record.kind) == RecordKind.LICENCE,
                col(Record.contractor_id).in_(contractor_ids),
                col(RecordVersion.record_id) == col(Record.id),
                col(RecordVersion.version_no) == col(Record.current_version_no),
            )
        )
        .order_by(col(Record.contractor_id), col(Record.valid_to).desc().nulls_last())
    ).all()
    authorities: dict[uuid.UUID, str] = {}
    for contractor_id, authority in rows:
        if authority and contractor_id not in authorities:
            authorities[contractor_id] = str(authority)
    return authorities
