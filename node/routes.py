"""Every router of the node, in one place."""

from __future__ import annotations

from fastapi import FastAPI


def include_routes(app: FastAPI) -> None:
    from node.accounts.endpoints import router as accounts_router
    from node.attachments.endpoints import router as attachments_router
    from node.audit.endpoints import router as audit_router
    from node.auth.endpoints import router as auth_router
    from node.crossprov.endpoints import router as crossprov_router
    from node.entry.endpoints import router as entry_router
    from node.filing.endpoints import router as filing_router
    from node.hubqueries.endpoints import router as hubqueries_router
    from node.queries.endpoints import router as queries_router
    from node.review.endpoints import router as review_router
    from node.sync.endpoints import router as sync_router
    from node.witness.endpoints import router as witness_router

    app.include_router(auth_router)
    app.include_router(filing_router)
    app.include_router(review_router)
    app.include_router(entry_router)
    app.include_router(accounts_router)
    app.include_router(attachments_router)
    app.include_router(queries_router)
    app.include_router(audit_router)
    app.include_router(sync_router)
    app.include_router(hubqueries_router)
    app.include_router(crossprov_router)
    app.include_router(witness_router)

    from node.web import install as install_web

    install_web(app)
