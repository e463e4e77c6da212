"""The bureau's page sessions: who is looking at a page, and page routes' access.

The pages use the hub's own page sessions (``POST /api/v1/auth/session``,
``central/auth``): an HttpOnly cookie whose secret is stored as SHA-256, and a
CSRF token that is an HMAC of it. An HTML form cannot send the
``X-CSRF-Token`` header, so page forms carry the same token in a hidden
``csrf_token`` field; :func:`page_principal` hands it to
``central.auth.service.authenticate`` (which checks it on every unsafe
method) exactly as ``central.deps.current_principal`` hands over the header.
Bearer tokens are not accepted by the pages: a page is a browser's, and a
browser has a cookie.

:func:`page_allow` is the pages' access declaration: the same ``Access`` and
the same checks as ``central.access.allow`` (so ``tests/test_route_access.py``
and ``x-access`` see it); ``central.web.errors`` turns its refusals into the
login page, the password page or a 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.datastructures import FormData

from central.access import Access, Scope, admitted, declare
from central.auth.tokens import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, csrf_token
from central.deps import ClockDep, SessionDep, SettingsDep, client_address
from central.errors import HubError
from central.principal import HubPrincipal

__all__ = ["FormDep", "attempt", "csrf_for", "page_allow", "page_principal"]

T = TypeVar("T")


async def read_form(request: Request) -> FormData:
    """The submitted form (empty for GET); starlette keeps it, so reading twice is free."""
    if request.method.upper() in SAFE_METHODS:
        return FormData()
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def page_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    form: FormDep,
) -> HubPrincipal:
    """The hub user of this page session (401 ``not_authenticated`` without one).

    Security: only the session cookie is read (``authorization`` is not passed
    on), and on an unsafe method the CSRF token must come with it, from the
    hidden ``csrf_token`` field or the ``X-CSRF-Token`` header.
    """
    from central.auth.service import authenticate

    field = form.get("csrf_token")
    sent = field if isinstance(field, str) else request.headers.get(CSRF_HEADER)
    return authenticate(
        session,
        authorization="",
        cookies=request.cookies,
        method=request.method,
        csrf=sent,
        secret_key=settings.secret_key,
        now=clock.now(),
        client_address=client_address(request),
    )


PagePrincipal = Annotated[HubPrincipal, Depends(page_principal)]


def page_allow(
    roles: frozenset[str],
    scope: Scope = Scope.NATIONAL,
    note: str = "",
    *,
    password_change_ok: bool = False,
) -> Any:
    """A page route's access declaration: hub users of ``roles`` with a page session."""
    access = Access(
        "users", frozenset(roles), scope, f"page: {note}" if note else "page", password_change_ok
    )

    def check(principal: PagePrincipal) -> HubPrincipal:
        return admitted(principal, access)

    return declare(check, access)


def csrf_for(request: Request) -> str | None:
    """The CSRF token of this request's page session (for hidden form fields)."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    return csrf_token(request.app.state.settings.secret_key, secret)


def attempt(session: Session, action: Callable[[], T]) -> T:
    """Run a service call inside a savepoint, so a refusal the page shows (and does
    not re-raise) leaves nothing half done, while a refusal that must leave a trace
    (``keep_changes``, e.g. a failed login) still does."""
    nested = session.begin_nested()
    try:
        result = action()
    except HubError as exc:
        if exc.keep_changes:
            nested.commit()
        else:
            nested.rollback()
        raise
    except BaseException:
        nested.rollback()
        raise
    nested.commit()
    return result
