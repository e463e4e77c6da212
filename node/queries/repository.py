"""SQL of the province's queries: visibility, filters, sorting, grouping.

Visibility here is the SQL twin of ``node.filing.service.can_see`` (a test keeps
the two in agreement on a set of records and actors): a record lies where its
county is, or, for province-level forms without a county (basic info,
licences), in its province.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy
from sqlalchemy import ColumnElement, and_, false, func, or_, true, union
from sqlmodel import Session, col, select

from node.flags.rules import flag_condition
from node.jurisdiction import within
from node.models import Contractor, Record
from node.principal import CHINA_TZ, Actor
from node.queries.schemas import GroupBy, RecordFilters
from schemas.enums import FlagCode, RecordKind


@dataclass(frozen=True)
class FlagContext:
    """What decides a flag: the caller's calendar date and the node's settings."""

    today: date
    warning_days: int
    inspection_days: int

    def condition(self, code: FlagCode) -> ColumnElement[bool]:
        return flag_condition(code, self.today, self.warning_days, self.inspection_days)

    def any_flag(self) -> ColumnElement[bool]:
        return or_(*[self.condition(code) for code in FlagCode])


# ---------------------------------------------------------------- where a record lies


def _no_county() -> ColumnElement[bool]:
    return or_(col(Record.county_code).is_(None), col(Record.county_code) == "")


def located_in(county_division: str, province_division: str) -> ColumnElement[bool]:
    """A record with a county lies inside ``county_division``; one without a county
    (a province-level form) has its province inside ``province_division``."""
    return or_(
        within(Record.county_code, county_division),
        and_(_no_county(), within(Record.province_code, province_division)),
    )


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """SQL of ``can_see``: contractors their own records; regulators the records in their
    jurisdiction and the province-level forms of every contractor of their province."""
    if actor.is_contractor:
        if actor.contractor_id is None:
            return false()
        return col(Record.contractor_id) == actor.contractor_id
    if not actor.is_regulator:
        return false()
    return located_in(actor.division_code, actor.division_code[:2] + "0000")


def in_division(division: str) -> ColumnElement[bool]:
    """The record's location (county, else province) lies inside ``division``."""
    return located_in(division, division)


# ---------------------------------------------------------------- filters


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in the user's text taken literally
    (PostgreSQL's default LIKE escape character is the backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(text: str) -> ColumnElement[bool]:
    """Title or contractor name contains ``text``.

    A UNION of two index-backed lookups (the trigram indexes on ``record.title``
    and ``contractor.name``) rather than one OR across the join, which no index
    can serve.
    """
    pattern = like_pattern(text)
    matched = union(
        select(col(Record.id)).where(col(Record.title).ilike(pattern)),
        select(col(Record.id)).where(
            col(Record.contractor_id).in_(
                select(col(Contractor.id)).where(col(Contractor.name).ilike(pattern))
            )
        ),
    )
    return col(Record.id).in_(matched)


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA_TZ)


def conditions(
    actor: Actor, filters: RecordFilters, flags: FlagContext, *, flagged_only: bool = False
) -> list[ColumnElement[bool]]:
    """Every WHERE condition of a query: the caller's visibility and the filters
    (with ``flagged_only``, records carrying at least one flag)."""
    where: list[ColumnElement[bool]] = [visible_to(actor)]
    if flagged_only:
        where.append(flags.any_flag())
    f = filters
    if f.kind is not None:
        where.append(col(Record.kind) == f.kind)
    if f.state is not None:
        where.append(col(Record.state) == f.state)
    if f.division is not None:
        where.append(in_division(f.division))
    if f.grade is not None:
        where.append(col(Record.grade) == f.grade)
    if f.flag is not None:
        where.append(flags.condition(f.flag))
    if f.published is not None:
        published = col(Record.published_at).is_not(None)
        where.append(published if f.published else ~published)
    if f.event_from is not None:
        where.append(col(Record.event_on) >= f.event_from)
    if f.event_to is not None:
        where.append(col(Record.event_on) <= f.event_to)
    if f.created_from is not None:
        where.append(col(Record.created_at) >= _start_of_day(f.created_from))
    if f.created_to is not None:
        where.append(col(Record.created_at) < _start_of_day(f.created_to + timedelta(days=1)))
    if f.contractor is not None:
        where.append(
            col(Record.contractor_id)
            == select(col(Contractor.id))
            .where(col(Contractor.uscc) == f.contractor)
            .scalar_subquery()
        )
    if f.q:
        where.append(search_condition(f.q))
    return where


_SORT_COLUMNS: dict[str, Any] = {
    "updated_at": Record.updated_at,
    "created_at": Record.created_at,
    "event_on": Record.event_on,
    "title": Record.title,
}


def order_by(sort: str) -> list[Any]:
    """ORDER BY for a sort key (``-`` prefix for descending); ties broken by id so that
    pages never overlap. Records without an event date come last either way (the other
    keys are never null, and a plain DESC lets the index be read backwards)."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column = col(_SORT_COLUMNS[key])
    primary = column.desc() if descending else column.asc()
    if key == "event_on":
        primary = primary.nulls_last()
    return [primary, col(Record.id)]


# ---------------------------------------------------------------- reading


def count(session: Session, where: Sequence[ColumnElement[bool]]) -> int:
    return int(session.exec(select(func.count()).select_from(Record).where(*where)).one())


def page(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    sort: str,
    offset: int,
    limit: int,
) -> list[tuple[Record, Contractor]]:
    rows = session.exec(
        select(Record, Contractor)
        .join(Contractor, col(Contractor.id) == col(Record.contractor_id))
        .where(*where)
        .order_by(*order_by(sort))
        .offset(offset)
        .limit(limit)
    ).all()
    return [(r, c) for r, c in rows]


def group_key(group_by: GroupBy) -> Any:
    if group_by == "month":
        return func.to_char(col(Record.event_on), "YYYY-MM")
    column = {
        "kind": Record.kind,
        "state": Record.state,
        "county_code": Record.county_code,
        "city_code": Record.city_code,
        "grade": Record.grade,
    }[group_by]
    return col(column)


def grouped_counts(
    session: Session, where: Sequence[ColumnElement[bool]], group_by: GroupBy
) -> list[tuple[str | None, int]]:
    """``[(key, count)]`` in one GROUP BY, keys in ascending order (NULL last)."""
    key = group_key(group_by).label("key")
    rows = session.exec(
        select(key, func.count().label("n"))
        .select_from(Record)
        .where(*where)
        .group_by(key)
        .order_by(key.asc().nulls_last())
    ).all()
    return [(k, int(n)) for k, n in rows]


def flag_counts(
    session: Session, where: Sequence[ColumnElement[bool]], flags: FlagContext
) -> tuple[int, dict[FlagCode, int]]:
    """The number of matching records and, in the same query, how many carry each flag."""
    columns = [func.count().filter(flags.condition(code)).label(code.value) for code in FlagCode]
    row: Any = session.exec(
        select(func.count().label("total"), *columns).select_from(Record).where(*where)
    ).one()
    return int(row.total), {code: int(getattr(row, code.value)) for code in FlagCode}


def export_rows(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    sort: str,
    flags: FlagContext,
    limit: int,
    batch_rows: int = 500,
) -> Iterator[Any]:
    """The rows of an export, streamed from a server-side cursor ``batch_rows`` at a time,
    each with its flags computed in the same query."""
    flag_columns = [flags.condition(code).label(f"flag_{code.value}") for code in FlagCode]
    # sqlalchemy's select: sqlmodel's overloads stop at four columns.
    stmt: Any = (
        sqlalchemy.select(
            col(Record.id),
            col(Record.kind),
            col(Record.state),
            col(Record.title),
            col(Contractor.name).label("contractor_name"),
            col(Contractor.uscc).label("contractor_uscc"),
            col(Record.province_code),
            col(Record.city_code),
            col(Record.county_code),
            col(Record.event_on),
            col(Record.valid_to),
            col(Record.grade),
            col(Record.deaths),
            col(Record.published_at),
            col(Record.created_at),
            col(Record.updated_at),
            *flag_columns,
        )
        .join(Contractor, col(Contractor.id) == col(Record.contractor_id))
        .where(*where)
        .order_by(*order_by(sort))
        .limit(limit)
        .execution_options(yield_per=batch_rows)
    )
    yield from session.execute(stmt)


# ---------------------------------------------------------------- contractors


def contractor_visible_to(actor: Actor) -> ColumnElement[bool]:
    """A regulator sees the contractors registered in its province and any contractor
    with a record it can see (one working in its area from another province)."""
    if not actor.is_regulator:
        return false()
    has_visible_record = (
        select(col(Record.id))
        .where(col(Record.contractor_id) == col(Contractor.id), visible_to(actor))
        .exists()
    )
    return or_(
        within(Contractor.home_province_code, actor.division_code[:2] + "0000"),
        has_visible_record,
    )


def contractor_search(text: str | None) -> ColumnElement[bool]:
    if not text:
        return true()
    return or_(
        col(Contractor.name).ilike(like_pattern(text)),
        col(Contractor.uscc).startswith(text.upper(), autoescape=True),
    )


def record_counts_by_contractor(
    session: Session, actor: Actor, contractor_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Visible records per contractor and kind, for a page of contractors in one query."""
    if not contractor_ids:
        return {}
    rows = session.exec(
        select(col(Record.contractor_id), col(Record.kind), func.count())
        .where(col(Record.contractor_id).in_(contractor_ids), visible_to(actor))
        .group_by(col(Record.contractor_id), col(Record.kind))
    ).all()
    result: dict[uuid.UUID, dict[str, int]] = {}
    for contractor_id, kind, n in rows:
        result.setdefault(contractor_id, {})[kind] = int(n)
    return result


def department_counts(
    session: Session, contractor_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Project departments in force per contractor (the derived 项目部总数量)."""
    if not contractor_ids:
        return {}
    rows = session.exec(
        select(col(Record.contractor_id), func.count())
        .where(
            col(Record.contractor_id).in_(contractor_ids),
            col(Record.kind) == RecordKind.PROJECT_DEPARTMENT,
            col(Record.current_version_no).is_not(None),
        )
        .group_by(col(Record.contractor_id))
    ).all()
    return {contractor_id: int(n) for contractor_id, n in rows}
