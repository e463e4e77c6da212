"""Role × jurisdiction: who sees and who decides what, by GB/T 2260 division code.

A jurisdiction is a division code: a province (``PP0000``) covers every code
starting with ``PP``, a city (``PPCC00``) every code starting with ``PPCC``, a
county exactly itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_

from schemas.enums import Role

REGULATOR_ROLES = frozenset(
    {
        Role.PROVINCIAL_ADMIN,
        Role.PROVINCIAL_REGULATOR,
        Role.MUNICIPAL_REGULATOR,
        Role.COUNTY_REGULATOR,
    }
)
PROVINCIAL_ROLES = frozenset({Role.PROVINCIAL_ADMIN, Role.PROVINCIAL_REGULATOR})


def division_level(code: str) -> str:
    """``province``, ``city`` or ``county`` by the shape of the code."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def division_prefix(code: str) -> str:
    """The prefix every code inside ``code`` starts with."""
    level = division_level(code)
    return code[:2] if level == "province" else code[:4] if level == "city" else code


def covers(jurisdiction: str, code: str | None) -> bool:
    """Does a jurisdiction include the division ``code``?"""
    return code is not None and code.startswith(division_prefix(jurisdiction))


def within(column: Any, jurisdiction: str) -> ColumnElement[bool]:
    """SQL: ``column`` lies inside ``jurisdiction`` (uses the column's "C" collation index)."""
    prefix = division_prefix(jurisdiction)
    if len(prefix) == 6:
        return column == prefix  # type: ignore[no-any-return]
    return column.like(prefix + "%")  # type: ignore[no-any-return]


def within_any(columns: list[Any], jurisdiction: str) -> ColumnElement[bool]:
    return or_(*[within(c, jurisdiction) for c in columns])


def may_review(role: str, jurisdiction: str, review_division: str) -> bool:
    """Order No. 62 hierarchy: county filings by the county; central SOEs and the
    home-province forms by the city or the province.

    ``review_division`` is a county code for an ordinary project department, a
    city code for a central state-owned enterprise's project department, and a
    province code for basic info, licences and contractor-filed rewards/penalties.
    """
    level = division_level(review_division)
    if level == "county":
        return role == Role.COUNTY_REGULATOR and jurisdiction == review_division
    if level == "city":
        if role == Role.MUNICIPAL_REGULATOR:
            return jurisdiction == review_division
        return role in PROVINCIAL_ROLES and covers(jurisdiction, review_division)
    return role in PROVINCIAL_ROLES and jurisdiction == review_division


def reviewable_divisions_filter(column: Any, role: str, jurisdiction: str) -> ColumnElement[bool]:
    """SQL form of :func:`may_review` over a ``review_division`` column."""
    from sqlalchemy import and_, false

    if role == Role.COUNTY_REGULATOR:
        return column == jurisdiction  # type: ignore[no-any-return]
    if role == Role.MUNICIPAL_REGULATOR:
        return column == jurisdiction  # type: ignore[no-any-return]
    if role in PROVINCIAL_ROLES:
        prefix = jurisdiction[:2]
        return or_(
            column == jurisdiction,
            and_(column.like(prefix + "%"), column.like("%00"), column.notlike("%0000")),
        )
    return false()
