"""Queries of the public disclosure site: the search table, a contractor's records,
the publication ids of records, exports in order of receipt.

Only live records (``deleted_at IS NULL``) are ever read for content; a
tombstoned record contributes its id and deletion time to incremental exports,
nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, case, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col

from central.models import HubPublication, HubPublicContractor, HubRecord
from schemas.flags import LICENCE_WARNING_DAYS

#: Totals are counted up to this many matches ("10000+" beyond): counting every row
#: of a broad search would cost more than finding the page.
COUNT_CAP = 10_000

#: Characters (after normalisation) a query may have; longer ones are cut.
MAX_QUERY_CHARS = 40

_DROPPED = " \t\r\n\u3000()（）·.,，、-—_“”\"'《》[]【】"
_DROP_TABLE = str.maketrans("", "", _DROPPED)


def normalise_name(text: str) -> str:
    """Python twin of SQL ``hub_normalise_name`` (migration 0004): punctuation and
    spaces removed, ASCII letters lowered (PostgreSQL's ``lower`` under the C locale)."""
    cut = text.translate(_DROP_TABLE)
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in cut)


@dataclass(frozen=True)
class SearchFilter:
    q: str | None = None
    province: str | None = None
    grade: str | None = None
    licence_status: str | None = None
    incidents_within_years: int | None = None
    updated_since: datetime | None = None


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _name_match(q: str, *, fuzzy: bool) -> ColumnElement[bool]:
    grams = col(HubPublicContractor.name_grams)
    if not fuzzy:
        return grams.contains(func.hub_query_grams(q))
    # One wrong or missing character: every character of the query but one.
    chars = sorted(set(normalise_name(q)))
    subsets = [[c for c in chars if c != left_out] for left_out in chars]
    return or_(*(grams.contains(literal(s, type_=ARRAY(Text))) for s in subsets if s))


def _conditions(f: SearchFilter, today: date, *, fuzzy: bool = False) -> list[Any]:
    c = HubPublicContractor
    where: list[Any] = []
    if f.q:
        q = f.q.strip()
        if _looks_like_uscc(q) and len(q) == 18:
            where.append(col(c.uscc) == q.upper())
        elif _looks_like_uscc(q):
            # Digits may be part of a name too ("…140000-1"): either will do.
            where.append(
                or_(
                    col(c.uscc).startswith(q.upper()),
                    _name_match(q[:MAX_QUERY_CHARS], fuzzy=fuzzy),
                )
            )
        else:
            where.append(_name_match(q[:MAX_QUERY_CHARS], fuzzy=fuzzy))
    if f.province:
        where.append(col(c.province_code) == f.province)
    if f.grade:
        where.append(col(c.grades).contains([f.grade]))
    if f.licence_status:
        valid_to = col(c.licence_valid_to)
        warn = today + timedelta(days=LICENCE_WARNING_DAYS)
        where.append(
            {
                "valid": valid_to > warn,
                "expiring": and_(valid_to >= today, valid_to <= warn),
                "expired": valid_to < today,
                "none": valid_to.is_(None),
            }[f.licence_status]
        )
    if f.incidents_within_years:
        where.append(col(c.last_incident_on) >= _years_before(today, f.incidents_within_years))
    if f.updated_since is not None:
        where.append(col(c.updated_at) > f.updated_since)
    return where


def _looks_like_uscc(q: str) -> bool:
    """Four or more USCC characters and nothing else: a code (prefix), not a name."""
    text = q.upper()
    return len(text) >= 4 and all(ch in "0123456789ABCDEFGHJKLMNPQRTUWXY" for ch in text)


def _order(sort: str, q: str | None) -> list[Any]:
    c = HubPublicContractor
    if sort == "updated":
        return [col(c.updated_at).desc(), col(c.uscc)]
    if sort == "departments":
        return [col(c.project_department_count).desc(), col(c.name), col(c.uscc)]
    if sort == "relevance" and q and not _looks_like_uscc(q):
        n = normalise_name(q)
        name = func.hub_normalise_name(col(c.name))
        return [
            case((name == n, 0), (name.startswith(n), 1), else_=2),
            func.length(col(c.name)),
            col(c.name),
            col(c.uscc),
        ]
    return [col(c.name), col(c.uscc)]


def search(
    session: Session,
    f: SearchFilter,
    *,
    today: date,
    sort: str,
    offset: int,
    limit: int,
) -> tuple[list[HubPublicContractor], int, bool]:
    """A page of contractors, the number found (capped at :data:`COUNT_CAP`) and
    whether the match is fuzzy (nothing matched exactly, so one character was let go)."""
    fuzzy = False
    where = _conditions(f, today)
    rows, total = _page(session, where, sort, f.q, offset, limit)
    if total == 0 and f.q and 3 <= len(set(normalise_name(f.q))) <= 20:
        fuzzy = True
        where = _conditions(f, today, fuzzy=True)
        rows, total = _page(session, where, sort, f.q, offset, limit)
    return rows, total, fuzzy


def _page(
    session: Session, where: list[Any], sort: str, q: str | None, offset: int, limit: int
) -> tuple[list[HubPublicContractor], int]:
    c = HubPublicContractor
    found = list(
        session.scalars(
            select(c).where(*where).order_by(*_order(sort, q)).offset(offset).limit(limit)
        )
    )
    if offset == 0 and len(found) < limit:
        return found, len(found)
    capped = select(literal(1)).select_from(c).where(*where).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    return found, total


def contractor(session: Session, uscc: str) -> HubPublicContractor | None:
    return session.get(HubPublicContractor, uscc)


#: Records of each kind shown on one contractor's page and in its API answer.
MAX_RECORDS_PER_KIND = 500


def contractor_records(session: Session, uscc: str) -> list[tuple[HubRecord, int | None]]:
    """The contractor's live records (at most :data:`MAX_RECORDS_PER_KIND` of each
    kind, newest first), each with the id of its latest ``hub_publication``."""
    r = HubRecord
    ranked = (
        select(
            col(r.record_id),
            func.row_number()
            .over(partition_by=col(r.kind), order_by=col(r.received_at).desc())
            .label("n"),
        )
        .where(col(r.contractor_uscc) == uscc, col(r.deleted_at).is_(None))
        .subquery()
    )
    publication = (
        select(func.max(col(HubPublication.id)))
        .where(
            col(HubPublication.record_id) == col(r.record_id),
            col(HubPublication.version_no) == col(r.version_no),
            col(HubPublication.kind) == "record.publish",
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(r, publication)
        .join(ranked, col(ranked.c.record_id) == col(r.record_id))
        .where(col(ranked.c.n) <= MAX_RECORDS_PER_KIND)
        .order_by(col(r.kind), col(r.received_at).desc())
    )
    return [(row[0], row[1]) for row in rows]


def kind_counts(session: Session, uscc: str) -> dict[str, int]:
    r = HubRecord
    rows = session.execute(
        select(col(r.kind), func.count())
        .where(col(r.contractor_uscc) == uscc, col(r.deleted_at).is_(None))
        .group_by(col(r.kind))
    )
    return {kind: n for kind, n in rows}


def data_as_of(session: Session) -> datetime | None:
    """When the hub last accepted a publication or tombstone (its replica is current to then)."""
    return session.scalar(
        select(col(HubPublication.received_at)).order_by(col(HubPublication.id).desc()).limit(1)
    )


def export_rows(
    session: Session,
    kind: str,
    updated_since: datetime | None,
    batch: int = 2000,
) -> Iterator[HubRecord]:
    """Every record of ``kind`` in order of receipt (keyset pages, index
    ``ix_hub_record_kind_received``); tombstones too when ``updated_since`` is given."""
    r = HubRecord
    after: tuple[datetime, str] | None = None
    while True:
        where: list[Any] = [col(r.kind) == kind]
        if updated_since is None:
            where.append(col(r.deleted_at).is_(None))
        else:
            where.append(col(r.received_at) > updated_since)
        if after is not None:
            where.append(tuple_(col(r.received_at), col(r.record_id)) > tuple_(*after))
        page: Sequence[HubRecord] = list(
            session.scalars(
                select(r).where(*where).order_by(col(r.received_at), col(r.record_id)).limit(batch)
            )
        )
        yield from page
        if len(page) < batch:
            return
        after = (page[-1].received_at, page[-1].record_id)
        session.expunge_all()
