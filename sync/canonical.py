"""Canonical JSON (RFC 8785, JCS) for the subset the protocol signs.

Signatures are computed over bytes, and the bytes must be the same whichever
node, language or JSON library produced the value; JCS gives one spelling per
value. We support its integer-and-string subset only: floats are refused
because their shortest round-trip spelling is where implementations disagree
(and payloads have no business carrying measurements as binary floats), and
integers are kept within ±(2**53-1) so JavaScript and other IEEE-754 readers
see the same number.

Rules (RFC 8785 §3.2): objects have their keys sorted by UTF-16 code units
(not code points: an astral-plane key such as U+1F600 sorts *before* U+FB33);
no insignificant whitespace; strings escape only ``"``, ``\\`` and U+0000-U+001F,
using ``\\b \\f \\n \\r \\t`` where defined and ``\\u00xx`` (lowercase hex)
otherwise; output is UTF-8.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, TypeVar

import orjson

from sync.errors import CanonicalError

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INT",
    "CanonicalError",
    "JsonValue",
    "canonical_json",
    "canonical_json_reference",
    "json_copy",
]

_T = TypeVar("_T")

#: Largest integer exactly representable in an IEEE-754 double (I-JSON, RFC 7493).
MAX_SAFE_INT = 2**53 - 1

#: Nesting limit, so hostile input cannot exhaust the interpreter's stack.
MAX_DEPTH = 64

#: A JSON value as the protocol signs it. ``Any`` inside containers keeps the
#: alias usable with dicts of narrower value types; ``canonical_json`` checks
#: the actual types at run time.
JsonValue = None | bool | int | str | list[Any] | dict[str, Any]

_SHORT_ESCAPES = {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}
_ESCAPE_TABLE: dict[int, str] = {c: f"\\u{c:04x}" for c in range(0x20)}
_ESCAPE_TABLE.update(_SHORT_ESCAPES)


# orjson (compiled) writes exactly JCS for the subset _plain() admits: UTF-8,
# the same escapes (see _ESCAPE_TABLE: short forms for \b \t \n \f \r, \u00xx
# in lowercase for the other controls, nothing else escaped), no whitespace, and
# with OPT_SORT_KEYS keys in code-point order, which is UTF-16 order when every
# key is below U+E000. It refuses lone surrogates (the reference writer then
# says where). tests/sync/test_canonical.py compares it with the reference.
_PLAIN_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


def canonical_json(obj: object) -> bytes:
    """Serialise ``obj`` to RFC 8785 canonical JSON, UTF-8 encoded.

    Accepts ``dict`` (string keys), ``list``/``tuple``, ``str``, ``int``
    within ±(2**53-1), ``bool`` and ``None``. Anything else -- floats
    included -- raises :class:`CanonicalError`, as do strings that are not
    valid Unicode (lone surrogates) and nesting deeper than :data:`MAX_DEPTH`.

    Values of plain built-in types whose keys are all below U+E000 (every
    payload the protocol makes) are written by orjson's compiled
    encoder after a type check, several times faster; anything else, and
    anything that encoder would get wrong, goes through the reference writer
    below. Both give the same bytes (tests/sync/test_canonical.py compares them).
    """
    if _plain(obj, 0):
        try:
            return orjson.dumps(obj, option=_PLAIN_OPTIONS)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: the reference writer says where
    return canonical_json_reference(obj)


def json_copy(value: _T, _depth: int = 0) -> _T:
    """A deep copy of a JSON value, several times faster than ``copy.deepcopy``.

    Dicts, lists and tuples are rebuilt and scalars shared (they are immutable);
    anything else, and anything nested deeper than :data:`MAX_DEPTH` (a cycle,
    say), is left to ``copy.deepcopy``.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if _depth > MAX_DEPTH:
        return copy.deepcopy(value)
    if kind is dict:
        return {k: json_copy(v, _depth + 1) for k, v in value.items()}  # type: ignore[attr-defined,return-value]
    if kind is list:
        return [json_copy(v, _depth + 1) for v in value]  # type: ignore[attr-defined,return-value]
    if kind is tuple:
        return tuple(json_copy(v, _depth + 1) for v in value)  # type: ignore[attr-defined,return-value]
    return copy.deepcopy(value)


def canonical_json_reference(obj: object) -> bytes:
    """The reference writer of :func:`canonical_json` (every rule spelled out)."""
    parts: list[str] = []
    _emit(obj, parts, 0)
    return "".join(parts).encode("utf-8")


def _plain(obj: object, depth: int) -> bool:
    """Whether ``obj`` is in the subset orjson writes canonically: exact
    built-in types, safe integers, string keys below U+E000, depth within the limit."""
    kind = type(obj)
    if kind is str or obj is None or kind is bool:
        return True
    if kind is int:
        return -MAX_SAFE_INT <= obj <= MAX_SAFE_INT  # type: ignore[operator]
    if kind is dict:
        values: Any = obj.values()  # type: ignore[attr-defined]
        for key in obj:  # type: ignore[attr-defined]
            if type(key) is not str or (key and max(key) >= "\ue000"):
                return False
    elif kind is list or kind is tuple:
        values = obj
    else:
        return False
    if depth >= MAX_DEPTH:
        return False
    # Leaves are checked here rather than by a call each: most values are leaves.
    for value in values:
        kind = type(value)
        if kind is str or value is None or kind is bool:
            continue
        if kind is int:
            if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
                return False
            continue
        if not _plain(value, depth + 1):
            return False
    return True


def _emit(obj: object, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalError(f"nesting deeper than {MAX_DEPTH}")
    # bool before int: bool is an int subclass in Python.
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        if not -MAX_SAFE_INT <= obj <= MAX_SAFE_INT:
            raise CanonicalError(f"integer outside ±(2**53-1): {obj}")
        out.append(str(int(obj)))
    elif isinstance(obj, str):
        out.append(_quote(obj))
    elif isinstance(obj, float):
        raise CanonicalError("floats are not allowed in signed data; use int or str")
    elif isinstance(obj, Mapping):
        keys = list(obj.keys())
        for key in keys:
            if not isinstance(key, str):
                raise CanonicalError(f"object key is not a string: {key!r}")
        out.append("{")
        for i, key in enumerate(sorted(keys, key=_utf16_sort_key)):
            if i:
                out.append(",")
            out.append(_quote(key))
            out.append(":")
            _emit(obj[key], out, depth + 1)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for i, item in enumerate(obj):
            if i:
                out.append(",")
            _emit(item, out, depth + 1)
        out.append("]")
    else:
        raise CanonicalError(f"type not allowed in signed data: {type(obj).__name__}")


def _utf16_sort_key(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly like sequences of code units.
    try:
        return key.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise CanonicalError("object key is not valid Unicode (lone surrogate)") from exc


def _quote(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("string is not valid Unicode (lone surrogate)") from exc
    return '"' + text.translate(_ESCAPE_TABLE) + '"'
