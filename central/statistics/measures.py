"""What one published record adds to the national statistics, and who it names.

Pure functions of a ``hub_record`` row (its masked ``public_data`` and, for the
person index only, its ``disclosures``): the refresher and the rebuild both use
them, so an incremental refresh and a rebuild cannot disagree on a definition.
Enumerations and the accident grade come from ``schemas/``; months are China
Standard Time months (``YYYY-MM``), as everything on the forms.

Measures (``hub_stat_cell.measure``), per province and month:

============================  ===========================================  =====================
measure                        key                                          month
============================  ===========================================  =====================
``contractors``                ``all`` (a basic-info record)                none (``""``)
``licences``                   qualification grade (特级 … 三级)            validity start
``licence_expiry``             ``all``                                      validity end
``departments``                ``all``                                      start month
``contracting_mode``           general / by_item                            start month
``written_report``             yes / no                                     start month
``agreement``                  yes / no                                     start month
``underground``                yes / no                                     start month
``inspection_due``             the department's expected end month          month the next
                                                                            inspection is due
``accidents``                  ``all`` (with deaths, serious injuries)      month it happened
``accident_category``          GB 6441 category 1–20 (multi-select: an
                               accident counts once in each of its own)     month it happened
``accident_grade``             一般 / 较大 / 重大 / 特别重大 (derived)      month it happened
``responsible_party``          issuing unit / contractor / no liability     month it happened
``rewards_penalties``          reward / penalty                             decision month
============================  ===========================================  =====================

Time-dependent flags are read from these at the month of the question:
licence expired = ``licence_expiry`` before this month; expiring = this month
up to three months ahead; inspection overdue = ``inspection_due`` before this
month for a department whose expected end is not before this month.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from schemas.accidents import derive_accident_grade
from schemas.clock import CHINA_TZ
from schemas.enums import RecordKind

__all__ = [
    "INSPECTION_INTERVAL_DAYS",
    "Item",
    "PersonSlot",
    "blind_index",
    "contribution",
    "normalise_resident_id",
    "people",
]

#: Order No. 62 Art. 20: the contractor inspects each department at least every half year
#: (the node's default ``inspection_interval_days``).
INSPECTION_INTERVAL_DAYS = 183

#: (measure, province_code, month, key) → (n, deaths, serious_injuries)
Item = tuple[str, str, str, str, int, int, int]


def _yes(value: Any) -> str:
    return "yes" if value else "no"


def _month_of_day(value: Any) -> str:
    if not value:
        return ""
    return str(value)[:7]


def _month_of_instant(value: Any) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m")


def _inspection_due(data: Mapping[str, Any]) -> str:
    dates = [str(i.get("date")) for i in data.get("inspections") or [] if i.get("date")]
    if dates:
        last = date.fromisoformat(max(dates))
    elif data.get("start_month"):
        last = date.fromisoformat(f"{data['start_month']}-01")
    else:
        return ""
    return (last + timedelta(days=INSPECTION_INTERVAL_DAYS)).strftime("%Y-%m")


def contribution(kind: str, province: str | None, data: Mapping[str, Any] | None) -> list[Item]:
    """The counters a record in force adds (nothing for a tombstone or without a province)."""
    if data is None or not province:
        return []
    p = province
    if kind == RecordKind.BASIC_INFO:
        return [("contractors", p, "", "all", 1, 0, 0)]
    if kind == RecordKind.LICENCE:
        return [
            (
                "licences",
                p,
                _month_of_day(data.get("valid_from")),
                str(data.get("qualification_grade")),
                1,
                0,
                0,
            ),
            ("licence_expiry", p, _month_of_day(data.get("valid_to")), "all", 1, 0, 0),
        ]
    if kind == RecordKind.PROJECT_DEPARTMENT:
        m = str(data.get("start_month") or "")
        return [
            ("departments", p, m, "all", 1, 0, 0),
            ("contracting_mode", p, m, str(data.get("contracting_mode")), 1, 0, 0),
            ("written_report", p, m, _yes(data.get("written_report")), 1, 0, 0),
            ("agreement", p, m, _yes(data.get("agreement_signed")), 1, 0, 0),
            ("underground", p, m, _yes(data.get("underground")), 1, 0, 0),
            (
                "inspection_due",
                p,
                _inspection_due(data),
                str(data.get("expected_end_month") or ""),
                1,
                0,
                0,
            ),
        ]
    if kind == RecordKind.ACCIDENT:
        m = _month_of_instant(data.get("occurred_at"))
        deaths = int(data.get("deaths") or 0)
        serious = int(data.get("serious_injuries") or 0)
        loss = int(data.get("direct_loss_yuan") or 0)
        grade = derive_accident_grade(deaths, serious, loss).value
        items: list[Item] = [
            ("accidents", p, m, "all", 1, deaths, serious),
            ("accident_grade", p, m, grade, 1, deaths, serious),
            ("responsible_party", p, m, str(data.get("responsible_party")), 1, deaths, serious),
        ]
        for category in sorted({int(c) for c in data.get("categories") or []}):
            items.append(("accident_category", p, m, str(category), 1, deaths, serious))
        return items
    if kind == RecordKind.REWARD_PENALTY:
        return [
            (
                "rewards_penalties",
                p,
                _month_of_day(data.get("decided_on")),
                str(data.get("kind")),
                1,
                0,
                0,
            )
        ]
    return []


# ---------------------------------------------------------------- the person index

_ROLES = {"head": "head", "safety_managers": "safety_manager", "technical_staff": "technical_staff"}
_SLOT = re.compile(r"^(head|safety_managers\[\d+\]|technical_staff\[\d+\])\.resident_id$")


def normalise_resident_id(value: str) -> str:
    """The form of a resident ID number that is indexed: no spaces or hyphens, ``X`` upper.

    The forms accept only 18-character numbers (``schemas.identifiers``), so
    a 15-digit number never reaches the hub and needs no conversion.
    """
    return re.sub(r"[\s-]", "", value).upper()


def blind_index(key: bytes, resident_id: str) -> str:
    """HMAC-SHA256 of the normalised number under the hub's secret, hex.

    Security: keyed, so the index of a known number cannot be computed (nor a
    table of all numbers, a space of ~10^11 a plain hash would not protect)
    without the key. The number itself is never stored nor logged.
    """
    return hmac.new(key, normalise_resident_id(resident_id).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PersonSlot:
    """A person named by a project department: where in the form, which role, who."""

    slot: str
    role: str
    person_index: str


def people(key: bytes, disclosures: Iterable[Mapping[str, Any]]) -> list[PersonSlot]:
    """The people of a project department from its disclosures (their real ID numbers)."""
    found: list[PersonSlot] = []
    for item in disclosures:
        match = _SLOT.match(str(item.get("path", "")))
        value = item.get("value")
        if match is None or not isinstance(value, str) or not value.strip():
            continue
        slot = match.group(1)
        role = _ROLES[slot.split("[", 1)[0]]
        found.append(PersonSlot(slot, role, blind_index(key, value)))
    return found
