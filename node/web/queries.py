"""The province's queries, flags and statistics for regulators: one page of filters,
the matching records, counts as bar charts (plain HTML, readable without colour or
script), and the CSV export of the same filters (the API's, which reads the page
session). Thin over ``node.queries.service``."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from node.access import REGULATORS, Scope
from node.deps import SessionDep, SettingsDep
from node.pagination import PageParams
from node.principal import Actor
from node.queries import service
from node.queries.schemas import RecordFilters
from node.web.session import page_allow
from node.web.templating import render
from schemas.enums import FlagCode, RecordKind, ReviewState

router = APIRouter(include_in_schema=False)

QueryPage = Annotated[
    Actor, page_allow(REGULATORS, Scope.JURISDICTION, "the records of the caller's jurisdiction")
]

PAGE_SIZE = 20
_DIVISION = re.compile(r"^\d{6}$")
GROUPS: list[tuple[str, str]] = [
    ("kind", "按表单"),
    ("state", "按状态"),
    ("county_code", "按县（区）"),
    ("city_code", "按市"),
    ("grade", "按事故等级"),
    ("flag", "按预警"),
    ("month", "按月份"),
]


def _enum(raw: str | None, enum: Any) -> Any:
    values = {m.value: m for m in enum}
    return values.get(raw or "")


@router.get("/queries")
def queries(
    request: Request, actor: QueryPage, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    params = request.query_params
    division = params.get("division") or ""
    q = (params.get("q") or "").strip()[:100]
    flagged = params.get("flagged") == "1"
    filters = RecordFilters(
        kind=_enum(params.get("kind"), RecordKind),
        state=_enum(params.get("state"), ReviewState),
        flag=_enum(params.get("flag"), FlagCode),
        division=division if _DIVISION.match(division) else None,
        q=q or None,
    )
    group_by = params.get("group_by") or "kind"
    if group_by not in dict(GROUPS):
        group_by = "kind"
    try:
        page_no = max(1, min(100_000, int(params.get("page") or 1)))
    except ValueError:
        page_no = 1
    page = service.list_records(
        session,
        actor,
        settings,
        filters,
        "-updated_at",
        PageParams(page=page_no, page_size=PAGE_SIZE),
        flagged_only=flagged,
    )
    counts = service.count_records(session, actor, settings, filters, group_by)  # type: ignore[arg-type]
    largest = max((g.count for g in counts.groups), default=0)
    kept = {
        "kind": filters.kind.value if filters.kind else "",
        "state": filters.state.value if filters.state else "",
        "flag": filters.flag.value if filters.flag else "",
        "division": division,
        "q": q,
    }
    kept = {k: v for k, v in kept.items() if v}
    link_params = {**kept, **({"flagged": "1"} if flagged else {}), "group_by": group_by}
    return render(
        request,
        "queries.html",
        {
            "page": page,
            "counts": counts,
            "largest": largest,
            "filters": {**kept, "flagged": flagged, "group_by": group_by},
            "division_invalid": bool(division) and filters.division is None,
            "kinds": [(k.value, k.label_zh) for k in RecordKind],
            "states": [(s.value, s.label_zh) for s in ReviewState],
            "flags": [(f.value, f.label_zh) for f in FlagCode],
            "groups": GROUPS,
            "pages": max(1, (page.total + PAGE_SIZE - 1) // PAGE_SIZE),
            "link": lambda n: "/queries?" + urlencode({**link_params, "page": n}),
            "export_url": "/api/v1/records/export.csv" + ("?" + urlencode(kept) if kept else ""),
        },
        actor=actor,
    )
