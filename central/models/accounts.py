"""Accounts at the hub: the bureau's own users, and the national directory of the
accounts the nodes hold (docs/accounts.md).

- ``hub_user`` / ``hub_credential``: national administrators and staff, who log
  in at the hub; passwords are argon2id hashes, bearer tokens and page sessions
  are stored only as SHA-256.
- ``hub_account``: every account of every node as the nodes report it
  (``account.report``) plus the province administrators the bureau created
  (``directive.account_create``), never with a password hash.
- ``hub_uscc_claim``: one contractor account per USCC nationally; the primary
  key makes a claim atomic.
- ``hub_province_quota``: how many contractor accounts each province may hold.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Uuid
from sqlmodel import Field, SQLModel

from central.models.base import code_column, tz_column


class HubUserRole:
    NATIONAL_ADMIN = "national_admin"
    NATIONAL_STAFF = "national_staff"


class HubUser(SQLModel, table=True):
    """A user of the hub: the national bureau's administrators and staff."""

    __tablename__ = "hub_user"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=32)
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    must_change_password: bool = True
    # A one-time code (set by a reset) stops working at this instant.
    credential_expires_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    created_at: datetime = Field(sa_column=tz_column())
    created_by: str = Field(max_length=64)
    password_changed_at: datetime = Field(sa_column=tz_column())


class HubCredential(SQLModel, table=True):
    """A bearer token (``kind`` bearer) or a page session (``kind`` session) of a hub
    user; only the SHA-256 of the secret is stored, so a database leak yields none."""

    __tablename__ = "hub_credential"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("hub_user.id"), nullable=False, index=True)
    )
    kind: str = Field(default="bearer", max_length=16)
    created_at: datetime = Field(sa_column=tz_column())
    expires_at: datetime = Field(sa_column=tz_column())
    revoked_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    client_address: str | None = Field(default=None, max_length=64)


class AccountStatus:
    PENDING = "pending"  # created by the bureau, not confirmed by the node yet
    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


class HubAccount(SQLModel, table=True):
    """One account held by a node, as the hub knows it.

    ``version`` counts the bureau's directives about the account (create, reset,
    disable, enable, delete); ``applied_version`` is the highest the node has
    reported applying. ``version > applied_version`` means a directive is still
    on its way. ``report_version`` orders the node's reports, so an old report
    retried from quarantine never overwrites a newer one.
    """

    __tablename__ = "hub_account"
    __table_args__ = (
        Index("ix_hub_account_node_username", "node_id", "username"),
        Index("ix_hub_account_province_role", "province_code", "role"),
    )

    id: uuid.UUID = Field(primary_key=True)  # the same id as the node's user_account row
    node_id: str = Field(max_length=64, index=True)
    province_code: str = Field(sa_column=code_column(nullable=False))
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=32)
    division_code: str = Field(sa_column=code_column(nullable=False))
    contractor_uscc: str | None = Field(default=None, max_length=18, index=True)
    contractor_name: str | None = Field(default=None, max_length=200)
    status: str = Field(default=AccountStatus.PENDING, max_length=16)
    must_change_password: bool = False
    origin: str = Field(max_length=8)  # "hub" (allocated by the bureau) or "node"
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    applied_version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    report_version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # Another province holds the claim on this contractor's USCC (see hub_uscc_claim).
    uscc_conflict: bool = False
    created_at: datetime = Field(sa_column=tz_column())
    updated_at: datetime = Field(sa_column=tz_column())
    reported_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))


class HubUsccClaim(SQLModel, table=True):
    """The one province whose node holds (or is creating) a contractor's account."""

    __tablename__ = "hub_uscc_claim"

    uscc: str = Field(primary_key=True, max_length=18)
    node_id: str = Field(max_length=64, index=True)
    account_id: uuid.UUID | None = Field(default=None)
    username: str | None = Field(default=None, max_length=64)
    contractor_name: str | None = Field(default=None, max_length=200)
    claimed_at: datetime = Field(sa_column=tz_column())
    # "request" (asked before creating) or "report" (learnt from an account report).
    source: str = Field(max_length=8)


class HubProvinceQuota(SQLModel, table=True):
    """The contractor accounts a province may hold, allocated by the bureau."""

    __tablename__ = "hub_province_quota"

    node_id: str = Field(primary_key=True, max_length=64)
    contractor_accounts: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(sa_column=tz_column())
    updated_by: str = Field(max_length=64)
