"""The hub's one error hierarchy, rendered by one handler as ``{"error", "detail"}``."""

from __future__ import annotations

from typing import Any

from sync.errors import SyncError


class HubError(Exception):
    """An expected failure with a stable code and a message in Chinese and English."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        zh: str,
        en: str,
        *,
        code: str | None = None,
        keep_changes: bool = False,
        **extra: Any,
    ) -> None:
        super().__init__(f"{zh} / {en}")
        self.detail = f"{zh} / {en}"
        if code:
            self.code = code
        # A refusal that must leave a trace (a failed login counted towards
        # lockout, say) asks the transaction owner to commit anyway.
        self.keep_changes = keep_changes
        self.extra = extra

    @classmethod
    def from_sync(cls, exc: SyncError) -> HubError:
        """A protocol refusal as this class, keeping the protocol's stable code."""
        what = f": {exc.detail}" if exc.detail else ""
        return cls(exc.message_zh, exc.message_en + what, code=exc.code)


class BadRequest(HubError):
    status_code = 400
    code = "bad_request"


class InvalidInput(HubError):
    status_code = 422
    code = "invalid_input"


class NotAuthenticated(HubError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(HubError):
    status_code = 403
    code = "forbidden"


class NotFound(HubError):
    status_code = 404
    code = "not_found"


class Conflict(HubError):
    status_code = 409
    code = "conflict"


class Gone(HubError):
    status_code = 410
    code = "gone"


class PayloadTooLarge(HubError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(HubError):
    status_code = 429
    code = "too_many_requests"


class BadGateway(HubError):
    status_code = 502
    code = "bad_gateway"


class Unavailable(HubError):
    status_code = 503
    code = "unavailable"
