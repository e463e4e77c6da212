"""How wire values read on a page: division names, enumeration labels, Beijing dates,
and the stylesheet the hub's and the nodes' pages share.

Pure formatting shared by the hub's and the nodes' Jinja environments
(``central/web/templating.py``, ``node/web/templating.py``), so a date or a
label reads the same on both sides of the federation.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from schemas import enums
from schemas.clock import CHINA_TZ
from schemas.divisions import get_division

__all__ = [
    "BASE_CSS",
    "ENUMS",
    "ERROR_TITLES",
    "cn_date",
    "cn_time",
    "division_name",
    "label",
    "location",
    "shown",
    "stylesheet",
    "yuan",
]

#: What the hub's and the nodes' stylesheets share (colours, type, layout, forms, focus).
BASE_CSS = Path(__file__).resolve().parent / "static" / "base.css"

#: An error page's title by HTTP status (the message under it is the error's own).
ERROR_TITLES: dict[int, str] = {
    400: "请求有误 / Bad request",
    401: "请先登录 / Log in",
    403: "无权访问 / Not allowed",
    404: "未找到 / Not found",
    409: "无法执行 / Conflict",
    422: "填写有误 / Invalid input",
    429: "请稍后再试 / Too many requests",
    503: "暂时不可用 / Unavailable",
}

#: The enumerations a template may name in ``label(value, name)``.
ENUMS: dict[str, type[Enum]] = {
    "grade": enums.QualificationGrade,
    "accident_grade": enums.AccidentGrade,
    "mode": enums.ContractingMode,
    "party": enums.ResponsibleParty,
    "kind": enums.RecordKind,
    "state": enums.ReviewState,
    "rp": enums.RewardPenaltyKind,
    "flag": enums.FlagCode,
    "category": enums.AccidentCategory,
    "role": enums.Role,
    "purpose": enums.AttachmentPurpose,
}


def label(value: Any, enum_name: str) -> str:
    """The Chinese label of ``value`` in the named enumeration (the value if unknown)."""
    enum = ENUMS[enum_name]
    try:
        member = enum(int(value) if enum is enums.AccidentCategory else value)
    except (ValueError, TypeError):
        return "" if value is None else str(value)
    return str(getattr(member, "label_zh", value))


def division_name(code: str | None) -> str:
    """The division's name (GB/T 2260), or the code if the table does not know it."""
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
    """``2026年6月15日`` (Beijing date) of a date, a datetime or their ISO text; ``—`` if none."""
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
    """``2026年6月15日 10:00`` (Beijing time) of a datetime or its ISO text; ``—`` if none."""
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
    """An amount in yuan: ``8,000 元``, ``12.5 万元`` from ten thousand up; ``—`` if none."""
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return "—"
    if amount >= 10_000:
        return f"{amount / 10_000:,.1f} 万元"
    return f"{amount:,} 元"


def shown(value: Any) -> str:
    """A stored value as a person reads it: yes/no, lists joined, blanks as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list):
        return "、".join(shown(v) for v in value)
    return str(value)


def stylesheet(own: Path) -> bytes:
    """An app's stylesheet as served: ``base.css`` first, then the app's own rules.

    One file and one request per page (no ``@import``), while the shared rules
    are written once.
    """
    return BASE_CSS.read_bytes() + b"\n" + own.read_bytes()
