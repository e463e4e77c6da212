"""Order No. 62 flags as SQL conditions over a record's index columns.

One definition serves both uses: filtering ("every project department whose
inspection is overdue") and labelling a page of records. Flags are computed
against the caller's date, so nothing has to be recomputed at midnight.

- ``licence_expired``: a licence in force whose validity ended before today;
- ``licence_expiring``: a licence in force ending within ``licence_warning_days``;
- ``agreement_not_signed``: a project department without a signed safety
  production management agreement (Art. 8);
- ``inspection_overdue``: a project department still running that the contractor
  has not inspected for ``inspection_interval_days`` (Art. 20: at least once a
  half year), counted from its start if never inspected;
- ``no_written_report``: a project department not reported in writing to the local
  regulator.

Only records with a version in force (approved) carry flags.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlmodel import Session, col, select

from node.models import Record
from schemas.enums import FlagCode, RecordKind


def flag_condition(
    code: FlagCode, today: date, warning_days: int = 90, inspection_days: int = 183
) -> ColumnElement[bool]:
    in_force = col(Record.current_version_no).is_not(None)
    licence = and_(in_force, col(Record.kind) == RecordKind.LICENCE)
    department = and_(in_force, col(Record.kind) == RecordKind.PROJECT_DEPARTMENT)
    if code == FlagCode.LICENCE_EXPIRED:
        return and_(licence, col(Record.valid_to) < today)
    if code == FlagCode.LICENCE_EXPIRING:
        return and_(
            licence,
            col(Record.valid_to) >= today,
            col(Record.valid_to) <= today + timedelta(days=warning_days),
        )
    if code == FlagCode.AGREEMENT_NOT_SIGNED:
        return and_(department, col(Record.agreement_signed).is_(False))
    if code == FlagCode.NO_WRITTEN_REPORT:
        return and_(department, col(Record.written_report).is_(False))
    if code == FlagCode.INSPECTION_OVERDUE:
        running = or_(
            col(Record.expected_end_on).is_(None),
            col(Record.expected_end_on) >= today,
        )
        last = func.coalesce(col(Record.last_inspection_on), col(Record.event_on))
        return and_(department, running, last < today - timedelta(days=inspection_days))
    return false()


@lru_cache(maxsize=8)
def _flag_columns(today: date, warning_days: int, inspection_days: int) -> tuple[Any, ...]:
    # Building the five expressions was a sixth of a request's time under load
    # (bench/README.md); they change only with the date and the settings.
    return tuple(
        flag_condition(code, today, warning_days, inspection_days).label(code.value)
        for code in FlagCode
    )


def flags_of(
    session: Session,
    record_ids: Iterable[Any],
    today: date,
    warning_days: int = 90,
    inspection_days: int = 183,
) -> dict[Any, list[str]]:
    """The flags of each record, by id (records without flags are absent)."""
    ids = list(record_ids)
    if not ids:
        return {}
    columns = _flag_columns(today, warning_days, inspection_days)
    rows: Any = session.exec(select(col(Record.id), *columns).where(col(Record.id).in_(ids)))
    result: dict[Any, list[str]] = {}
    for row in rows:
        flags = [code.value for code in FlagCode if getattr(row, code.value)]
        if flags:
            result[row.id] = flags
    return result
