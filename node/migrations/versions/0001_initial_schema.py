"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 12:25:31.216823
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
    # Trigram indexes make substring search on Chinese names fast.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('actor_role', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('client_address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('entity_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_audit_event_action'), 'audit_event', ['action'], unique=False)
    op.create_index(op.f('ix_audit_event_actor_id'), 'audit_event', ['actor_id'], unique=False)
    op.create_index(op.f('ix_audit_event_at'), 'audit_event', ['at'], unique=False)
    op.create_index(op.f('ix_audit_event_entity_id'), 'audit_event', ['entity_id'], unique=False)
    op.create_table('contractor',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('home_province_code', sa.String(length=6, collation='C'), nullable=False),
    sa.Column('central_soe', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uscc')
    )
    op.create_table('user_account',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('division_code', sa.String(length=6, collation='C'), nullable=False),
    sa.Column('contractor_id', sa.Uuid(), nullable=True),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contractor_id'], ['contractor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_index(op.f('ix_user_account_contractor_id'), 'user_account', ['contractor_id'], unique=False)
    op.create_index(op.f('ix_user_account_division_code'), 'user_account', ['division_code'], unique=False)
    op.create_index(op.f('ix_user_account_role'), 'user_account', ['role'], unique=False)
    op.create_table('api_token',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('client_address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index(op.f('ix_api_token_user_id'), 'api_token', ['user_id'], unique=False)
    op.create_table('attachment',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('contractor_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('uploaded_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contractor_id'], ['contractor.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_attachment_contractor_id'), 'attachment', ['contractor_id'], unique=False)
    op.create_index(op.f('ix_attachment_sha256'), 'attachment', ['sha256'], unique=False)
    op.create_table('record',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('contractor_id', sa.Uuid(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('latest_version_no', sa.Integer(), nullable=False),
    sa.Column('current_version_no', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('entered_by_regulator', sa.Boolean(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('province_code', sa.String(length=6, collation='C'), nullable=True),
    sa.Column('city_code', sa.String(length=6, collation='C'), nullable=True),
    sa.Column('county_code', sa.String(length=6, collation='C'), nullable=True),
    sa.Column('central_soe', sa.Boolean(), nullable=False),
    sa.Column('event_on', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('last_inspection_on', sa.Date(), nullable=True),
    sa.Column('agreement_signed', sa.Boolean(), nullable=True),
    sa.Column('written_report', sa.Boolean(), nullable=True),
    sa.Column('expected_end_on', sa.Date(), nullable=True),
    sa.Column('grade', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('deaths', sa.Integer(), nullable=True),
    sa.Column('related_record_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['contractor_id'], ['contractor.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_record_contractor_id'), 'record', ['contractor_id'], unique=False)
    op.create_index('ix_record_county', 'record', ['county_code', 'kind'], unique=False)
    op.create_index(op.f('ix_record_created_at'), 'record', ['created_at'], unique=False)
    op.create_index(op.f('ix_record_event_on'), 'record', ['event_on'], unique=False)
    op.create_index(op.f('ix_record_grade'), 'record', ['grade'], unique=False)
    op.create_index('ix_record_kind_state', 'record', ['kind', 'state'], unique=False)
    op.create_index(op.f('ix_record_province_code'), 'record', ['province_code'], unique=False)
    op.create_index(op.f('ix_record_related_record_id'), 'record', ['related_record_id'], unique=False)
    op.create_index('ix_record_title_trgm', 'record', ['title'], unique=False, postgresql_using='gin', postgresql_ops={'title': 'gin_trgm_ops'})
    op.create_index('uq_record_basic_info', 'record', ['contractor_id'], unique=True, postgresql_where="kind = 'basic_info'")
    op.create_table('record_version',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('review_division', sa.String(length=6, collation='C'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('return_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['decided_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('record_id', 'version_no', name='uq_record_version_no')
    )
    op.create_index('ix_version_queue', 'record_version', ['state', 'review_division'], unique=False)
    # The audit trail is append-only: the database itself refuses to change or remove it.
    op.execute(
        """
        CREATE FUNCTION audit_event_immutable() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_immutable()"
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_immutable()"
    )
    # An approved version is locked: what was published is never rewritten.
    op.execute(
        """
        CREATE FUNCTION record_version_locked() RETURNS trigger AS $$
        BEGIN
            IF OLD.state = 'approved' THEN
                RAISE EXCEPTION 'record_version % is approved and locked', OLD.id;
            END IF;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER record_version_approved_locked BEFORE UPDATE ON record_version "
        "FOR EACH ROW EXECUTE FUNCTION record_version_locked()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS record_version_approved_locked ON record_version")
    op.execute("DROP FUNCTION IF EXISTS record_version_locked()")
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_immutable()")
    op.drop_index('ix_version_queue', table_name='record_version')
    op.drop_table('record_version')
    op.drop_index('uq_record_basic_info', table_name='record', postgresql_where="kind = 'basic_info'")
    op.drop_index('ix_record_title_trgm', table_name='record', postgresql_using='gin', postgresql_ops={'title': 'gin_trgm_ops'})
    op.drop_index(op.f('ix_record_related_record_id'), table_name='record')
    op.drop_index(op.f('ix_record_province_code'), table_name='record')
    op.drop_index('ix_record_kind_state', table_name='record')
    op.drop_index(op.f('ix_record_grade'), table_name='record')
    op.drop_index(op.f('ix_record_event_on'), table_name='record')
    op.drop_index(op.f('ix_record_created_at'), table_name='record')
    op.drop_index('ix_record_county', table_name='record')
    op.drop_index(op.f('ix_record_contractor_id'), table_name='record')
    op.drop_table('record')
    op.drop_index(op.f('ix_attachment_sha256'), table_name='attachment')
    op.drop_index(op.f('ix_attachment_contractor_id'), table_name='attachment')
    op.drop_table('attachment')
    op.drop_index(op.f('ix_api_token_user_id'), table_name='api_token')
    op.drop_table('api_token')
    op.drop_index(op.f('ix_user_account_role'), table_name='user_account')
    op.drop_index(op.f('ix_user_account_division_code'), table_name='user_account')
    op.drop_index(op.f('ix_user_account_contractor_id'), table_name='user_account')
    op.drop_table('user_account')
    op.drop_table('contractor')
    op.drop_index(op.f('ix_audit_event_entity_id'), table_name='audit_event')
    op.drop_index(op.f('ix_audit_event_at'), table_name='audit_event')
    op.drop_index(op.f('ix_audit_event_actor_id'), table_name='audit_event')
    op.drop_index(op.f('ix_audit_event_action'), table_name='audit_event')
    op.drop_table('audit_event')
