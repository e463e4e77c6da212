"""Alembic environment of the hub; run through ``central.migrate`` or ``minefed central migrate``.

The hub's database holds the ``hub_*`` tables and the protocol's ``sync_*``
tables. Only those are compared when autogenerating, because in one Python
process the node's tables may share ``SQLModel.metadata``.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

import central.models  # noqa: F401 - registers the tables

config = context.config
target_metadata = SQLModel.metadata

OWN_PREFIXES = ("hub_", "sync_")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if type_ == "table":
        return bool(name and name.startswith(OWN_PREFIXES))
    table = getattr(obj, "table", None)
    if table is not None:
        return bool(table.name.startswith(OWN_PREFIXES))
    return True


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set"
    options: dict[str, Any] = {"target_metadata": target_metadata, "include_object": include_object}
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
