"""Side by side: what a submitted version changes against the version in force."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FieldChange(BaseModel):
    field: str
    change: str  # added, removed, changed
    before: Any = None
    after: Any = None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"head": {"name": "张三"}}`` → ``{"head.name": "张三"}``; list items by index."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(i, dict | list) for i in value):
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[FieldChange]:
    old, new = flatten(before or {}), flatten(after)
    changes: list[FieldChange] = []
    for field in sorted(old.keys() | new.keys()):
        if field not in old:
            if new[field] not in (None, "", []):
                changes.append(FieldChange(field=field, change="added", after=new[field]))
        elif field not in new:
            changes.append(FieldChange(field=field, change="removed", before=old[field]))
        elif old[field] != new[field]:
            changes.append(
                FieldChange(field=field, change="changed", before=old[field], after=new[field])
            )
    return changes
