"""Account tests use the sync fixtures: an enrolled node, a fake hub, the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from node.accounts.hub import UsccClaims
from sync.keys import KeyRecord, Keyring, SigningKey
from sync.request_auth import MemoryNonceStore, verify_request
from tests.node.factories import NOW
from tests.node.sync.conftest import (  # noqa: F401 - fixtures shared with the sync tests
    enrolled,
    enrolled_app,
    factory,
    federation,
    http,
    hub,
    hub_key,
    key_path,
    kicks,
    node_key,
    other_key,
    other_node,
    publisher,
    sync_settings,
)

NODE = "node:150000"


@dataclass
class ClaimHub:
    """The hub's ``POST /sync/v1/accounts/claim-uscc``, scripted: checks the node's
    signature like the hub, records each claim, answers ``answer(body)``."""

    node_key: SigningKey
    clock: Any
    claims: list[dict[str, Any]] = field(default_factory=list)
    answer: Callable[[dict[str, Any]], httpx.Response] | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        keyring = Keyring([KeyRecord(NODE, self.node_key.key_id, self.node_key.public(), NOW)])
        path = request.url.raw_path.decode()
        sender = verify_request(
            request.method,
            path,
            request.read(),
            dict(request.headers),
            keyring,
            self.clock.now(),
            MemoryNonceStore(self.clock),
        )
        assert (sender, path) == (NODE, "/sync/v1/accounts/claim-uscc")
        body = json.loads(request.read())
        self.claims.append(body)
        if self.answer is not None:
            return self.answer(body)
        return httpx.Response(200, json={**body, "node_id": NODE, "source": "request"})


@pytest.fixture
def claim_hub(node_key, clock) -> ClaimHub:  # noqa: F811 - the imported fixture
    return ClaimHub(node_key, clock)


@pytest.fixture
def claims_app(enrolled_app, claim_hub, sync_settings, clock):  # noqa: F811
    """The node app, enrolled, asking ``claim_hub`` before contractor accounts."""
    enrolled_app.state.uscc_claims = UsccClaims(
        sync_settings, clock, httpx.MockTransport(claim_hub.handle)
    )
    return enrolled_app
