"""public search: an index for a province's contractors with recent incidents

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:50:00.000000

The public search's filters ("accidents or penalties in the last N years" within a
province, with or without grade and licence status) walked the whole province in
name order and counted it up to the cap: 60-190 ms a query at ten times national
scale (bench/README.md). ``(province_code, last_incident_on)`` makes them a range.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_hub_public_contractor_province_incident",
        "hub_public_contractor",
        ["province_code", "last_incident_on"],
    )


def downgrade() -> None:
    op.drop_index("ix_hub_public_contractor_province_incident", table_name="hub_public_contractor")
