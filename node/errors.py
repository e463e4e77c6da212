"""The node's one error hierarchy, rendered by one handler as ``{"error", "detail"}``."""

from __future__ import annotations

from typing import Any


class NodeError(Exception):
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
        self.keep_changes = keep_changes
        self.extra = extra


class InvalidInput(NodeError):
    status_code = 422
    code = "invalid_input"


class NotAuthenticated(NodeError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(NodeError):
    status_code = 403
    code = "forbidden"


class NotFound(NodeError):
    status_code = 404
    code = "not_found"


class Conflict(NodeError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(NodeError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(NodeError):
    status_code = 415
    code = "unsupported_media_type"


class TooManyRequests(NodeError):
    status_code = 429
    code = "too_many_requests"


class Unavailable(NodeError):
    status_code = 503
    code = "unavailable"
