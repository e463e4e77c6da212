"""The clock validators read: ``now`` from the validation context, or the real time.

Rules such as "no accident in the future" depend on the time, so tests and
replays inject it: ``Model.model_validate(data, context={"now": dt})`` with an
aware ``datetime``. Dates are judged in China Standard Time (UTC+8, no daylight
saving since 1991), the only time zone the forms are filled in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from schemas.errors import rule_error

__all__ = ["CHINA_TZ", "now_from_context", "today_from_context"]

#: China Standard Time. A fixed offset rather than a tz database: it has not
#: changed since 1991 and keeps ``schemas`` free of tzdata.
CHINA_TZ = timezone(timedelta(hours=8), "CST")


def now_from_context(context: Any) -> datetime:
    """The injected ``context["now"]`` (aware), or ``datetime.now(UTC)``."""
    if isinstance(context, dict) and "now" in context:
        now = context["now"]
        if not isinstance(now, datetime) or now.tzinfo is None:
            raise rule_error(
                "clock_invalid",
                "校验上下文中的 now 必须是带时区的时间",
                "context 'now' must be an aware datetime",
            )
        return now
    return datetime.now(UTC)


def today_from_context(context: Any) -> date:
    """Today's date in China for the (possibly injected) clock."""
    return now_from_context(context).astimezone(CHINA_TZ).date()
