"""HTML forms ↔ the schemas' dictionaries, and validation errors ↔ form fields.

Inputs are named by the dotted paths the schemas' errors use
(``head.resident_id``, ``safety_managers.0.name``), so an error from
``schemas.errors.format_errors`` lands beside the input it concerns. Repeated
rows (people, inspections) are numbered; blank rows are dropped and the rest
renumbered, and the form is redrawn from what was kept, so the numbers of the
errors and of the rows agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from schemas.enums import RecordKind

__all__ = ["SPECS", "FormErrors", "FormSpec", "parse_form", "value_at"]

# Items are separated by 、 , ; or new lines (not spaces: "ISO 45001" is one item).
_SPLIT = re.compile(r"[、,，;；\r\n]+")


@dataclass(frozen=True)
class FormSpec:
    """How one record kind's form reads: which inputs are what kind of value."""

    kind: RecordKind
    text: tuple[str, ...]
    booleans: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    #: Lists of strings typed one per line or separated by 、 , ;
    word_lists: tuple[str, ...] = ()
    #: Several choices (checkboxes) of whole numbers, e.g. accident categories.
    multi: tuple[str, ...] = ()
    #: Repeated rows: list name → the row's text fields (word lists marked with ``[]``).
    rows: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Nested objects: name → their text fields.
    objects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Extra blank rows offered for each repeated list.
    blank_rows: int = 2


_PERSON = ("name", "resident_id", "phone")

SPECS: dict[RecordKind, FormSpec] = {
    RecordKind.PROJECT_DEPARTMENT: FormSpec(
        kind=RecordKind.PROJECT_DEPARTMENT,
        text=(
            "project_name",
            "province_code",
            "city_code",
            "county_code",
            "issuing_unit",
            "mine_name",
            "safety_org",
            "start_month",
            "expected_end_month",
            "contracting_mode",
            "work_content",
            "written_report_date",
            "agreement_date",
            "emergency_plan_no",
        ),
        booleans=("underground", "written_report", "agreement_signed"),
        objects={"head": _PERSON},
        rows={
            "safety_managers": _PERSON,
            "technical_staff": _PERSON,
            "inspections": ("date", "participants[]"),
        },
    ),
}


def _text(form: FormData, name: str) -> str | None:
    raw = form.get(name)
    if not isinstance(raw, str):
        return None
    value = raw.strip()
    return value or None


def _words(raw: str | None) -> list[str]:
    return [w.strip() for w in _SPLIT.split(raw or "") if w.strip()]


def _boolean(form: FormData, name: str) -> bool | None:
    raw = _text(form, name)
    return {"true": True, "false": False}.get(raw or "")


def _integer(form: FormData, name: str) -> int | str | None:
    raw = _text(form, name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return raw  # the schema says what is wrong with it


def _row_numbers(form: FormData, prefix: str) -> list[int]:
    found = set()
    for key in form:
        if key.startswith(prefix + "."):
            head = key[len(prefix) + 1 :].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


def parse_form(spec: FormSpec, form: FormData) -> dict[str, Any]:
    """Every field of the form, blanks as ``None`` (a change that clears it)."""
    data: dict[str, Any] = {}
    for name in spec.text:
        data[name] = _text(form, name)
    for name in spec.booleans:
        data[name] = _boolean(form, name)
    for name in spec.integers:
        data[name] = _integer(form, name)
    for name in spec.word_lists:
        data[name] = _words(_text(form, name))
    for name in spec.multi:
        picked = [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
        data[name] = [int(v) if v.isdigit() else v for v in picked]
    for name, parts in spec.objects.items():
        obj = {p: _text(form, f"{name}.{p}") for p in parts}
        data[name] = {k: v for k, v in obj.items() if v is not None} or None
    for name, parts in spec.rows.items():
        rows = []
        for n in _row_numbers(form, name):
            row: dict[str, Any] = {}
            for part in parts:
                if part.endswith("[]"):
                    words = _words(_text(form, f"{name}.{n}.{part[:-2]}"))
                    if words:
                        row[part[:-2]] = words
                else:
                    value = _text(form, f"{name}.{n}.{part}")
                    if value is not None:
                        row[part] = value
            if row:
                rows.append(row)
        data[name] = rows
    return data


def for_create(data: dict[str, Any]) -> dict[str, Any]:
    """A new draft carries only what was filled in."""
    return {k: v for k, v in data.items() if v is not None}


def value_at(data: dict[str, Any] | None, path: str) -> Any:
    """The value at a dotted path (``head.name``, ``inspections.0.date``), or ``None``."""
    current: Any = data or {}
    for part in path.split("."):
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, dict):
            current = current.get(part)
        else:
            return None
        if current is None:
            return None
    return current


class FormErrors:
    """Validation errors by input name, and the summary list shown at the top."""

    def __init__(self, errors: list[dict[str, Any]] | None = None, message: str = "") -> None:
        self.items = list(errors or [])
        self.message = message
        self.by_field: dict[str, list[str]] = {}
        for err in self.items:
            self.by_field.setdefault(str(err.get("field") or ""), []).append(str(err["message"]))

    def __bool__(self) -> bool:
        return bool(self.items or self.message)

    def of(self, name: str) -> list[str]:
        return self.by_field.get(name, [])

    def anchor(self, name: str) -> str:
        """The id of the input an error points to (a group's first input)."""
        return "f-" + name.replace(".", "-") if name else "form-top"
