"""A record's data as rows a person reads, titled by the schemas' own field titles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from schemas.display import division_name, label, location, shown
from schemas.enums import RecordKind
from schemas.forms import FORMS

_ENUM_FIELDS = {
    "contracting_mode": "mode",
    "qualification_grade": "grade",
    "kind": "rp",
    "responsible_party": "party",
    "categories": "category",
}
_LOCATION = ("province_code", "city_code", "county_code")


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    path: str


def _title(model: type[BaseModel] | None, name: str) -> str:
    if model is None or name not in model.model_fields:
        return name
    return model.model_fields[name].title or name


def _item_text(item: Any, model: type[BaseModel] | None = None) -> str:
    if isinstance(item, dict):
        if "name" in item and "resident_id" in item:
            extra = "，".join(str(item[k]) for k in ("resident_id", "phone") if item.get(k))
            return f"{item['name']}（{extra}）" if extra else str(item["name"])
        if "date" in item and "participants" in item:
            return f"{item['date']}：{shown(item['participants'])}"
        if "filename" in item:
            return str(item["filename"])
        names = list(model.model_fields) if model is not None else list(item)
        return "；".join(f"{_title(model, k)}：{shown(item[k])}" for k in names if k in item)
    return shown(item)


def value_text(name: str, value: Any, model: type[BaseModel] | None = None) -> str:
    if name in _ENUM_FIELDS and isinstance(value, str):
        return label(value, _ENUM_FIELDS[name])
    if isinstance(value, dict):
        return _item_text(value)
    if isinstance(value, list):
        if not value:
            return "—"
        if not any(isinstance(v, dict) for v in value):
            if name in _ENUM_FIELDS:
                return "、".join(label(v, _ENUM_FIELDS[name]) for v in value)
            return "、".join(shown(v) for v in value)
        return "\n".join(_item_text(v, model) for v in value)
    return shown(value)


def describe(kind: str, data: dict[str, Any]) -> list[Row]:
    """Every field of the form, in the form's order, including those left blank."""
    model = FORMS[RecordKind(kind)][0]
    rows: list[Row] = []
    for name in model.model_fields:
        if name in _LOCATION:
            if name == "province_code":
                where = location(*(data.get(k) for k in _LOCATION))
                codes = "/".join(str(data.get(k) or "—") for k in _LOCATION)
                place = "事故发生地" if kind == RecordKind.ACCIDENT else "所在地"
                rows.append(Row(place, f"{where}（{codes}）" if where else "—", name))
            continue
        value = data.get(name)
        if name == "home_province_code" and isinstance(value, str):
            rows.append(Row(_title(model, name), f"{division_name(value)}（{value}）", name))
            continue
        inner = _inner(model.model_fields[name].annotation)
        rows.append(Row(_title(model, name), value_text(name, value, inner), name))
    return rows


def field_title(kind: str, path: str) -> str:
    """``safety_managers[1].resident_id`` → ``安全管理人员 第2项 公民身份号码``."""
    model: Any = FORMS[RecordKind(kind)][0]
    parts: list[str] = []
    for raw in path.split("."):
        name, _, index = raw.partition("[")
        info = model.model_fields.get(name) if model is not None else None
        parts.append(info.title if info is not None and info.title else name)
        if index:
            parts.append(f"第{int(index.rstrip(']')) + 1}项")
        model = _inner(info.annotation) if info is not None else None
    return " ".join(parts)


def _inner(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner(arg)
        if found is not None:
            return found
    return None
