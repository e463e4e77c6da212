"""The hub's web layer for server-rendered pages: the Jinja environment, the
stylesheet route and per-client rate limiting of public routes.

:func:`install` is called once from ``central/routes.py``.
"""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Register the rate-limit error page and the stylesheet route."""
    from central.web.ratelimit import install_handler
    from central.web.static import router

    install_handler(app)
    app.include_router(router)
