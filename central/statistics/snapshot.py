"""The national statistics as one document, computed from the counters (``hub_stat_cell``).

The refresher stores the national document (``hub_stat_state.snapshot``), which
``GET /api/v1/public/stats`` and the ``/stats`` page serve as they are; the
bureau's filtered view (a province, a year) is computed the same way from the
counters of that province or year, never from the records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from central.statistics import repository
from schemas.clock import CHINA_TZ
from schemas.divisions import get_division
from schemas.enums import (
    AccidentCategory,
    AccidentGrade,
    ContractingMode,
    FlagCode,
    QualificationGrade,
    ResponsibleParty,
    RewardPenaltyKind,
)

__all__ = ["SCHEMA_VERSION", "build_snapshot", "month_of", "statistics"]

#: Bumped when the document's shape changes incompatibly (docs/national-queries.md).
SCHEMA_VERSION = 1
#: Months shown in the monthly series.
MONTHS_SHOWN = 24
#: "Expiring": the licence ends this month or in the next ``EXPIRING_MONTHS - 1``.
EXPIRING_MONTHS = 3


def month_of(now: datetime) -> str:
    """The China Standard Time month of ``now``, ``YYYY-MM``: the month a document is for."""
    return now.astimezone(CHINA_TZ).strftime("%Y-%m")


def _month_add(month: str, delta: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _province_name(code: str) -> str:
    division = get_division(code)
    return division.name if division else code


def _rate(yes: int, no: int) -> float | None:
    return round(yes / (yes + no), 4) if yes + no else None


def _enum_rows(
    enum: Iterable[Any], counts: dict[str, list[int]], *, deaths: bool
) -> list[dict[str, Any]]:
    rows = []
    for member in enum:
        n, d, s = counts.get(str(member.value), [0, 0, 0])
        row: dict[str, Any] = {
            "code": member.value,
            "label_zh": member.label_zh,
            "label_en": member.label_en,
            "count": n,
        }
        if deaths:
            row.update(deaths=d, serious_injuries=s)
        rows.append(row)
    return rows


def statistics(
    session: Session, now: datetime, *, province: str | None = None, year: str | None = None
) -> dict[str, Any]:
    """The statistics document, nationally or for one province and/or year."""
    month_now = month_of(now)
    cells = repository.cells(session, province=province, year=year)
    # measure → key → [n, deaths, serious]
    by_key: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    # province → measure → key → n  (and deaths of accidents)
    by_province: dict[str, dict[str, dict[str, list[int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    )
    by_month: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    flags: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    expiring_until = _month_add(month_now, EXPIRING_MONTHS - 1)
    for m, p, mo, k, n, d, s in cells:
        for target in (by_key[m][k], by_province[p][m][k]):
            target[0] += n
            target[1] += d
            target[2] += s
        if m in ("accidents", "departments") and mo:
            cell = by_month[m][mo]
            cell[0] += n
            cell[1] += d
            cell[2] += s
        if m == "licence_expiry" and mo:
            if mo < month_now:
                flags[p][FlagCode.LICENCE_EXPIRED] += n
            elif mo <= expiring_until:
                flags[p][FlagCode.LICENCE_EXPIRING] += n
        if m == "inspection_due" and mo and mo < month_now and k >= month_now:
            flags[p][FlagCode.INSPECTION_OVERDUE] += n
        if m == "agreement" and k == "no":
            flags[p][FlagCode.AGREEMENT_NOT_SIGNED] += n
        if m == "written_report" and k == "no":
            flags[p][FlagCode.NO_WRITTEN_REPORT] += n

    def total(measure: str, key: str = "all") -> list[int]:
        return by_key.get(measure, {}).get(key, [0, 0, 0])

    provinces = []
    for code in sorted(by_province):
        measures = by_province[code]

        def count(measure: str, key: str = "all", _m: Any = measures) -> int:
            return int(_m.get(measure, {}).get(key, [0, 0, 0])[0])

        accidents = measures.get("accidents", {}).get("all", [0, 0, 0])
        provinces.append(
            {
                "code": code,
                "name": _province_name(code),
                "contractors": count("contractors"),
                "licences": sum(v[0] for v in measures.get("licences", {}).values()),
                "departments": count("departments"),
                "accidents": accidents[0],
                "deaths": accidents[1],
                "serious_injuries": accidents[2],
                "written_report_rate": _rate(
                    count("written_report", "yes"), count("written_report", "no")
                ),
                "agreement_rate": _rate(count("agreement", "yes"), count("agreement", "no")),
                "flags": {code_.value: flags[code][code_] for code_ in FlagCode},
            }
        )
    years: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for mo, (n, d, s) in by_month["accidents"].items():
        row = years[mo[:4]]
        row[0] += n
        row[1] += d
        row[2] += s
    for mo, (n, _d, _s) in by_month["departments"].items():
        years[mo[:4]][3] += n
    months = [_month_add(month_now, -i) for i in range(MONTHS_SHOWN - 1, -1, -1)]
    written = by_key.get("written_report", {})
    agreement = by_key.get("agreement", {})
    accidents = total("accidents")
    rewards = by_key.get("rewards_penalties", {})
    national_flags = {code.value: sum(flags[p][code] for p in flags) for code in FlagCode}
    return {
        "schema_version": SCHEMA_VERSION,
        "as_of": now.isoformat(),
        "month": month_now,
        "scope": {"province": province, "year": year},
        "totals": {
            "contractors": total("contractors")[0],
            "licences": sum(v[0] for v in by_key.get("licences", {}).values()),
            "departments": total("departments")[0],
            "accidents": accidents[0],
            "deaths": accidents[1],
            "serious_injuries": accidents[2],
            "rewards": rewards.get(RewardPenaltyKind.REWARD.value, [0])[0],
            "penalties": rewards.get(RewardPenaltyKind.PENALTY.value, [0])[0],
        },
        "rates": {
            "written_report": {
                "yes": written.get("yes", [0])[0],
                "no": written.get("no", [0])[0],
                "rate": _rate(written.get("yes", [0])[0], written.get("no", [0])[0]),
            },
            "agreement": {
                "yes": agreement.get("yes", [0])[0],
                "no": agreement.get("no", [0])[0],
                "rate": _rate(agreement.get("yes", [0])[0], agreement.get("no", [0])[0]),
            },
        },
        "flags": [
            {
                "code": code.value,
                "label_zh": code.label_zh,
                "label_en": code.label_en,
                "count": national_flags[code.value],
            }
            for code in FlagCode
        ],
        "provinces": provinces,
        "years": [
            {
                "year": y,
                "accidents": v[0],
                "deaths": v[1],
                "serious_injuries": v[2],
                "departments": v[3],
            }
            for y, v in sorted(years.items())
        ],
        "months": [
            {
                "month": mo,
                "accidents": by_month["accidents"].get(mo, [0, 0, 0])[0],
                "deaths": by_month["accidents"].get(mo, [0, 0, 0])[1],
                "departments": by_month["departments"].get(mo, [0, 0, 0])[0],
            }
            for mo in months
        ],
        "accident_categories": _enum_rows(
            AccidentCategory, by_key.get("accident_category", {}), deaths=True
        ),
        "accident_grades": _enum_rows(AccidentGrade, by_key.get("accident_grade", {}), deaths=True),
        "responsible_parties": _enum_rows(
            ResponsibleParty, by_key.get("responsible_party", {}), deaths=True
        ),
        "qualification_grades": _enum_rows(
            QualificationGrade, by_key.get("licences", {}), deaths=False
        ),
        "contracting_modes": _enum_rows(
            ContractingMode, by_key.get("contracting_mode", {}), deaths=False
        ),
    }


def build_snapshot(session: Session, now: datetime) -> dict[str, Any]:
    """The national document the refresher stores."""
    return statistics(session, now)
