"""SQL of the statistics refresher: the queue, the counters, the person index."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import ARRAY, BigInteger, String, Table, bindparam, delete, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from central.models import (
    HubPersonIndex,
    HubPersonOverlap,
    HubRecord,
    HubStatCell,
    HubStatContribution,
    HubStatState,
)

#: pg_advisory_xact_lock key of the refresher: one refresh or rebuild at a time.
REFRESH_LOCK = 0x6D696E6566656473  # "minefeds"
STATE = "national"

_CELLS = cast(Table, HubStatCell.__table__)  # type: ignore[attr-defined]
_CONTRIBUTIONS = cast(Table, HubStatContribution.__table__)  # type: ignore[attr-defined]
_PEOPLE = cast(Table, HubPersonIndex.__table__)  # type: ignore[attr-defined]
_OVERLAPS = cast(Table, HubPersonOverlap.__table__)  # type: ignore[attr-defined]
_STATE = cast(Table, HubStatState.__table__)  # type: ignore[attr-defined]

CellKey = tuple[str, str, str, str]


def _text_arrays(*names: str) -> list[Any]:
    return [bindparam(n, type_=ARRAY(String)) for n in names]


def _int_arrays(*names: str) -> list[Any]:
    return [bindparam(n, type_=ARRAY(BigInteger)) for n in names]


def lock(session: Session) -> None:
    """Wait for any other refresh or rebuild to finish (released at commit)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK})


def take_pending(session: Session, limit: int) -> list[str]:
    """Remove up to ``limit`` queued ids (oldest first) and return them, distinct."""
    rows = session.execute(
        text(
            "DELETE FROM hub_stat_pending WHERE id IN ("
            " SELECT id FROM hub_stat_pending ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
            ") RETURNING record_id"
        ),
        {"limit": limit},
    ).scalars()
    return sorted(set(rows))


def clear_all(session: Session) -> None:
    """Empty every derived table and the queue (a rebuild refills them)."""
    for table in ("hub_stat_pending", "hub_stat_cell", "hub_stat_contribution"):
        session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
    session.execute(text("DELETE FROM hub_person_overlap"))
    session.execute(text("DELETE FROM hub_person_index"))


_RECORD_COLUMNS = (
    col(HubRecord.record_id),
    col(HubRecord.kind),
    col(HubRecord.province_code),
    col(HubRecord.contractor_uscc),
    col(HubRecord.public_data),
    col(HubRecord.disclosures),
    col(HubRecord.deleted_at),
)


def all_records(session: Session, size: int) -> Iterator[Sequence[Any]]:
    """Every record at the hub, ``size`` at a time, in one pass over the table.

    A server-side cursor over a sequential scan: no sort, and no index-ordered
    reads scattered over a table larger than memory. Other statements may run
    on the session between batches (the cursor lives until the transaction ends).
    """
    from sqlalchemy import select as core_select

    result = session.execute(core_select(*_RECORD_COLUMNS), execution_options={"yield_per": size})
    yield from result.partitions(size)


def records(session: Session, ids: Sequence[str]) -> list[Any]:
    from sqlalchemy import select as core_select

    return list(
        session.execute(core_select(*_RECORD_COLUMNS).where(col(HubRecord.record_id).in_(ids)))
    )


def contributions(session: Session, ids: Sequence[str]) -> dict[str, list[Any]]:
    rows = session.execute(
        select(col(HubStatContribution.record_id), col(HubStatContribution.items)).where(
            col(HubStatContribution.record_id).in_(ids)
        )
    )
    return {r.record_id: r.items for r in rows}


def add_to_cells(session: Session, deltas: Mapping[CellKey, tuple[int, int, int]]) -> None:
    """Add each delta to its counter (creating it), then drop counters that reached zero."""
    rows = [
        {
            "measure": m,
            "province_code": p,
            "month": mo,
            "key": k,
            "n": n,
            "deaths": d,
            "serious_injuries": s,
        }
        for (m, p, mo, k), (n, d, s) in sorted(deltas.items())
        if (n, d, s) != (0, 0, 0)
    ]
    if not rows:
        return
    # One statement over arrays: executemany would send a statement per counter.
    session.execute(
        text(
            "INSERT INTO hub_stat_cell (measure, province_code, month, key, n, deaths, "
            "serious_injuries) "
            "SELECT * FROM unnest(:measures, :provinces, :months, :keys, :n, :deaths, :serious) "
            "ON CONFLICT (measure, province_code, month, key) DO UPDATE SET "
            "n = hub_stat_cell.n + excluded.n, "
            "deaths = hub_stat_cell.deaths + excluded.deaths, "
            "serious_injuries = hub_stat_cell.serious_injuries + excluded.serious_injuries"
        ).bindparams(
            *_text_arrays("measures", "provinces", "months", "keys"),
            *_int_arrays("n", "deaths", "serious"),
        ),
        {
            "measures": [r["measure"] for r in rows],
            "provinces": [r["province_code"] for r in rows],
            "months": [r["month"] for r in rows],
            "keys": [r["key"] for r in rows],
            "n": [r["n"] for r in rows],
            "deaths": [r["deaths"] for r in rows],
            "serious": [r["serious_injuries"] for r in rows],
        },
    )
    # Four arrays rather than a tuple IN list: a batch can touch ~10^4 counters.
    session.execute(
        text(
            "DELETE FROM hub_stat_cell c "
            "USING unnest(:measures, :provinces, :months, :keys) AS z(m, p, mo, k) "
            "WHERE c.measure = z.m AND c.province_code = z.p AND c.month = z.mo "
            "AND c.key = z.k AND c.n = 0 AND c.deaths = 0 AND c.serious_injuries = 0"
        ).bindparams(*_text_arrays("measures", "provinces", "months", "keys")),
        {
            "measures": [r["measure"] for r in rows],
            "provinces": [r["province_code"] for r in rows],
            "months": [r["month"] for r in rows],
            "keys": [r["key"] for r in rows],
        },
    )


def replace_contributions(
    session: Session, ids: Sequence[str], items: Mapping[str, list[Any]]
) -> None:
    session.execute(delete(_CONTRIBUTIONS).where(_CONTRIBUTIONS.c.record_id.in_(ids)))
    insert_contributions(session, items)


def insert_contributions(session: Session, items: Mapping[str, list[Any]]) -> None:
    """Store what each record adds (records that add nothing are left out)."""
    kept = {rid: value for rid, value in items.items() if value}
    if kept:
        # One JSON document ({record id: items}): PostgreSQL splits it; binding
        # arrays of JSON texts cost more (each element escaped by the driver).
        session.execute(
            text(
                "INSERT INTO hub_stat_contribution (record_id, items) "
                "SELECT key, value FROM jsonb_each(CAST(:doc AS jsonb)) ORDER BY key"
            ),
            {"doc": orjson.dumps(kept).decode()},
        )


_IDS = bindparam("ids", type_=ARRAY(String))

#: Every pair of index rows naming the same person in two provinces over
#: overlapping periods; ``{where}`` narrows one side (or nothing, for a rebuild).
_OVERLAP_SQL = """
INSERT INTO hub_person_overlap (record_a, slot_a, record_b, slot_b, person_index,
                                province_a, province_b, role_a, role_b, underground)
SELECT a.record_id, a.slot, b.record_id, b.slot, a.person_index,
       a.province_code, b.province_code, a.role, b.role, a.underground OR b.underground
FROM hub_person_index a
JOIN hub_person_index b
  ON b.person_index = a.person_index
 AND b.province_code <> a.province_code
 AND b.start_month <= a.end_month
 AND a.start_month <= b.end_month
{where}
ON CONFLICT DO NOTHING
"""


def replace_people(session: Session, ids: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """The people of these records anew, and every overlap that involves them."""
    session.execute(
        delete(_OVERLAPS).where(_OVERLAPS.c.record_a.in_(ids) | _OVERLAPS.c.record_b.in_(ids))
    )
    session.execute(delete(_PEOPLE).where(_PEOPLE.c.record_id.in_(ids)))
    if not rows:
        return
    insert_people(session, rows)
    changed = sorted({r["record_id"] for r in rows})
    for side in ("a", "b"):
        session.execute(
            text(_OVERLAP_SQL.format(where=f"WHERE {side}.record_id = ANY(:ids)")).bindparams(_IDS),
            {"ids": changed},
        )


#: hub_person_index's columns as rows of a JSON document give them.
_PERSON_COLUMNS = (
    "record_id text, slot text, person_index text, province_code text, "
    "contractor_uscc text, role text, start_month text, end_month text, underground boolean"
)


def insert_people(session: Session, rows: list[dict[str, Any]]) -> None:
    """Index these people (their overlaps are found by :func:`replace_people` or
    :func:`insert_all_overlaps`)."""
    if not rows:
        return
    names = ", ".join(c.split()[0] for c in _PERSON_COLUMNS.split(", "))
    session.execute(
        text(
            f"INSERT INTO hub_person_index ({names}) "  # noqa: S608 - fixed names
            f"SELECT {names} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x({_PERSON_COLUMNS})"
        ),
        {"rows": orjson.dumps(rows).decode()},
    )


def insert_all_overlaps(session: Session) -> None:
    """Every overlap of the whole person index, in one statement (a rebuild)."""
    session.execute(text(_OVERLAP_SQL.format(where="")))


def mark_state(
    session: Session,
    now: datetime,
    applied: int,
    snapshot: dict[str, Any] | None,
    *,
    rebuilt: bool,
) -> None:
    """Note a refresh (and a rebuild); ``snapshot`` ``None`` keeps the stored one."""
    values: dict[str, Any] = {
        "name": STATE,
        "refreshed_at": now,
        "records_applied": applied,
        "snapshot": snapshot,
    }
    if rebuilt:
        values["rebuilt_at"] = now
    upsert = insert(_STATE).values(**values)
    update = {
        "refreshed_at": upsert.excluded.refreshed_at,
        "records_applied": _STATE.c.records_applied + upsert.excluded.records_applied,
    }
    if snapshot is not None:
        update["snapshot"] = upsert.excluded.snapshot
    if rebuilt:
        update["rebuilt_at"] = upsert.excluded.rebuilt_at
        update["records_applied"] = upsert.excluded.records_applied
    session.execute(upsert.on_conflict_do_update(index_elements=[_STATE.c.name], set_=update))


def state(session: Session) -> HubStatState | None:
    return session.get(HubStatState, STATE, populate_existing=True)


def snapshot_version(session: Session) -> str | None:
    """Which stored snapshot there is, cheaply (``None``: none yet): changes with every
    write of the state row (the transaction and command that wrote this version of it,
    ``xmin``/``cmin``), so a process may keep what it made of one snapshot until then."""
    row = session.execute(
        text(
            "SELECT xmin::text || '/' || cmin::text || '/' || coalesce(refreshed_at::text, '') "
            "FROM hub_stat_state "
            "WHERE name = :name AND snapshot IS NOT NULL"
        ),
        {"name": STATE},
    ).first()
    return None if row is None else str(row[0])


def cells(
    session: Session, *, province: str | None = None, year: str | None = None
) -> list[tuple[str, str, str, str, int, int, int]]:
    """The counters (of one province, of one year's months), in no particular order:
    ``(measure, province_code, month, key, n, deaths, serious_injuries)``.

    Each counter is one row already (its key is the table's), so nothing is grouped
    or sorted here: at ten times national scale that was most of a query's 70 ms.
    """
    where, params = [], {}
    if province is not None:
        where.append("province_code = :province")
        params["province"] = province
    if year is not None:
        where.append("left(month, 4) = :year")
        params["year"] = year
    sql = (
        "SELECT measure, province_code, month, key, n, deaths, serious_injuries FROM hub_stat_cell"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [tuple(r) for r in session.execute(text(sql), params)]


def all_cells(session: Session) -> list[tuple[Any, ...]]:
    """Every counter, ordered (tests compare a refresh with a rebuild)."""
    return [
        tuple(r)
        for r in session.execute(
            select(HubStatCell).order_by(
                col(HubStatCell.measure),
                col(HubStatCell.province_code),
                col(HubStatCell.month),
                col(HubStatCell.key),
            )
        ).scalars()
        for r in [(r.measure, r.province_code, r.month, r.key, r.n, r.deaths, r.serious_injuries)]
    ]
