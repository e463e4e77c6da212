"""The regulator's review pages: the queue with filters, a filing with what changed,
approve or return with a reason. Thin: the queue and the diff are the review API's
own functions (``node.review.endpoints``), decisions go through ``node.filing.service``."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from node.access import REGULATORS, Scope
from node.deps import SessionDep, SettingsDep
from node.errors import InvalidInput
from node.filing import service
from node.filing.schemas import RecordDetail, VersionOut
from node.pagination import PageParams
from node.principal import Actor
from node.review import endpoints as review_api
from node.review.diff import diff
from node.web.display import describe, field_title, value_text
from node.web.session import FormDep, attempt, page_allow
from node.web.templating import render
from schemas.enums import RecordKind

router = APIRouter(include_in_schema=False)

ReviewerPage = Annotated[
    Actor,
    page_allow(
        REGULATORS,
        Scope.JURISDICTION,
        "review by level and jurisdiction, as the review API (docs/decisions.md)",
    ),
]

PAGE_SIZE = 20
_DIVISION = re.compile(r"^\d{6}$")
_DONE = {
    "approved": "已审核通过，记录将自动公示。/ Approved: the record is published.",
    "returned": "已退回，承包单位将看到退回理由。/ Returned with the reason.",
}


@router.get("/review")
def queue(
    request: Request, actor: ReviewerPage, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    params = request.query_params
    kind_raw = params.get("kind") or ""
    kind = RecordKind(kind_raw) if kind_raw in {k.value for k in RecordKind} else None
    division = params.get("division") or ""
    division_ok = division if _DIVISION.match(division) else None
    q = (params.get("q") or "").strip()[:100] or None
    try:
        page_no = max(1, min(100_000, int(params.get("page") or 1)))
    except ValueError:
        page_no = 1
    page = review_api.queue(
        actor, session, PageParams(page=page_no, page_size=PAGE_SIZE), kind, division_ok, q
    )
    filters = {"kind": kind.value if kind else "", "division": division, "q": q or ""}
    kept = {k: v for k, v in filters.items() if v}
    pages = max(1, (page.total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render(
        request,
        "review/queue.html",
        {
            "page": page,
            "filters": filters,
            "division_invalid": bool(division) and division_ok is None,
            "kinds": [(k.value, k.label_zh) for k in RecordKind],
            "pages": pages,
            "link": lambda n: "/review?" + urlencode({**kept, "page": n}),
            "done": _DONE.get(params.get("done") or ""),
        },
        actor=actor,
    )


def _detail_page(
    request: Request,
    actor: Actor,
    session: Any,
    settings: Any,
    record_id: uuid.UUID,
    *,
    reason: str = "",
    reason_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    out = review_api.detail(record_id, actor, session, settings)
    record = out.record
    base = _base_version(record)
    found = out.changes
    if base is not None and (
        record.current is None or base.version_no != record.current.version_no
    ):
        # Nothing in force yet (a returned first filing, resubmitted): compare with the
        # version the reviewer last saw, so the fix is what stands out.
        found = diff(base.data, record.latest.data)
    changes = [
        {
            "field": change.field,
            "title": field_title(record.kind, change.field),
            "change": change.change,
            "before": value_text(change.field.split(".")[-1], change.before),
            "after": value_text(change.field.split(".")[-1], change.after),
        }
        for change in found
    ]
    return render(
        request,
        "review/detail.html",
        {
            "record": record,
            "changes": changes,
            "base": base,
            "rows": describe(record.kind, record.latest.data),
            "reason": reason,
            "reason_error": reason_error,
        },
        actor=actor,
        status_code=status_code,
    )


@router.get("/review/{record_id}")
def detail(
    request: Request,
    record_id: uuid.UUID,
    actor: ReviewerPage,
    session: SessionDep,
    settings: SettingsDep,
) -> HTMLResponse:
    return _detail_page(request, actor, session, settings, record_id)


def _base_version(record: RecordDetail) -> VersionOut | None:
    """What the latest version is compared with: the version in force, else the
    previous one (a returned filing's earlier version), else nothing (a first filing)."""
    latest = record.latest.version_no
    if record.current is not None and record.current.version_no != latest:
        return record.current
    if record.current is None:
        earlier = [v for v in record.history if v.version_no < latest]
        return max(earlier, key=lambda v: v.version_no) if earlier else None
    return None


def _version_no(form: Any) -> int:
    try:
        return int(str(form.get("version_no") or "0"))
    except ValueError:
        return 0


@router.post("/review/{record_id}/approve")
def approve(
    record_id: uuid.UUID, actor: ReviewerPage, session: SessionDep, form: FormDep
) -> Response:
    service.approve(session, actor, record_id, _version_no(form))
    return RedirectResponse("/review?done=approved", status_code=303)


@router.post("/review/{record_id}/return")
def return_(
    request: Request,
    record_id: uuid.UUID,
    actor: ReviewerPage,
    session: SessionDep,
    settings: SettingsDep,
    form: FormDep,
) -> Response:
    reason = str(form.get("reason") or "").strip()
    try:
        if len(reason) > 2000:
            raise InvalidInput(
                "退回理由过长，最多 2000 个字符",
                "the reason is too long (at most 2000 characters)",
                code="invalid_input",
                field="reason",
            )
        attempt(
            session,
            lambda: service.return_for_changes(
                session, actor, record_id, _version_no(form), reason
            ),
        )
    except InvalidInput as exc:
        return _detail_page(
            request,
            actor,
            session,
            settings,
            record_id,
            reason=reason,
            reason_error=f"退回理由：{exc.detail}",
            status_code=422,
        )
    return RedirectResponse("/review?done=returned", status_code=303)
