"""The hub's Jinja environment (``central/templates``) and its page helpers.

Templates extend ``base.html`` (blocks ``title``, ``head``, ``content``).
Filters turn wire codes into what people read: ``division`` (GB/T 2260 name),
``label`` (an enumeration's Chinese label), ``cn_date`` / ``cn_time``
(Beijing time), ``mask_name``. The bureau's pages extend ``bureau/layout.html``
(its menu, the user, log out) and are rendered with ``render(…, principal=…)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from central.principal import HubPrincipal
from schemas.display import cn_date, cn_time, division_name, label, location, yuan
from schemas.identifiers import mask_name

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

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


#: The bureau's menu: (path, label). Every bureau page shows it.
BUREAU_NAV: tuple[tuple[str, str], ...] = (
    ("/national/nodes", "节点与同步"),
    ("/national/accounts", "账号与配额"),
    ("/national/queries", "跨省查询"),
    ("/national/stats", "全国统计"),
)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    principal: HubPrincipal | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page from ``central/templates``; every page may use ``request``.

    A bureau page passes the ``principal``: the page then gets the bureau's menu
    (``nav``), the user (``principal``) and the session's ``csrf_token`` for its
    forms, and is sent with ``Cache-Control: no-store`` (it shows what only the
    bureau may see).
    """
    if principal is not None:
        from central.web.session import csrf_for

        context = {
            "principal": principal,
            "nav": BUREAU_NAV,
            "csrf_token": csrf_for(request),
            **context,
        }
    response = templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )
    if principal is not None:
        response.headers.setdefault("Cache-Control", "no-store")
    return response
