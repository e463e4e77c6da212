"""The contractor's pages: its filings and their status, the forms, submit, and what
a returned filing needs. Thin: every change goes through ``node.filing.service``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from node.access import ALL, CONTRACTOR, Scope
from node.deps import SessionDep, SettingsDep
from node.errors import Conflict, InvalidInput, NodeError, NotFound
from node.filing import endpoints as filing_api
from node.filing import service
from node.filing.schemas import RecordDetail
from node.jurisdiction import covers
from node.models import Contractor
from node.pagination import PageParams
from node.principal import Actor
from node.web.display import describe
from node.web.forms import SPECS, FormErrors, FormSpec, for_create, parse_form
from node.web.layouts import LAYOUTS
from node.web.session import FormDep, attempt, page_allow
from node.web.templating import render
from schemas.divisions import children
from schemas.enums import RecordKind, ReviewState

router = APIRouter(include_in_schema=False)

ContractorPage = Annotated[Actor, page_allow(CONTRACTOR, Scope.OWN, "the contractor's own filings")]
ReaderPage = Annotated[
    Actor,
    page_allow(
        ALL,
        Scope.OWN_OR_JURISDICTION,
        "contractors their own records; regulators the records in their jurisdiction",
    ),
]

#: URL names of the forms that have a page.
SLUGS: dict[str, RecordKind] = {
    "basic-info": RecordKind.BASIC_INFO,
    "licence": RecordKind.LICENCE,
    "project-department": RecordKind.PROJECT_DEPARTMENT,
    "reward-penalty": RecordKind.REWARD_PENALTY,
}
SLUG_OF = {kind: slug for slug, kind in SLUGS.items()}
TEMPLATE_OF = {
    RecordKind.BASIC_INFO: "forms/generic.html",
    RecordKind.LICENCE: "forms/generic.html",
    RecordKind.PROJECT_DEPARTMENT: "forms/project_department.html",
    RecordKind.REWARD_PENALTY: "forms/generic.html",
    RecordKind.ACCIDENT: "forms/generic.html",  # entered by regulators (node/web/entry.py)
}


def spec_of(kind: RecordKind) -> FormSpec:
    return SPECS[kind] if kind in SPECS else LAYOUTS[kind].spec


_DONE = {
    "saved": "草稿已保存。/ Draft saved.",
    "submitted": "已提交审核，请等待监管部门审核。/ Submitted for review.",
    "withdrawn": "已撤回，可继续修改。/ Withdrawn: you may edit it again.",
    "attached": "附件已上传并加入草稿。/ Scan uploaded and added to the draft.",
    "detached": "附件已从草稿中移除。/ Scan removed from the draft.",
    "entered": "已录入并公示。/ Entered and published.",
    "corrected": "已更正并公示（新版本）。/ Corrected and published as a new version.",
}


def _kind_of(slug: str) -> RecordKind:
    kind = SLUGS.get(slug)
    if kind is None:
        raise NotFound("没有这种表单", f"no form {slug}", code="not_found")
    return kind


def _detail(session: Session, actor: Actor, record_id: uuid.UUID, settings: Any) -> RecordDetail:
    record = service.get_visible(session, actor, record_id)
    return filing_api.record_detail(session, actor, record, settings)


def _divisions(province: str) -> list[tuple[str, str]]:
    """The province's cities and counties (code, name) for the location inputs' lists."""
    out: list[tuple[str, str]] = []
    for city in children(province):
        out.append((city.code, city.name))
        out.extend((c.code, f"{c.name}（{city.name}）") for c in children(city.code))
    return out


def _form_page(
    request: Request,
    actor: Actor,
    kind: RecordKind,
    data: dict[str, Any],
    errors: FormErrors,
    *,
    record: RecordDetail | None = None,
    status_code: int = 200,
    action: str | None = None,
    entry: bool = False,
    correction: dict[str, str] | None = None,
) -> HTMLResponse:
    settings = request.app.state.settings
    from schemas.divisions import provinces

    spec = spec_of(kind)
    return render(
        request,
        TEMPLATE_OF[kind],
        {
            "kind": kind,
            "layout": LAYOUTS.get(kind),
            "data": data,
            "errors": errors,
            "record": record,
            "action": action
            or (f"/filings/{record.id}/edit" if record else f"/filings/new/{SLUG_OF[kind]}"),
            "entry": entry,
            "correction": correction,
            "provinces": [(p.code, p.name) for p in provinces()],
            "divisions": _divisions(settings.province_code),
            "row_count": lambda name: len(data.get(name) or []) + spec.blank_rows,
        },
        actor=actor,
        status_code=status_code,
    )


def _complete_errors(kind: RecordKind, data: dict[str, Any], actor: Actor) -> FormErrors | None:
    """What submitting ``data`` would refuse (``None`` if it is complete and valid)."""
    try:
        service.validate_complete(kind, data, actor)
    except InvalidInput as exc:
        return _invalid(exc)
    return None


def _invalid(exc: NodeError) -> FormErrors:
    errors = exc.extra.get("errors")
    if errors:
        return FormErrors(errors)
    field = exc.extra.get("field")
    return FormErrors([{"field": field or "", "message": exc.detail}])


@router.get("/filings")
def dashboard(
    request: Request, actor: ContractorPage, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    page = filing_api.list_own(actor, session, settings, PageParams(page=1, page_size=200))
    reasons: dict[uuid.UUID, str | None] = {}
    for item in page.items:
        if item.state == ReviewState.RETURNED:
            record = service.get_record(session, item.id)
            reasons[item.id] = service.get_version(
                session, record, record.latest_version_no
            ).return_reason
    counts = {state.value: 0 for state in ReviewState}
    for item in page.items:
        counts[item.state] = counts.get(item.state, 0) + 1
    return render(
        request,
        "contractor/dashboard.html",
        {
            "items": page.items,
            "total": page.total,
            "reasons": reasons,
            "counts": counts,
            "basic_info": next((i for i in page.items if i.kind == RecordKind.BASIC_INFO), None),
        },
        actor=actor,
    )


def _prefill(session: Session, actor: Actor, kind: RecordKind) -> dict[str, Any]:
    """What a new form starts with: what the node already knows of the company."""
    contractor = session.get(Contractor, actor.contractor_id)
    assert contractor is not None
    if kind == RecordKind.BASIC_INFO:
        return {
            "name": contractor.name,
            "uscc": contractor.uscc,
            "home_province_code": contractor.home_province_code,
            "central_soe": contractor.central_soe,
        }
    if kind == RecordKind.REWARD_PENALTY:
        return {"contractor_uscc": contractor.uscc}
    if kind == RecordKind.PROJECT_DEPARTMENT:
        return {"province_code": contractor.home_province_code}
    return {}


@router.get("/filings/new/{slug}")
def new_form(
    request: Request, slug: str, actor: ContractorPage, session: SessionDep
) -> HTMLResponse:
    kind = _kind_of(slug)
    return _form_page(request, actor, kind, _prefill(session, actor, kind), FormErrors())


def _after_save(
    request: Request,
    session: Session,
    actor: Actor,
    settings: Any,
    record_id: uuid.UUID,
    kind: RecordKind,
    data: dict[str, Any],
    action: str,
    blocking: FormErrors | None = None,
) -> Response:
    if action != "submit":
        return RedirectResponse(f"/filings/{record_id}?done=saved", status_code=303)
    try:
        if blocking:
            raise InvalidInput("", "", errors=blocking.items)
        attempt(session, lambda: service.submit(session, actor, record_id))
    except InvalidInput as exc:
        errors = _invalid(exc)
        errors.message = "草稿已保存，但还不能提交：请按下列提示补充或更正。/ Draft saved, but it cannot be submitted yet: see below."
        record = _detail(session, actor, record_id, settings)
        return _form_page(request, actor, kind, data, errors, record=record, status_code=422)
    return RedirectResponse(f"/filings/{record_id}?done=submitted", status_code=303)


@router.post("/filings/new/{slug}")
def create(
    request: Request,
    slug: str,
    actor: ContractorPage,
    session: SessionDep,
    settings: SettingsDep,
    form: FormDep,
) -> Response:
    kind = _kind_of(slug)
    data = parse_form(spec_of(kind), form)
    action = str(form.get("action"))
    # Submitting: say at once everything that stands in the way, not one step at a time.
    blocking = _complete_errors(kind, for_create(data), actor) if action == "submit" else None
    try:
        record = attempt(
            session, lambda: service.create_draft(session, actor, kind, for_create(data))
        )
    except InvalidInput as exc:
        errors = blocking or _invalid(exc)
        return _form_page(request, actor, kind, data, errors, status_code=422)
    except Conflict as exc:
        if exc.code == "basic_info_exists":  # one per company: edit the one there is
            return RedirectResponse(f"/filings/{exc.extra['record_id']}/edit", status_code=303)
        raise
    return _after_save(request, session, actor, settings, record.id, kind, data, action, blocking)


def record_page_response(
    request: Request,
    actor: Actor,
    session: Session,
    settings: Any,
    record_id: uuid.UUID,
    *,
    attach_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    from node.web.attachments import WITH_ATTACHMENTS
    from schemas.enums import AttachmentPurpose

    detail = _detail(session, actor, record_id, settings)
    done = _DONE.get(request.query_params.get("done") or "")
    editable = (
        actor.is_contractor
        and not detail.entered_by_regulator
        and detail.state != ReviewState.SUBMITTED
        and RecordKind(detail.kind) in TEMPLATE_OF
    )
    correct_url = None
    if (
        actor.is_regulator
        and detail.entered_by_regulator
        and detail.current is not None
        and covers(actor.division_code, detail.current.review_division)
    ):
        from node.web.entry import SLUG_OF as ENTRY_SLUG_OF

        correct_url = f"/entries/{ENTRY_SLUG_OF[RecordKind(detail.kind)]}/{detail.id}/correct"
    return render(
        request,
        "contractor/record.html",
        {
            "record": detail,
            "rows": [
                r for r in describe(detail.kind, detail.latest.data) if r.path != "attachments"
            ],
            "done": done,
            "editable": editable,
            "correct_url": correct_url,
            "has_attachments": RecordKind(detail.kind) in WITH_ATTACHMENTS,
            "attachments": detail.latest.data.get("attachments") or [],
            "purposes": [(p.value, p.label_zh) for p in AttachmentPurpose],
            "attach_error": attach_error,
        },
        actor=actor,
        status_code=status_code,
    )


@router.get("/filings/{record_id}")
def record_page(
    request: Request,
    record_id: uuid.UUID,
    actor: ReaderPage,
    session: SessionDep,
    settings: SettingsDep,
) -> HTMLResponse:
    return record_page_response(request, actor, session, settings, record_id)


@router.get("/filings/{record_id}/edit")
def edit_form(
    request: Request,
    record_id: uuid.UUID,
    actor: ContractorPage,
    session: SessionDep,
    settings: SettingsDep,
) -> HTMLResponse:
    detail = _detail(session, actor, record_id, settings)
    kind = RecordKind(detail.kind)
    if kind not in TEMPLATE_OF:
        raise NotFound("该表单暂无页面", f"no page form for {kind}", code="not_found")
    return _form_page(request, actor, kind, dict(detail.latest.data), FormErrors(), record=detail)


@router.post("/filings/{record_id}/edit")
def save_edit(
    request: Request,
    record_id: uuid.UUID,
    actor: ContractorPage,
    session: SessionDep,
    settings: SettingsDep,
    form: FormDep,
) -> Response:
    detail = _detail(session, actor, record_id, settings)
    kind = RecordKind(detail.kind)
    data = parse_form(spec_of(kind), form)
    action = str(form.get("action"))
    merged = {**detail.latest.data, **data}
    blocking = _complete_errors(kind, merged, actor) if action == "submit" else None
    try:
        attempt(session, lambda: service.update_draft(session, actor, record_id, data))
    except InvalidInput as exc:
        return _form_page(
            request, actor, kind, merged, blocking or _invalid(exc), record=detail, status_code=422
        )
    return _after_save(request, session, actor, settings, record_id, kind, merged, action, blocking)


@router.post("/filings/{record_id}/submit")
def submit(
    request: Request,
    record_id: uuid.UUID,
    actor: ContractorPage,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    try:
        attempt(session, lambda: service.submit(session, actor, record_id))
    except InvalidInput as exc:
        detail = _detail(session, actor, record_id, settings)
        kind = RecordKind(detail.kind)
        errors = _invalid(exc)
        errors.message = "还不能提交：请按下列提示补充或更正。/ Not ready to submit yet: see below."
        return _form_page(
            request, actor, kind, dict(detail.latest.data), errors, record=detail, status_code=422
        )
    return RedirectResponse(f"/filings/{record_id}?done=submitted", status_code=303)


@router.post("/filings/{record_id}/withdraw")
def withdraw(record_id: uuid.UUID, actor: ContractorPage, session: SessionDep) -> Response:
    service.withdraw(session, actor, record_id)
    return RedirectResponse(f"/filings/{record_id}?done=withdrawn", status_code=303)
