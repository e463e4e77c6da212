"""public search: one GIN index over a contractor's province and name grams

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:45:00.000000

"A brand within a province" (a name and a province: 15 % of the hub benchmark's
mix) found every contractor of that brand nationwide by the grams index, read
each row, then kept the province's: ~540 rows read for 7 kept, 1.3 ms a search
at ten times national scale, a third of PostgreSQL's time in the mix. With
``province_code`` a column of the same GIN index (``btree_gin``, PostgreSQL
contrib) the index intersects the two (0.35 ms). A search by name alone reads
only the index's gram entries, as before, so it replaces the grams-only index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.create_index(
        "ix_hub_public_contractor_province_grams",
        "hub_public_contractor",
        ["province_code", "name_grams"],
        postgresql_using="gin",
    )
    op.drop_index("ix_hub_public_contractor_grams", table_name="hub_public_contractor")


def downgrade() -> None:
    # The extension stays: other objects of the database may use it by then.
    op.create_index(
        "ix_hub_public_contractor_grams",
        "hub_public_contractor",
        ["name_grams"],
        postgresql_using="gin",
    )
    op.drop_index("ix_hub_public_contractor_province_grams", table_name="hub_public_contractor")
