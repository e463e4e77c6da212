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

from collections.abc import Mapping
from typing import Any

from sync.errors import CanonicalError

__all__ = ["MAX_DEPTH", "MAX_SAFE_INT", "CanonicalError", "JsonValue", "canonical_json"]

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


def canonical_json(obj: object) -> bytes:
    """Serialise ``obj`` to RFC 8785 canonical JSON, UTF-8 encoded.

    Accepts ``dict`` (string keys), ``list``/``tuple``, ``str``, ``int``
    within ±(2**53-1), ``bool`` and ``None``. Anything else -- floats
    included -- raises :class:`CanonicalError`, as do strings that are not
    valid Unicode (lone surrogates) and nesting deeper than :data:`MAX_DEPTH`.
    """
    parts: list[str] = []
    _emit(obj, parts, 0)
    return "".join(parts).encode("utf-8")


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
