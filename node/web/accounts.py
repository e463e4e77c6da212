"""Accounts for the province's regulators and administrator: the quota, the accounts of
the jurisdiction, and a new account (a regulator by the administrator, a contractor's
one account by any regulator). Thin over the accounts API's own functions, so the
hub's one-account-per-USCC claim and the quota apply exactly as there."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from node.access import REGULATORS, Scope
from node.accounts import endpoints as accounts_api
from node.deps import SessionDep, SettingsDep
from node.errors import NodeError
from node.pagination import PageParams
from node.principal import Actor
from node.web.forms import FormErrors
from node.web.session import FormDep, attempt, page_allow
from node.web.templating import render
from schemas.enums import Role
from schemas.errors import format_errors

router = APIRouter(include_in_schema=False)

AccountsPage = Annotated[
    Actor,
    page_allow(
        REGULATORS,
        Scope.JURISDICTION,
        "accounts of the caller's jurisdiction: the administrator creates regulators, "
        "regulators give contractors their one account",
    ),
]

_CREATABLE = {
    Role.PROVINCIAL_ADMIN: (
        Role.PROVINCIAL_REGULATOR,
        Role.MUNICIPAL_REGULATOR,
        Role.COUNTY_REGULATOR,
        Role.CONTRACTOR,
    ),
}


def _page(
    request: Request,
    actor: Actor,
    session: Any,
    *,
    data: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    q = (request.query_params.get("q") or "").strip()[:64] or None
    accounts = accounts_api.list_accounts(
        actor, session, PageParams(page=1, page_size=200), None, q
    )
    quota = accounts_api.quota(actor, session)
    roles = _CREATABLE.get(Role(actor.role), (Role.CONTRACTOR,))
    return render(
        request,
        "accounts.html",
        {
            "accounts": accounts,
            "quota": quota,
            "roles": [(r.value, r.label_zh) for r in roles],
            "data": data or {"role": roles[-1].value, "division_code": actor.division_code},
            "errors": errors or FormErrors(),
            "done": done,
            "q": q or "",
        },
        actor=actor,
        status_code=status_code,
    )


@router.get("/accounts")
def accounts_page(request: Request, actor: AccountsPage, session: SessionDep) -> HTMLResponse:
    done = (
        "账号已创建，请将用户名和初始密码交给使用者；首次登录须修改密码。"
        if (request.query_params.get("done") == "created")
        else None
    )
    return _page(request, actor, session, done=done)


@router.post("/accounts")
def create_account(
    request: Request,
    actor: AccountsPage,
    session: SessionDep,
    settings: SettingsDep,
    form: FormDep,
) -> Response:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    data: dict[str, Any] = {
        "username": text("username"),
        "display_name": text("display_name"),
        "role": text("role"),
        "division_code": text("division_code"),
        "password": str(form.get("password") or ""),
    }
    if data["role"] == Role.CONTRACTOR:
        data["contractor"] = {
            "uscc": text("contractor.uscc").upper(),
            "name": text("contractor.name"),
            "central_soe": text("contractor.central_soe") == "true",
        }
    shown = {**data, "password": ""}
    try:
        body = accounts_api.AccountCreate.model_validate(data)
    except ValidationError as exc:
        errors = FormErrors([dict(e) for e in format_errors(exc, accounts_api.AccountCreate)])
        return _page(request, actor, session, data=shown, errors=errors, status_code=422)
    claims = request.app.state.uscc_claims
    try:
        attempt(session, lambda: accounts_api.create(body, actor, session, settings, claims))
    except NodeError as exc:
        field = str(exc.extra.get("field") or "")
        errors = FormErrors(exc.extra.get("errors") or [{"field": field, "message": exc.detail}])
        return _page(
            request, actor, session, data=shown, errors=errors, status_code=exc.status_code
        )
    return RedirectResponse("/accounts?done=created", status_code=303)
