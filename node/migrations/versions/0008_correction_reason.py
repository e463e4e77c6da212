"""correction reason: why a regulator corrected an entered accident or reward/penalty

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00.000000

- ``record_version.correction_reason``: required on every correction of a
  regulator-entered record (node.entry.service.correct), shown in its history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "record_version",
        sa.Column("correction_reason", sa.String(length=2000), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("record_version", "correction_reason")
