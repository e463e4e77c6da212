"""The hub's append-only audit trail. A database trigger refuses UPDATE and DELETE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from central.models.base import tz_column


class HubAuditEvent(SQLModel, table=True):
    __tablename__ = "hub_audit_event"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    at: datetime = Field(sa_column=tz_column(index=True))
    # Who: a hub user's name, "cli:<os user>", "anonymous" (a failed login), or a node id.
    actor: str = Field(max_length=64, index=True)
    client_address: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=64, index=True)  # e.g. node.enrolled, key.revoked
    entity_kind: str = Field(max_length=32)
    entity_id: str | None = Field(default=None, max_length=64, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
