"""sync: the protocol's tables and the node's federation state

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:02:10.766123

- the protocol's own tables, shared with the hub (``sync.tables``): outbox,
  per-destination delivery state, incoming cursors, quarantine, request nonces;
- the node's enrollment (one row), the node keys learnt from the hub's
  ``directive.keyring``, notices relayed from other provinces, and the ledger of
  published record versions (what ``minefed node publish-backlog`` completes).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "node_federation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hub_url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("hub_public_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hub_key_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("keyring_version", sa.BigInteger(), nullable=False),
        sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_pull_error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_node_federation_single_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "node_keyring",
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("public_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("directive_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index(op.f("ix_node_keyring_owner"), "node_keyring", ["owner"], unique=False)
    op.create_table(
        "node_publication",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("outbox_seq", sa.BigInteger(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "version_no"),
    )
    op.create_table(
        "relay_notice",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender", "seq", name="uq_relay_notice_sender_seq"),
    )
    op.create_index("ix_relay_notice_received_at", "relay_notice", ["received_at"], unique=False)
    op.create_table(
        "sync_cursor",
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream"),
    )
    op.create_table(
        "sync_nonce",
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender", "nonce"),
    )
    op.create_table(
        "sync_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("disclosures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient", "seq", name="uq_sync_outbox_recipient_seq"),
    )
    op.create_table(
        "sync_peer",
        sa.Column("peer", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.Column("acked_seq", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("backoff_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("peer"),
    )
    op.create_table(
        "sync_quarantine",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("message", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sync_quarantine_status", "sync_quarantine", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sync_quarantine_status", table_name="sync_quarantine")
    op.drop_table("sync_quarantine")
    op.drop_table("sync_peer")
    op.drop_table("sync_outbox")
    op.drop_table("sync_nonce")
    op.drop_table("sync_cursor")
    op.drop_index("ix_relay_notice_received_at", table_name="relay_notice")
    op.drop_table("relay_notice")
    op.drop_table("node_publication")
    op.drop_index(op.f("ix_node_keyring_owner"), table_name="node_keyring")
    op.drop_table("node_keyring")
    op.drop_table("node_federation")
