"""Hub fixtures: per-test transaction rolled back at the end, an app bound to it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from central.app import create_app
from central.config import CentralSettings
from central.db import make_engine
from sync.clock import FixedClock
from sync.keys import SigningKey
from tests.central.support import ADMIN, NOW, hub_token_for, make_hub_user


@pytest.fixture(scope="session")
def hub_engine(hub_db_url: str) -> Iterator[Engine]:
    engine = make_engine(hub_db_url, pool_size=2, max_overflow=2)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(hub_engine: Engine) -> Iterator[Connection]:
    with hub_engine.connect() as conn:
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


@pytest.fixture(scope="session")
def hub_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def settings(hub_db_url: str, tmp_path) -> CentralSettings:
    return CentralSettings(
        environment="test",
        database_url=hub_db_url,
        key_file=tmp_path / "absent-hub-key.pem",
        max_batch=20,
    )


@pytest.fixture
def app(
    settings: CentralSettings,
    hub_engine: Engine,
    connection: Connection,
    clock: FixedClock,
    hub_key: SigningKey,
):
    app = create_app(settings, engine=hub_engine, clock=clock, signing_key=hub_key)
    app.state.session_factory = lambda: _session(connection)
    return app


@pytest.fixture
def client(app) -> Iterator[httpx.Client]:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://hub.test", client=("10.9.8.7", 5000)) as c:
        yield c


@pytest.fixture
def admin_headers(session) -> dict[str, str]:
    """A national administrator (``bureau-admin``), logged in."""
    return hub_token_for(session, make_hub_user(session, "national_admin", ADMIN))


@pytest.fixture
def staff_headers(session) -> dict[str, str]:
    """National staff: may read, not decide."""
    return hub_token_for(session, make_hub_user(session, "national_staff", "bureau-staff"))


@pytest.fixture
def inner(client, session, clock):
    """Inner Mongolia's node (node:150000), enrolled."""
    from tests.central.support import NodeSim

    node = NodeSim("node:150000", SigningKey.generate(), clock)
    node.enroll(client, session)
    return node


@pytest.fixture
def shanxi(client, session, clock):
    """Shanxi's node (node:140000), enrolled."""
    from tests.central.support import NodeSim

    node = NodeSim("node:140000", SigningKey.generate(), clock)
    node.enroll(client, session)
    return node
