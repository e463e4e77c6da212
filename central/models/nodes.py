"""The node registry: enrolled nodes, their keys, and one-time enrollment tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String
from sqlmodel import Field, SQLModel

from central.models.base import code_column, tz_column


class NodeStatus:
    ACTIVE = "active"
    SUSPENDED = "suspended"


class HubNode(SQLModel, table=True):
    """An enrolled provincial node (``node:150000``), responsible for one province."""

    __tablename__ = "hub_node"
    # One node per province.
    __table_args__ = (Index("uq_hub_node_jurisdiction", "jurisdiction", unique=True),)

    node_id: str = Field(primary_key=True, max_length=64)
    # The province the node may publish for (GB/T 2260 code, PP0000).
    jurisdiction: str = Field(sa_column=code_column(nullable=False))
    display_name: str = Field(max_length=100)
    enrolled_at: datetime = Field(sa_column=tz_column())
    status: str = Field(default=NodeStatus.ACTIVE, max_length=16)
    # Last authenticated sync request, for operators.
    last_contact_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))


class HubNodeKey(SQLModel, table=True):
    """One registered node key (``sync.keys.KeyRecord``). Rows are never deleted:
    a retired or revoked key must still verify what it signed while it was valid."""

    __tablename__ = "hub_node_key"

    key_id: str = Field(primary_key=True, max_length=40)
    owner: str = Field(
        sa_column=Column(String(64), ForeignKey("hub_node.node_id"), nullable=False, index=True)
    )
    public_key: str = Field(max_length=64)  # unpadded base64url of the 32 raw bytes
    valid_from: datetime = Field(sa_column=tz_column())
    valid_to: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    registered_at: datetime = Field(sa_column=tz_column())


class HubEnrollmentToken(SQLModel, table=True):
    """A one-time enrollment token, stored only as its SHA-256 (hex)."""

    __tablename__ = "hub_enrollment_token"

    token_sha256: str = Field(primary_key=True, max_length=64)
    node_id: str = Field(max_length=64, index=True)
    jurisdiction: str = Field(sa_column=code_column(nullable=False))
    display_name: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=tz_column())
    expires_at: datetime = Field(sa_column=tz_column())
    used_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    created_by: str = Field(max_length=64)
