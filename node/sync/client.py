"""The node's HTTP client for the hub's ``/sync/v1`` endpoints (docs/sync-protocol.md).

Every request but enrollment is signed with the node's key
(``sync.request_auth``). Failures become :class:`HubError`, which knows whether
it means "the hub is down" (back off the destination) or "the hub refused this"
(log it, keep going).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from sync.backoff import counts_as_peer_down
from sync.clock import Clock
from sync.keys import SigningKey
from sync.request_auth import sign_request

__all__ = ["HubClient", "HubError"]


class HubError(Exception):
    """A request to the hub failed: no answer, an error status, or an unreadable answer."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        cause: Exception | None = None,
        error_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.cause = cause
        self.error_code = error_code

    @property
    def peer_down(self) -> bool:
        """Whether to back off the whole destination (``sync.backoff.counts_as_peer_down``)."""
        return counts_as_peer_down(self.status_code, self.cause)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class HubClient:
    """Talks to one hub as one node. ``key`` may be ``None`` only for :meth:`enroll`."""

    def __init__(
        self,
        http: httpx.Client,
        hub_url: str,
        node_id: str,
        key: SigningKey | None,
        clock: Clock,
        timeout_s: float = 10.0,
    ) -> None:
        self.http = http
        self.hub_url = hub_url.rstrip("/")
        self.node_id = node_id
        self.key = key
        self.clock = clock
        self.timeout_s = timeout_s

    # ------------------------------------------------------------ endpoints

    def enroll(self, token: str, public_key_b64: str) -> dict[str, Any]:
        """``POST /sync/v1/enroll``: unsigned, the one-time token is the credential."""
        body = _dumps({"node_id": self.node_id, "token": token, "public_key": public_key_b64})
        return self._send("POST", "/sync/v1/enroll", body, sign_with=None)

    def post_messages(self, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """``POST /sync/v1/messages``; the answer holds the last applied seq per stream."""
        body = _dumps({"messages": list(messages)})
        return self._send("POST", "/sync/v1/messages", body, sign_with=self._key())

    def post_json_messages(
        self, messages: Sequence[str], *, new_connection: bool = False
    ) -> dict[str, Any]:
        """:meth:`post_messages` with each message already JSON text (``{"envelope",
        "disclosures"}`` as the outbox keeps it: ``sync.outbox.pending_json``).

        ``new_connection`` closes the connection after the answer, so the next
        request opens one that any of the hub's processes may take (for requests
        in flight together: see ``node.sync.service.push``).
        """
        body = ('{"messages":[' + ",".join(messages) + "]}").encode("utf-8")
        close = {"Connection": "close"} if new_connection else None
        return self._send("POST", "/sync/v1/messages", body, sign_with=self._key(), extra=close)

    def inbox(self, after: int, limit: int) -> dict[str, Any]:
        """``GET /sync/v1/inbox?after=N&limit=M``: directives and relays for this node."""
        return self._send(
            "GET", f"/sync/v1/inbox?after={int(after)}&limit={int(limit)}", b"", self._key()
        )

    def claim_uscc(self, claim: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /sync/v1/accounts/claim-uscc``: one contractor account per USCC nationally."""
        body = _dumps(dict(claim))
        return self._send("POST", "/sync/v1/accounts/claim-uscc", body, sign_with=self._key())

    def rotate(self, statement: Mapping[str, Any], old_key: SigningKey) -> dict[str, Any]:
        """``POST /sync/v1/keys/rotate``, signed with the old key the statement retires."""
        body = _dumps({"statement": dict(statement)})
        return self._send("POST", "/sync/v1/keys/rotate", body, sign_with=old_key)

    # ------------------------------------------------------------ plumbing

    def _key(self) -> SigningKey:
        if self.key is None:
            raise HubError("this node has no signing key: enroll it first")
        return self.key

    def _send(
        self,
        method: str,
        path: str,
        body: bytes,
        sign_with: SigningKey | None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json", **(extra or {})}
        if body:
            headers["Content-Type"] = "application/json"
        if sign_with is not None:
            headers.update(
                sign_request(method, path, body, self.node_id, sign_with, self.clock.now())
            )
        try:
            response = self.http.request(
                method,
                self.hub_url + path,
                content=body or None,
                headers=headers,
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise HubError(f"{method} {path}: {type(exc).__name__}: {exc}", cause=exc) from exc
        if response.status_code != 200:
            code, detail = _error_of(response)
            raise HubError(
                f"{method} {path}: HTTP {response.status_code} {code or ''} {detail}".strip(),
                status_code=response.status_code,
                error_code=code,
            )
        try:
            answer = response.json()
        except ValueError as exc:
            raise HubError(f"{method} {path}: answer is not JSON", cause=exc) from exc
        if not isinstance(answer, dict):
            raise HubError(f"{method} {path}: answer is not a JSON object")
        return answer


def _error_of(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:300]
    if isinstance(body, dict):
        code = body.get("error")
        return (str(code) if code else None), str(body.get("detail") or "")[:300]
    return None, str(body)[:300]
