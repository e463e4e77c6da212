"""The national hub's FastAPI application."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from central.config import CentralSettings, get_settings
from central.db import make_engine, session_factory
from central.errors import HubError
from sync.clock import Clock, SystemClock
from sync.errors import SyncError
from sync.keys import SigningKey

log = logging.getLogger("minefed.central")

API_DESCRIPTION = """
国家枢纽 API — the national hub of minefed (全国非煤矿山外包工程安全生产信息平台).

Provincial nodes enroll with a one-time token, push signed records
(`POST /sync/v1/messages`) and pull directives and relays
(`GET /sync/v1/inbox`), every request signed with the node's Ed25519 key
(docs/sync-protocol.md). The national bureau logs in with
`POST /api/v1/auth/token` (OAuth2 password flow; `Authorization: Bearer …`) or
`POST /api/v1/auth/session` (a cookie session for pages, with a CSRF token on
every unsafe request): it allocates province administrator accounts and
contractor quotas, resets passwords, disables and deletes accounts
(`/api/v1/accounts`, `/api/v1/quotas`, docs/accounts.md), and reads sync status
and quarantined messages under `/api/v1/sync/…`. Every route declares who may
call it (`x-access`). Every error is `{"error": "<stable code>",
"detail": "<中文> / <English>"}`.
"""


def _error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def install_error_handlers(app: FastAPI) -> None:
    from schemas.errors import format_error_list

    @app.exception_handler(HubError)
    async def hub_error(_: Request, exc: HubError) -> JSONResponse:
        return JSONResponse(
            _error_body(exc.code, exc.detail, **exc.extra), status_code=exc.status_code
        )

    @app.exception_handler(SyncError)
    async def sync_error(_: Request, exc: SyncError) -> JSONResponse:
        # A protocol refusal that escaped a service: the caller's input, never a 500.
        what = f": {exc.detail}" if exc.detail else ""
        return JSONResponse(
            _error_body(exc.code, f"{exc.message_zh} / {exc.message_en}{what}"), status_code=422
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


def _load_key(settings: CentralSettings) -> SigningKey | None:
    from central.keys.hub_key import load_signing_key

    try:
        return load_signing_key(settings.key_file)
    except FileNotFoundError:
        log.warning("no hub key at %s: run `minefed central keygen`", settings.key_file)
        return None


def create_app(
    settings: CentralSettings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    signing_key: SigningKey | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="minefed 国家枢纽 / national hub",
        version="0.1.0",
        description=API_DESCRIPTION,
        openapi_tags=[
            {"name": "auth", "description": "登录与会话 / login, tokens, sessions, hub users"},
            {"name": "accounts", "description": "账号管理 / the federation's account authority"},
            {"name": "audit", "description": "审计日志 / audit trail"},
            {"name": "sync", "description": "联邦同步 / the sync protocol (signed requests)"},
            {"name": "keys", "description": "密钥 / key rotation and the public key list"},
            {"name": "transparency", "description": "透明日志 / the verifiable log, proofs"},
            {"name": "operations", "description": "运维 / sync status, quarantine, metrics"},
            {"name": "health", "description": "运行状态 / liveness and readiness"},
        ],
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(
        settings.database_url, settings.db_pool_size, settings.db_max_overflow
    )
    app.state.session_factory = session_factory(app.state.engine)
    app.state.clock = clock or SystemClock()
    app.state.signing_key = signing_key or _load_key(settings)
    install_error_handlers(app)

    from central.routes import include_routes

    include_routes(app)

    from central.access import document_access, public

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
        summary="数据库与签名密钥可用 / readiness (database, hub key)",
        dependencies=[public("readiness probe")],
    )
    def readyz() -> JSONResponse:
        body = {"status": "ok", "database": "up", "hub_key": "present"}
        try:
            with app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready"; the reason is logged
            log.warning("readiness check failed: %s", exc)
            body.update(status="unavailable", database="down")
        if app.state.signing_key is None:
            body.update(status="unavailable", hub_key="missing")
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    document_access(app)
    from minefed.observability import ObservabilityMiddleware

    # Request ids, the access log line, request counts and latencies (docs/deployment.md).
    app.add_middleware(ObservabilityMiddleware, app_name="hub")
    return app
