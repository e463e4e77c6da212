"""accounts: hub users, the national account directory, USCC claims, quotas

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00.000000

- ``hub_user`` and ``hub_credential``: the bureau's administrators and staff,
  their bearer tokens and page sessions (SHA-256 only);
- ``hub_account``: every node account as the nodes report it, and the
  province administrators the bureau allocates (no password hashes);
- ``hub_uscc_claim``: one contractor account per USCC nationally;
- ``hub_province_quota``: contractor accounts allocated to each province.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_user",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("credential_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "hub_credential",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client_address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["hub_user.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(
        op.f("ix_hub_credential_user_id"), "hub_credential", ["user_id"], unique=False
    )
    op.create_table(
        "hub_account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("node_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("province_code", sa.String(length=6, collation="C"), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("division_code", sa.String(length=6, collation="C"), nullable=False),
        sa.Column("contractor_uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
        sa.Column(
            "contractor_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("applied_version", sa.BigInteger(), nullable=False),
        sa.Column("report_version", sa.BigInteger(), nullable=False),
        sa.Column("uscc_conflict", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_hub_account_node_id"), "hub_account", ["node_id"], unique=False)
    op.create_index(
        op.f("ix_hub_account_contractor_uscc"), "hub_account", ["contractor_uscc"], unique=False
    )
    op.create_index(
        "ix_hub_account_node_username", "hub_account", ["node_id", "username"], unique=False
    )
    op.create_index(
        "ix_hub_account_province_role", "hub_account", ["province_code", "role"], unique=False
    )
    op.create_table(
        "hub_uscc_claim",
        sa.Column("uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("node_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column(
            "contractor_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.PrimaryKeyConstraint("uscc"),
    )
    op.create_index(op.f("ix_hub_uscc_claim_node_id"), "hub_uscc_claim", ["node_id"], unique=False)
    op.create_table(
        "hub_province_quota",
        sa.Column("node_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("contractor_accounts", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("node_id"),
    )


def downgrade() -> None:
    op.drop_table("hub_province_quota")
    op.drop_index(op.f("ix_hub_uscc_claim_node_id"), table_name="hub_uscc_claim")
    op.drop_table("hub_uscc_claim")
    op.drop_index("ix_hub_account_province_role", table_name="hub_account")
    op.drop_index("ix_hub_account_node_username", table_name="hub_account")
    op.drop_index(op.f("ix_hub_account_contractor_uscc"), table_name="hub_account")
    op.drop_index(op.f("ix_hub_account_node_id"), table_name="hub_account")
    op.drop_table("hub_account")
    op.drop_index(op.f("ix_hub_credential_user_id"), table_name="hub_credential")
    op.drop_table("hub_credential")
    op.drop_table("hub_user")
