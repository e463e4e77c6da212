"""The hub's Jinja environment (``central/templates``) and its page helpers.

Templates extend ``base.html`` (blocks ``title``, ``head``, ``content``).
Filters turn wire codes into what people read: ``division`` (GB/T 2260 name),
``label`` (an enumeration's Chinese label), ``cn_date`` / ``cn_time``
(Beijing time), ``mask_name``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from schemas import enums
from schemas.clock import CHINA_TZ
from schemas.divisions import get_division
from schemas.identifiers import mask_name

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

_ENUMS: dict[str, type[Enum]] = {
    "grade": enums.QualificationGrade,
    "accident_grade": enums.AccidentGrade,
    "mode": enums.ContractingMode,
    "party": enums.ResponsibleParty,
    "kind": enums.RecordKind,
    "rp": enums.RewardPenaltyKind,
    "flag": enums.FlagCode,
    "category": enums.AccidentCategory,
}


def label(value: Any, enum_name: str) -> str:
    """The Chinese label of ``value`` in the named enumeration (the value if unknown)."""
    enum = _ENUMS[enum_name]
    try:
        member = enum(int(value) if enum is enums.AccidentCategory else value)
    except (ValueError, TypeError):
        return "" if value is None else str(value)
    return str(member.label_zh)  # type: ignore[attr-defined]


def division_name(code: str | None) -> str:
    """The division's name, or the code if the table does not know it."""
    if not code:
        return ""
    found = get_division(code)
    return found.name if found else code


def location(province: str | None, city: str | None, county: str | None) -> str:
    """``内蒙古自治区 包头市 白云鄂博矿区`` (municipalities without repeating the city)."""
    parts: list[str] = []
    for code in (province, city, county):
        name = division_name(code)
        if name and name not in parts:
            parts.append(name)
    return " ".join(parts)


def cn_date(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = value.astimezone(CHINA_TZ).date()
    return f"{value.year}年{value.month}月{value.day}日"


def cn_time(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    local = value.astimezone(CHINA_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def yuan(value: Any) -> str:
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return "—"
    if amount >= 10_000:
        return f"{amount / 10_000:,.1f} 万元"
    return f"{amount:,} 元"


templates.env.filters.update(
    label=label,
    division=division_name,
    cn_date=cn_date,
    cn_time=cn_time,
    mask_name=lambda v: mask_name(v) if v else "",
    yuan=yuan,
)


def accident_grade(data: dict[str, Any]) -> str | None:
    """The grade derived from an accident's figures (never trusted from the form)."""
    from schemas.accidents import derive_accident_grade

    try:
        return derive_accident_grade(
            int(data["deaths"]), int(data["serious_injuries"]), int(data["direct_loss_yuan"])
        ).value
    except (KeyError, TypeError, ValueError):
        return None


templates.env.globals.update(location=location, accident_grade=accident_grade)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page from ``central/templates``; every page may use ``request``."""
    return templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )
