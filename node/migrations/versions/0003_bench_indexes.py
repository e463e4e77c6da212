"""indexes found by the node load benchmark

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 13:00:00

- the review queue (`GET /api/v1/review/queue`) pages a division's submitted
  versions oldest first. With only ix_version_queue (state, review_division)
  PostgreSQL fetches and sorts the whole backlog for every page: 14 ms for a
  county with 1,365 filings waiting, among 100,000 departments. This partial
  index is already in (submitted_at, record_id) order, so a page reads 20 index
  entries: 0.3 ms. It holds only the versions under review, so it stays small.
- the queue's total counts the same backlog, joined to record on (id,
  latest_version_no). With the version number in the partial index and
  (id, latest_version_no) on record, both sides are index-only: the count of
  that county's 1,365 goes from a parallel hash join over all of record (23 ms,
  three processes) to a nested loop of index probes (~2 ms, one process).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_version_submitted_queue",
        "record_version",
        ["review_division", "submitted_at", "record_id"],
        postgresql_include=["version_no"],
        postgresql_where="state = 'submitted'",
    )
    op.create_index("ix_record_latest_version", "record", ["id", "latest_version_no"])


def downgrade() -> None:
    op.drop_index("ix_record_latest_version", table_name="record")
    op.drop_index(
        "ix_version_submitted_queue",
        table_name="record_version",
        postgresql_where="state = 'submitted'",
    )
