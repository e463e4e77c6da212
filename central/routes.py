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
    from central.sync.endpoints import router as sync_router

    app.include_router(auth_router)
    app.include_router(accounts_router)
    app.include_router(audit_router)
    app.include_router(enrollment_router)
    app.include_router(sync_router)
    app.include_router(keys_router)
    app.include_router(operations_router)
    app.include_router(disclosure_router)
    app.include_router(disclosure_pages)

    from central.web import install as install_web

    install_web(app)
