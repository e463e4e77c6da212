"""The hub's log endpoints, as the witness uses them (public reads; a signed cosignature)."""

from __future__ import annotations

import json

import httpx

from node.sync.client import HubClient, HubError

__all__ = ["WitnessClient"]


class WitnessClient(HubClient):
    """:class:`HubClient` plus the log: checkpoint (text), consistency proof, cosignature."""

    def checkpoint(self) -> str:
        """``GET /api/v1/public/log/checkpoint``: the signed note text."""
        path = "/api/v1/public/log/checkpoint"
        try:
            response = self.http.get(self.hub_url + path, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise HubError(f"GET {path}: {type(exc).__name__}: {exc}", cause=exc) from exc
        if response.status_code != 200:
            raise HubError(
                f"GET {path}: HTTP {response.status_code} {response.text[:300]}",
                status_code=response.status_code,
            )
        return response.text

    def consistency(self, first: int, second: int) -> list[str]:
        """``GET /api/v1/public/log/consistency``: the proof's hashes (base64)."""
        answer = self._send(
            "GET",
            f"/api/v1/public/log/consistency?first={int(first)}&second={int(second)}",
            b"",
            sign_with=None,
        )
        hashes = answer.get("hashes")
        if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            raise HubError("consistency answer has no list of hashes")
        return hashes

    def cosign(self, size: int, line: str) -> None:
        """``POST /sync/v1/log/cosignatures``, signed with the node's key."""
        body = json.dumps({"size": size, "cosignature": line}).encode("utf-8")
        self._send("POST", "/sync/v1/log/cosignatures", body, sign_with=self._key())
