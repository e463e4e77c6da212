"""Page sessions: who is looking at a page, and the access declaration of page routes.

The pages use the node's page sessions (``POST /api/v1/auth/session`` semantics,
docs/accounts.md): an HttpOnly cookie whose secret is stored as SHA-256, and a
CSRF token that is an HMAC of it. An HTML form cannot send the
``X-CSRF-Token`` header, so page forms carry the same token in a hidden
``csrf_token`` field; :func:`page_actor` checks it (or the header) on every
unsafe method. Bearer tokens are not accepted by the pages: a page is a
browser's, and a browser has a cookie.

:func:`page_actor` resolves the session with the API's own check
(``node.deps.credential_actor``), and :func:`page_allow`, the pages' access
declaration, is ``node.access.allow`` (so ``tests/test_route_access.py`` and
``x-access`` see it) with that actor and the pages' refusals: an anonymous
visitor is sent to the login page, an account with an initial or one-time
password to the password page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.datastructures import FormData

from node.access import Scope, allow
from node.auth.tokens import CSRF_HEADER, SAFE_METHODS, SESSION, SESSION_COOKIE, csrf_token
from node.deps import ClockDep, SessionDep, SettingsDep, credential_actor
from node.errors import Forbidden, NodeError, NotAuthenticated
from node.principal import Actor

__all__ = [
    "FormDep",
    "LoginRequired",
    "PasswordChangeRequired",
    "attempt",
    "csrf_for",
    "page_actor",
    "page_allow",
]

T = TypeVar("T")


class LoginRequired(NotAuthenticated):
    """No (valid) page session: the page handler redirects to ``/login?next=…``."""


class PasswordChangeRequired(Forbidden):
    """An initial or one-time password: the page handler redirects to ``/password``."""


async def read_form(request: Request) -> FormData:
    """The submitted form (empty for GET); starlette keeps it, so reading twice is free."""
    if request.method.upper() in SAFE_METHODS:
        return FormData()
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def _csrf_refused() -> Forbidden:
    return Forbidden(
        "页面已过期（CSRF 校验失败），请刷新后重试",
        "missing or wrong CSRF token: reload the page and try again",
        code="csrf_failed",
    )


def page_actor(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    form: FormDep,
) -> Actor:
    """The account of this page session, or :class:`LoginRequired`.

    Security: only a ``session`` credential from the cookie is accepted; on an
    unsafe method the CSRF token must come with it (hidden form field
    ``csrf_token`` or the ``X-CSRF-Token`` header), checked as for the API
    (:func:`node.deps.credential_actor`).
    """
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise LoginRequired("请先登录", "log in first", code="not_authenticated")
    field = form.get("csrf_token")
    sent = field if isinstance(field, str) else request.headers.get(CSRF_HEADER)
    return credential_actor(
        request,
        session,
        settings,
        clock.now(),
        (secret, SESSION),
        sent,
        unauthenticated=LoginRequired,
        csrf_refused=_csrf_refused,
    )


def _role_refused(actor: Actor, allowed: frozenset[str]) -> NodeError:
    return Forbidden(
        "当前账号无权访问此页面",
        f"role {actor.role} may not open this page",
        code="role_not_allowed",
    )


def _password_refused() -> NodeError:
    return PasswordChangeRequired(
        "请先修改初始密码或一次性密码", "set a new password first", code="password_change_required"
    )


def page_allow(
    roles: frozenset[str],
    scope: Scope,
    note: str = "",
    *,
    password_change_ok: bool = False,
) -> Any:
    """A page route's access declaration: logged-in (page session) ``roles`` only."""
    return allow(
        roles,
        scope,
        f"page: {note}" if note else "page",
        password_change_ok=password_change_ok,
        actor=page_actor,
        role_refused=_role_refused,
        password_refused=_password_refused,
    )


def csrf_for(request: Request) -> str | None:
    """The CSRF token of this request's page session (for hidden form fields)."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        # Just logged in: the cookie is only in the response being built.
        secret = getattr(request.state, "new_session_secret", None)
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
    except NodeError as exc:
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
