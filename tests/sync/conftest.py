"""A database holding only the protocol's own tables, for sync/'s database layer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlmodel import Session

from sync.tables import SYNC_TABLES
from tests.support import postgres


@pytest.fixture(scope="session")
def sync_engine(pg_server_url: str, worker_id_suffix: str) -> Iterator[Engine]:
    name = f"minefed_test_sync_{worker_id_suffix}"
    url = postgres.recreate_database(pg_server_url, name)
    engine = create_engine(url)
    from sqlmodel import SQLModel

    SQLModel.metadata.create_all(engine, tables=[t.__table__ for t in SYNC_TABLES])  # type: ignore[attr-defined]
    yield engine
    engine.dispose()
    postgres.drop_database(pg_server_url, name)


@pytest.fixture
def db(sync_engine: Engine) -> Iterator[Session]:
    with sync_engine.connect() as conn:
        trans = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            yield session
        trans.rollback()
