"""statistics: national counters, the person blind index, the refresh queue

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:30:00.000000

- ``hub_stat_cell``: the national statistics' counters (province × month × key);
- ``hub_stat_contribution``: what each record adds, so a new version subtracts the old;
- ``hub_stat_pending``: record ids changed since the last refresh, filled by
  triggers on ``hub_record`` (statement-level, with transition tables: one
  INSERT per ingest statement, whatever its batch size);
- ``hub_stat_state``: when the statistics were refreshed and rebuilt;
- ``hub_person_index`` and ``hub_person_overlap``: people in roles of project
  departments by blind index (HMAC), and the cross-province overlaps.

Every record already at the hub is queued, so the first refresh counts it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _code() -> sa.types.TypeEngine:
    return sa.String(length=6, collation="C")


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)


def upgrade() -> None:
    op.create_table(
        "hub_stat_cell",
        sa.Column("measure", _text(32), nullable=False),
        sa.Column("province_code", _code(), nullable=False),
        sa.Column("month", _text(7), nullable=False),
        sa.Column("key", _text(32), nullable=False),
        _count("n"),
        _count("deaths"),
        _count("serious_injuries"),
        sa.PrimaryKeyConstraint("measure", "province_code", "month", "key"),
    )
    op.create_table(
        "hub_stat_contribution",
        sa.Column("record_id", _text(64), nullable=False),
        sa.Column("items", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.create_table(
        "hub_stat_pending",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("record_id", _text(64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "hub_stat_state",
        sa.Column("name", _text(32), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=True),
        _count("records_applied"),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "hub_person_index",
        sa.Column("record_id", _text(64), nullable=False),
        sa.Column("slot", _text(64), nullable=False),
        sa.Column("person_index", _text(64), nullable=False),
        sa.Column("province_code", _code(), nullable=False),
        sa.Column("contractor_uscc", _text(18), nullable=True),
        sa.Column("role", _text(32), nullable=False),
        sa.Column("start_month", _text(7), nullable=False),
        sa.Column("end_month", _text(7), nullable=False),
        sa.Column("underground", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "slot"),
    )
    op.create_index("ix_hub_person_index_person", "hub_person_index", ["person_index"])
    op.create_table(
        "hub_person_overlap",
        sa.Column("record_a", _text(64), nullable=False),
        sa.Column("slot_a", _text(64), nullable=False),
        sa.Column("record_b", _text(64), nullable=False),
        sa.Column("slot_b", _text(64), nullable=False),
        sa.Column("person_index", _text(64), nullable=False),
        sa.Column("province_a", _code(), nullable=False),
        sa.Column("province_b", _code(), nullable=False),
        sa.Column("role_a", _text(32), nullable=False),
        sa.Column("role_b", _text(32), nullable=False),
        sa.Column("underground", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("record_a", "slot_a", "record_b", "slot_b"),
    )
    op.create_index("ix_hub_person_overlap_province", "hub_person_overlap", ["province_a"])
    op.create_index("ix_hub_person_overlap_record_b", "hub_person_overlap", ["record_b"])
    op.execute(
        """
        CREATE FUNCTION hub_record_queue_stats() RETURNS trigger AS $$
        BEGIN
            INSERT INTO hub_stat_pending (record_id) SELECT record_id FROM changed;
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """
    )
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER hub_record_stats_{event.lower()} AFTER {event} ON hub_record "
            "REFERENCING NEW TABLE AS changed "
            "FOR EACH STATEMENT EXECUTE FUNCTION hub_record_queue_stats()"
        )
    op.execute("INSERT INTO hub_stat_pending (record_id) SELECT record_id FROM hub_record")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS hub_record_stats_update ON hub_record")
    op.execute("DROP TRIGGER IF EXISTS hub_record_stats_insert ON hub_record")
    op.execute("DROP FUNCTION IF EXISTS hub_record_queue_stats()")
    op.drop_index("ix_hub_person_overlap_record_b", table_name="hub_person_overlap")
    op.drop_index("ix_hub_person_overlap_province", table_name="hub_person_overlap")
    op.drop_table("hub_person_overlap")
    op.drop_index("ix_hub_person_index_person", table_name="hub_person_index")
    op.drop_table("hub_person_index")
    op.drop_table("hub_stat_state")
    op.drop_table("hub_stat_pending")
    op.drop_table("hub_stat_contribution")
    op.drop_table("hub_stat_cell")
