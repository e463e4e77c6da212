"""A stand-in for the hub's ``/sync/v1`` endpoints, for the node's unit tests only.

Built with the ``sync`` library to the wire contract (docs/sync-protocol.md):
it checks request signatures and nonces, verifies envelopes, applies seq rules
per stream (ignore ≤ last, stop at a gap, answer the last applied seq), serves
an inbox of hub-signed directives and relays, and can be told to fail. The
real hub (``central/``) is exercised by the federation tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from sync.clock import Clock
from sync.envelope import Envelope, seal, verify_envelope
from sync.errors import SyncError
from sync.keys import KeyRecord, Keyring, SigningKey, VerifyKey, verify_rotation_statement
from sync.request_auth import MemoryNonceStore, verify_request

HUB = "hub"


@dataclass
class Received:
    envelope: Envelope
    disclosures: list[dict[str, Any]]


@dataclass
class FakeHub:
    key: SigningKey
    clock: Clock
    keyring: Keyring = field(default_factory=Keyring)
    cursors: dict[str, int] = field(default_factory=dict)
    applied: list[Received] = field(default_factory=list)
    duplicates: int = 0
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    inbox: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    # Scripted failures, consumed one per request: a status code, or an exception to raise.
    failures: list[int | Exception] = field(default_factory=list)
    # Apply the next POST /messages, then lose the answer (raise this instead).
    lose_next_answer: Exception | None = None
    out_seq: dict[str, int] = field(default_factory=dict)
    enroll_tokens: set[str] = field(default_factory=set)
    answer_key: SigningKey | None = None  # a key to show at enrollment instead of ours
    on_enroll: Callable[[str, str], None] | None = None

    def __post_init__(self) -> None:
        self.nonces = MemoryNonceStore(self.clock)

    # ------------------------------------------------------------ set-up helpers

    def register(self, owner: str, key: SigningKey, valid_from: datetime) -> KeyRecord:
        record = KeyRecord(
            owner=owner, key_id=key.key_id, public_key=key.public(), valid_from=valid_from
        )
        self.keyring.add(record)
        return record

    def directive(
        self,
        to: str,
        name: str,
        payload: dict[str, Any],
        key: SigningKey | None = None,
        key_id: str | None = None,
    ) -> dict[str, Any]:
        """Queue a hub-signed ``directive.<name>`` for ``to``; returns the inbox item."""
        seq = self.out_seq.get(to, 0) + 1
        self.out_seq[to] = seq
        envelope = seal(
            f"directive.{name}", HUB, seq, to, payload, key or self.key, self.clock.now()
        ).to_dict()
        if key_id is not None:
            envelope["key_id"] = key_id
        return self.deliver(envelope)

    def deliver(
        self, envelope: dict[str, Any], disclosures: list[Any] | None = None
    ) -> dict[str, Any]:
        """Put an envelope (signed by anyone) in the inbox with the next delivery seq."""
        item = {
            "delivery_seq": len(self.inbox) + 1,
            "envelope": envelope,
            "disclosures": disclosures or [],
        }
        self.inbox.append(item)
        return item

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # ------------------------------------------------------------ the endpoints

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return httpx.Response(failure, json={"error": "scripted", "detail": "scripted"})
        path = request.url.raw_path.decode("ascii")
        body = request.read()
        if path == "/sync/v1/enroll" and request.method == "POST":
            return self._enroll(json.loads(body))
        try:
            sender = verify_request(
                request.method,
                path,
                body,
                dict(request.headers),
                self.keyring,
                self.clock.now(),
                self.nonces,
            )
        except SyncError as exc:
            return httpx.Response(401, json=exc.to_dict())
        if path == "/sync/v1/messages" and request.method == "POST":
            answer = self._messages(sender, json.loads(body)["messages"])
            if self.lose_next_answer is not None:
                lost, self.lose_next_answer = self.lose_next_answer, None
                raise lost
            return httpx.Response(200, json=answer)
        if path.startswith("/sync/v1/inbox?") and request.method == "GET":
            after = int(request.url.params["after"])
            limit = int(request.url.params["limit"])
            items = [i for i in self.inbox if i["delivery_seq"] > after][:limit]
            last = items[-1]["delivery_seq"] if items else after
            more = any(i["delivery_seq"] > last for i in self.inbox)
            return httpx.Response(
                200, json={"messages": items, "last_delivery_seq": last, "more": more}
            )
        if path == "/sync/v1/keys/rotate" and request.method == "POST":
            return self._rotate(sender, json.loads(body)["statement"])
        return httpx.Response(404, json={"error": "not_found", "detail": path})

    def _messages(self, sender: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        streams: dict[str, int] = {}
        gaps: set[str] = set()
        applied = 0
        for message in messages:
            envelope = Envelope.from_dict(message["envelope"])
            assert envelope.sender == sender
            stream = f"{envelope.sender}>{envelope.recipient}"
            last = self.cursors.get(stream, 0)
            streams[stream] = last
            if stream in gaps:
                continue
            if envelope.seq <= last:
                self.duplicates += 1
                continue
            if envelope.seq > last + 1:
                gaps.add(stream)
                continue
            try:
                verify_envelope(envelope, self.keyring)
                self.applied.append(Received(envelope, list(message["disclosures"])))
                applied += 1
            except SyncError as exc:
                self.refused.append((stream, envelope.seq, exc.code))
            self.cursors[stream] = streams[stream] = envelope.seq
        return {
            "streams": streams,
            "applied": applied,
            "duplicates": self.duplicates,
            "quarantined": [],
        }

    def _enroll(self, body: dict[str, Any]) -> httpx.Response:
        if body.get("token") not in self.enroll_tokens:
            return httpx.Response(
                403, json={"error": "bad_token", "detail": "令牌无效 / bad token"}
            )
        self.enroll_tokens.discard(body["token"])
        public = VerifyKey.from_b64(body["public_key"])
        self.keyring.add(
            KeyRecord(
                owner=body["node_id"],
                key_id=public.key_id,
                public_key=public,
                valid_from=self.clock.now(),
            )
        )
        if self.on_enroll:
            self.on_enroll(body["node_id"], body["public_key"])
        shown = self.answer_key or self.key
        return httpx.Response(
            200,
            json={
                "hub_public_key": shown.public().to_b64(),
                "hub_key_id": shown.key_id,
                "keyring": self.keyring.to_list(),
            },
        )

    def _rotate(self, sender: str, statement: dict[str, Any]) -> httpx.Response:
        try:
            record = verify_rotation_statement(statement, self.keyring, now=self.clock.now())
        except SyncError as exc:
            return httpx.Response(400, json=exc.to_dict())
        if record.owner != sender:
            return httpx.Response(403, json={"error": "not_owner", "detail": "not yours"})
        self.keyring.add(record)
        return httpx.Response(200, json={"key": record.to_dict()})
