"""Login accounts of the node (regulators, administrators, contractors) and their API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, String
from sqlmodel import Field, SQLModel

from node.models.base import code_column, tz_column, utcnow


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=32, index=True)
    # GB/T 2260 code of the jurisdiction: province PP0000, city PPCC00 or county PPCCDD
    division_code: str = Field(sa_column=code_column(nullable=False, index=True))
    contractor_id: uuid.UUID | None = Field(default=None, foreign_key="contractor.id", index=True)
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    must_change_password: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    password_changed_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    # A one-time code from the hub (allocation or reset) stops working at this instant.
    credential_expires_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    # Deleted by the bureau: kept (the audit trail names it), never usable again.
    deleted_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    # The last hub directive about this account applied here (its ``version``).
    hub_version: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    # Facts about the account reported to the hub (``account.report``): the
    # version of the facts, and the last version queued for the hub.
    report_version: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    reported_version: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )


class ApiToken(SQLModel, table=True):
    """A bearer token (``kind`` bearer) or a page session (``kind`` session); only its
    SHA-256 is stored, so a database leak yields no usable token. One kind is never
    accepted as the other."""

    __tablename__ = "api_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    kind: str = Field(
        default="bearer",
        sa_column=Column(String(16), nullable=False, server_default="bearer"),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    expires_at: datetime = Field(sa_column=tz_column())
    revoked_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    client_address: str | None = Field(default=None, max_length=64)
