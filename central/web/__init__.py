"""The hub's web layer for server-rendered pages: the Jinja environment, the
stylesheet route, per-client rate limiting of public routes, and the national
bureau's pages (login, home, nodes and sync, accounts and quotas; docs/pages.md).

:func:`install` is called once from ``central/routes.py``.
"""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Register the rate-limit error page, the stylesheet route, the bureau's pages and
    their error pages."""
    from central.web.accounts import router as accounts_router
    from central.web.bureau import router as bureau_router
    from central.web.errors import install_handlers
    from central.web.login import router as login_router
    from central.web.ratelimit import install_handler
    from central.web.static import router

    install_handler(app)
    install_handlers(app)
    for page_router in (router, login_router, bureau_router, accounts_router):
        app.include_router(page_router)
