"""Every router of the hub, in one place."""

from __future__ import annotations

from fastapi import FastAPI


def include_routes(app: FastAPI) -> None:
    from central.enrollment.endpoints import router as enrollment_router
    from central.keys.endpoints import router as keys_router
    from central.operations.endpoints import router as operations_router
    from central.sync.endpoints import router as sync_router

    app.include_router(enrollment_router)
    app.include_router(sync_router)
    app.include_router(keys_router)
    app.include_router(operations_router)
