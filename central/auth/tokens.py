"""Opaque bearer tokens and page sessions: random, stored only as SHA-256, revocable.

A page session travels in an HttpOnly cookie; its CSRF token is an HMAC of the
session secret under ``MINEFED_CENTRAL_SECRET_KEY``, so the server keeps no
second secret and a page that cannot read the cookie cannot compute it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.responses import Response

    from central.config import CentralSettings

SESSION_COOKIE = "minefed_hub_session"
CSRF_HEADER = "X-CSRF-Token"
#: Methods that change nothing, so a cookie alone may authenticate them.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret_key: str, session_token: str) -> str:
    """The CSRF token bound to one page session (sent back in ``X-CSRF-Token``)."""
    return hmac.new(
        secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256
    ).hexdigest()


def csrf_matches(secret_key: str, session_token: str, sent: str | None) -> bool:
    if not sent:
        return False
    return hmac.compare_digest(sent.encode(), csrf_token(secret_key, session_token).encode())


def set_session_cookie(response: Response, secret: str, settings: CentralSettings) -> None:
    """The page session's cookie: HttpOnly, SameSite=Lax, Secure in production."""
    from central.config import Environment

    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=settings.environment == Environment.production,
        path="/",
    )
