"""Errors on pages are pages: a login redirect, a password redirect, or an error page.

The node renders its errors as JSON (``node/app.py``). For a path outside the
API (``/api/``, ``/sync/``) the same errors become what a person can act on;
the API keeps its JSON answers untouched.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response

from node.errors import NodeError
from schemas.display import ERROR_TITLES

_MACHINE_PREFIXES = ("/api/", "/sync/", "/healthz", "/readyz", "/metrics", "/static/")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(_MACHINE_PREFIXES)


def install_handlers(app: FastAPI) -> None:
    from node.web.session import LoginRequired, PasswordChangeRequired
    from node.web.templating import render

    json_node_error: Any = app.exception_handlers[NodeError]
    json_invalid: Any = app.exception_handlers[RequestValidationError]

    async def node_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NodeError)
        if not is_page(request):
            return await json_node_error(request, exc)  # type: ignore[no-any-return]
        if isinstance(exc, LoginRequired):
            target = request.url.path
            if request.url.query:
                target += "?" + request.url.query
            next_path = target if request.method == "GET" else "/home"
            return RedirectResponse(f"/login?next={quote(next_path)}", status_code=303)
        if isinstance(exc, PasswordChangeRequired):
            return RedirectResponse("/password", status_code=303)
        return render(
            request,
            "error.html",
            {"title": ERROR_TITLES.get(exc.status_code, "出错了 / Error"), "message": exc.detail},
            status_code=exc.status_code,
        )

    async def invalid(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await json_invalid(request, exc)  # type: ignore[no-any-return]
        return render(
            request,
            "error.html",
            {"title": "地址有误 / Bad address", "message": "页面地址不正确 / malformed address"},
            status_code=404,
        )

    app.add_exception_handler(NodeError, node_error)
    app.add_exception_handler(RequestValidationError, invalid)
