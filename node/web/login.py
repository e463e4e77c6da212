"""Log in, log out, change one's password: the pages' side of ``node/auth``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from node.access import ALL, Scope, public
from node.auth import service
from node.auth.endpoints import log_in_session, set_session_cookie
from node.auth.tokens import SESSION_COOKIE
from node.deps import ClockDep, SessionDep, SettingsDep
from node.errors import NodeError
from node.principal import Actor
from node.web.session import FormDep, attempt, page_allow
from node.web.templating import render

router = APIRouter(include_in_schema=False)

SelfPage = Annotated[
    Actor,
    page_allow(ALL, Scope.SELF, "one's own session and password", password_change_ok=True),
]


def home_of(actor: Actor) -> str:
    """Where an account lands after logging in."""
    return "/filings" if actor.is_contractor else "/review"


def _safe_next(value: object) -> str | None:
    # Only paths on this site: never "//host" or "https://…" (an open redirect).
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return None


@router.get("/", dependencies=[public("the front door: sends a visitor to log in or home")])
def front(request: Request) -> Response:
    target = "/home" if request.cookies.get(SESSION_COOKIE) else "/login"
    return RedirectResponse(target, status_code=303)


@router.get("/home")
def home(actor: SelfPage) -> Response:
    if actor.must_change_password:
        return RedirectResponse("/password", status_code=303)
    return RedirectResponse(home_of(actor), status_code=303)


@router.get("/login", dependencies=[public("the login page")])
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", {"next": _safe_next(request.query_params.get("next"))})


@router.post("/login", dependencies=[public("the login itself: user name and password")])
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    form: FormDep,
) -> Response:
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_path = _safe_next(form.get("next"))
    try:
        secret, user = attempt(
            session,
            lambda: log_in_session(request, session, settings, clock, username, password),
        )
    except NodeError as exc:
        return render(
            request,
            "login.html",
            {"next": next_path, "username": username, "error": exc.detail},
            status_code=exc.status_code,
        )
    if user.must_change_password:
        target = "/password"
    else:
        target = next_path or ("/filings" if user.contractor_id else "/review")
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, secret, settings)
    return response


@router.post("/logout")
def logout(actor: SelfPage, session: SessionDep) -> Response:
    service.logout(session, actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password")
def password_page(request: Request, actor: SelfPage) -> HTMLResponse:
    return render(request, "password.html", {"errors": []}, actor=actor)


@router.post("/password")
def change_password(
    request: Request, actor: SelfPage, session: SessionDep, form: FormDep
) -> Response:
    old = str(form.get("old_password") or "")
    new = str(form.get("new_password") or "")
    again = str(form.get("new_password_again") or "")
    if new != again:
        return render(
            request,
            "password.html",
            {"error": "两次输入的新密码不一致 / the two new passwords differ"},
            actor=actor,
            status_code=422,
        )
    try:
        attempt(session, lambda: service.change_password(session, actor, old, new))
    except NodeError as exc:
        return render(
            request,
            "password.html",
            {"error": exc.detail},
            actor=actor,
            status_code=exc.status_code,
        )
    return RedirectResponse(home_of(actor), status_code=303)
