"""The provincial node's FastAPI application."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from node.accounts.hub import UsccClaims
from node.attachments.storage import AttachmentStorage, FilesystemStorage
from node.config import NodeSettings, get_settings
from node.db import make_engine, session_factory
from node.errors import NodeError
from node.sync.publish import Publisher
from sync.clock import Clock, SystemClock

log = logging.getLogger("minefed.node")

API_DESCRIPTION = """
省级节点 API — the provincial node of minefed (全国非煤矿山外包工程安全生产信息平台).

Contractors (承包单位) file basic info, licences, project departments and
rewards/penalties; the province's regulators review them, enter accidents and
query their jurisdiction. Every error is `{"error": "<stable code>", "detail":
"<中文> / <English>"}`; payload errors add `errors: [{field, rule, message}]`.
Authenticate with `POST /api/v1/auth/token` (OAuth2 password flow) and send
`Authorization: Bearer <token>`, or, for pages, `POST /api/v1/auth/session`
(an HttpOnly cookie; every POST/PUT/PATCH/DELETE then carries the session's
`X-CSRF-Token`). Every route declares who may call it, over which
jurisdiction (`x-access`; docs/accounts.md).
"""


def _error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def install_error_handlers(app: FastAPI) -> None:
    from schemas.errors import format_error_list

    @app.exception_handler(NodeError)
    async def node_error(_: Request, exc: NodeError) -> JSONResponse:
        return JSONResponse(
            _error_body(exc.code, exc.detail, **exc.extra), status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_payload(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = format_error_list(exc.errors(), strip_location=True)
        fields = "、".join(e["field"] for e in errors[:5])
        return JSONResponse(
            _error_body(
                "invalid_input",
                f"提交的数据有误：{fields} / invalid input: {fields}",
                errors=errors,
            ),
            status_code=422,
        )


def create_app(
    settings: NodeSettings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    storage: AttachmentStorage | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="minefed 省级节点 / provincial node",
        version="0.1.0",
        description=API_DESCRIPTION,
        openapi_tags=[
            {"name": "auth", "description": "登录与令牌 / login and tokens"},
            {"name": "filing", "description": "承包单位填报 / contractor filing"},
            {"name": "attachments", "description": "附件 / scanned attachments"},
            {"name": "review", "description": "审核 / review by regulators"},
            {"name": "entry", "description": "监管录入：事故、奖惩 / accidents and rewards"},
            {"name": "queries", "description": "查询统计与导出 / queries, counts, exports"},
            {"name": "accounts", "description": "账号 / accounts"},
            {"name": "audit", "description": "审计日志 / audit trail"},
            {"name": "sync", "description": "联邦同步 / federation sync, quarantine, notices"},
            {"name": "health", "description": "运行状态 / liveness and readiness"},
        ],
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(
        settings.database_url, settings.db_pool_size, settings.db_max_overflow
    )
    app.state.session_factory = session_factory(app.state.engine)
    app.state.clock = clock or SystemClock()
    app.state.storage = storage or FilesystemStorage(settings.storage_dir)
    app.state.publisher = Publisher.from_settings(settings)  # signs what approvals publish
    # Asks the hub before a contractor account is created (one per USCC nationally).
    app.state.uscc_claims = UsccClaims(settings, app.state.clock)
    install_error_handlers(app)

    from node.routes import include_routes

    include_routes(app)

    from node.access import document_access, public

    @app.get(
        "/healthz",
        tags=["health"],
        summary="进程存活 / liveness",
        dependencies=[public("liveness probe")],
    )
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="数据库可用 / readiness (database)",
        dependencies=[public("readiness probe")],
    )
    def readyz() -> JSONResponse:
        try:
            with app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready"; the reason is logged
            log.warning("readiness check failed: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    document_access(app)
    from minefed.observability import ObservabilityMiddleware

    # Request ids, the access log line, request counts and latencies (docs/deployment.md).
    app.add_middleware(ObservabilityMiddleware, app_name="node")
    return app
