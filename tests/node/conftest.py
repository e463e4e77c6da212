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


# ---------------------------------------------------------------- people of the test province


@pytest.fixture
def contractor(session):
    from tests.node.factories import make_contractor

    return make_contractor(session, name="内蒙古恒信矿山工程有限公司")


def _headers(session, role: str, division: str, **kw):
    from tests.node.factories import make_user, token_for

    return token_for(session, make_user(session, role, division, **kw))


@pytest.fixture
def contractor_headers(session, contractor):
    from schemas.enums import Role

    return _headers(session, Role.CONTRACTOR, "150102", contractor=contractor)


@pytest.fixture
def county_headers(session):
    from schemas.enums import Role

    return _headers(session, Role.COUNTY_REGULATOR, "150102")


@pytest.fixture
def other_county_headers(session):
    from schemas.enums import Role

    return _headers(session, Role.COUNTY_REGULATOR, "150103")


@pytest.fixture
def city_headers(session):
    from schemas.enums import Role

    return _headers(session, Role.MUNICIPAL_REGULATOR, "150100")


@pytest.fixture
def province_headers(session):
    from schemas.enums import Role

    return _headers(session, Role.PROVINCIAL_REGULATOR, "150000")
