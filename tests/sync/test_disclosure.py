"""Selective disclosure: conceal, reveal, tamper, public view."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from sync.b64 import b64url_encode
from sync.canonical import canonical_json
from sync.disclosure import (
    Disclosure,
    conceal,
    concealed_paths,
    digest_of,
    is_slot,
    public_view,
    reveal,
    reveal_with_slots,
    slots,
)
from sync.envelope import seal, verify_envelope
from sync.errors import DisclosureError, DisclosureMismatch
from sync.keys import KeyRecord, Keyring, SigningKey


class CountingSalts:
    """Deterministic salt source for tests."""

    def __init__(self) -> None:
        self.n = 0

    def token_bytes(self, nbytes: int) -> bytes:
        self.n += 1
        return self.n.to_bytes(nbytes, "big")


def contractor() -> dict[str, Any]:
    return {
        "uscc": "91150000MA0N000000",
        "name": "某某矿建工程有限公司",
        "head": {"name": "张三", "resident_id": "110101199003071234", "phone": "13800000000"},
        "safety_managers": [
            {"name": "李四", "resident_id": "110101199003075678"},
            {"name": "王五", "resident_id": None},
            {"name": "赵六", "resident_id": "11010119900307901X"},
        ],
        "phones": ["010-1", "010-2"],
    }


PATHS = ["head.resident_id", "head.phone", "safety_managers[].resident_id", "phones[]"]


def test_conceal_reveal_round_trip() -> None:
    original = contractor()
    signed, disclosures = conceal(original, PATHS, rng=CountingSalts())
    assert original == contractor()  # input untouched
    assert signed["name"] == original["name"]
    assert is_slot(signed["head"]["resident_id"])
    assert is_slot(signed["safety_managers"][0]["resident_id"])
    assert signed["safety_managers"][1]["resident_id"] is None  # None is not concealed
    assert is_slot(signed["phones"][1])
    assert [d.path for d in disclosures] == sorted(
        [
            "head.phone",
            "head.resident_id",
            "phones[0]",
            "phones[1]",
            "safety_managers[0].resident_id",
            "safety_managers[2].resident_id",
        ]
    )
    assert "110101199003071234" not in canonical_json(signed).decode()
    assert reveal(signed, disclosures) == original


def test_digest_definition() -> None:
    signed, disclosures = conceal(contractor(), ["head.resident_id"], rng=CountingSalts())
    (d,) = disclosures
    salt = b64url_encode((1).to_bytes(16, "big"))
    assert d.salt == salt
    expected = hashlib.sha256(
        canonical_json([salt, "head.resident_id", "110101199003071234"])
    ).digest()
    assert signed["head"]["resident_id"] == {"_sd": b64url_encode(expected)}
    assert d.digest() == digest_of(salt, "head.resident_id", "110101199003071234")


def test_partial_reveal_leaves_other_slots() -> None:
    signed, disclosures = conceal(contractor(), PATHS)
    some = [d for d in disclosures if d.path.startswith("safety_managers")]
    out = reveal(signed, some)
    assert out["safety_managers"][2]["resident_id"] == "11010119900307901X"
    assert is_slot(out["head"]["resident_id"])
    assert set(slots(out)) == {"head.resident_id", "head.phone", "phones[0]", "phones[1]"}


def test_salts_are_fresh() -> None:
    signed1, d1 = conceal(contractor(), ["head.resident_id"])
    signed2, d2 = conceal(contractor(), ["head.resident_id"])
    assert d1[0].salt != d2[0].salt
    assert signed1 != signed2


def test_tampered_value_or_moved_disclosure_rejected() -> None:
    signed, disclosures = conceal(contractor(), PATHS)
    by_path = {d.path: d for d in disclosures}
    d = by_path["safety_managers[0].resident_id"]
    with pytest.raises(DisclosureMismatch):
        reveal(signed, [Disclosure(d.path, d.salt, "110101199003070000")])
    with pytest.raises(DisclosureMismatch):  # moved to another slot
        reveal(signed, [Disclosure("safety_managers[2].resident_id", d.salt, d.value)])
    with pytest.raises(DisclosureMismatch):  # path that is not a slot
        reveal(signed, [Disclosure("name", d.salt, d.value)])
    with pytest.raises(DisclosureMismatch):  # path that does not exist
        reveal(signed, [Disclosure("safety_managers[9].resident_id", d.salt, d.value)])
    tampered = copy.deepcopy(signed)
    tampered["head"]["resident_id"] = signed["head"]["phone"]  # slot swapped in the payload
    with pytest.raises(DisclosureMismatch):
        reveal(tampered, [by_path["head.resident_id"]])


def test_malformed_disclosures_rejected() -> None:
    signed, disclosures = conceal(contractor(), ["head.resident_id"])
    d = disclosures[0]
    with pytest.raises(DisclosureError):
        reveal(signed, [Disclosure(d.path, b64url_encode(b"short"), d.value)])
    with pytest.raises(DisclosureError):
        reveal(signed, [d, d])
    with pytest.raises(DisclosureError):
        reveal(signed, [Disclosure("head..resident_id", d.salt, d.value)])
    assert Disclosure.from_dict(d.to_dict()) == d
    with pytest.raises(DisclosureError):
        Disclosure.from_dict({**d.to_dict(), "extra": 1})


def test_conceal_refuses_bad_shapes() -> None:
    with pytest.raises(DisclosureError):
        conceal(contractor(), ["name[]"])  # not a list
    with pytest.raises(DisclosureError):
        conceal(contractor(), ["safety_managers.resident_id"])  # list without []
    with pytest.raises(DisclosureError):
        conceal(contractor(), ["head", "head.phone"])  # overlapping
    with pytest.raises(DisclosureError):
        conceal(contractor(), ["head.phone", "head"])  # overlapping
    with pytest.raises(DisclosureError):
        conceal({"a": {"_sd": "x"}}, ["a"])  # would be confused with a slot
    with pytest.raises(DisclosureError):
        conceal(contractor(), ["bad path"])


@pytest.mark.parametrize(
    "paths",
    [PATHS, ["head"], ["phones[]", "head.phone"], ["deputy.phone", "head.resident_id"], []],
)
def test_concealed_paths_are_the_paths_conceal_conceals(paths: list[str]) -> None:
    _, disclosures = conceal(contractor(), paths)
    assert concealed_paths(contractor(), paths) == [d.path for d in disclosures]


@pytest.mark.parametrize(
    ("payload", "paths"),
    [
        (contractor(), ["name[]"]),
        (contractor(), ["safety_managers.resident_id"]),
        (contractor(), ["head", "head.phone"]),
        (contractor(), ["head.phone", "head"]),
        (contractor(), ["phones", "phones[]"]),
        ({"a": {"_sd": "x"}}, ["a"]),
        (contractor(), ["bad path"]),
    ],
)
def test_concealed_paths_refuses_what_conceal_refuses(
    payload: dict[str, Any], paths: list[str]
) -> None:
    with pytest.raises(DisclosureError):
        conceal(copy.deepcopy(payload), paths)
    with pytest.raises(DisclosureError):
        concealed_paths(payload, paths)


def test_missing_optional_fields_are_skipped() -> None:
    signed, disclosures = conceal({"head": None, "x": 1}, ["head.resident_id", "deputy.phone"])
    assert signed == {"head": None, "x": 1} and disclosures == []


def test_signature_verifies_over_public_view() -> None:
    from datetime import UTC, datetime

    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    key = SigningKey.generate()
    ring = Keyring([KeyRecord("node:150000", key.key_id, key.public(), t0)])
    signed, disclosures = conceal(contractor(), PATHS)
    env = seal("record.publish", "node:150000", 1, "hub", signed, key, t0)
    public = public_view(env.payload)
    assert "110101199003071234" not in canonical_json(public).decode()
    verify_envelope(env, ring)  # the public verifies what it sees
    assert reveal(public, disclosures) == contractor()


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except (DisclosureError, DisclosureMismatch) as exc:
        return (type(exc).__name__, str(exc))


def _reveal_then_slots(signed: Any, disclosures: Any) -> Any:
    return reveal(signed, disclosures), slots(signed)


def _cases() -> list[tuple[dict[str, Any], list[Disclosure]]]:
    signed, disclosures = conceal(contractor(), PATHS)
    by_path = {d.path: d for d in disclosures}
    d = by_path["safety_managers[0].resident_id"]
    # A disclosed value that itself holds a slot, opened by a later disclosure.
    inner_signed, (inner,) = conceal({"id": "110101199003071234"}, ["id"])
    salt = b64url_encode(bytes(range(16)))
    outer = Disclosure("who", salt, inner_signed)
    outer_signed = {"who": {"_sd": outer.digest()}}
    nested = Disclosure("who.id", inner.salt, inner.value)
    # (the digest binds the path: "id" was concealed at "id", not "who.id")
    nested_ok = Disclosure("who.id", salt, "110101199003071234")
    outer_ok = Disclosure("who", salt, {"id": {"_sd": nested_ok.digest()}})
    # Keys that are not plain names: paths there are ambiguous, the general walk decides.
    odd = {"a.b": {"_sd": signed["head"]["phone"]["_sd"]}, "x y": [signed["phones"][0]]}
    tampered = copy.deepcopy(signed)
    tampered["head"]["resident_id"] = signed["head"]["phone"]
    return [
        (signed, disclosures),
        (signed, list(reversed(disclosures))),
        (signed, disclosures[:2]),
        (signed, []),
        (signed, [Disclosure(d.path, d.salt, "110101199003070000")]),
        (signed, [Disclosure("safety_managers[2].resident_id", d.salt, d.value)]),
        (signed, [Disclosure("name", d.salt, d.value)]),
        (signed, [Disclosure("safety_managers[9].resident_id", d.salt, d.value)]),
        (signed, [Disclosure("head..resident_id", d.salt, d.value)]),
        (signed, [Disclosure(d.path, b64url_encode(b"short"), d.value)]),
        (signed, [Disclosure(d.path, "not base64!", d.value)]),
        (signed, [d, d]),
        (tampered, [by_path["head.resident_id"]]),
        (outer_signed, [outer]),
        (outer_signed, [outer, nested]),
        ({"who": {"_sd": outer_ok.digest()}}, [outer_ok, nested_ok]),
        ({"who": {"_sd": outer_ok.digest()}}, [nested_ok, outer_ok]),
        (odd, [by_path["head.phone"]]),
        (odd, [Disclosure("a.b", by_path["head.phone"].salt, by_path["head.phone"].value)]),
        ({"_sd": signed["head"]["phone"]["_sd"]}, []),
        ({"list": [[signed["phones"][1]]]}, []),
    ]


@pytest.mark.parametrize("case", range(len(_cases())))
def test_reveal_with_slots_is_reveal_and_slots_in_one(case: int) -> None:
    signed, disclosures = _cases()[case]
    before = copy.deepcopy(signed)
    assert _outcome(reveal_with_slots, signed, disclosures) == _outcome(
        _reveal_then_slots, signed, disclosures
    )
    assert signed == before  # neither changes its input
