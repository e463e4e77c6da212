"""The append-only audit trail. A database trigger refuses UPDATE and DELETE on it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from node.models.base import tz_column, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_actor_username_at", "actor_username", "at"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    at: datetime = Field(default_factory=utcnow, sa_column=tz_column(index=True))
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    actor_username: str | None = Field(default=None, max_length=64)
    actor_role: str | None = Field(default=None, max_length=32)
    client_address: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=64, index=True)  # e.g. filing.submitted, review.approved
    entity_kind: str = Field(max_length=32)
    entity_id: str | None = Field(default=None, max_length=64, index=True)
    # What changed, never a full resident ID number or phone number: see node/audit/service.py
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
