"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 13:03:07.229013

The hub's own tables (hub_*) and the protocol's shared tables (sync_*, from
sync/tables.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('hub_audit_event',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('client_address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('entity_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_hub_audit_event_action'), 'hub_audit_event', ['action'], unique=False)
    op.create_index(op.f('ix_hub_audit_event_actor'), 'hub_audit_event', ['actor'], unique=False)
    op.create_index(op.f('ix_hub_audit_event_at'), 'hub_audit_event', ['at'], unique=False)
    op.create_index(op.f('ix_hub_audit_event_entity_id'), 'hub_audit_event', ['entity_id'], unique=False)
    op.create_table('hub_enrollment_token',
    sa.Column('token_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('node_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('jurisdiction', sa.String(length=6, collation='C'), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('token_sha256')
    )
    op.create_index(op.f('ix_hub_enrollment_token_node_id'), 'hub_enrollment_token', ['node_id'], unique=False)
    op.create_table('hub_node',
    sa.Column('node_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('jurisdiction', sa.String(length=6, collation='C'), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('last_contact_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('node_id')
    )
    op.create_index('uq_hub_node_jurisdiction', 'hub_node', ['jurisdiction'], unique=True)
    op.create_table('hub_publication',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('node_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('record_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=True),
    sa.Column('envelope', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('envelope_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_hub_publication_node_kind', 'hub_publication', ['node_id', 'kind'], unique=False)
    op.create_index(op.f('ix_hub_publication_record_id'), 'hub_publication', ['record_id'], unique=False)
    op.create_index('uq_hub_publication_tombstone', 'hub_publication', ['record_id'], unique=True, postgresql_where="kind = 'record.tombstone'")
    op.create_index('uq_hub_publication_version', 'hub_publication', ['record_id', 'version_no'], unique=True, postgresql_where="kind = 'record.publish'")
    op.create_table('hub_record',
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('contractor_uscc', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
    sa.Column('contractor_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('province_code', sa.String(length=6, collation='C'), nullable=True),
    sa.Column('city_code', sa.String(length=6, collation='C'), nullable=True),
    sa.Column('county_code', sa.String(length=6, collation='C'), nullable=True),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('public_data', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('envelope', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('disclosures', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_entered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delete_reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.PrimaryKeyConstraint('record_id')
    )
    op.create_index('ix_hub_record_contractor', 'hub_record', ['contractor_uscc', 'kind'], unique=False)
    op.create_index(op.f('ix_hub_record_owner'), 'hub_record', ['owner'], unique=False)
    op.create_index('ix_hub_record_province_kind', 'hub_record', ['province_code', 'kind'], unique=False)
    op.create_table('sync_cursor',
    sa.Column('stream', sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('stream')
    )
    op.create_table('sync_nonce',
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sender', 'nonce')
    )
    op.create_table('sync_outbox',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('envelope', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('disclosures', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recipient', 'seq', name='uq_sync_outbox_recipient_seq')
    )
    op.create_table('sync_peer',
    sa.Column('peer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('next_seq', sa.BigInteger(), nullable=False),
    sa.Column('acked_seq', sa.BigInteger(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('backoff_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('peer')
    )
    op.create_table('sync_quarantine',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('stream', sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('message', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reason_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sync_quarantine_status', 'sync_quarantine', ['status'], unique=False)
    op.create_table('hub_node_key',
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('public_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner'], ['hub_node.node_id'], ),
    sa.PrimaryKeyConstraint('key_id')
    )
    op.create_index(op.f('ix_hub_node_key_owner'), 'hub_node_key', ['owner'], unique=False)
    # Versions of the key registry sent in directive.keyring (monotonic; gaps are harmless).
    op.execute("CREATE SEQUENCE hub_keyring_version_seq")
    # The audit trail is append-only: the database itself refuses to change or remove it.
    op.execute(
        """
        CREATE FUNCTION hub_audit_event_immutable() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'hub_audit_event is append-only';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER hub_audit_event_no_change BEFORE UPDATE OR DELETE ON hub_audit_event "
        "FOR EACH ROW EXECUTE FUNCTION hub_audit_event_immutable()"
    )
    op.execute(
        "CREATE TRIGGER hub_audit_event_no_truncate BEFORE TRUNCATE ON hub_audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION hub_audit_event_immutable()"
    )
    # The publication log is append-only too. The one change allowed is deleting an
    # entry's content (envelope set to NULL, everything else equal), which a
    # tombstone does: the hashes stay, so the log built on them stays verifiable.
    op.execute(
        """
        CREATE FUNCTION hub_publication_append_only() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'UPDATE'
               AND NEW.envelope IS NULL
               AND (NEW.id, NEW.node_id, NEW.record_id, NEW.kind, NEW.record_kind,
                    NEW.version_no, NEW.envelope_sha256, NEW.leaf_hash, NEW.received_at)
                   IS NOT DISTINCT FROM
                   (OLD.id, OLD.node_id, OLD.record_id, OLD.kind, OLD.record_kind,
                    OLD.version_no, OLD.envelope_sha256, OLD.leaf_hash, OLD.received_at)
            THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'hub_publication is append-only (only its content may be deleted)';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER hub_publication_no_change BEFORE UPDATE OR DELETE ON hub_publication "
        "FOR EACH ROW EXECUTE FUNCTION hub_publication_append_only()"
    )
    op.execute(
        "CREATE TRIGGER hub_publication_no_truncate BEFORE TRUNCATE ON hub_publication "
        "FOR EACH STATEMENT EXECUTE FUNCTION hub_publication_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS hub_publication_no_truncate ON hub_publication")
    op.execute("DROP TRIGGER IF EXISTS hub_publication_no_change ON hub_publication")
    op.execute("DROP FUNCTION IF EXISTS hub_publication_append_only()")
    op.execute("DROP TRIGGER IF EXISTS hub_audit_event_no_truncate ON hub_audit_event")
    op.execute("DROP TRIGGER IF EXISTS hub_audit_event_no_change ON hub_audit_event")
    op.execute("DROP FUNCTION IF EXISTS hub_audit_event_immutable()")
    op.execute("DROP SEQUENCE IF EXISTS hub_keyring_version_seq")
    op.drop_index(op.f('ix_hub_node_key_owner'), table_name='hub_node_key')
    op.drop_table('hub_node_key')
    op.drop_index('ix_sync_quarantine_status', table_name='sync_quarantine')
    op.drop_table('sync_quarantine')
    op.drop_table('sync_peer')
    op.drop_table('sync_outbox')
    op.drop_table('sync_nonce')
    op.drop_table('sync_cursor')
    op.drop_index('ix_hub_record_province_kind', table_name='hub_record')
    op.drop_index(op.f('ix_hub_record_owner'), table_name='hub_record')
    op.drop_index('ix_hub_record_contractor', table_name='hub_record')
    op.drop_table('hub_record')
    op.drop_index('uq_hub_publication_version', table_name='hub_publication', postgresql_where="kind = 'record.publish'")
    op.drop_index('uq_hub_publication_tombstone', table_name='hub_publication', postgresql_where="kind = 'record.tombstone'")
    op.drop_index(op.f('ix_hub_publication_record_id'), table_name='hub_publication')
    op.drop_index('ix_hub_publication_node_kind', table_name='hub_publication')
    op.drop_table('hub_publication')
    op.drop_index('uq_hub_node_jurisdiction', table_name='hub_node')
    op.drop_table('hub_node')
    op.drop_index(op.f('ix_hub_enrollment_token_node_id'), table_name='hub_enrollment_token')
    op.drop_table('hub_enrollment_token')
    op.drop_index(op.f('ix_hub_audit_event_entity_id'), table_name='hub_audit_event')
    op.drop_index(op.f('ix_hub_audit_event_at'), table_name='hub_audit_event')
    op.drop_index(op.f('ix_hub_audit_event_actor'), table_name='hub_audit_event')
    op.drop_index(op.f('ix_hub_audit_event_action'), table_name='hub_audit_event')
    op.drop_table('hub_audit_event')
