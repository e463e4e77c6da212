"""accounts: hub directives, reports to the hub, page sessions, contractor quota

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00.000000

- ``user_account``: ``credential_expires_at`` (one-time codes from the hub),
  ``deleted_at`` (deleted by the bureau; the row stays for the audit trail),
  ``hub_version`` (last hub directive applied), ``report_version`` and
  ``reported_version`` (facts reported to the hub as ``account.report``);
- ``api_token.kind``: ``bearer`` or ``session`` (page sessions, cookie + CSRF);
- ``node_federation``: the contractor account quota the bureau allocated.

Every new column has a server default or is nullable, so rows written by
older code (and bulk loads naming the old columns) stay valid.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "user_account", sa.Column("credential_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("user_account", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    for name in ("hub_version", "report_version", "reported_version"):
        op.add_column(
            "user_account", sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
        )
    op.add_column(
        "api_token",
        sa.Column("kind", sa.String(length=16), nullable=False, server_default="bearer"),
    )
    op.add_column(
        "node_federation", sa.Column("contractor_account_quota", sa.BigInteger(), nullable=True)
    )
    op.add_column(
        "node_federation",
        sa.Column("quota_version", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("node_federation", "quota_version")
    op.drop_column("node_federation", "contractor_account_quota")
    op.drop_column("api_token", "kind")
    for name in ("reported_version", "report_version", "hub_version", "deleted_at"):
        op.drop_column("user_account", name)
    op.drop_column("user_account", "credential_expires_at")
