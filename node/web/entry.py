"""The regulator's entry pages: an accident, or a reward/penalty, published on entry
(``node.entry.service.enter``), with the same inline errors as the contractor's forms;
the list of entries a regulator may correct, and the correction form (a new version
with a required reason, ``node.entry.service.correct``)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from node.access import REGULATORS, Scope
from node.deps import SessionDep
from node.entry import repository
from node.entry import service as entry_service
from node.errors import Forbidden, InvalidInput, NotFound
from node.filing.endpoints import record_detail
from node.pagination import PageParams
from node.principal import CHINA_TZ, Actor
from node.web.contractor import _form_page, _invalid
from node.web.forms import FormErrors, for_create, parse_form
from node.web.layouts import LAYOUTS
from node.web.session import FormDep, attempt, page_allow
from node.web.templating import render
from schemas.enums import AccidentCategory, RecordKind, RewardPenaltyKind

router = APIRouter(include_in_schema=False)

RegulatorPage = Annotated[
    Actor,
    page_allow(
        REGULATORS,
        Scope.JURISDICTION,
        "regulators enter accidents and rewards/penalties within their jurisdiction",
    ),
]

SLUGS = {"accident": RecordKind.ACCIDENT, "reward-penalty": RecordKind.REWARD_PENALTY}


def _kind_of(slug: str) -> RecordKind:
    kind = SLUGS.get(slug)
    if kind is None:
        raise NotFound("没有这种录入表", f"no entry form {slug}", code="not_found")
    return kind


def _start(actor: Actor, kind: RecordKind) -> dict[str, object]:
    if kind == RecordKind.ACCIDENT:
        province = actor.division_code[:2] + "0000"
        return {"province_code": province}
    return {}


@router.get("/entry/{slug}")
def entry_form(request: Request, slug: str, actor: RegulatorPage) -> HTMLResponse:
    kind = _kind_of(slug)
    return _form_page(
        request, actor, kind, _start(actor, kind), FormErrors(), action=request.url.path, entry=True
    )


@router.post("/entry/{slug}")
def enter(
    request: Request, slug: str, actor: RegulatorPage, session: SessionDep, form: FormDep
) -> Response:
    kind = _kind_of(slug)
    data = parse_form(LAYOUTS[kind].spec, form)
    try:
        record = attempt(
            session, lambda: entry_service.enter(session, actor, kind, for_create(data))
        )
    except InvalidInput as exc:
        return _form_page(
            request,
            actor,
            kind,
            data,
            _invalid(exc),
            action=request.url.path,
            entry=True,
            status_code=422,
        )
    return RedirectResponse(f"/filings/{record.id}?done=entered", status_code=303)


# ---------------------------------------------------------------- corrections

SLUG_OF = {kind: slug for slug, kind in SLUGS.items()}
PAGE_SIZE = 20
_DIVISION = re.compile(r"^\d{6}$")


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@router.get("/entries/{slug}")
def entries(request: Request, slug: str, actor: RegulatorPage, session: SessionDep) -> HTMLResponse:
    """The entries the regulator may correct, filtered by period, county and category."""
    kind = _kind_of(slug)
    params = request.query_params
    raw = {name: (params.get(name) or "").strip() for name in ("from", "to", "county", "category")}
    period_from, period_to = _day(raw["from"]), _day(raw["to"])
    county = raw["county"] if _DIVISION.match(raw["county"]) else None
    categories: tuple[AccidentCategory, ...] = ()
    rp_kind: RewardPenaltyKind | None = None
    if kind == RecordKind.ACCIDENT and raw["category"].isdigit():
        if int(raw["category"]) in {c.value for c in AccidentCategory}:
            categories = (AccidentCategory(int(raw["category"])),)
    elif kind == RecordKind.REWARD_PENALTY and raw["category"] in {
        k.value for k in RewardPenaltyKind
    }:
        rp_kind = RewardPenaltyKind(raw["category"])
    ignored = [
        label
        for label, typed, used in (
            ("期间起 / from", raw["from"], period_from),
            ("期间止 / to", raw["to"], period_to),
            ("县级行政区划代码 / county", raw["county"], county),
            ("类别 / category", raw["category"], categories or rp_kind),
        )
        if typed and not used
    ]
    try:
        page_no = max(1, min(100_000, int(params.get("page") or 1)))
    except ValueError:
        page_no = 1
    total, rows = repository.list_correctable(
        session,
        actor,
        kind,
        repository.EntryFilters(
            period_from=period_from,
            period_to=period_to,
            county_code=county,
            categories=categories,
            reward_penalty_kind=rp_kind,
        ),
        PageParams(page=page_no, page_size=PAGE_SIZE),
    )
    kept = {k: v for k, v in raw.items() if v}
    category_choices = (
        AccidentCategory.choices() if kind == RecordKind.ACCIDENT else RewardPenaltyKind.choices()
    )
    return render(
        request,
        "entry/list.html",
        {
            "kind": kind,
            "slug": slug,
            "rows": [
                {"record": r, "data": v.data, "contractor": c, "owner": v.review_division}
                for r, v, c in rows
            ],
            "total": total,
            "page_no": page_no,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "filters": raw,
            "ignored": ignored,
            "categories": [(str(v), text) for v, text in category_choices],
            "link": lambda n: f"/entries/{slug}?" + urlencode({**kept, "page": n}),
        },
        actor=actor,
    )


def _as_form(kind: RecordKind, data: dict[str, Any]) -> dict[str, Any]:
    """A stored version as its form shows it: the accident time as a local
    ``datetime-local`` value in Beijing time."""
    shown = dict(data)
    if kind == RecordKind.ACCIDENT and shown.get("occurred_at"):
        at = datetime.fromisoformat(str(shown["occurred_at"])).astimezone(CHINA_TZ)
        shown["occurred_at"] = at.strftime("%Y-%m-%dT%H:%M:%S" if at.second else "%Y-%m-%dT%H:%M")
    return shown


def _correction_page(
    request: Request,
    session: Session,
    actor: Actor,
    kind: RecordKind,
    record_id: uuid.UUID,
    data: dict[str, Any] | None,
    errors: FormErrors,
    *,
    reason: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    record, _ = entry_service.correctable_entry(session, actor, kind, record_id, for_update=False)
    detail = record_detail(session, actor, record, request.app.state.settings)
    assert detail.current is not None
    return _form_page(
        request,
        actor,
        kind,
        data if data is not None else _as_form(kind, detail.current.data),
        errors,
        record=detail,
        action=request.url.path,
        entry=True,
        correction={"reason": reason, "list": f"/entries/{SLUG_OF[kind]}"},
        status_code=status_code,
    )


@router.get("/entries/{slug}/{record_id}/correct")
def correction_form(
    request: Request, slug: str, record_id: uuid.UUID, actor: RegulatorPage, session: SessionDep
) -> HTMLResponse:
    kind = _kind_of(slug)
    return _correction_page(request, session, actor, kind, record_id, None, FormErrors())


@router.post("/entries/{slug}/{record_id}/correct")
def correct(
    request: Request,
    slug: str,
    record_id: uuid.UUID,
    actor: RegulatorPage,
    session: SessionDep,
    form: FormDep,
) -> Response:
    kind = _kind_of(slug)
    data = parse_form(LAYOUTS[kind].spec, form)
    reason = str(form.get("correction_reason") or "")
    try:
        attempt(
            session,
            lambda: entry_service.correct(
                session, actor, kind, record_id, for_create(data), reason
            ),
        )
    except (InvalidInput, Forbidden) as exc:
        if isinstance(exc, Forbidden) and not exc.extra.get("field"):
            raise  # not the form's fault (not this regulator's entry): the error page
        return _correction_page(
            request,
            session,
            actor,
            kind,
            record_id,
            data,
            _invalid(exc),
            reason=reason,
            status_code=422,
        )
    return RedirectResponse(f"/filings/{record_id}?done=corrected", status_code=303)
