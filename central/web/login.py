"""Log in, log out, change one's password: the bureau pages' side of ``central/auth``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from central.access import BUREAU, Scope, public
from central.auth import service
from central.auth.passwords import MIN_LENGTH
from central.auth.tokens import SESSION_COOKIE, set_session_cookie
from central.deps import ClockDep, SessionDep, SettingsDep, client_address
from central.errors import HubError
from central.principal import HubPrincipal
from central.web.session import FormDep, attempt, page_allow
from central.web.templating import render

router = APIRouter(include_in_schema=False)

SelfPage = Annotated[
    HubPrincipal,
    page_allow(BUREAU, Scope.SELF, "one's own session and password", password_change_ok=True),
]

HOME = "/national"


def safe_next(value: object) -> str | None:
    # Only paths on this site: never "//host" or "https://…" (an open redirect).
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return None


@router.get("/login", dependencies=[public("the bureau's login page")])
def login_page(request: Request) -> HTMLResponse:
    return render(
        request, "bureau/login.html", {"next": safe_next(request.query_params.get("next"))}
    )


@router.post("/login", dependencies=[public("the login itself: user name and password")])
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    form: FormDep,
) -> Response:
    """Opens a page session exactly as ``POST /api/v1/auth/session`` does (same
    lockout, throttling and audit); a refusal is shown on the form."""
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_path = safe_next(form.get("next"))
    try:
        secret, user = attempt(
            session,
            lambda: service.login(
                session,
                username,
                password,
                now=clock.now(),
                client=client_address(request),
                ttl_s=settings.session_ttl_s,
                kind=service.SESSION,
            ),
        )
    except HubError as exc:
        return render(
            request,
            "bureau/login.html",
            {"next": next_path, "username": username, "error": exc.detail},
            status_code=exc.status_code,
            headers={"Cache-Control": "no-store"},
        )
    target = "/password" if user.must_change_password else (next_path or HOME)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, secret, settings)
    return response


@router.post("/logout")
def logout(principal: SelfPage, session: SessionDep) -> Response:
    service.logout(session, principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password")
def password_page(request: Request, principal: SelfPage) -> HTMLResponse:
    return render(request, "bureau/password.html", {"min_length": MIN_LENGTH}, principal=principal)


@router.post("/password")
def change_password(
    request: Request, principal: SelfPage, session: SessionDep, form: FormDep
) -> Response:
    old = str(form.get("old_password") or "")
    new = str(form.get("new_password") or "")
    again = str(form.get("new_password_again") or "")
    if new != again:
        return render(
            request,
            "bureau/password.html",
            {
                "error": "两次输入的新密码不一致 / new_password_again: the two new passwords differ",
                "min_length": MIN_LENGTH,
            },
            principal=principal,
            status_code=422,
        )
    try:
        attempt(session, lambda: service.change_password(session, principal, old, new))
    except HubError as exc:
        return render(
            request,
            "bureau/password.html",
            {"error": exc.detail, "min_length": MIN_LENGTH},
            principal=principal,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"{HOME}?done=password", status_code=303)
