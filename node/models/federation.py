"""The node's side of the federation: its enrollment, the key registry it learnt from
the hub, notices relayed from other provinces, and which record versions it published.

The protocol's own tables (outbox, delivery state, cursors, quarantine) are
``sync.tables``; these are what only a node needs beside them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Identity, Index, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

import sync.tables  # noqa: F401 - the protocol tables live in the node database too
from node.models.base import tz_column


class NodeFederation(SQLModel, table=True):
    """This node's enrollment with the hub: one row, written by ``minefed node enroll``.

    The hub's key is the pinned one the operator checked at enrollment; hub
    directives are verified with it and nothing else (a keyring directive
    cannot replace it).
    """

    __tablename__ = "node_federation"
    __table_args__ = (CheckConstraint("id = 1", name="ck_node_federation_single_row"),)

    id: int = Field(default=1, primary_key=True)
    node_id: str = Field(max_length=64)
    key_id: str = Field(max_length=64)  # the node's current signing key
    hub_url: str = Field(max_length=300)
    hub_public_key: str = Field(max_length=64)  # unpadded base64url of the raw key
    hub_key_id: str = Field(max_length=64)
    enrolled_at: datetime = Field(sa_column=tz_column())
    key_rotated_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    # Version of the last directive.keyring applied (0: the list answered at enrollment).
    keyring_version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_pull_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    last_pull_error: str | None = Field(default=None, max_length=1000)
    # Contractor accounts the bureau allocated to the province (``directive.quota``);
    # None until it allocates any.
    contractor_account_quota: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )
    quota_version: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )


class NodeKeyring(SQLModel, table=True):
    """A node key of the federation, as the hub's ``directive.keyring`` lists it.

    Used to verify relays from other provinces end to end. Rows owned by
    ``hub`` are never used to verify the hub: its key is pinned.
    """

    __tablename__ = "node_keyring"

    key_id: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=64, index=True)
    public_key: str = Field(max_length=64)
    valid_from: datetime = Field(sa_column=tz_column())
    valid_to: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    directive_version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class RelayNotice(SQLModel, table=True):
    """A ``relay.*`` notice from another province's node, verified with that node's key."""

    __tablename__ = "relay_notice"
    __table_args__ = (
        UniqueConstraint("sender", "seq", name="uq_relay_notice_sender_seq"),
        Index("ix_relay_notice_received_at", "received_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    sender: str = Field(max_length=64)  # the sending node, e.g. node:140000
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))  # its envelope seq
    kind: str = Field(max_length=64)  # relay.notice, …
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    received_at: datetime = Field(sa_column=tz_column())
    read_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    read_by: str | None = Field(default=None, max_length=64)


class NodePublication(SQLModel, table=True):
    """Which approved record versions went into the outbox, so a version is published
    exactly once and ``minefed node publish-backlog`` knows what is left."""

    __tablename__ = "node_publication"

    record_id: uuid.UUID = Field(primary_key=True)
    version_no: int = Field(primary_key=True)
    kind: str = Field(max_length=32)
    outbox_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    published_at: datetime = Field(sa_column=tz_column())


class NodeTombstone(SQLModel, table=True):
    """A record deleted here or by its owner: the fact of the deletion, never its content.

    Kept so that a relay arriving after the deletion (a tombstone before its
    record, a late decision, an old message retried) cannot bring the record
    back, and so that ``minefed node restore-reconcile`` can delete again what a
    restored backup still holds (docs/retention.md).
    """

    __tablename__ = "node_tombstone"

    record_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=32)
    owner: str = Field(max_length=64)  # the node that owned the record
    reason: str = Field(max_length=16)  # retention, withdrawn
    deleted_at: datetime = Field(sa_column=tz_column())
    received_at: datetime = Field(sa_column=tz_column())
