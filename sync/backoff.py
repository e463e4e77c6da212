"""Retry timing for delivery to a peer (per destination, as Synapse's retryutils).

Exponential backoff with *full jitter* (delay drawn uniformly from
``[0, min(cap, base * 2**(failures-1))]``): after an outage thirty provinces
must not all retry the hub in the same second. The cap (an hour) bounds how
long a recovered peer waits to hear from us; the outbox table, not this
delay, guarantees nothing is lost.
"""

from __future__ import annotations

import random

import httpx

__all__ = ["DEFAULT_BASE_S", "DEFAULT_CAP_S", "counts_as_peer_down", "next_delay_s"]

DEFAULT_BASE_S = 1.0
DEFAULT_CAP_S = 3600.0

# Beyond this exponent the cap has long been reached; avoids huge floats.
_MAX_EXPONENT = 62

_system_random = random.SystemRandom()


def next_delay_s(
    failures: int,
    rng: random.Random | None = None,
    base_s: float = DEFAULT_BASE_S,
    cap_s: float = DEFAULT_CAP_S,
) -> float:
    """Seconds to wait before the next attempt after ``failures`` consecutive failures.

    ``0`` failures means no wait. Pass a seeded ``rng`` in tests.
    """
    if failures <= 0:
        return 0.0
    ceiling = min(cap_s, base_s * 2.0 ** min(failures - 1, _MAX_EXPONENT))
    return (rng if rng is not None else _system_random).uniform(0.0, ceiling)


def counts_as_peer_down(status_code: int | None, exc: Exception | None) -> bool:
    """Whether a failed attempt means "the peer is unavailable" (back off the whole queue).

    True for connection errors and timeouts, 5xx, 401 (our key is not, or no
    longer, accepted: every message would fail alike, usually until a registry
    directive or clock fix arrives), 408, 429 and unexpected 3xx (a
    misconfigured peer URL). False for other 4xx: those reject *this
    message* (kept with its reason for operators), and the queue moves on.
    Any other exception (a bug on our side, an unreadable answer) is not the
    peer being down either: False.
    """
    if exc is not None:
        if isinstance(exc, httpx.HTTPStatusError):
            return counts_as_peer_down(exc.response.status_code, None)
        return isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError | OSError)
    if status_code is None:
        return False
    if status_code >= 500 or status_code in (401, 408, 429):
        return True
    return 300 <= status_code < 400
