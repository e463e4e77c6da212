"""indexes of the province's queries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 15:00:00

- contractor names searched by substring (`q`): a trigram index, like record.title's;
- a county's (or city's, by prefix) records of one kind and state;
- a contractor's records of one kind (contractor pages, `contractor=` filter);
- the default sort, newest change first;
- the audit trail filtered by actor, newest first.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_contractor_name_trgm",
        "contractor",
        ["name"],
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index("ix_record_kind_county_state", "record", ["kind", "county_code", "state"])
    op.create_index("ix_record_contractor_kind", "record", ["contractor_id", "kind"])
    op.create_index("ix_record_updated_at", "record", ["updated_at"])
    op.create_index("ix_audit_event_actor_username_at", "audit_event", ["actor_username", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_actor_username_at", table_name="audit_event")
    op.drop_index("ix_record_updated_at", table_name="record")
    op.drop_index("ix_record_contractor_kind", table_name="record")
    op.drop_index("ix_record_kind_county_state", table_name="record")
    op.drop_index("ix_contractor_name_trgm", table_name="contractor")
