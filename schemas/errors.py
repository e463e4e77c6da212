"""Validation errors that speak Chinese first and English second.

Validators raise :func:`rule_error`; the error *type* is a stable snake_case rule
code (``uscc_check_digit``, ``division_not_in_city``, ``date_order`` …) that
programs may match on, and the message is ``"<中文> / <English>"``.
:func:`format_errors` turns a :class:`pydantic.ValidationError` into a flat list
of ``{"field", "rule", "message"}`` dicts, translating pydantic's own error types
and naming the field by its Chinese title where the model declares one.

A model-level validator cannot attach its error to a field, so it passes the
field (relative to the model) as ``field=...`` in the context; the formatter
appends it to the error location.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict, TypeVar

import pydantic
from pydantic_core import PydanticCustomError

__all__ = [
    "FormattedError",
    "format_error_list",
    "format_errors",
    "register_model",
    "rule_error",
]


class FormattedError(TypedDict):
    """One validation problem, as the API and the pages show it."""

    field: str
    rule: str
    message: str


def rule_error(rule: str, zh: str, en: str, **ctx: Any) -> PydanticCustomError:
    """Build the error a validator raises when rule ``rule`` is broken.

    ``zh`` and ``en`` are the same message in Chinese and English; they may use
    ``{name}`` placeholders filled from ``ctx``. Pass ``field="county_code"`` from
    a model-level validator to say which field is at fault.
    """
    # Braces in the message are placeholders for pydantic; values come from ctx.
    return PydanticCustomError(rule, f"{zh} / {en}", ctx or None)


# Models whose field titles format_errors may use when no model is given. Keyed by
# class name, because that is what ValidationError.title carries.
_MODELS: dict[str, type[pydantic.BaseModel]] = {}


_M = TypeVar("_M", bound=type[pydantic.BaseModel])


def register_model(model: _M) -> _M:
    """Class decorator: let :func:`format_errors` find ``model`` by its name."""
    _MODELS[model.__name__] = model
    return model


def _join(loc: tuple[int | str, ...]) -> str:
    """Render a location as ``head.safety_managers.0.resident_id``."""
    return ".".join(str(part) for part in loc)


def _title_for(model: type[pydantic.BaseModel] | None, loc: tuple[int | str, ...]) -> str | None:
    """The Chinese title of the field at ``loc`` inside ``model``, if declared."""
    title: str | None = None
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not isinstance(fields, Mapping) or part not in fields:
            return None
        info = fields[part]
        title = info.title
        current = _model_in(info.annotation)
    return title


def _model_in(annotation: Any) -> type[pydantic.BaseModel] | None:
    """The pydantic model inside ``X``, ``list[X]`` or ``X | None``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _ctx(err: Mapping[str, Any]) -> Mapping[str, Any]:
    ctx = err.get("ctx")
    return ctx if isinstance(ctx, Mapping) else {}


def _expected(err: Mapping[str, Any]) -> str:
    return str(_ctx(err).get("expected", ""))


def _expected_zh(err: Mapping[str, Any]) -> str:
    return _expected(err).replace(", ", "、").replace(" or ", "、")


# English overrides where pydantic's own wording would read oddly after a field name.
_BUILTIN_EN: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda e: "field required",
    "extra_forbidden": lambda e: "extra field not permitted",
    "enum": lambda e: f"value must be one of {_expected(e)}",
    "literal_error": lambda e: f"value must be one of {_expected(e)}",
}

# Chinese renderings of pydantic's built-in error types.
_BUILTIN_ZH: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda e: "必填字段缺失",
    "extra_forbidden": lambda e: "不允许的字段",
    "enum": lambda e: f"取值不在允许范围内：{_expected_zh(e)}",
    "literal_error": lambda e: f"取值不在允许范围内：{_expected_zh(e)}",
    "int_parsing": lambda e: "应为整数",
    "int_type": lambda e: "应为整数",
    "int_from_float": lambda e: "应为整数，不能有小数",
    "float_type": lambda e: "应为数字",
    "bool_parsing": lambda e: "应为是或否",
    "bool_type": lambda e: "应为是或否",
    "string_type": lambda e: "应为文本",
    "string_too_short": lambda e: f"内容过短，至少 {_ctx(e).get('min_length')} 个字符",
    "string_too_long": lambda e: f"内容过长，最多 {_ctx(e).get('max_length')} 个字符",
    "string_pattern_mismatch": lambda e: "格式不正确",
    "too_short": lambda e: f"至少需要 {_ctx(e).get('min_length')} 项",
    "too_long": lambda e: f"最多允许 {_ctx(e).get('max_length')} 项",
    "list_type": lambda e: "应为列表",
    "dict_type": lambda e: "应为对象",
    "model_type": lambda e: "应为对象",
    "model_attributes_type": lambda e: "应为对象",
    "greater_than_equal": lambda e: f"不能小于 {_ctx(e).get('ge')}",
    "greater_than": lambda e: f"必须大于 {_ctx(e).get('gt')}",
    "less_than_equal": lambda e: f"不能大于 {_ctx(e).get('le')}",
    "less_than": lambda e: f"必须小于 {_ctx(e).get('lt')}",
    "date_parsing": lambda e: "日期格式不正确，应为 YYYY-MM-DD",
    "date_from_datetime_parsing": lambda e: "日期格式不正确，应为 YYYY-MM-DD",
    "date_from_datetime_inexact": lambda e: "应为日期，不能带时间",
    "date_type": lambda e: "应为日期",
    "datetime_parsing": lambda e: "时间格式不正确，应为 ISO 8601",
    "datetime_from_date_parsing": lambda e: "时间格式不正确，应为 ISO 8601",
    "datetime_type": lambda e: "应为日期时间",
    "uuid_parsing": lambda e: "标识符格式不正确",
    "uuid_type": lambda e: "标识符格式不正确",
    "value_error": lambda e: "取值不正确",
    "assertion_error": lambda e: "取值不正确",
    "set_type": lambda e: "应为集合",
    "none_required": lambda e: "此处应为空",
    "json_invalid": lambda e: "JSON 格式不正确",
}


def format_errors(
    exc: pydantic.ValidationError, model: type[pydantic.BaseModel] | None = None
) -> list[FormattedError]:
    """Flatten ``exc`` into ``[{"field", "rule", "message"}]``.

    ``field`` is the dotted path (list indices as numbers, ``""`` for the whole
    record); ``rule`` is the error type (our rule code, or pydantic's type such
    as ``missing``); ``message`` is ``"<中文> / <English>"``, prefixed with the
    field's Chinese title (or its path) when the error concerns a field. Titles
    are looked up in ``model``, or else in the model registered under
    ``exc.title``.
    """
    root = model if model is not None else _MODELS.get(exc.title)
    return format_error_list(exc.errors(include_url=False), root)


_REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie"})


def format_error_list(
    errors: Iterable[Mapping[str, Any]],
    model: type[pydantic.BaseModel] | None = None,
    *,
    strip_location: bool = False,
) -> list[FormattedError]:
    """Like :func:`format_errors`, from a list of pydantic error dicts.

    Web frameworks hand over such lists (FastAPI's ``RequestValidationError``);
    ``strip_location`` drops their leading ``body``/``query``/``path`` part so the
    field is named as the form names it.
    """
    out: list[FormattedError] = []
    for err in errors:
        loc = tuple(err["loc"])
        if strip_location and loc and loc[0] in _REQUEST_PARTS:
            loc = loc[1:]
        ctx = _ctx(err)
        extra_field = ctx.get("field")
        if isinstance(extra_field, str) and extra_field:
            loc = (*loc, *extra_field.split("."))
        rule = str(err["type"])
        msg = str(err.get("msg", ""))
        if rule in _BUILTIN_ZH:
            en_fn = _BUILTIN_EN.get(rule)
            en = en_fn(err) if en_fn is not None else _lower_first(msg)
            text = f"{_BUILTIN_ZH[rule](err)} / {en}"
        elif " / " in msg:
            text = msg
        else:
            # A plain ValueError from some validator: keep its text, say it twice.
            text = f"取值不正确：{msg} / {msg}"
        path = _join(loc)
        if path:
            label = _title_for(model, loc) or path
            zh, sep, en = text.partition(" / ")
            text = f"{label}：{zh} / {path}: {en}" if sep else f"{label}：{text}"
        out.append({"field": path, "rule": rule, "message": text})
    return out


def _lower_first(msg: str) -> str:
    return msg[:1].lower() + msg[1:]
