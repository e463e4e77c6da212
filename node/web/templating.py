"""The node's Jinja environment (``node/templates``) and its page helpers.

Templates extend ``base.html`` (blocks ``title``, ``content``). Filters turn
wire codes into what people read: ``division`` (GB/T 2260 name), ``label``
(an enumeration's Chinese label), ``cn_date`` / ``cn_time`` (Beijing time).
Every page gets ``request``, ``actor`` (or ``None``), ``csrf_token`` (for the
forms of a page session) and ``nav`` (the menu for the actor's role).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from node.principal import Actor
from schemas.display import cn_date, cn_time, division_name, label, location, shown

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

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
