"""Fixtures for the node's sync: keys, an enrolled node, a fake hub, workflow helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection
from sqlmodel import Session, select

from node.config import NodeSettings
from node.db import SessionFactory
from node.filing import service as filing
from node.models import NodeFederation, NodeKeyring, Record, RecordVersion, User
from node.principal import Actor
from node.sync.keystore import write_new_key_file
from node.sync.publish import Publisher, bind_publisher
from schemas.enums import RecordKind, Role
from sync.clock import FixedClock
from sync.keys import SigningKey
from sync.tables import OutboxMessage
from tests.node.conftest import _session
from tests.node.factories import NOW, make_contractor, make_user, project_department, token_for
from tests.node.sync.fakehub import FakeHub

NODE = "node:150000"
OTHER = "node:140000"
HUB_URL = "http://hub.test"


class Kicks(list[str]):
    """Records kicks instead of sending them to a broker."""

    def __call__(self) -> None:
        self.append("sync.push")


@pytest.fixture
def node_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def hub_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def other_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "node.pem"


@pytest.fixture
def kicks() -> Kicks:
    return Kicks()


@pytest.fixture
def publisher(key_path: Path, kicks: Kicks) -> Publisher:
    return Publisher(key_path, kicks)


@pytest.fixture
def sync_settings(settings: NodeSettings, key_path: Path) -> NodeSettings:
    return settings.model_copy(
        update={
            "hub_url": HUB_URL,
            "key_file": key_path,
            "sync_backoff_base_s": 10.0,
            "sync_backoff_cap_s": 60.0,
        }
    )


@pytest.fixture
def factory(connection: Connection) -> SessionFactory:
    """Sessions like the app's: each commit is a savepoint of the test's transaction."""
    return lambda: _session(connection)


@pytest.fixture
def federation(
    session: Session, key_path: Path, node_key: SigningKey, hub_key: SigningKey
) -> NodeFederation:
    """This node, enrolled: key file written, enrollment row, keyring with another node."""
    write_new_key_file(key_path, node_key)
    row = NodeFederation(
        node_id=NODE,
        key_id=node_key.key_id,
        hub_url=HUB_URL,
        hub_public_key=hub_key.public().to_b64(),
        hub_key_id=hub_key.key_id,
        enrolled_at=NOW - timedelta(days=30),
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def other_node(session: Session, federation: NodeFederation, other_key: SigningKey) -> str:
    """Another province's node, in this node's keyring."""
    session.add(
        NodeKeyring(
            key_id=other_key.key_id,
            owner=OTHER,
            public_key=other_key.public().to_b64(),
            valid_from=NOW - timedelta(days=60),
        )
    )
    session.flush()
    return OTHER


@pytest.fixture
def enrolled(session: Session, federation: NodeFederation, publisher: Publisher) -> Publisher:
    bind_publisher(session, publisher)
    return publisher


@pytest.fixture
def enrolled_app(app: Any, federation: NodeFederation, publisher: Publisher) -> Any:
    app.state.publisher = publisher
    return app


@pytest.fixture
def hub(hub_key: SigningKey, clock: FixedClock, node_key: SigningKey) -> FakeHub:
    fake = FakeHub(key=hub_key, clock=clock)
    fake.register(NODE, node_key, NOW - timedelta(days=30))
    return fake


@pytest.fixture
def http(hub: FakeHub) -> Iterator[httpx.Client]:
    with httpx.Client(transport=hub.transport()) as client:
        yield client


# ---------------------------------------------------------------- workflow helpers


def actor_for(user: User, now: Any = NOW) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        division_code=user.division_code,
        contractor_id=user.contractor_id,
        client_address="10.1.2.3",
        now=now,
    )


class Province:
    """A contractor and a county regulator, acting through the services."""

    def __init__(self, session: Session) -> None:
        self.contractor = make_contractor(session, name="内蒙古恒信矿山工程有限公司")
        self.contractor_user = make_user(
            session, Role.CONTRACTOR, "150102", contractor=self.contractor
        )
        self.county = make_user(session, Role.COUNTY_REGULATOR, "150102")
        self.admin = make_user(session, Role.PROVINCIAL_ADMIN, "150000")
        self.session = session

    def submitted_department(self, session: Session | None = None, **over: Any) -> Record:
        s = session or self.session
        record = filing.create_draft(
            s,
            actor_for(self.contractor_user),
            RecordKind.PROJECT_DEPARTMENT,
            project_department(**over),
        )
        filing.submit(s, actor_for(self.contractor_user), record.id)
        s.flush()
        return record

    def approve(self, session: Session, record_id: uuid.UUID, version_no: int = 1) -> Record:
        return filing.approve(session, actor_for(self.county), record_id, version_no)

    def headers(self, user: User) -> dict[str, str]:
        return token_for(self.session, user)


@pytest.fixture
def province(session: Session) -> Province:
    return Province(session)


def outbox(session: Session, recipient: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.recipient, OutboxMessage.seq)  # type: ignore[arg-type]
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    return list(session.exec(query))


def version_of(session: Session, record_id: uuid.UUID, version_no: int) -> RecordVersion:
    return session.exec(
        select(RecordVersion).where(
            RecordVersion.record_id == record_id, RecordVersion.version_no == version_no
        )
    ).one()
