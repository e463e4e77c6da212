"""transparency: the Merkle log, its stored subtrees, checkpoints, witness cosignatures

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:00:00.000000

- ``hub_log_leaf``: leaf ``log_index`` (dense from 0) = one ``hub_publication``;
- ``hub_log_node``: complete subtree hashes (level >= 1), for O(log n) proofs;
- ``hub_checkpoint``: signed checkpoints (C2SP signed-note text);
- ``hub_checkpoint_cosignature``: witnesses' signature lines per checkpoint.

All four are append-only: a trigger refuses UPDATE, DELETE and TRUNCATE.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("hub_log_leaf", "hub_log_node", "hub_checkpoint", "hub_checkpoint_cosignature")


def upgrade() -> None:
    op.create_table(
        "hub_log_leaf",
        sa.Column("log_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("publication_id", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("sequenced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["publication_id"], ["hub_publication.id"]),
        sa.PrimaryKeyConstraint("log_index"),
        sa.UniqueConstraint("publication_id"),
    )
    op.create_table(
        "hub_log_node",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "index"),
    )
    op.create_table(
        "hub_checkpoint",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    op.create_table(
        "hub_checkpoint_cosignature",
        sa.Column("checkpoint_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_size"], ["hub_checkpoint.size"]),
        sa.PrimaryKeyConstraint("checkpoint_size", "witness"),
    )
    op.execute(
        """
        CREATE FUNCTION hub_log_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION hub_log_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hub_log_append_only()"
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    op.execute("DROP FUNCTION hub_log_append_only()")
