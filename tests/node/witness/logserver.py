"""A stand-in for the hub's log endpoints, for the witness's unit tests only.

Built on ``sync.merkle.MemoryTree`` and ``sync.checkpoint`` to the wire contract
(docs/transparency.md): it serves signed checkpoints and consistency proofs,
checks the signature of cosignature requests and of the cosignatures, and can
be made to fork (serve another history). The real hub is exercised by
``tests/central/transparency`` and the federation tests.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs

import httpx

from sync.b64 import b64std_encode
from sync.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from sync.clock import Clock
from sync.errors import SyncError
from sync.keys import KeyRecord, Keyring, SigningKey
from sync.merkle import MemoryTree, consistency_proof
from sync.request_auth import MemoryNonceStore, verify_request

ORIGIN = "minefed.hub/log"


@dataclass
class LogServer:
    hub_key: SigningKey
    clock: Clock
    node_id: str
    node_key: SigningKey
    tree: MemoryTree = field(default_factory=MemoryTree)
    served_size: int | None = None  # serve an older checkpoint (a lagging replica)
    signing_key: SigningKey | None = None  # sign with another key than the pinned one
    cosignatures: dict[int, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nonces = MemoryNonceStore(self.clock)
        self.keyring = Keyring(
            [
                KeyRecord(
                    owner=self.node_id,
                    key_id=self.node_key.key_id,
                    public_key=self.node_key.public(),
                    valid_from=self.clock.now() - timedelta(days=30),
                )
            ]
        )

    def append(self, n: int) -> None:
        for _ in range(n):
            self.tree.append(os.urandom(16))

    def fork(self, size: int | None = None) -> None:
        """From now on, serve another history of ``size`` leaves (default: the same size)."""
        n = self.tree.size if size is None else size
        self.tree = MemoryTree()
        self.append(n)

    def checkpoint(self) -> tuple[Checkpoint, str]:
        size = self.tree.size if self.served_size is None else self.served_size
        cp = Checkpoint(ORIGIN, size, self.tree.root(size))
        note = sign_checkpoint(cp, ORIGIN, self.signing_key or self.hub_key)
        if size in self.cosignatures:
            note += self.cosignatures[size] + "\n"
        return cp, note

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}?{request.url.query.decode()}")
        if path == "/api/v1/public/log/checkpoint":
            return httpx.Response(200, text=self.checkpoint()[1])
        if path == "/api/v1/public/log/consistency":
            query = parse_qs(request.url.query.decode())
            first, second = int(query["first"][0]), int(query["second"][0])
            if not 0 < first <= second <= self.tree.size:
                return httpx.Response(400, json={"error": "log_range_invalid", "detail": "x"})
            proof = consistency_proof(first, self.tree, second)
            return httpx.Response(
                200,
                json={
                    "first": first,
                    "second": second,
                    "hashes": [b64std_encode(h) for h in proof],
                },
            )
        if path == "/sync/v1/log/cosignatures" and request.method == "POST":
            body = request.read()
            target = path + (f"?{request.url.query.decode()}" if request.url.query else "")
            try:
                verify_request(
                    "POST",
                    target,
                    body,
                    request.headers,
                    self.keyring,
                    self.clock.now(),
                    self.nonces,
                )
                data = json.loads(body)
                cp, _ = self.checkpoint()
                assert data["size"] == cp.size
                open_checkpoint(
                    cp.body() + "\n" + data["cosignature"] + "\n",
                    {self.node_id: self.node_key.public()},
                )
            except (SyncError, AssertionError, KeyError) as exc:
                return httpx.Response(
                    422, json={"error": "cosignature_invalid", "detail": str(exc)}
                )
            self.cosignatures[cp.size] = data["cosignature"]
            return httpx.Response(
                200,
                json={
                    "size": cp.size,
                    "witness": self.node_id,
                    "received_at": "2026-06-15T02:00:00Z",
                },
            )
        return httpx.Response(404, json={"error": "not_found", "detail": path})
