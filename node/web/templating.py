"""The node's Jinja environment (``node/templates``) and its page helpers.

Templates extend ``base.html`` (blocks ``title``, ``content``). Filters turn
wire codes into what people read: ``division`` (GB/T 2260 name), ``label``
(an enumeration's Chinese label), ``cn_date`` / ``cn_time`` (Beijing time).
Every page gets ``request``, ``actor`` (or ``None``), ``csrf_token`` (for the
forms of a page session) and ``nav`` (the menu for the actor's role).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from node.principal import CHINA_TZ, Actor
from schemas import enums
from schemas.divisions import get_division

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

_ENUMS: dict[str, type[Enum]] = {
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
    enum = _ENUMS[enum_name]
    try:
        member = enum(int(value) if enum is enums.AccidentCategory else value)
    except (ValueError, TypeError):
        return "" if value is None else str(value)
    return str(getattr(member, "label_zh", value))


def division_name(code: str | None) -> str:
    if not code:
        return ""
    found = get_division(code)
    return found.name if found else code


def location(province: str | None, city: str | None, county: str | None) -> str:
    """``内蒙古自治区 呼和浩特市 新城区`` (municipalities without repeating the city)."""
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


templates.env.filters.update(
    label=label,
    division=division_name,
    cn_date=cn_date,
    cn_time=cn_time,
    shown=shown,
)
from node.web.forms import value_at  # noqa: E402

templates.env.globals.update(location=location, value_at=value_at)


def nav_for(actor: Actor | None) -> list[tuple[str, str]]:
    """The main menu: (path, label) for what the actor's role may open."""
    if actor is None:
        return []
    if actor.is_contractor:
        return [("/filings", "我的填报"), ("/filings/new/project-department", "新建项目部")]
    return [
        ("/review", "审核队列"),
        ("/entry/accident", "录入事故"),
        ("/entry/reward-penalty", "录入奖惩"),
        ("/entries/accident", "更正录入"),
        ("/queries", "查询统计"),
        ("/accounts", "账号管理"),
    ]


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    actor: Actor | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page from ``node/templates``, with the actor's menu and CSRF token."""
    from node.web.session import csrf_for

    full = {
        "actor": actor,
        "nav": nav_for(actor),
        "csrf_token": csrf_for(request) if actor is not None else None,
        **context,
    }
    response = templates.TemplateResponse(
        request, name, full, status_code=status_code, headers=headers
    )
    # Pages show personal data to the people allowed to see it: never cache them.
    response.headers.setdefault("Cache-Control", "no-store")
    return response
