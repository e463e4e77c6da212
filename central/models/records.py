"""What the nodes publish: the query projection and the append-only publication log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Index, LargeBinary
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from central.models.base import code_column, tz_column


class HubRecord(SQLModel, table=True):
    """The latest published version of each record, ready for queries.

    ``public_data`` is the signed form with every concealed slot replaced by a
    masked value (``150102********103X``); ``disclosures`` keeps the salted
    values for regulators and is never served publicly. A tombstoned record
    keeps its id, kind, owner and the tombstone envelope; its content is gone.
    """

    __tablename__ = "hub_record"
    __table_args__ = (
        Index("ix_hub_record_province_kind", "province_code", "kind"),
        Index("ix_hub_record_contractor", "contractor_uscc", "kind"),
    )

    record_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    owner: str = Field(max_length=64, index=True)
    contractor_uscc: str | None = Field(default=None, max_length=18)
    contractor_name: str | None = Field(default=None, max_length=200)
    province_code: str | None = Field(default=None, sa_column=code_column())
    city_code: str | None = Field(default=None, sa_column=code_column())
    county_code: str | None = Field(default=None, sa_column=code_column())
    version_no: int
    public_data: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB(none_as_null=True))
    )
    # The signed envelope as received (for a tombstoned record: the tombstone).
    envelope: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    # For regulators only: [{"path", "salt", "value"}]; never public.
    disclosures: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False)
    )
    approved_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    first_entered_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    received_at: datetime = Field(sa_column=tz_column())
    deleted_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    delete_reason: str | None = Field(default=None, max_length=16)


class HubPublication(SQLModel, table=True):
    """Every accepted ``record.publish`` and ``record.tombstone``, in order of acceptance.

    Append-only (a trigger refuses changes), except that a tombstone clears the
    ``envelope`` of its record's earlier publications: content is deleted, the
    hashes stay, so the transparency log built on this table stays verifiable.
    ``leaf_hash`` is the RFC 9162 leaf hash of the envelope's canonical bytes.
    """

    __tablename__ = "hub_publication"
    __table_args__ = (
        # One log entry per record version and one per tombstone, however often resent.
        Index(
            "uq_hub_publication_version",
            "record_id",
            "version_no",
            unique=True,
            postgresql_where="kind = 'record.publish'",
        ),
        Index(
            "uq_hub_publication_tombstone",
            "record_id",
            unique=True,
            postgresql_where="kind = 'record.tombstone'",
        ),
        Index("ix_hub_publication_node_kind", "node_id", "kind"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    node_id: str = Field(max_length=64)  # the sender (the record's owner)
    record_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=32)  # record.publish or record.tombstone
    record_kind: str = Field(max_length=32)
    version_no: int | None = None
    envelope: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB(none_as_null=True))
    )
    envelope_sha256: str = Field(max_length=64)  # hex SHA-256 of the canonical envelope
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    received_at: datetime = Field(sa_column=tz_column())
