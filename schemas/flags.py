"""Order No. 62 flags over the public form of a record: one definition for every part.

The node evaluates the same rules as SQL over its index columns
(``node/flags/rules.py``); the hub evaluates them here, over the published
form (``public_data``), on a contractor's public page. The thresholds are
defined once, here:

- ``licence_expired``: a licence whose validity ended before today;
- ``licence_expiring``: a licence ending within :data:`LICENCE_WARNING_DAYS`;
- ``agreement_not_signed``: a project department without a signed safety
  production management agreement (Art. 8);
- ``inspection_overdue``: a project department still running that the
  contractor has not inspected for :data:`INSPECTION_INTERVAL_DAYS` (Art. 20:
  at least once a half year), counted from its start month if never inspected;
- ``no_written_report``: a project department not reported in writing to the
  local regulator.

Flags are computed against the caller's date (never stored), so nothing has to
be recomputed at midnight.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from schemas.enums import FlagCode, RecordKind

__all__ = [
    "INSPECTION_INTERVAL_DAYS",
    "LICENCE_WARNING_DAYS",
    "department_flags",
    "licence_flags",
    "record_flags",
]

#: A licence ending within this many days is flagged as expiring.
LICENCE_WARNING_DAYS = 90

#: Art. 20: a running project department is inspected at least once a half year.
INSPECTION_INTERVAL_DAYS = 183


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _month_start(value: Any) -> date | None:
    return _date(f"{value}-01") if isinstance(value, str) and len(value) == 7 else None


def _month_end(value: Any) -> date | None:
    start = _month_start(value)
    if start is None:
        return None
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def licence_flags(
    data: Mapping[str, Any], today: date, warning_days: int = LICENCE_WARNING_DAYS
) -> list[FlagCode]:
    """The flags of a published licence (``LicencePublic`` as a dict)."""
    valid_to = _date(data.get("valid_to"))
    if valid_to is None:
        return []
    if valid_to < today:
        return [FlagCode.LICENCE_EXPIRED]
    if valid_to <= today + timedelta(days=warning_days):
        return [FlagCode.LICENCE_EXPIRING]
    return []


def department_flags(
    data: Mapping[str, Any], today: date, inspection_days: int = INSPECTION_INTERVAL_DAYS
) -> list[FlagCode]:
    """The flags of a published project department (``ProjectDepartmentPublic`` as a dict)."""
    flags: list[FlagCode] = []
    if data.get("agreement_signed") is False:
        flags.append(FlagCode.AGREEMENT_NOT_SIGNED)
    end = _month_end(data.get("expected_end_month"))
    running = end is None or end >= today
    inspected = [
        d for d in (_date(i.get("date")) for i in data.get("inspections") or []) if d is not None
    ]
    last = max(inspected) if inspected else _month_start(data.get("start_month"))
    if running and last is not None and last < today - timedelta(days=inspection_days):
        flags.append(FlagCode.INSPECTION_OVERDUE)
    if data.get("written_report") is False:
        flags.append(FlagCode.NO_WRITTEN_REPORT)
    return flags


def record_flags(kind: str, data: Mapping[str, Any] | None, today: date) -> list[FlagCode]:
    """The flags of any published record (kinds without rules have none)."""
    if data is None:
        return []
    if kind == RecordKind.LICENCE:
        return licence_flags(data, today)
    if kind == RecordKind.PROJECT_DEPARTMENT:
        return department_flags(data, today)
    return []
