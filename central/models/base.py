"""Column helpers shared by the hub's tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, String


def tz_column(*, nullable: bool = False, index: bool = False, **kw: Any) -> Any:
    """A ``timestamptz`` column; every instant the hub stores is timezone-aware."""
    return Column(DateTime(timezone=True), nullable=nullable, index=index, **kw)


def code_column(*, nullable: bool = True, index: bool = False) -> Any:
    """A GB/T 2260 division code; collation "C" so prefix matches can use a btree index."""
    return Column(String(6, collation="C"), nullable=nullable, index=index)
