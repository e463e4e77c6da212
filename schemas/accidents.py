"""Accident grade, derived from consequences (生产安全事故报告和调查处理条例 Art. 3)."""

from __future__ import annotations

from schemas.enums import AccidentGrade

__all__ = ["GRADE_THRESHOLDS", "derive_accident_grade"]

#: (grade, deaths, serious injuries, direct loss in yuan): reaching any one of the
#: three thresholds puts an accident in that grade. Highest grade first.
GRADE_THRESHOLDS: tuple[tuple[AccidentGrade, int, int, int], ...] = (
    (AccidentGrade.ESPECIALLY_MAJOR, 30, 100, 100_000_000),
    (AccidentGrade.MAJOR, 10, 50, 50_000_000),
    (AccidentGrade.LARGER, 3, 10, 10_000_000),
)


def derive_accident_grade(
    deaths: int, serious_injuries: int, direct_loss_yuan: int
) -> AccidentGrade:
    """The grade of an accident with these consequences.

    特别重大: ≥30 deaths, or ≥100 serious injuries, or ≥100 million yuan;
    重大: ≥10 / ≥50 / ≥50 million; 较大: ≥3 / ≥10 / ≥10 million; otherwise 一般.
    The regulation's "以上" includes the bound, "以下" excludes it.
    """
    if min(deaths, serious_injuries, direct_loss_yuan) < 0:
        raise ValueError("accident consequences cannot be negative")
    for grade, max_deaths, max_serious, max_loss in GRADE_THRESHOLDS:
        if deaths >= max_deaths or serious_injuries >= max_serious or direct_loss_yuan >= max_loss:
            return grade
    return AccidentGrade.GENERAL
