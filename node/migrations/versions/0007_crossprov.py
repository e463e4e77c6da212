"""crossprov: project departments across provinces, five-year retention

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:40:00.000000

- ``record.home_node`` (at the location node: the node a relayed filing came
  from) and ``record.owner_node`` (at the home node: the node owning a copy);
- ``contractor.deleted_at``: retention deleted the contractor's information;
- ``node_tombstone``: the fact of each deletion, so nothing deleted comes back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("record", sa.Column("home_node", sa.String(length=64), nullable=True))
    op.add_column("record", sa.Column("owner_node", sa.String(length=64), nullable=True))
    op.add_column("contractor", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "node_tombstone",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )


def downgrade() -> None:
    op.drop_table("node_tombstone")
    op.drop_column("contractor", "deleted_at")
    op.drop_column("record", "owner_node")
    op.drop_column("record", "home_node")
