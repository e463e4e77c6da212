"""Metadata of uploaded scans; the bytes live behind node.attachments.storage."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from node.models.base import tz_column, utcnow


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    contractor_id: uuid.UUID = Field(foreign_key="contractor.id", index=True)
    purpose: str = Field(max_length=32)
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=64)
    size_bytes: int
    sha256: str = Field(max_length=64, index=True)
    storage_key: str = Field(max_length=255)
    uploaded_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
