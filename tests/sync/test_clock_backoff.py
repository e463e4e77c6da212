"""Clock, RFC 3339 spelling, backoff and peer-down classification."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from sync.b64 import b64std_decode, b64url_decode, b64url_encode
from sync.backoff import counts_as_peer_down, next_delay_s
from sync.clock import Clock, FixedClock, SystemClock, format_rfc3339, parse_rfc3339


def test_fixed_clock() -> None:
    clock = FixedClock(datetime(2025, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))))
    assert isinstance(clock, Clock)
    assert clock.now() == datetime(2025, 1, 1, 0, tzinfo=UTC)
    clock.advance(90.5)
    assert clock.now() == datetime(2025, 1, 1, 0, 1, 30, 500000, tzinfo=UTC)
    with pytest.raises(ValueError):
        FixedClock(datetime(2025, 1, 1))
    assert SystemClock().now().tzinfo is not None


def test_rfc3339() -> None:
    dt = datetime(2025, 3, 1, 16, 0, 0, 999999, tzinfo=timezone(timedelta(hours=8)))
    assert format_rfc3339(dt) == "2025-03-01T08:00:00Z"
    assert parse_rfc3339("2025-03-01T08:00:00Z") == datetime(2025, 3, 1, 8, tzinfo=UTC)
    for bad in ("2025-03-01T08:00:00+00:00", "2025-03-01t08:00:00z", "2025-03-01T08:00Z", "x"):
        with pytest.raises(ValueError):
            parse_rfc3339(bad)


def test_b64_strictness() -> None:
    assert b64url_decode(b64url_encode(b"\xff\xfe")) == b"\xff\xfe"
    for bad in ("__8=", "_/8", "A", "__9"):  # padding, wrong alphabet, length, trailing bits
        with pytest.raises(ValueError):
            b64url_decode(bad)
    with pytest.raises(ValueError):
        b64std_decode("AAA")


def test_backoff_grows_and_caps() -> None:
    rng = random.Random(42)
    assert next_delay_s(0, rng) == 0.0
    for failures in range(1, 40):
        ceiling = min(3600.0, 2.0 ** (failures - 1))
        delays = [next_delay_s(failures, rng) for _ in range(50)]
        assert all(0.0 <= d <= ceiling for d in delays)
    big = [next_delay_s(10_000, rng) for _ in range(200)]
    assert max(big) <= 3600.0 and max(big) > 1800.0  # jitter spreads over the range
    assert next_delay_s(3, None, base_s=2.0, cap_s=5.0) <= 5.0


def test_peer_down_classification() -> None:
    for code in (500, 502, 503, 504, 401, 408, 429, 301):
        assert counts_as_peer_down(code, None), code
    for code in (200, 400, 403, 404, 409, 413, 422):
        assert not counts_as_peer_down(code, None), code
    request = httpx.Request("POST", "https://hub.example/sync/v1/messages")
    assert counts_as_peer_down(None, httpx.ConnectError("refused", request=request))
    assert counts_as_peer_down(None, httpx.ReadTimeout("slow", request=request))
    assert counts_as_peer_down(None, ConnectionResetError())
    assert counts_as_peer_down(None, TimeoutError())
    response = httpx.Response(503, request=request)
    assert counts_as_peer_down(None, httpx.HTTPStatusError("x", request=request, response=response))
    response = httpx.Response(422, request=request)
    assert not counts_as_peer_down(
        None, httpx.HTTPStatusError("x", request=request, response=response)
    )
    assert not counts_as_peer_down(None, ValueError("bad json"))
    assert not counts_as_peer_down(None, None)


@pytest.mark.parametrize(
    "text",
    [
        "2026-06-15T02:00:00Z",
        "2024-02-29T23:59:59Z",
        "2023-02-29T00:00:00Z",  # no such day
        "2026-13-01T00:00:00Z",
        "2026-06-15T24:00:00Z",
        "2026-06-15T02:00:60Z",  # leap second: refused
        "0000-01-01T00:00:00Z",
        "٢٠٢٦-06-15T02:00:00Z",  # other digits match the pattern, as before
    ],
)
def test_parse_rfc3339_agrees_with_strptime(text: str) -> None:
    try:
        expected: datetime | None = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC
        )
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            parse_rfc3339(text)
    else:
        assert parse_rfc3339(text) == expected
