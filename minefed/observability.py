"""What operators watch, shared by the node and the hub: HTTP request metrics,
request ids, and one-JSON-object-per-line logs.

- **Metrics.** :class:`ObservabilityMiddleware` counts requests and observes
  their latency by app, method, *route template* (``/api/v1/accidents/{record_id}``,
  never the raw path: no ids in labels) and status class (``2xx``…). The
  ``/metrics`` endpoints add them with :func:`add_http_metrics`. Under
  ``uvicorn --workers N`` each worker is its own process, so with
  ``PROMETHEUS_MULTIPROC_DIR`` set (prometheus_client's multiprocess mode) every
  worker writes its samples to files in that directory and a scrape of any worker
  sums them all. Without it, the counts are the scraped process's own.
- **Request ids.** ``X-Request-ID`` from the proxy is kept if it looks like one
  (letters, digits, ``.-_:``, at most 128), otherwise a new one is made; it is
  echoed in the response and put on every log line of the request.
- **Logs.** :func:`log_config` is the ``logging.config`` dictionary for the apps
  (given to uvicorn by ``minefed … serve``) and the Celery workers. With
  ``MINEFED_LOG_FORMAT=json`` (the default in production) each line is one JSON
  object: ``time`` (ISO 8601 UTC), ``level``, ``logger``, ``message``,
  ``request_id``; access lines add ``method``, ``route``, ``status`` and
  ``duration_ms``; errors add ``exception``. ``plain`` (the default elsewhere) is
  readable text. The access line replaces uvicorn's own, which would print the raw
  path and query string (a search by resident ID number would land in the log):
  ours names the route template only, never a path, query string or body.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

LOG_FORMAT_ENV = "MINEFED_LOG_FORMAT"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Settings read here rather than by an app's settings class (listed in both env examples).
SHARED_SETTINGS = (LOG_FORMAT_ENV, MULTIPROC_ENV)
LOG_FORMATS = ("json", "plain")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: The request id of the request being served (``None`` outside one).
request_id_var: ContextVar[str | None] = ContextVar("minefed_request_id", default=None)

ACCESS_LOGGER = "minefed.access"
access_log = logging.getLogger(ACCESS_LOGGER)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_LABELS = ("app", "method", "route", "status")
# Not in prometheus_client's global registry: the /metrics endpoints build their own.
REQUESTS = Counter(
    "minefed_http_requests",
    "HTTP requests served, by app, method, route template and status class",
    _LABELS,
    registry=None,
)
LATENCY = Histogram(
    "minefed_http_request_duration_seconds",
    "Time to serve an HTTP request, by app, method, route template and status class",
    _LABELS,
    registry=None,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
#: The route label of a request no route matched (a 404, a 405 on a path of none).
UNMATCHED = "<unmatched>"


def multiprocess_dir() -> Path | None:
    raw = os.environ.get(MULTIPROC_ENV, "").strip()
    return Path(raw) if raw else None


def add_http_metrics(registry: CollectorRegistry) -> None:
    """Register the HTTP request metrics in ``registry``: of every worker process
    (multiprocess mode), else of this one."""
    if multiprocess_dir() is not None:
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)


class _Snapshot(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def exposition(families: Iterable[Metric]) -> bytes:
    """The ``/metrics`` text: ``families`` (computed from the database for this
    scrape, the same whichever worker answers) and the HTTP request metrics.

    The app's own families are built as metric families, never as ``Gauge``
    objects: in multiprocess mode those would write per-process files the
    collector then reports a second time."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    add_http_metrics(registry)
    return generate_latest(registry)


def prepare_multiprocess_dir() -> None:
    """Before the workers start: the directory exists and holds no samples of a
    previous run (their counts would be added to this run's)."""
    directory = multiprocess_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else UNMATCHED


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _REQUEST_ID.match(text) else None
    return None


class ObservabilityMiddleware:
    """Request id, access log line and HTTP metrics for every HTTP request (pure ASGI,
    so streamed responses pass through untouched)."""

    def __init__(self, app: ASGIApp, *, app_name: str) -> None:
        self.app = app
        self.app_name = app_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            failed = True
            status = 500
            raise
        finally:
            duration_s = time.perf_counter() - started
            route = _route_of(scope)
            method = str(scope.get("method", ""))
            labels = (self.app_name, method, route, f"{status // 100}xx")
            REQUESTS.labels(*labels).inc()
            LATENCY.labels(*labels).observe(duration_s)
            access_log.log(
                logging.ERROR if failed else logging.INFO,
                "%s %s %s %.1fms",
                method,
                route,
                status,
                duration_s * 1000,
                exc_info=failed,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration_s * 1000, 1),
                },
            )
            request_id_var.reset(token)


# ---------------------------------------------------------------- logs

_ACCESS_FIELDS = ("method", "route", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            line["request_id"] = request_id
        for name in _ACCESS_FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """Readable lines for development, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = request_id_var.get()
        record.rid = f" [{request_id}]" if request_id else ""
        return super().format(record)


def log_format(environment: str) -> str:
    """``MINEFED_LOG_FORMAT`` if set (``json`` or ``plain``), else ``json`` in
    production and ``plain`` in development and tests."""
    chosen = os.environ.get(LOG_FORMAT_ENV, "").strip().lower()
    if not chosen:
        return "json" if environment == "production" else "plain"
    if chosen not in LOG_FORMATS:
        raise ValueError(
            f"{LOG_FORMAT_ENV}={chosen!r}: 日志格式须为 json 或 plain / must be json or plain"
        )
    return chosen


def log_config(fmt: str, level: str = "INFO") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` dictionary of an app or worker process:
    everything to stderr in ``fmt``; uvicorn's loggers through it, its access
    logger silenced (:class:`ObservabilityMiddleware` writes the access line)."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}")
    formatter = (
        {"()": "minefed.observability.JsonFormatter"}
        if fmt == "json"
        else {"()": "minefed.observability.PlainFormatter"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"minefed": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "minefed",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            "celery": {"handlers": [], "propagate": True, "level": level},
        },
    }


def configure_logging(environment: str, level: str = "INFO") -> None:
    """Apply :func:`log_config` in this process (the Celery workers and beat)."""
    import logging.config

    logging.config.dictConfig(log_config(log_format(environment), level))


def use_for_celery(environment: str) -> None:
    """Celery workers and beat log as the apps do: Celery skips its own logging setup
    when ``setup_logging`` has a receiver."""
    from celery.signals import setup_logging

    def configure(loglevel: Any = None, **_: Any) -> None:
        configure_logging(environment, loglevel or "INFO")

    setup_logging.connect(configure, weak=False)
