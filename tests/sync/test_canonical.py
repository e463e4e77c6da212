"""RFC 8785 canonical JSON for our integer-and-string subset."""

from __future__ import annotations

import json
import random

import pytest

from sync.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INT,
    canonical_json,
    canonical_json_reference,
    json_copy,
)
from sync.errors import CanonicalError


def test_rfc8785_sec_3_2_2_example_without_numbers() -> None:
    # RFC 8785 §3.2.2 input, minus its "numbers" member (floats are refused here).
    value = json.loads(
        r'{"string": "\u20ac$\u000F\u000aA'
        r"'\u0042\u0022\u005c\\\"\/"
        r'", "literals": [null, true, false]}'
    )
    expected = '{"literals":[null,true,false],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    assert canonical_json(value) == expected.encode("utf-8")


def test_rfc8785_sec_3_2_3_sorting_by_utf16_code_units() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    out = json.loads(canonical_json(value))
    assert list(out.values()) == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",  # U+1F600 is D83D DE00 in UTF-16: before U+FB33
        "Hebrew Letter Dalet With Dagesh",
    ]


def test_astral_key_sorts_before_high_bmp_key() -> None:
    # Code-point order would put U+FFFF first; UTF-16 order puts the surrogate pair first.
    assert canonical_json({"\uffff": 1, "\U00010000": 2}) == (
        '{"\U00010000":2,"\uffff":1}'.encode()
    )


def test_string_escaping() -> None:
    text = "".join(chr(c) for c in range(0x20)) + '"\\/\x7f\u2028é中'
    out = canonical_json(text).decode("utf-8")
    assert out == (
        '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007'
        "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
        "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
        "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
        '\\"\\\\/\x7f\u2028é中"'
    )
    assert json.loads(out) == text


def test_structure_no_whitespace_and_nesting() -> None:
    value = {"b": [1, -2, {"z": None, "a": True}], "a": {}, "c": [], "d": "x"}
    assert canonical_json(value) == b'{"a":{},"b":[1,-2,{"a":true,"z":null}],"c":[],"d":"x"}'
    assert canonical_json((1, 2)) == b"[1,2]"
    assert canonical_json("中文") == '"中文"'.encode()


def test_integer_range() -> None:
    assert canonical_json(MAX_SAFE_INT) == b"9007199254740991"
    assert canonical_json(-MAX_SAFE_INT) == b"-9007199254740991"
    assert canonical_json(0) == b"0"
    for bad in (MAX_SAFE_INT + 1, -MAX_SAFE_INT - 1, 10**30):
        with pytest.raises(CanonicalError):
            canonical_json(bad)


@pytest.mark.parametrize(
    "bad",
    [1.0, 0.5, float("nan"), {"a": 1.5}, [1, 2.0], {1: "x"}, b"bytes", {"a": {1, 2}}, object()],
)
def test_refused_values(bad: object) -> None:
    with pytest.raises(CanonicalError) as info:
        canonical_json(bad)
    assert isinstance(info.value, ValueError)
    assert info.value.code == "not_canonical"


def test_lone_surrogates_refused() -> None:
    with pytest.raises(CanonicalError):
        canonical_json("\ud800")
    with pytest.raises(CanonicalError):
        canonical_json({"\udc00": 1})


def test_depth_limit() -> None:
    value: object = []
    for _ in range(MAX_DEPTH):
        value = [value]
    canonical_json(value)
    with pytest.raises(CanonicalError):
        canonical_json([value])


def test_bool_is_not_int() -> None:
    assert canonical_json([True, False, 1, 0]) == b"[true,false,1,0]"


# --- the fast path (the C encoder) against the reference writer -----------------

_ALPHABET = (
    'az09 _-./"\\\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f'
    "é中文\u2028\u2029\ud7ff\ue000\ufb33\uffff\U0001f600\U00010000"
)


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(0, 6)))


def _value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth > 4 or roll < 0.45:
        return rng.choice(
            [
                None,
                True,
                False,
                0,
                -1,
                MAX_SAFE_INT,
                -MAX_SAFE_INT,
                rng.randrange(-(10**6), 10**6),
                _text(rng),
                _text(rng),
            ]
        )
    if roll < 0.7:
        items = [_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
        return tuple(items) if rng.random() < 0.2 else items
    return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randrange(0, 5))}


def test_fast_path_writes_the_same_bytes_as_the_reference() -> None:
    rng = random.Random(8785)
    for _ in range(3000):
        value = _value(rng)
        assert canonical_json(value) == canonical_json_reference(value), value


@pytest.mark.parametrize(
    "value",
    [
        {"\ufb33": 1, "\U0001f600": 2},  # keys where code points and UTF-16 disagree
        {"a": {"\ue000x": [1, {"\U00010000": None}]}},
        [MAX_SAFE_INT, -MAX_SAFE_INT],
        "\x00\x1f\x7f\u2028",
    ],
)
def test_fast_path_edge_cases(value: object) -> None:
    assert canonical_json(value) == canonical_json_reference(value)


@pytest.mark.parametrize(
    "bad",
    [
        [MAX_SAFE_INT + 1],
        {"a": -MAX_SAFE_INT - 1},
        {"a": [1.0]},
        {"a": ["\ud800"]},
        {"\udc00x": 1},
        {"k": float("inf")},
    ],
)
def test_what_the_fast_path_cannot_write_is_still_refused(bad: object) -> None:
    with pytest.raises(CanonicalError):
        canonical_json(bad)


def test_subclasses_of_builtins_take_the_reference_path() -> None:
    class Key(str):
        pass

    class Number(int):
        pass

    value = {Key("b"): Number(2), "a": 1}
    assert canonical_json(value) == b'{"a":1,"b":2}'


def test_json_copy_is_a_deep_copy() -> None:
    original = {"a": [1, {"b": "x", "c": None}], "t": (1, [2]), "ok": True}
    copied = json_copy(original)
    assert copied == original and copied is not original
    copied["a"][1]["b"] = "changed"
    copied["t"][1].append(3)
    assert original == {"a": [1, {"b": "x", "c": None}], "t": (1, [2]), "ok": True}
    cyclic: list[object] = []
    cyclic.append(cyclic)
    assert json_copy(cyclic)[0][0] is not cyclic  # left to copy.deepcopy, which copes
