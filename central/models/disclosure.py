"""The public search table: one row per published contractor, derived from ``hub_record``.

``hub_public_contractor`` is kept up to date by statement-level triggers on
``hub_record`` (migrations 0004 and 0007): the records a statement *inserts*
are aggregated per contractor and merged into its row (counts added, maxima
and sets combined: the cost follows the batch, not the contractor's history);
a statement that *updates* records (a new version, a tombstone) recounts the
touched contractors from their live records with the SQL function
``hub_public_contractor_refresh(usccs, touched_at)``. ``name`` and
``province_code`` are "the basic information's, else the records'": their two
parts are kept apart (``basic_*``, ``record_*``) so that a merge stays exact.
A bulk load (``bench/hub_datagen.py``) rebuilds the whole table with
``hub_public_contractor_rebuild()``.

Search by name is by character n-grams (``name_grams``: every single
character and every pair of adjacent characters of the normalised name, GIN
indexed together with the province): ``pg_trgm`` extracts no trigrams from
Chinese text under the C locale, and character bigrams are what Chinese
full-text search uses anyway.
Nothing here depends on today's date: licence status and "incidents in the
last N years" are computed from the stored dates when asked.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from central.models.base import code_column, tz_column
from central.models.records import HubRecord


class HubPublicContractor(SQLModel, table=True):
    """A published contractor as the public search sees it (no personal data)."""

    __tablename__ = "hub_public_contractor"
    __table_args__ = (
        # GIN over both (btree_gin, hub migration 0009): a name within a province.
        Index(
            "ix_hub_public_contractor_province_grams",
            "province_code",
            "name_grams",
            postgresql_using="gin",
        ),
        Index("ix_hub_public_contractor_name", "name", "uscc"),
        Index("ix_hub_public_contractor_province_name", "province_code", "name", "uscc"),
        Index("ix_hub_public_contractor_updated", "updated_at", "uscc"),
        Index("ix_hub_public_contractor_incident", "last_incident_on"),
        Index(
            "ix_hub_public_contractor_province_incident",
            "province_code",
            "last_incident_on",
            postgresql_include=["licence_valid_to", "grades", "name", "uscc"],
        ),
    )

    uscc: str = Field(sa_column=Column(String(18, collation="C"), primary_key=True))
    name: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    name_grams: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    province_code: str | None = Field(default=None, sa_column=code_column())
    has_basic_info: bool = False
    grades: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    licence_valid_to: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    last_accident_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    last_penalty_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    last_incident_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    licence_count: int = 0
    project_department_count: int = 0
    accident_count: int = 0
    reward_penalty_count: int = 0
    updated_at: datetime = Field(sa_column=tz_column())
    # The parts of name and province_code (migration 0007), compared bytewise.
    basic_name: str | None = Field(default=None, sa_column=Column(Text(collation="C")))
    record_name: str | None = Field(default=None, sa_column=Column(Text(collation="C")))
    basic_province: str | None = Field(default=None, sa_column=code_column())
    record_province: str | None = Field(default=None, sa_column=code_column())


# Open-data exports and ``updated_since`` read one kind in order of receipt. Declared
# here (migration 0004) so the table models and the migrations keep agreeing.
Index(
    "ix_hub_record_kind_received",
    HubRecord.__table__.c.kind,  # type: ignore[attr-defined]
    HubRecord.__table__.c.received_at,  # type: ignore[attr-defined]
    HubRecord.__table__.c.record_id,  # type: ignore[attr-defined]
)
