"""The migrations and the table models describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import node.models  # noqa: F401 - registers the node's tables


def _table_of(change) -> str | None:
    """The table a diff entry is about (entries are tuples, or lists of tuples)."""
    entry = change[0] if isinstance(change, list) else change
    for part in entry[1:]:
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        name = getattr(part, "name", None)
        if isinstance(name, str):
            return name
        if isinstance(part, str):
            return part
    return None


def test_models_match_the_migrated_database(node_engine):
    with node_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # The hub's tables share the metadata when both apps are imported in one test run.
    node_diff = [d for d in diff if not (_table_of(d) or "").startswith("hub_")]
    assert node_diff == []
