"""National statistics and the cross-province person index, maintained off the ingest path.

Every table here is derived from ``hub_record`` and can be rebuilt from it
(``minefed central stats-refresh --rebuild``). A trigger on ``hub_record``
queues each changed record id in ``hub_stat_pending``; the refresher
(``central/statistics/service.py``) takes the queue, subtracts what the
record contributed before (``hub_stat_contribution``) and adds what it
contributes now. Pages and APIs read only these tables.

No resident ID number is stored here: people are keyed by a blind index,
HMAC-SHA256 under a hub secret (``MINEFED_CENTRAL_PERSON_INDEX_KEY``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from central.models.base import tz_column


def _count_column() -> Any:
    return Column(BigInteger, nullable=False, server_default="0")


class HubStatCell(SQLModel, table=True):
    """One counter of the national statistics: how many records (``n``), with their
    deaths and serious injuries (accidents), have ``key`` for ``measure`` in a
    province and month. ``month`` is ``YYYY-MM`` or ``""`` for measures without one."""

    __tablename__ = "hub_stat_cell"

    measure: str = Field(primary_key=True, max_length=32)
    province_code: str = Field(
        sa_column=Column(String(6, collation="C"), primary_key=True, nullable=False)
    )
    month: str = Field(primary_key=True, max_length=7)
    key: str = Field(primary_key=True, max_length=32)
    n: int = Field(default=0, sa_column=_count_column())
    deaths: int = Field(default=0, sa_column=_count_column())
    serious_injuries: int = Field(default=0, sa_column=_count_column())


class HubStatContribution(SQLModel, table=True):
    """What one record adds to ``hub_stat_cell`` now: ``[[measure, province, month,
    key, n, deaths, serious_injuries], …]``, so a new version or a tombstone can
    subtract it without the old version (which ``hub_record`` no longer holds)."""

    __tablename__ = "hub_stat_contribution"

    record_id: str = Field(primary_key=True, max_length=64)
    items: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))


class HubStatPending(SQLModel, table=True):
    """Record ids changed since the refresher last ran (filled by a trigger on
    ``hub_record``). A queue, not a cursor: a row becomes visible when the ingest
    that wrote it commits, so nothing committed late is skipped. Ids may repeat."""

    __tablename__ = "hub_stat_pending"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    record_id: str = Field(max_length=64)


class HubStatState(SQLModel, table=True):
    """When the statistics were last refreshed and rebuilt (one row, ``name='national'``)."""

    __tablename__ = "hub_stat_state"

    name: str = Field(primary_key=True, max_length=32)
    refreshed_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    rebuilt_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    records_applied: int = Field(default=0, sa_column=_count_column())
    # The public statistics as served (``GET /api/v1/public/stats``), computed by the
    # refresher from ``hub_stat_cell`` so that a request reads one row.
    snapshot: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB(none_as_null=True))
    )


class HubPersonIndex(SQLModel, table=True):
    """A person in a role of a project department, by blind index (never the number).

    ``slot`` is the person's place in the form (``head``, ``safety_managers[1]``);
    the period is the department's start and expected end month.
    """

    __tablename__ = "hub_person_index"
    __table_args__ = (Index("ix_hub_person_index_person", "person_index"),)

    record_id: str = Field(primary_key=True, max_length=64)
    slot: str = Field(primary_key=True, max_length=64)
    person_index: str = Field(max_length=64)  # hex HMAC-SHA256
    province_code: str = Field(sa_column=Column(String(6, collation="C"), nullable=False))
    contractor_uscc: str | None = Field(default=None, max_length=18)
    role: str = Field(max_length=32)  # head, safety_manager, technical_staff
    start_month: str = Field(max_length=7)
    end_month: str = Field(max_length=7)
    underground: bool = False


class HubPersonOverlap(SQLModel, table=True):
    """The same person in two project departments of different provinces whose periods
    overlap (Order No. 62 Art. 21), kept in both directions: (a, b) and (b, a)."""

    __tablename__ = "hub_person_overlap"
    __table_args__ = (
        Index("ix_hub_person_overlap_province", "province_a"),
        Index("ix_hub_person_overlap_record_b", "record_b"),
    )

    record_a: str = Field(primary_key=True, max_length=64)
    slot_a: str = Field(primary_key=True, max_length=64)
    record_b: str = Field(primary_key=True, max_length=64)
    slot_b: str = Field(primary_key=True, max_length=64)
    person_index: str = Field(max_length=64)
    province_a: str = Field(sa_column=Column(String(6, collation="C"), nullable=False))
    province_b: str = Field(sa_column=Column(String(6, collation="C"), nullable=False))
    role_a: str = Field(max_length=32)
    role_b: str = Field(max_length=32)
    underground: bool = False  # either department works underground
