"""Every router of the hub, in one place."""

from __future__ import annotations

from fastapi import FastAPI


def include_routes(app: FastAPI) -> None:
    from central.accounts.endpoints import router as accounts_router
    from central.audit.endpoints import router as audit_router
    from central.auth.endpoints import router as auth_router
    from central.disclosure.endpoints import pages as disclosure_pages
    from central.disclosure.endpoints import router as disclosure_router
    from central.enrollment.endpoints import router as enrollment_router
    from central.keys.endpoints import router as keys_router
    from central.operations.endpoints import router as operations_router
    from central.queries.endpoints import pages as queries_pages
    from central.queries.endpoints import router as queries_router
    from central.statistics.endpoints import router as statistics_router
    from central.sync.endpoints import router as sync_router
    from central.transparency.endpoints import router as transparency_router

    # Routers are matched in order, one after another: the public site, by far the
    # most requested, comes first (no path of the others overlaps its paths).
    app.include_router(disclosure_router)
    app.include_router(disclosure_pages)
    app.include_router(auth_router)
    app.include_router(accounts_router)
    app.include_router(audit_router)
    app.include_router(enrollment_router)
    app.include_router(sync_router)
    app.include_router(keys_router)
    app.include_router(operations_router)
    app.include_router(queries_router)
    app.include_router(queries_pages)
    app.include_router(statistics_router)
    app.include_router(transparency_router)

    from central.web import install as install_web

    install_web(app)
