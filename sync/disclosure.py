"""Selective disclosure of sensitive fields (after IETF SD-JWT).

The owner node signs a payload in which each sensitive value (resident ID
number, phone number ...) is replaced by a *slot* ``{"_sd": "<digest>"}``.
Beside the envelope travels, to the hub and to regulators only, one
:class:`Disclosure` per slot: the salt, the slot's path and the value. Thus:

* the public verifies the node's signature over everything it sees without
  seeing a single ID number;
* a regulator verifies each value it is shown against the signed digest.

Digest (the exact definition; other implementations must reproduce it)::

    digest = base64url_nopad( SHA-256( canonical_json([salt, path, value]) ) )

where ``salt`` is the base64url (unpadded) spelling of 16 fresh random bytes,
``path`` is the *concrete* JSON path of the value (``head.resident_id``,
``safety_managers[2].resident_id``) and ``value`` the JSON value itself; the
whole array is RFC 8785 canonical JSON. Encoding the three as one JSON array
makes the input unambiguous (no separator games between salt, name and
value), binding the path stops a disclosure from being moved to another slot,
and the 128-bit salt stops anyone from confirming a guessed ID number against
a digest (ID numbers have far too little entropy to be hashed unsalted).

Path patterns given to :func:`conceal` are dotted field names; ``name[]``
means every item of the list ``name``. Missing fields and ``None`` values are
not concealed (there is nothing to hide, and a slot would hide the absence).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from sync.b64 import b64url_decode, b64url_encode
from sync.canonical import JsonValue, canonical_json, json_copy
from sync.errors import CanonicalError, DisclosureError, DisclosureMismatch

__all__ = [
    "SALT_BYTES",
    "SD_KEY",
    "Disclosure",
    "SaltSource",
    "conceal",
    "concealed_paths",
    "digest_of",
    "is_slot",
    "public_view",
    "reveal",
    "reveal_with_slots",
    "slots",
]

#: The key of a digest slot.
SD_KEY = "_sd"

#: Salt length: 128 bits, as DESIGN.md and SD-JWT require.
SALT_BYTES = 16

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PATTERN_SEGMENT = re.compile(rf"\A({_NAME})((?:\[\])*)\Z")
_CONCRETE_SEGMENT = re.compile(rf"\A({_NAME})((?:\[(?:0|[1-9][0-9]*)\])*)\Z")
_INDEX = re.compile(r"\[([0-9]+)\]")
_DIGEST_LEN = 43  # unpadded base64url of 32 bytes


class SaltSource(Protocol):
    """Where salts come from; the ``secrets`` module is the production source."""

    def token_bytes(self, nbytes: int) -> bytes:
        """``nbytes`` unpredictable bytes."""
        ...


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Opens one slot: the salt, the slot's concrete path and the hidden value."""

    path: str
    salt: str
    value: JsonValue

    def digest(self) -> str:
        """The slot digest this disclosure opens (see the module docstring)."""
        return digest_of(self.salt, self.path, self.value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, sent beside the envelope."""
        return {"path": self.path, "salt": self.salt, "value": json_copy(self.value)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Disclosure:
        """Strict parse of :meth:`to_dict` output."""
        if not isinstance(data, Mapping) or set(data) != {"path", "salt", "value"}:
            raise DisclosureError("a disclosure has exactly the fields path, salt, value")
        path, salt = data["path"], data["salt"]
        if not isinstance(path, str) or not isinstance(salt, str):
            raise DisclosureError("path and salt are strings")
        return cls(path=path, salt=salt, value=json_copy(data["value"]))


def digest_of(salt: str, path: str, value: object) -> str:
    """``b64url(SHA-256(canonical_json([salt, path, value])))``."""
    if type(salt) is str and type(path) is str and type(value) is str:
        # Three strings (most disclosures): canonical JSON is orjson's output as is.
        try:
            data = orjson.dumps([salt, path, value])
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: canonical_json says so below
        else:
            return b64url_encode(hashlib.sha256(data).digest())
    try:
        data = canonical_json([salt, path, value])
    except CanonicalError as exc:
        raise DisclosureError(f"value at {path} is not canonicalisable: {exc.detail}") from exc
    return b64url_encode(hashlib.sha256(data).digest())


def is_slot(value: object) -> bool:
    """Whether ``value`` is a digest slot ``{"_sd": "<digest>"}``."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(value.get(SD_KEY), str)
        and len(value[SD_KEY]) == _DIGEST_LEN
    )


def conceal(
    payload: Mapping[str, Any],
    paths: Iterable[str],
    rng: SaltSource = secrets,
) -> tuple[dict[str, Any], list[Disclosure]]:
    """Replace every value at ``paths`` with a salted-digest slot.

    Returns the payload to sign (a new dict; ``payload`` is untouched) and the
    disclosures, sorted by path. Refuses (``DisclosureError``) a payload that
    already contains ``"_sd"`` keys (a real field could be mistaken for a
    slot), overlapping patterns, and patterns whose shape does not fit the
    payload (``x[]`` over a non-list, a field of a non-object): these are
    schema bugs that would otherwise leak data silently.
    """
    if _contains_sd_key(payload):
        raise DisclosureError(f"payload already contains {SD_KEY!r} keys")
    out: dict[str, Any] = json_copy(dict(payload))
    disclosures: dict[str, Disclosure] = {}
    for pattern in paths:
        for parent, key, concrete in _expand(out, _parse_pattern(pattern)):
            value = parent[key]
            if value is None:
                continue
            if concrete in disclosures or _contains_slot(value):
                raise DisclosureError(f"overlapping concealment at {concrete}")
            salt = b64url_encode(rng.token_bytes(SALT_BYTES))
            disclosure = Disclosure(path=concrete, salt=salt, value=value)
            parent[key] = {SD_KEY: disclosure.digest()}
            disclosures[concrete] = disclosure
    return out, [disclosures[p] for p in sorted(disclosures)]


def concealed_paths(payload: Mapping[str, Any], paths: Iterable[str]) -> list[str]:
    """The concrete paths :func:`conceal` would conceal in ``payload`` (its non-null
    values at ``paths``), sorted, with the same refusals, but without drawing salts
    or hashing: for a receiver checking that everything sensitive arrived concealed.
    """
    if _contains_sd_key(payload):
        raise DisclosureError(f"payload already contains {SD_KEY!r} keys")
    root = dict(payload)
    found: set[str] = set()
    for pattern in paths:
        for parent, key, concrete in _expand(root, _parse_pattern(pattern)):
            if parent[key] is None:
                continue
            if concrete in found:
                raise DisclosureError(f"overlapping concealment at {concrete}")
            found.add(concrete)
    for path in found:
        # One pattern inside another's value ("a" and "a.b", "x" and "x[0]").
        if any(path[: m.start()] in found for m in _STEP.finditer(path)):
            raise DisclosureError(f"overlapping concealment at {path}")
    return sorted(found)


def _check_new(disclosure: Disclosure, seen: set[str]) -> None:
    """A disclosure's salt, and that its path has not been disclosed already (``seen``
    collects the paths): the checks :func:`reveal` and :func:`reveal_with_slots` share."""
    try:
        salt = b64url_decode(disclosure.salt)
    except ValueError as exc:
        raise DisclosureError(f"salt at {disclosure.path} is not base64url") from exc
    if len(salt) != SALT_BYTES:
        raise DisclosureError(f"salt at {disclosure.path} is not {SALT_BYTES} bytes")
    if disclosure.path in seen:
        raise DisclosureError(f"two disclosures for {disclosure.path}")
    seen.add(disclosure.path)


def reveal(signed_payload: Mapping[str, Any], disclosures: Iterable[Disclosure]) -> dict[str, Any]:
    """Open the slots for which a disclosure is given, verifying each one.

    Returns a new payload with those values in clear; slots without a
    disclosure stay as digests. Raises :class:`DisclosureMismatch` if a
    disclosure's digest differs from its slot or its path is not a slot,
    :class:`DisclosureError` for malformed disclosures (short salt, bad path,
    the same path twice). Verify the envelope signature first: this only
    proves the values match what was signed.
    """
    out: dict[str, Any] = json_copy(dict(signed_payload))
    seen: set[str] = set()
    for disclosure in disclosures:
        _check_new(disclosure, seen)
        parent, key = _locate(out, disclosure.path)
        slot = parent[key]
        if not is_slot(slot):
            raise DisclosureMismatch(f"{disclosure.path} is not a digest slot")
        if not hmac.compare_digest(slot[SD_KEY], disclosure.digest()):
            raise DisclosureMismatch(f"disclosure for {disclosure.path} does not match")
        parent[key] = json_copy(disclosure.value)
    return out


def reveal_with_slots(
    signed_payload: Mapping[str, Any], disclosures: Sequence[Disclosure]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(reveal(signed_payload, disclosures), slots(signed_payload))`` in one walk.

    The same checks, in the same order, with the same errors as :func:`reveal`;
    for a receiver opening every slot of many payloads (the hub), where walking
    each payload once instead of once per disclosure is most of the cost.
    """
    found: dict[str, str] = {}
    # Slots reachable by an unambiguous path (every key a plain name), so that a
    # disclosure's path can be looked up instead of walked: concrete path ->
    # (container in the copy, key or index).
    places: dict[str, tuple[Any, Any]] = {}
    try:
        out = _copy_collecting(signed_payload, "", True, found, places, 0)
    except _NotPlain:
        return reveal(signed_payload, disclosures), slots(signed_payload)
    if not isinstance(out, dict) or is_slot(signed_payload):  # odd roots: the general path
        return reveal(signed_payload, disclosures), slots(signed_payload)
    seen: set[str] = set()
    for disclosure in disclosures:
        _check_new(disclosure, seen)
        place = places.get(disclosure.path)
        if place is None:
            # Not a slot of the signed payload: _locate gives reveal's exact error,
            # or finds a slot inside a value disclosed earlier in this loop.
            place = _locate(out, disclosure.path)
        parent, key = place
        slot = parent[key]
        if not is_slot(slot):
            raise DisclosureMismatch(f"{disclosure.path} is not a digest slot")
        if not hmac.compare_digest(slot[SD_KEY], disclosure.digest()):
            raise DisclosureMismatch(f"disclosure for {disclosure.path} does not match")
        parent[key] = json_copy(disclosure.value)
    return out, found


class _NotPlain(Exception):
    """A value of a type other than JSON's: left to the general functions."""


_PLAIN_NAME = re.compile(rf"\A{_NAME}\Z")


def _copy_collecting(
    value: Any,
    path: str,
    clean: bool,
    found: dict[str, str],
    places: dict[str, tuple[Any, Any]],
    depth: int,
) -> Any:
    """A copy of the container ``value`` (as json_copy), noting its slots as
    _collect_slots does, and where in the copy each slot reachable by an
    unambiguous path sits. Leaves are copied inline (most values are leaves)."""
    if depth > 64:
        raise _NotPlain
    kind = type(value)
    if kind is dict:
        copied: dict[Any, Any] = {}
        for key, item in value.items():
            item_kind = type(item)
            if item_kind is str or item_kind is int or item_kind is bool or item is None:
                copied[key] = item
                continue
            here = f"{path}.{key}" if path else str(key)
            named = clean and type(key) is str and _PLAIN_NAME.match(key) is not None
            if item_kind is dict and is_slot(item):
                found[here] = item[SD_KEY]
                copied[key] = {SD_KEY: item[SD_KEY]}
                if named:
                    places[here] = (copied, key)
            else:
                copied[key] = _copy_collecting(item, here, named, found, places, depth + 1)
        return copied
    if kind is list:
        items: list[Any] = []
        for i, item in enumerate(value):
            item_kind = type(item)
            if item_kind is str or item_kind is int or item_kind is bool or item is None:
                items.append(item)
                continue
            here = f"{path}[{i}]"
            if item_kind is dict and is_slot(item):
                found[here] = item[SD_KEY]
                items.append({SD_KEY: item[SD_KEY]})
                if clean and path:
                    places[here] = (items, i)
            else:
                items.append(_copy_collecting(item, here, clean, found, places, depth + 1))
        return items
    raise _NotPlain


def public_view(signed_payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as the public gets it: a copy with every slot left as a digest.

    Nothing is removed or replaced, so the node's signature still verifies
    over it. A page may show masked values (``110101********1234``) beside
    it, keyed by :func:`slots`; those come from the hub's disclosures and are
    not covered by the signature.
    """
    return json_copy(dict(signed_payload))


def slots(signed_payload: Mapping[str, Any]) -> dict[str, str]:
    """Every digest slot in the payload, as ``{concrete path: digest}``."""
    found: dict[str, str] = {}
    _collect_slots(signed_payload, "", found)
    return found


# --- internals ---------------------------------------------------------------


_STEP = re.compile(r"[.\[]")


def _parse_pattern(pattern: str) -> list[tuple[str, int]]:
    """``"a.b[].c"`` -> ``[("a", 0), ("b", 1), ("c", 0)]`` (name, number of ``[]``)."""
    if not isinstance(pattern, str) or not pattern:
        raise DisclosureError("empty path pattern")
    return list(_parse_pattern_cached(pattern))


@functools.lru_cache(maxsize=256)
def _parse_pattern_cached(pattern: str) -> tuple[tuple[str, int], ...]:
    # Forms have a handful of fixed patterns; parsing them is a good part of a check.
    parsed = []
    for segment in pattern.split("."):
        match = _PATTERN_SEGMENT.match(segment)
        if match is None:
            raise DisclosureError(f"bad path pattern {pattern!r}")
        parsed.append((match.group(1), len(match.group(2)) // 2))
    return tuple(parsed)


def _expand(root: dict[str, Any], pattern: list[tuple[str, int]]) -> list[tuple[Any, Any, str]]:
    """Concrete (parent container, key or index, concrete path) for a parsed pattern."""
    # Each frontier item: (container holding the current value, key, path so far).
    frontier: list[tuple[Any, Any, str]] = [(None, None, "")]
    current_values: list[Any] = [root]
    for depth, (name, list_levels) in enumerate(pattern):
        next_frontier: list[tuple[Any, Any, str]] = []
        next_values: list[Any] = []
        for (_, _, path), value in zip(frontier, current_values, strict=True):
            if value is None:
                continue
            if not isinstance(value, dict):
                raise DisclosureError(f"{path or '<root>'} is not an object")
            if name not in value:
                continue  # optional field absent: nothing to conceal
            here = f"{path}.{name}" if path else name
            items: list[tuple[Any, Any, str, Any]] = [(value, name, here, value[name])]
            for _ in range(list_levels):
                expanded: list[tuple[Any, Any, str, Any]] = []
                for _parent, _key, item_path, item in items:
                    if item is None:
                        continue
                    if not isinstance(item, list):
                        raise DisclosureError(f"{item_path} is not a list")
                    expanded.extend(
                        (item, i, f"{item_path}[{i}]", element) for i, element in enumerate(item)
                    )
                items = expanded
            for parent, key, item_path, item in items:
                if depth < len(pattern) - 1 and is_slot(item):
                    raise DisclosureError(f"overlapping concealment through {item_path}")
                next_frontier.append((parent, key, item_path))
                next_values.append(item)
        frontier, current_values = next_frontier, next_values
    return frontier


def _locate(root: dict[str, Any], path: str) -> tuple[Any, Any]:
    """Parent container and key/index of a concrete path; :class:`DisclosureMismatch` if absent."""
    if not isinstance(path, str) or not path:
        raise DisclosureError("empty disclosure path")
    steps: list[str | int] = []
    for segment in path.split("."):
        match = _CONCRETE_SEGMENT.match(segment)
        if match is None:
            raise DisclosureError(f"bad disclosure path {path!r}")
        steps.append(match.group(1))
        steps.extend(int(i) for i in _INDEX.findall(match.group(2)))
    parent: Any = None
    current: Any = root
    for step in steps:
        parent = current
        if isinstance(step, str):
            if not isinstance(current, dict) or step not in current:
                raise DisclosureMismatch(f"{path} does not exist in the payload")
        elif not isinstance(current, list) or step >= len(current):
            raise DisclosureMismatch(f"{path} does not exist in the payload")
        current = current[step]
    return parent, steps[-1]


# Leaves of a payload: checked by exact type first, because the ABC checks below
# (Mapping, Sequence) are slow and a form has dozens of leaves.
_LEAVES = (str, int, bool, type(None))


def _contains_sd_key(value: object) -> bool:
    kind = type(value)
    if kind in _LEAVES:
        return False
    if kind is dict or kind is list:  # JSON's containers: leaves checked inline
        assert isinstance(value, dict | list)
        if kind is dict:
            if SD_KEY in value:
                return True
            assert isinstance(value, dict)
            items: Iterable[object] = value.values()
        else:
            items = value
        return any(type(v) not in _LEAVES and _contains_sd_key(v) for v in items)
    if isinstance(value, Mapping):
        return SD_KEY in value or any(_contains_sd_key(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_sd_key(v) for v in value)
    return False


def _contains_slot(value: object) -> bool:
    if is_slot(value):
        return True
    if isinstance(value, dict):
        return any(_contains_slot(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_slot(v) for v in value)
    return False


def _collect_slots(value: object, path: str, found: dict[str, str]) -> None:
    if type(value) in _LEAVES:
        return
    if is_slot(value):
        assert isinstance(value, dict)
        found[path] = value[SD_KEY]
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _collect_slots(item, f"{path}.{key}" if path else str(key), found)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        for i, item in enumerate(value):
            _collect_slots(item, f"{path}[{i}]", found)
