"""Contractors and their filed records, each record a chain of versions.

One table family serves every form (basic info, licence, project department,
reward/penalty, accident) so that the review workflow is one piece of code.
A record's index columns are derived from its current approved version (or,
before the first approval, its latest version) by ``node.filing.indexing``;
they exist only so that queries and flags never have to open JSON.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from node.models.base import code_column, tz_column, utcnow


class Contractor(SQLModel, table=True):
    """A contracting company (承包单位) known to this node."""

    __tablename__ = "contractor"
    __table_args__ = (
        Index(
            "ix_contractor_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    uscc: str = Field(sa_column=Column(String(18), unique=True, nullable=False))
    name: str = Field(max_length=200)
    home_province_code: str = Field(sa_column=code_column(nullable=False))
    central_soe: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    # Set when five-year retention deleted the contractor's information (its basic
    # info, licences, rewards/penalties, attachments: docs/retention.md). The row
    # stays while its account exists: the account names it until the bureau deletes it.
    deleted_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))


class Record(SQLModel, table=True):
    __tablename__ = "record"
    __table_args__ = (
        Index("ix_record_kind_state", "kind", "state"),
        Index("ix_record_county", "county_code", "kind"),
        Index(
            "ix_record_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
        Index("ix_record_kind_county_state", "kind", "county_code", "state"),
        Index("ix_record_contractor_kind", "contractor_id", "kind"),
        Index("ix_record_updated_at", "updated_at"),
        Index("ix_record_latest_version", "id", "latest_version_no"),
        # One basic-info record per contractor.
        Index(
            "uq_record_basic_info",
            "contractor_id",
            unique=True,
            postgresql_where="kind = 'basic_info'",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=32)
    contractor_id: uuid.UUID = Field(foreign_key="contractor.id", index=True)
    # State of the latest version: draft, submitted, approved or returned.
    state: str = Field(max_length=16)
    latest_version_no: int = 1
    current_version_no: int | None = None  # the approved version in force, if any
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(index=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    published_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    created_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    # True when entered by a regulator (accidents, regulator rewards/penalties).
    entered_by_regulator: bool = False

    # Index columns (see node.filing.indexing).
    title: str = Field(default="", max_length=300)
    province_code: str | None = Field(default=None, sa_column=code_column(index=True))
    city_code: str | None = Field(default=None, sa_column=code_column())
    county_code: str | None = Field(default=None, sa_column=code_column())
    central_soe: bool = False
    event_on: date | None = Field(default=None, index=True)  # the date a form is "about"
    valid_to: date | None = None  # licence
    last_inspection_on: date | None = None  # project department
    agreement_signed: bool | None = None  # project department
    written_report: bool | None = None  # project department
    expected_end_on: date | None = None  # project department
    grade: str | None = Field(default=None, max_length=32, index=True)  # accident
    deaths: int | None = None  # accident
    related_record_id: uuid.UUID | None = Field(default=None, index=True)  # accident → dept

    # Across provinces (docs/cross-province.md). At the location node, a filing
    # relayed from the contractor's home node: ``home_node`` is where decisions go
    # back. At the home node, a record another node owns (a department located
    # elsewhere, an accident notice): ``owner_node`` is that node; the copy is
    # read-only here and never published from here.
    home_node: str | None = Field(default=None, max_length=64)
    owner_node: str | None = Field(default=None, max_length=64)


class RecordVersion(SQLModel, table=True):
    __tablename__ = "record_version"
    __table_args__ = (
        UniqueConstraint("record_id", "version_no", name="uq_record_version_no"),
        Index("ix_version_queue", "state", "review_division"),
        # The review queue: only versions under review, already in page order.
        Index(
            "ix_version_submitted_queue",
            "review_division",
            "submitted_at",
            "record_id",
            postgresql_include=["version_no"],
            postgresql_where="state = 'submitted'",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    record_id: uuid.UUID = Field(foreign_key="record.id", ondelete="CASCADE")
    version_no: int
    state: str = Field(max_length=16)
    data: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    # Whose regulators review this version: a county, city or province code.
    review_division: str = Field(sa_column=code_column(nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column())
    created_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    submitted_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    decided_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    return_reason: str | None = Field(default=None, max_length=2000)
    # Why a regulator corrected an entry (accident, reward/penalty): set on every
    # version after the first of a regulator-entered record.
    correction_reason: str | None = Field(default=None, max_length=2000)
