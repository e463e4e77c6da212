"""The index columns of a record, derived from the data of its version in force.

They exist so that queries, counts and Order No. 62 flags run on plain indexed
columns; the JSON stays the truth. Drafts may be incomplete, so every key is
optional here.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from node.models import Contractor, Record
from schemas.accidents import derive_accident_grade
from schemas.enums import RecordKind


def _date(value: Any) -> date | None:
    if not value:
        return None
    text = str(value)
    if len(text) == 7:  # YYYY-MM: the first day of the month
        text += "-01"
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _month_end(value: Any) -> date | None:
    first = _date(value)
    if first is None:
        return None
    year, month = (first.year + 1, 1) if first.month == 12 else (first.year, first.month + 1)
    return date(year, month, 1) - timedelta(days=1)


def apply_index(record: Record, data: dict[str, Any], contractor: Contractor) -> None:
    kind = record.kind
    record.central_soe = contractor.central_soe
    record.province_code = data.get("province_code") or contractor.home_province_code
    record.city_code = data.get("city_code")
    record.county_code = data.get("county_code")
    if kind == RecordKind.BASIC_INFO:
        record.title = str(data.get("name") or contractor.name)
        record.province_code = contractor.home_province_code
    elif kind == RecordKind.LICENCE:
        record.title = str(data.get("safety_licence_no") or "")
        record.province_code = contractor.home_province_code
        record.event_on = _date(data.get("valid_from"))
        record.valid_to = _date(data.get("valid_to"))
    elif kind == RecordKind.PROJECT_DEPARTMENT:
        record.title = str(data.get("project_name") or "")
        record.event_on = _date(data.get("start_month"))
        record.expected_end_on = _month_end(data.get("expected_end_month"))
        record.agreement_signed = data.get("agreement_signed")
        record.written_report = data.get("written_report")
        dates = [_date(i.get("date")) for i in data.get("inspections") or []]
        record.last_inspection_on = max((d for d in dates if d), default=None)
    elif kind == RecordKind.ACCIDENT:
        record.title = str(data.get("enterprise") or "")
        record.event_on = _date(data.get("occurred_at"))
        deaths = int(data.get("deaths") or 0)
        record.deaths = deaths
        record.grade = derive_accident_grade(
            deaths, int(data.get("serious_injuries") or 0), int(data.get("direct_loss_yuan") or 0)
        ).value
        related = data.get("project_department_id")
        record.related_record_id = uuid.UUID(str(related)) if related else None
    elif kind == RecordKind.REWARD_PENALTY:
        record.title = str(data.get("document_no") or data.get("description") or "")
        record.province_code = record.province_code or contractor.home_province_code
        record.event_on = _date(data.get("decided_on"))
    record.title = record.title[:300]
