"""public search: the province/incident index carries the other filters' columns

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:20:00.000000

The count of a filtered search ("a province's contractors with a licence of grade
X, valid, with incidents in the last N years", capped at 10,000) walked
``(province_code, last_incident_on)`` and read every candidate row from the heap
to test the grade and the licence date: 56 ms a count at ten times national
scale, a quarter of PostgreSQL's time in the hub benchmark's mix. With
``licence_valid_to`` and ``grades`` included in the index the count is an
index-only scan (6 ms); with ``name`` and ``uscc`` too, so is finding the page's
twenty in name order (``central/disclosure/repository.py``: the page's rows are
then read by key).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_hub_public_contractor_province_incident"


def upgrade() -> None:
    op.drop_index(NAME, table_name="hub_public_contractor")
    op.create_index(
        NAME,
        "hub_public_contractor",
        ["province_code", "last_incident_on"],
        postgresql_include=["licence_valid_to", "grades", "name", "uscc"],
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="hub_public_contractor")
    op.create_index(NAME, "hub_public_contractor", ["province_code", "last_incident_on"])
