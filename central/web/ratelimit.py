"""Per-client rate limiting of the public routes (token buckets, in process memory).

Each client address (``central.deps.client_address``: X-Forwarded-For only from
a trusted proxy) has a bucket per limit: ``public`` (every public page and API
call: ``public_rate_per_minute`` sustained, ``public_rate_burst`` at once) and
``export`` (open-data downloads: ``public_export_per_hour``). Over the limit the
client gets 429 with ``Retry-After`` (whole seconds) and a bilingual message,
as JSON under ``/api/`` and as a page elsewhere.

The buckets live in each API process, so N uvicorn workers allow up to N times
the rate: the reverse proxy should limit too (deploy/national). Memory is
bounded: the least recently seen clients are forgotten first.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from central.deps import client_address
from central.errors import HubError

#: Clients remembered per limit and process (about 100 bytes each).
MAX_CLIENTS = 100_000


class RateLimited(HubError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"访问过于频繁，请 {retry_after_s} 秒后再试",
            f"too many requests: try again in {retry_after_s} s",
            retry_after_s=retry_after_s,
        )
        self.retry_after_s = retry_after_s


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate_per_s``; one request takes one token."""

    def __init__(self, rate_per_s: float, capacity: int, max_clients: int = MAX_CLIENTS) -> None:
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, now_s: float) -> int | None:
        """``None`` if ``client`` may go on, else the seconds until it may."""
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.capacity), now_s))
            tokens = min(self.capacity, tokens + max(0.0, now_s - last) * self.rate_per_s)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[client] = (tokens, now_s)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        if allowed:
            return None
        return max(1, math.ceil((1.0 - tokens) / self.rate_per_s))


def _buckets(request: Request) -> dict[str, TokenBucket | None]:
    state = request.app.state
    buckets: dict[str, TokenBucket | None] | None = getattr(state, "public_rate_buckets", None)
    if buckets is None:
        settings = state.settings
        per_minute = settings.public_rate_per_minute
        per_hour = settings.public_export_per_hour
        buckets = {
            "public": TokenBucket(per_minute / 60, settings.public_rate_burst)
            if per_minute
            else None,
            # A burst of ten minutes' worth (at least 10, at most the hourly number).
            "export": TokenBucket(per_hour / 3600, max(1, min(per_hour, max(10, per_hour // 6))))
            if per_hour
            else None,
        }
        state.public_rate_buckets = buckets
    return buckets


def rate_limited(*limits: str) -> Any:
    """A dependency charging one request to each named limit of the calling client."""

    def check(request: Request) -> None:
        buckets = _buckets(request)
        client = client_address(request) or "unknown"
        now_s = request.app.state.clock.now().timestamp()
        for name in limits:
            bucket = buckets[name]
            if bucket is None:
                continue
            wait = bucket.take(client, now_s)
            if wait is not None:
                raise RateLimited(wait)

    check.__name__ = f"rate_limited_{'_'.join(limits)}"
    return Depends(check)


PUBLIC: Any = rate_limited("public")
EXPORT: Any = rate_limited("public", "export")


def install_handler(app: FastAPI) -> None:
    """429 as JSON for the API, as a page for people; always with ``Retry-After``."""

    async def too_many(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RateLimited)
        headers = {"Retry-After": str(exc.retry_after_s)}
        if request.url.path.startswith("/api/"):
            body = {"error": exc.code, "detail": exc.detail, "retry_after_s": exc.retry_after_s}
            return JSONResponse(body, status_code=429, headers=headers)
        from central.web.templating import render

        return render(
            request,
            "public/error.html",
            {"title": "访问过于频繁 / Too many requests", "message": exc.detail},
            status_code=429,
            headers=headers,
        )

    handler: Callable[..., Any] = too_many
    app.add_exception_handler(RateLimited, handler)
