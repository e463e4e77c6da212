"""The regulator's entry pages: an accident, or a reward/penalty, published on entry
(``node.entry.service.enter``), with the same inline errors as the contractor's forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from node.access import REGULATORS, Scope
from node.deps import SessionDep
from node.entry import service as entry_service
from node.errors import InvalidInput, NotFound
from node.principal import Actor
from node.web.contractor import _form_page, _invalid
from node.web.forms import FormErrors, for_create, parse_form
from node.web.layouts import LAYOUTS
from node.web.session import FormDep, attempt, page_allow
from schemas.enums import RecordKind

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
