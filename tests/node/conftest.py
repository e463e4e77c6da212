"""Node fixtures: per-test transaction rolled back at the end, an app bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from node.app import create_app
from node.config import NodeSettings
from node.db import make_engine
from sync.clock import FixedClock
from tests.node.factories import NOW


@pytest.fixture(scope="session")
def node_engine(node_db_url: str) -> Iterator[Engine]:
    engine = make_engine(node_db_url, pool_size=2, max_overflow=2)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(node_engine: Engine) -> Iterator[Connection]:
    with node_engine.connect() as conn:
        trans = conn.begin()
        yield conn
        trans.rollback()


def _session(connection: Connection) -> Session:
    return Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with _session(connection) as s:
        yield s


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def settings(tmp_path: Path, node_db_url: str) -> NodeSettings:
    return NodeSettings(
        environment="test",
        database_url=node_db_url,
        province_code="150000",
        node_id="node:150000",
        storage_dir=tmp_path / "attachments",
        max_attachment_bytes=256 * 1024,
    )


@pytest.fixture
def app(settings: NodeSettings, node_engine: Engine, connection: Connection, clock: FixedClock):
    app = create_app(settings, engine=node_engine, clock=clock)
    app.state.session_factory = lambda: _session(connection)
    return app


@pytest.fixture
def client(app) -> Iterator[httpx.Client]:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://node.test", client=("10.1.2.3", 5000)) as c:
        yield c
