"""witness: the last checkpoint of the hub's log this node verified, and fork alarms

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:00:00.000000

- ``node_witness_state``: one row, the last good checkpoint (only moves forward
  to a checkpoint proven consistent with it);
- ``node_witness_alarm``: every sign that the hub shows two histories.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "node_witness_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cosigned_size", sa.BigInteger(), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_node_witness_state_single_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "node_witness_alarm",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("known_size", sa.BigInteger(), nullable=False),
        sa.Column("known_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("seen_size", sa.BigInteger(), nullable=False),
        sa.Column("seen_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("seen_note", sa.Text(), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("node_witness_alarm")
    op.drop_table("node_witness_state")
