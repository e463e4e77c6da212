"""Errors on the bureau's pages are pages: the login form, the password page, or an
error page.

The hub renders its errors as JSON (``central/app.py``). On the bureau's pages
(``/national…``, ``/login``, ``/logout``, ``/password``) the same errors become
what a person can act on: without a session, the login form itself (still
401, so nothing that checks the status changes); with an initial or one-time
password, a redirect to ``/password``; anything else, an error page with the
error's status and its bilingual message. The API keeps its JSON answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response

from central.errors import HubError, NotAuthenticated
from schemas.display import ERROR_TITLES

BUREAU_PREFIXES = ("/national", "/login", "/logout", "/password")


def is_bureau_page(request: Request) -> bool:
    path = request.url.path
    return any(path == p or path.startswith(p + "/") for p in BUREAU_PREFIXES)


def _here(request: Request) -> str:
    if request.method != "GET":
        return "/national"
    target = request.url.path
    return target + ("?" + request.url.query if request.url.query else "")


def install_handlers(app: FastAPI) -> None:
    from central.web.templating import render

    json_hub_error: Any = app.exception_handlers[HubError]
    json_invalid: Any = app.exception_handlers[RequestValidationError]

    async def hub_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HubError)
        if not is_bureau_page(request):
            return await json_hub_error(request, exc)  # type: ignore[no-any-return]
        if isinstance(exc, NotAuthenticated):
            return render(
                request,
                "bureau/login.html",
                {"next": _here(request), "notice": exc.detail},
                status_code=401,
                headers={"Cache-Control": "no-store"},
            )
        if exc.code == "password_change_required":
            return RedirectResponse("/password", status_code=303)
        return render(
            request,
            "public/error.html",
            {"title": ERROR_TITLES.get(exc.status_code, "出错了 / Error"), "message": exc.detail},
            status_code=exc.status_code,
            headers={"Cache-Control": "no-store"},
        )

    async def invalid(request: Request, exc: Exception) -> Response:
        if not is_bureau_page(request):
            return await json_invalid(request, exc)  # type: ignore[no-any-return]
        return render(
            request,
            "public/error.html",
            {"title": "地址有误 / Bad address", "message": "页面地址不正确 / malformed address"},
            status_code=422,
        )

    app.add_exception_handler(HubError, hub_error)
    app.add_exception_handler(RequestValidationError, invalid)
