"""The provincial node's pages: server-rendered, in Chinese, for phones and PCs.

Thin routes over the existing services (``node/filing``, ``node/review`` …);
no page holds business logic of its own. :func:`install` is called once from
``node/routes.py``. docs/pages.md describes the pages and their access.
"""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Register the page routers, the stylesheet route and the pages' error pages."""
    from node.web.accounts import router as accounts_router
    from node.web.attachments import router as attachments_router
    from node.web.contractor import router as contractor_router
    from node.web.entry import router as entry_router
    from node.web.errors import install_handlers
    from node.web.login import router as login_router
    from node.web.queries import router as queries_router
    from node.web.review import router as review_router
    from node.web.static import router as static_router

    install_handlers(app)
    for router in (
        static_router,
        login_router,
        contractor_router,
        attachments_router,
        review_router,
        entry_router,
        queries_router,
        accounts_router,
    ):
        app.include_router(router)
