"""Every router of the node, in one place."""

from __future__ import annotations

from fastapi import FastAPI


def include_routes(app: FastAPI) -> None:
    from node.accounts.endpoints import router as accounts_router
    from node.auth.endpoints import router as auth_router
    from node.filing.endpoints import router as filing_router
    from node.review.endpoints import router as review_router

    app.include_router(auth_router)
    app.include_router(filing_router)
    app.include_router(review_router)
    app.include_router(accounts_router)
