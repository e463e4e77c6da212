"""Queries of the public disclosure site: the search table, a contractor's records,
the publication ids of records, exports in order of receipt.

Only live records (``deleted_at IS NULL``) are ever read for content; a
tombstoned record contributes its id and deletion time to incremental exports,
nothing else.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import func, select, tuple_
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


#: The columns a search result needs (``summary_of`` reads them by name).
SUMMARY_COLUMNS = (
    "uscc, name, province_code, has_basic_info, grades, licence_valid_to, licence_count, "
    "project_department_count, accident_count, reward_penalty_count, last_accident_on, "
    "last_penalty_on, updated_at"
)


class _Sql:
    """A WHERE clause built from fragments and its named parameters.

    The public search is the hub's hottest path: building it as SQLAlchemy
    expressions cost more CPU than PostgreSQL spent answering it, so it is
    plain SQL text here, with psycopg parameters (prepared once per connection).
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: dict[str, Any] = {}

    def add(self, fragment: str, **params: Any) -> None:
        self.parts.append(fragment)
        self.params.update(params)

    @property
    def where(self) -> str:
        return " AND ".join(self.parts) if self.parts else "TRUE"


def query_grams(q: str) -> list[str]:
    """Python twin of SQL ``hub_query_grams`` (migration 0004): a one-character query
    is that character, a longer one every adjacent pair; sorted, distinct."""
    n = normalise_name(q)
    if len(n) <= 1:
        return [n] if n else []
    return sorted({n[i : i + 2] for i in range(len(n) - 1)})


#: A gram in more than this share of names ("有限", "公司", "工程" are in most) narrows a
#: search too little to be worth reading from the index: the index is asked for the
#: rarer grams, and the common ones are checked on the few rows those find.
COMMON_GRAM_SHARE = 0.05
#: How long a process keeps what ANALYZE found common before asking again.
COMMON_GRAMS_TTL_S = 600.0

_common: tuple[float, frozenset[str]] = (float("-inf"), frozenset())


def common_grams(conn: psycopg.Connection[Any]) -> frozenset[str]:
    """Grams in more than :data:`COMMON_GRAM_SHARE` of names, by the table's statistics
    (``pg_stats.most_common_elems``: PostgreSQL's own sample, kept by ANALYZE)."""
    global _common
    at, grams = _common
    now = time.monotonic()
    if now - at < COMMON_GRAMS_TTL_S:
        return grams
    rows = conn.execute(
        "SELECT u.gram FROM pg_stats s, unnest(s.most_common_elems::text::text[], "
        "s.most_common_elem_freqs) AS u(gram, share) WHERE s.schemaname = current_schema() "
        "AND s.tablename = 'hub_public_contractor' AND s.attname = 'name_grams' "
        "AND u.share > %s",
        (COMMON_GRAM_SHARE,),
    ).fetchall()
    grams = frozenset(r[0] for r in rows)
    _common = (now, grams)
    return grams


def _name_match(sql: _Sql, q: str, *, fuzzy: bool, common: frozenset[str]) -> str:
    if not fuzzy:
        grams = query_grams(q)
        rare = [g for g in grams if g not in common]
        if not rare or len(rare) == len(grams):
            sql.params["q_grams"] = grams
            return "name_grams @> %(q_grams)s::text[]"
        sql.params["q_rare"] = rare
        sql.params["q_common"] = [g for g in grams if g in common]
        # IS TRUE keeps the common grams out of the index condition: a filter on the
        # rows the rare ones found (the same rows match; fewer posting lists read).
        return "(name_grams @> %(q_rare)s::text[] AND (name_grams @> %(q_common)s::text[]) IS TRUE)"
    # One wrong or missing character: every character of the query but one.
    chars = sorted(set(normalise_name(q)))
    subsets = [[c for c in chars if c != left_out] for left_out in chars]
    alternatives = []
    for n, subset in enumerate(s for s in subsets if s):
        sql.params[f"g{n}"] = subset
        alternatives.append(f"name_grams @> %(g{n})s::text[]")
    return "(" + " OR ".join(alternatives) + ")" if alternatives else "FALSE"


def _conditions(
    f: SearchFilter, today: date, *, fuzzy: bool = False, common: frozenset[str] = frozenset()
) -> _Sql:
    sql = _Sql()
    if f.q:
        q = f.q.strip()
        if _looks_like_uscc(q) and len(q) == 18:
            sql.add("uscc = %(uscc)s", uscc=q.upper())
        elif _looks_like_uscc(q):
            # Digits may be part of a name too ("…140000-1"): either will do.
            match = _name_match(sql, q[:MAX_QUERY_CHARS], fuzzy=fuzzy, common=common)
            sql.add(f"(uscc LIKE %(uscc_prefix)s OR {match})", uscc_prefix=q.upper() + "%")
        else:
            sql.add(_name_match(sql, q[:MAX_QUERY_CHARS], fuzzy=fuzzy, common=common))
    if f.province:
        sql.add("province_code = %(province)s", province=f.province)
    if f.grade:
        sql.add("grades @> ARRAY[%(grade)s]::text[]", grade=f.grade)
    if f.licence_status:
        warn = today + timedelta(days=LICENCE_WARNING_DAYS)
        sql.add(
            {
                "valid": "licence_valid_to > %(warn)s",
                "expiring": "licence_valid_to >= %(today)s AND licence_valid_to <= %(warn)s",
                "expired": "licence_valid_to < %(today)s",
                "none": "licence_valid_to IS NULL",
            }[f.licence_status],
            today=today,
            warn=warn,
        )
    if f.incidents_within_years:
        sql.add(
            "last_incident_on >= %(incident_since)s",
            incident_since=_years_before(today, f.incidents_within_years),
        )
    if f.updated_since is not None:
        sql.add("updated_at > %(updated_since)s", updated_since=f.updated_since)
    return sql


def _looks_like_uscc(q: str) -> bool:
    """Four or more USCC characters and nothing else: a code (prefix), not a name."""
    text = q.upper()
    return len(text) >= 4 and all(ch in "0123456789ABCDEFGHJKLMNPQRTUWXY" for ch in text)


def _order(sql: _Sql, sort: str, q: str | None) -> str:
    if sort == "updated":
        return "updated_at DESC, uscc"
    if sort == "departments":
        return "project_department_count DESC, name, uscc"
    if sort == "relevance" and q and not _looks_like_uscc(q):
        # On the stored name: normalising every match (8,000 for 矿业 at national
        # scale) cost 0.4 s; names rarely carry the spaces a query may have.
        sql.params["exact"] = q.strip()
        sql.params["prefix"] = _like_prefix(q.strip())
        return (
            "CASE WHEN name = %(exact)s THEN 0 WHEN name LIKE %(prefix)s THEN 1 ELSE 2 END, "
            "length(name), name, uscc"
        )
    return "name, uscc"


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(
    conn: psycopg.Connection[Any],
    f: SearchFilter,
    *,
    today: date,
    sort: str,
    offset: int,
    limit: int,
) -> tuple[list[Any], int, bool, datetime | None]:
    """A page of contractors (rows with :data:`SUMMARY_COLUMNS` as attributes), the
    number found (capped at :data:`COUNT_CAP`), whether the match is fuzzy (nothing
    matched exactly, so one character was let go) and :func:`data_as_of`.

    ``conn`` is a psycopg connection; reads only, so autocommit spares the
    BEGIN and ROLLBACK round trips."""
    fuzzy = False
    common = common_grams(conn) if f.q else frozenset()
    rows, total, as_of = _page(conn, _conditions(f, today, common=common), sort, f.q, offset, limit)
    if total == 0 and f.q and 3 <= len(set(normalise_name(f.q))) <= 20:
        fuzzy = True
        rows, total, as_of = _page(
            conn, _conditions(f, today, fuzzy=True), sort, f.q, offset, limit
        )
    return rows, total, fuzzy, as_of


# The publication log's last entry: when (data_as_of) and which (its id, the version
# of the data a page was read from, for _Counts).
_LAST_ENTRY = "FROM hub_publication ORDER BY id DESC LIMIT 1"
_AS_OF = f"SELECT received_at {_LAST_ENTRY}"
_VERSION = f"SELECT id {_LAST_ENTRY}"


def _page(
    conn: psycopg.Connection[Any],
    sql: _Sql,
    sort: str,
    q: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Any], int, datetime | None]:
    order = _order(sql, sort, q)
    params = {**sql.params, "offset": offset, "limit": limit}
    # With a name, PostgreSQL gathers every match from the n-gram index to sort them
    # whatever the order, so counting them in the same query costs nearly nothing; a
    # browse walks an index in order and stops at the page, so it is counted apart
    # (up to the cap) only when the page is full.
    counted_along = bool(q)
    with conn.cursor() as cur:
        # data_as_of rides along as an InitPlan (evaluated once), saving a round trip.
        # Every fragment is a constant of this module; values travel as parameters.
        statement = f"SELECT {SUMMARY_COLUMNS}, ({_AS_OF}) AS data_as_of"
        statement += f", ({_VERSION}) AS data_version"
        if counted_along:
            statement += ", count(*) OVER () AS total"
            statement += f" FROM hub_public_contractor WHERE {sql.where} ORDER BY {order} "
            statement += "OFFSET %(offset)s LIMIT %(limit)s"
        else:
            # The page's keys first, from an index alone where one covers the filters
            # (hub migration 0008; a province's names), then its rows by key: rows
            # skipped by the filters or by the offset are never read from the table.
            statement += ", NULL AS total FROM hub_public_contractor WHERE uscc IN ("
            statement += f"SELECT uscc FROM hub_public_contractor WHERE {sql.where} "  # noqa: S608
            statement += f"ORDER BY {order} OFFSET %(offset)s LIMIT %(limit)s) ORDER BY {order}"
        cur.row_factory = namedtuple_row
        found = cur.execute(statement, params).fetchall()
        if found:
            as_of, version = found[0].data_as_of, found[0].data_version
        else:
            row = cur.execute(f"SELECT received_at, id {_LAST_ENTRY}").fetchone()
            as_of, version = (row.received_at, row.id) if row else (None, None)
        if offset == 0 and len(found) < limit:
            return found, len(found), as_of
        if counted_along and found:
            return found, int(found[0].total), as_of
        spelled = ((k, tuple(v) if isinstance(v, list) else v) for k, v in sql.params.items())
        key = (sql.where, tuple(sorted(spelled)), version)
        total = _counts.get(key)
        if total is None:
            statement = (
                f"SELECT count(*) FROM (SELECT 1 FROM hub_public_contractor WHERE {sql.where}"  # noqa: S608
            )
            statement += f" LIMIT {COUNT_CAP + 1}) capped"
            counted = cur.execute(statement, sql.params).fetchone()
            total = int(counted[0]) if counted else 0
            _counts.put(key, total)
    return found, total, as_of


class _Counts:
    """Totals of browsed and filtered searches (no name: their count is a query of its
    own, up to :data:`COUNT_CAP` rows), kept per process while the data are the same:
    keyed by the conditions and the last entry of the publication log (every change
    of the search table comes with one: a publication or a withdrawal), for at most
    :data:`COUNT_TTL_S` (a manual rebuild changes nothing it would see). Paging through
    a province, or the same filters asked again, then costs the page alone."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Any, tuple[float, int]] = OrderedDict()

    def get(self, key: Any) -> int | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or time.monotonic() - item[0] > COUNT_TTL_S:
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: Any, total: int) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), total)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


COUNT_TTL_S = 60.0
_counts = _Counts()


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
