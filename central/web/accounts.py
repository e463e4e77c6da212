"""The bureau's accounts-and-quotas page: hub users, the provincial accounts the hub
allocates, and each province's contractor-account quota.

Thin routes over ``central.accounts.service`` and ``central.auth.service``, with
the API's own request models (``ProvinceAdminCreate``, ``QuotaIn``,
``HubUserCreate``) validating the forms, so a page refuses exactly what the
API refuses, in the same words. Roles as the API: staff read provincial
accounts and quotas; administrators act, and only they see the hub's users.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from central.access import ADMIN, BUREAU, Scope
from central.accounts import service as accounts
from central.accounts.endpoints import SignerDep
from central.accounts.schemas import ProvinceAdminCreate, QuotaIn
from central.auth import service as auth
from central.auth.endpoints import HubUserCreate
from central.deps import SessionDep, SettingsDep
from central.errors import HubError
from central.principal import HubPrincipal
from central.web.session import FormDep, attempt, page_allow
from central.web.templating import render
from schemas.errors import format_error_list

router = APIRouter(include_in_schema=False)

BureauPage = Annotated[
    HubPrincipal, page_allow(BUREAU, Scope.NATIONAL, "every province's accounts and quotas")
]
AdminPage = Annotated[
    HubPrincipal, page_allow(ADMIN, Scope.NATIONAL, "the bureau decides on accounts and quotas")
]

StateAction = Annotated[str, Path(pattern=r"^(disable|enable)$")]
PAGE_SIZE = 50
ACCOUNT_STATUSES = (
    ("pending", "待节点确认"),
    ("active", "正常"),
    ("disabled", "已停用"),
    ("deleted", "已删除"),
)
NOTICES = {
    "quota": "配额已修改，并已下发到该省节点 / quota changed and sent to the node",
    "disabled": "已停用，指令已下发 / disabled (directive sent)",
    "enabled": "已启用，指令已下发 / enabled (directive sent)",
    "hub_disabled": "国家中心账号已停用 / hub user disabled",
    "hub_enabled": "国家中心账号已启用 / hub user enabled",
}


class Filters(BaseModel):
    q: str | None = None
    province_code: str | None = None
    status: str | None = None
    page: int = 1


def validated(model: type[BaseModel], data: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """``(model instance, {})`` or ``(None, {field: "<中文> / <English>"})``."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors = format_error_list(exc.errors(include_url=False), model)
        return None, {e["field"]: e["message"] for e in errors}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def accounts_page(
    request: Request,
    principal: HubPrincipal,
    session: Any,
    filters: Filters | None = None,
    *,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """The page, with whatever a form handler adds: ``errors`` (by form and field),
    ``values`` (what was typed), ``code`` (a one-time code, shown once), ``notice``,
    ``error``."""
    filters = filters or Filters()
    rows, total = accounts.search(
        session,
        q=filters.q,
        province_code=filters.province_code,
        role=None,
        status=filters.status,
        uscc=None,
        conflict=None,
        offset=(filters.page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    is_admin = principal.role in ADMIN
    context: dict[str, Any] = {
        "filters": filters,
        "accounts": rows,
        "total": total,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "quotas": accounts.quotas(session),
        "hub_users": auth.list_users(session) if is_admin else None,
        "statuses": ACCOUNT_STATUSES,
        "can_act": is_admin,
        "errors": {},
        "values": {},
        **extra,
    }
    return render(
        request, "bureau/accounts.html", context, principal=principal, status_code=status_code
    )


def _refused(
    request: Request,
    principal: HubPrincipal,
    session: Any,
    form_name: str,
    *,
    exc: HubError | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page again, saying why ``form_name`` was refused: the form's validation
    ``errors`` (422), or the service's refusal ``exc`` (next to its field, if it names
    one, and at the top), with what was typed (``values``)."""
    status_code, error = 422, None
    if exc is not None:
        status_code, error = exc.status_code, exc.detail
        field = exc.extra.get("field")
        errors = {field: exc.detail} if isinstance(field, str) else {}
    return accounts_page(
        request,
        principal,
        session,
        status_code=status_code,
        error=error,
        errors={form_name: errors or {}},
        values={form_name: values or {}},
    )


def _code_shown(
    request: Request,
    principal: HubPrincipal,
    session: Any,
    username: str,
    code: str,
    expires_at: datetime,
    status_code: int = 200,
) -> HTMLResponse:
    """The page with a one-time code, shown on this answer only."""
    return accounts_page(
        request,
        principal,
        session,
        status_code=status_code,
        code={"username": username, "code": code, "expires_at": expires_at},
    )


@router.get("/national/accounts")
def page(
    request: Request,
    principal: BureauPage,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=64)] = None,
    province_code: Annotated[str | None, Query(pattern=r"^(\d{2}0000)?$")] = None,
    status: Annotated[str | None, Query(pattern=r"^(pending|active|disabled|deleted)?$")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    filters = Filters(
        q=q or None, province_code=province_code or None, status=status or None, page=page
    )
    return accounts_page(request, principal, session, filters, notice=NOTICES.get(done or ""))


# ---------------------------------------------------------------- quotas


@router.post("/national/accounts/quotas/{province_code}")
def change_quota(
    request: Request,
    province_code: str,
    principal: AdminPage,
    session: SessionDep,
    sign: SignerDep,
    form: FormDep,
) -> Response:
    """As ``PUT /api/v1/quotas/{province_code}``: a ``directive.quota`` to the node."""
    typed = _text(form, "contractor_accounts")
    body, errors = validated(QuotaIn, {"contractor_accounts": typed})
    form_name = f"quota-{province_code}"
    if body is None:
        return _refused(
            request,
            principal,
            session,
            form_name,
            errors=errors,
            values={"contractor_accounts": typed},
        )
    try:
        attempt(
            session,
            lambda: accounts.set_quota(
                session,
                principal,
                sign,
                province_code=province_code,
                contractor_accounts=body.contractor_accounts,
            ),
        )
    except HubError as exc:
        return _refused(request, principal, session, form_name, exc=exc)
    return RedirectResponse("/national/accounts?done=quota#quotas", status_code=303)


# ---------------------------------------------------------------- provincial accounts


@router.post("/national/accounts/province-admins")
def create_province_admin(
    request: Request,
    principal: AdminPage,
    session: SessionDep,
    settings: SettingsDep,
    sign: SignerDep,
    form: FormDep,
) -> Response:
    """As ``POST /api/v1/accounts``; the one-time code is shown on this answer only."""
    values = {k: _text(form, k) for k in ("province_code", "username", "display_name")}
    body, errors = validated(ProvinceAdminCreate, values)
    if body is None:
        return _refused(request, principal, session, "admin", errors=errors, values=values)
    try:
        account, code = attempt(
            session,
            lambda: accounts.create_province_admin(
                session,
                principal,
                sign,
                province_code=body.province_code,
                username=body.username,
                display_name=body.display_name,
                code_ttl_s=settings.one_time_code_ttl_s,
            ),
        )
    except HubError as exc:
        return _refused(request, principal, session, "admin", exc=exc, values=values)
    return _code_shown(
        request, principal, session, account.username, code.code, code.expires_at, 201
    )


@router.post("/national/accounts/{account_id}/password-reset")
def reset_account_password(
    request: Request,
    account_id: uuid.UUID,
    principal: AdminPage,
    session: SessionDep,
    settings: SettingsDep,
    sign: SignerDep,
) -> Response:
    """As ``POST /api/v1/accounts/{id}/password-reset``."""
    try:
        account, code = attempt(
            session,
            lambda: accounts.reset_password(
                session, principal, sign, account_id, code_ttl_s=settings.one_time_code_ttl_s
            ),
        )
    except HubError as exc:
        return _refused(request, principal, session, "account", exc=exc)
    return _code_shown(request, principal, session, account.username, code.code, code.expires_at)


@router.post("/national/accounts/{account_id}/{what}")
def change_account_state(
    request: Request,
    account_id: uuid.UUID,
    what: StateAction,
    principal: AdminPage,
    session: SessionDep,
    sign: SignerDep,
    form: FormDep,
) -> Response:
    """As ``POST /api/v1/accounts/{id}/disable`` and ``…/enable``, with the reason."""
    reason = _text(form, "reason")[:500] or None
    try:
        attempt(
            session,
            lambda: accounts.change_state(session, principal, sign, account_id, what, reason),
        )
    except HubError as exc:
        return _refused(request, principal, session, "account", exc=exc)
    return RedirectResponse(f"/national/accounts?done={what}d#accounts", status_code=303)


# ---------------------------------------------------------------- the hub's own users


@router.post("/national/accounts/hub-users")
def create_hub_user(
    request: Request, principal: AdminPage, session: SessionDep, form: FormDep
) -> Response:
    """As ``POST /api/v1/hub-users``: the user must change the initial password."""
    values = {k: _text(form, k) for k in ("username", "display_name", "role")}
    password = form.get("password")
    body, errors = validated(
        HubUserCreate, {**values, "password": password if isinstance(password, str) else ""}
    )
    if body is None:
        return _refused(request, principal, session, "hub_user", errors=errors, values=values)
    try:
        attempt(
            session,
            lambda: auth.create_user(
                session,
                principal.actor,
                username=body.username,
                display_name=body.display_name,
                role=body.role,
                password=body.password,
                now=principal.now,
            ),
        )
    except HubError as exc:
        return _refused(request, principal, session, "hub_user", exc=exc, values=values)
    return accounts_page(
        request,
        principal,
        session,
        status_code=201,
        notice=f"已创建国家中心账号 {body.username}，首次登录须修改初始密码"
        f" / hub user {body.username} created; the initial password must be changed",
    )


@router.post("/national/hub-users/{user_id}/password-reset")
def reset_hub_user(
    request: Request,
    user_id: uuid.UUID,
    principal: AdminPage,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """As ``POST /api/v1/hub-users/{id}/password-reset``."""
    try:
        user, code, expires = attempt(
            session,
            lambda: auth.reset_password(session, principal, user_id, settings.one_time_code_ttl_s),
        )
    except HubError as exc:
        return _refused(request, principal, session, "hub_user", exc=exc)
    return _code_shown(request, principal, session, user.username, code, expires)


@router.post("/national/hub-users/{user_id}/{what}")
def change_hub_user(
    request: Request,
    user_id: uuid.UUID,
    what: StateAction,
    principal: AdminPage,
    session: SessionDep,
) -> Response:
    """As ``POST /api/v1/hub-users/{id}/disable`` and ``…/enable`` (never oneself)."""
    try:
        attempt(session, lambda: auth.set_active(session, principal, user_id, what == "enable"))
    except HubError as exc:
        return _refused(request, principal, session, "hub_user", exc=exc)
    return RedirectResponse(f"/national/accounts?done=hub_{what}d#hub-users", status_code=303)
