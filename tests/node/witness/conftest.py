from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import tests.node.sync.conftest as sync_fixtures
from sync.clock import FixedClock
from sync.keys import SigningKey
from tests.node.sync.conftest import NODE
from tests.node.witness.logserver import LogServer

# The node's sync fixtures: an enrolled node, its key and settings, sessions like the app's.
factory = sync_fixtures.factory
federation = sync_fixtures.federation
hub_key = sync_fixtures.hub_key
key_path = sync_fixtures.key_path
node_key = sync_fixtures.node_key
sync_settings = sync_fixtures.sync_settings


@pytest.fixture
def log_server(hub_key: SigningKey, clock: FixedClock, node_key: SigningKey) -> LogServer:
    return LogServer(hub_key=hub_key, clock=clock, node_id=NODE, node_key=node_key)


@pytest.fixture
def log_http(log_server: LogServer) -> Iterator[httpx.Client]:
    with httpx.Client(transport=log_server.transport()) as client:
        yield client
