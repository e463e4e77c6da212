"""National statistics, kept up to date incrementally and off the ingest path.

Ingest never waits for statistics: a trigger on ``hub_record`` queues each
changed record id (``hub_stat_pending``) and the refresher, a Celery task
(``statistics.refresh``, every ``stats_refresh_interval_s``) or
``minefed central stats-refresh``, takes the queue in batches. For each
record it subtracts what the record contributed before
(``hub_stat_contribution``) and adds what its current version contributes
(a tombstone contributes nothing), re-indexes the people it names and their
cross-province overlaps. Re-applying a record is harmless, so a record queued
twice, or a refresh that fails and is retried, counts once.

:func:`rebuild` recomputes everything from ``hub_record`` in one
transaction: readers keep seeing the previous tables (PostgreSQL's MVCC)
until it commits, when the new ones replace them at once; no exclusive lock,
so pages keep answering during a rebuild.

Requests read only the results: the public statistics are a snapshot row
(``hub_stat_state.snapshot``) written by each refresh.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from central.db import SessionFactory, transaction
from central.statistics import repository
from central.statistics.measures import Item, contribution, people
from central.statistics.snapshot import build_snapshot, month_of
from schemas.clock import CHINA_TZ
from schemas.enums import RecordKind
from sync.clock import Clock

__all__ = ["RefreshResult", "apply_records", "rebuild", "refresh", "refresh_batch"]

log = logging.getLogger("minefed.central.statistics")

#: Records taken from the queue per transaction.
BATCH = 2000


@dataclass(frozen=True)
class RefreshResult:
    records: int
    batches: int
    rebuilt: bool = False


Cells = dict[repository.CellKey, list[int]]


def _cells() -> Cells:
    return defaultdict(lambda: [0, 0, 0])


def _add(cells: Cells, items: Sequence[Sequence[Any]], sign: int) -> None:
    for m, p, mo, k, n, d, s in items:
        cell = cells[(m, p, mo, k)]
        cell[0] += sign * n
        cell[1] += sign * d
        cell[2] += sign * s


def _derive(row: Any, person_key: bytes) -> tuple[list[Item], list[dict[str, Any]]]:
    """What a record adds now, and the people it names (nothing for a tombstone)."""
    if row is None or row.deleted_at is not None:
        return [], []
    items = contribution(row.kind, row.province_code, row.public_data)
    named = _person_rows(row, person_key) if row.kind == RecordKind.PROJECT_DEPARTMENT else []
    return items, named


def _store_cells(session: Session, cells: Cells) -> None:
    repository.add_to_cells(session, {k: (v[0], v[1], v[2]) for k, v in cells.items()})


def apply_records(session: Session, ids: Sequence[str], person_key: bytes) -> None:
    """Bring the counters, contributions and person index of these records up to date."""
    if not ids:
        return
    ids = sorted(set(ids))
    current = {r.record_id: r for r in repository.records(session, ids)}
    before = repository.contributions(session, ids)
    deltas = _cells()
    after: dict[str, list[Any]] = {}
    person_rows: list[dict[str, Any]] = []
    for rid in ids:
        new, named = _derive(current.get(rid), person_key)
        _add(deltas, before.get(rid, []), -1)
        _add(deltas, new, 1)
        after[rid] = [list(i) for i in new]
        person_rows.extend(named)
    _store_cells(session, deltas)
    repository.replace_contributions(session, ids, after)
    repository.replace_people(session, ids, person_rows)


def _person_rows(row: Any, person_key: bytes) -> list[dict[str, Any]]:
    data = row.public_data or {}
    start, end = data.get("start_month"), data.get("expected_end_month")
    if not (row.province_code and start and end):
        return []
    seen: set[str] = set()
    out = []
    for person in people(person_key, row.disclosures or []):
        if person.slot in seen:
            continue
        seen.add(person.slot)
        out.append(
            {
                "record_id": row.record_id,
                "slot": person.slot,
                "person_index": person.person_index,
                "province_code": row.province_code,
                "contractor_uscc": row.contractor_uscc,
                "role": person.role,
                "start_month": str(start),
                "end_month": str(end),
                "underground": bool(data.get("underground")),
            }
        )
    return out


def refresh_batch(session: Session, person_key: bytes, now: datetime, limit: int = BATCH) -> int:
    """Apply up to ``limit`` queued records; how many were taken.

    The snapshot is rewritten when the queue is drained (a full batch means
    more to come: the next call writes it), and when the month has turned (the
    time-dependent flags move). The caller owns the transaction (commit makes
    the batch and the snapshot visible together). Serialised with other
    refreshes by an advisory lock.
    """
    repository.lock(session)
    ids = repository.take_pending(session, limit)
    apply_records(session, ids, person_key)
    state = repository.state(session)
    doc = state.snapshot if state is not None else None
    stale = doc is None or doc.get("month") != month_of(now)
    # The snapshot of the last batch written without one (a full batch: more to come).
    behind = (
        doc is not None
        and state is not None
        and state.refreshed_at is not None
        and datetime.fromisoformat(doc["as_of"]) != state.refreshed_at
    )
    drained = len(ids) < limit
    if ids or stale or behind:
        snapshot = build_snapshot(session, now) if drained or stale else None
        repository.mark_state(session, now, len(ids), snapshot, rebuilt=False)
    return len(ids)


def refresh(
    factory: SessionFactory, person_key: bytes, clock: Clock, limit: int = BATCH
) -> RefreshResult:
    """Drain the queue, one transaction per batch, until it is empty."""
    total = batches = 0
    while True:
        with transaction(factory) as session:
            taken = refresh_batch(session, person_key, clock.now(), limit)
        batches += 1
        total += taken
        if taken < limit:
            break
    if total:
        log.info("statistics refreshed: %d records in %d batches", total, batches)
    return RefreshResult(total, batches)


def rebuild(session: Session, person_key: bytes, now: datetime, batch: int = BATCH) -> int:
    """Recompute every derived table from ``hub_record`` (the caller commits: the swap).

    Set-based, in one pass over the records: the counters are summed in memory
    (their number grows with provinces × months × keys, not with records) and
    written once, contributions and people are inserted per batch, and the
    overlaps are found by one join over the finished person index. (Adding to
    the same counters batch after batch, inside one transaction, left each
    counter a chain of row versions every later upsert had to walk.)

    Records changed while this runs stay queued (or are queued again) and the
    next refresh applies them, which is idempotent.
    """
    repository.lock(session)
    repository.clear_all(session)
    cells = _cells()
    total = 0
    for rows in repository.all_records(session, batch):
        items: dict[str, list[Any]] = {}
        person_rows: list[dict[str, Any]] = []
        for row in rows:
            new, named = _derive(row, person_key)
            _add(cells, new, 1)
            items[row.record_id] = [list(i) for i in new]
            person_rows.extend(named)
        repository.insert_contributions(session, items)
        repository.insert_people(session, person_rows)
        total += len(rows)
    _store_cells(session, cells)
    repository.insert_all_overlaps(session)
    repository.mark_state(session, now, total, build_snapshot(session, now), rebuilt=True)
    log.info("statistics rebuilt from %d records", total)
    return total


def rebuild_now(factory: SessionFactory, person_key: bytes, clock: Clock) -> RefreshResult:
    with transaction(factory) as session:
        total = rebuild(session, person_key, clock.now())
    return RefreshResult(total, 1, rebuilt=True)


def months_back(now: datetime, count: int) -> list[str]:
    """The ``count`` months up to and including the month of ``now`` (CST), oldest first."""
    first = now.astimezone(CHINA_TZ).date().replace(day=1)
    out = []
    for _ in range(count):
        out.append(first.strftime("%Y-%m"))
        first = (first - timedelta(days=1)).replace(day=1)
    return out[::-1]
