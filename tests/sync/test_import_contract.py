"""sync/ stays a pure library: no node/central, no web framework, no database."""

from __future__ import annotations

import ast
from pathlib import Path

import sync

FORBIDDEN = {
    "node",
    "central",
    "minefed",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "sqlmodel",
    "psycopg",
    "alembic",
    "celery",
    "kombu",
}


def test_sync_imports_nothing_forbidden() -> None:
    root = Path(sync.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
