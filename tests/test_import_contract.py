"""The dependency rule of DESIGN.md, checked: node and central never import each
other; sync and schemas import neither; schemas imports no sync.

sync/ owns the protocol's tables, outbox and delivery, so it may use SQLModel and
httpx, but no web framework and no task queue: the apps wire those.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "node": {"central"},
    "central": {"node"},
    "sync": {"node", "central", "minefed", "fastapi", "starlette", "celery", "kombu", "alembic"},
    "schemas": {
        "node",
        "central",
        "sync",
        "minefed",
        "fastapi",
        "sqlmodel",
        "sqlalchemy",
        "httpx",
        "psycopg",
    },
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_dependency_rule(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    offences = {
        str(f.relative_to(ROOT)): sorted(imported_roots(f) & FORBIDDEN[package]) for f in files
    }
    offences = {k: v for k, v in offences.items() if v}
    assert offences == {}, f"{package}/ imports what it must not: {offences}"


def test_the_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import central.app\nfrom node import models\n", encoding="utf-8")
    assert imported_roots(bad) == {"central", "node"}
