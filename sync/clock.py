"""Injected time, and the one wire format for instants.

Time decides key validity, request freshness, nonce expiry and backoff, so it
is always injected (a :class:`Clock`) and tests use :class:`FixedClock`
instead of sleeping.

On the wire an instant is RFC 3339 in UTC with a ``Z`` and whole seconds
(``2025-03-01T08:00:00Z``). One exact spelling matters because the string is
signed: two spellings of the same instant would be two different signatures.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = [
    "Clock",
    "FixedClock",
    "SystemClock",
    "format_rfc3339",
    "parse_rfc3339",
    "require_aware",
]

_RFC3339_Z = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")


@runtime_checkable
class Clock(Protocol):
    """Source of the current time."""

    def now(self) -> datetime:
        """The current instant as an aware UTC datetime."""
        ...


class SystemClock:
    """The real wall clock (UTC)."""

    def now(self) -> datetime:
        """The current instant as an aware UTC datetime."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to; for tests and replays."""

    def __init__(self, at: datetime) -> None:
        self._at = require_aware(at).astimezone(UTC)

    def now(self) -> datetime:
        """The instant this clock is set to."""
        return self._at

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, if negative) by ``seconds``."""
        self._at += timedelta(seconds=seconds)

    def set(self, at: datetime) -> None:
        """Jump to ``at``."""
        self._at = require_aware(at).astimezone(UTC)


def require_aware(dt: datetime) -> datetime:
    """Return ``dt`` if it carries a UTC offset, else raise ``ValueError``.

    A naive datetime is ambiguous (server local time? UTC?) and would silently
    shift key validity by hours, so it is refused everywhere in ``sync``.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("naive datetime refused: use an aware (UTC) datetime")
    return dt


def format_rfc3339(dt: datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, seconds).

    Sub-second parts are truncated (floored), never rounded, so a formatted
    time is never later than the instant it came from.
    """
    utc = require_aware(dt).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    """Parse the one accepted spelling, ``YYYY-MM-DDTHH:MM:SSZ``, to aware UTC.

    Other RFC 3339 spellings (offsets, fractions, lowercase) are refused with
    ``ValueError`` because the string is signed and must round-trip exactly.
    """
    if not isinstance(text, str) or not _RFC3339_Z.match(text):
        raise ValueError(f"not an RFC 3339 UTC time with seconds precision: {text!r}")
    # Fixed positions (the pattern matched); datetime() refuses impossible dates
    # and times as strptime would, several times faster.
    return datetime(
        int(text[0:4]),
        int(text[5:7]),
        int(text[8:10]),
        int(text[11:13]),
        int(text[14:16]),
        int(text[17:19]),
        tzinfo=UTC,
    )
