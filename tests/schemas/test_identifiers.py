"""Identifier checks: every rule, good and bad, and agreement with python-stdnum."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from pydantic_core import PydanticCustomError
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from schemas.divisions import _table
from schemas.identifiers import (
    USCC_CHARSET,
    make_org_code,
    make_resident_id,
    make_uscc,
    mask_name,
    mask_phone,
    mask_resident_id,
    org_code_check_char,
    resident_id_check_char,
    uscc_check_char,
    validate_mobile,
    validate_org_code,
    validate_phone,
    validate_resident_id,
    validate_uscc,
    validate_year_month,
)

TODAY = date(2025, 6, 30)


def rule_of(fn, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(PydanticCustomError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert " / " in message, message
    return info.value.type


# --- USCC ---------------------------------------------------------------------------


def test_uscc_known_real_code() -> None:
    # The example of python-stdnum's documentation (a real registration).
    assert validate_uscc("91110000600037341L") == "91110000600037341L"


def test_uscc_normalises_case_and_spaces() -> None:
    assert validate_uscc(" 9111 0000 6000 3734 1l ") == "91110000600037341L"


def test_make_uscc_is_valid_and_embeds_org_code() -> None:
    code = make_uscc("150102", "MA0N1A2B")
    assert code == "91150102MA0N1A2B3W"
    assert validate_uscc(code) == code
    assert validate_org_code(code[8:17]) == "MA0N1A2B3"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("91110000600037341", "uscc_length"),
        ("91110000600037341LL", "uscc_length"),
        ("", "uscc_length"),
        ("91110000600037341I", "uscc_charset"),
        ("9111000060003734OL", "uscc_charset"),
        ("91110000S00037341L", "uscc_charset"),
        ("911100$0600037341L", "uscc_charset"),
        ("91A10000600037341L", "uscc_division_format"),
        ("91110000600037341M", "uscc_check_digit"),
        ("91110000600037342L", "uscc_check_digit"),
    ],
)
def test_uscc_rules(value: str, rule: str) -> None:
    assert rule_of(validate_uscc, value) == rule


def test_uscc_length_message_names_actual_length() -> None:
    with pytest.raises(PydanticCustomError) as info:
        validate_uscc("9111")
    assert "实际为4位" in str(info.value)
    assert "got 4" in str(info.value)


def test_uscc_letter_authority_code_accepted() -> None:
    # GB 32100 registration authorities include N (agriculture) and Y (other);
    # python-stdnum refuses any letter in the first 8 characters.
    first17 = "N2150102" + make_org_code("MA0N1A2B")
    code = first17 + uscc_check_char(first17)
    assert validate_uscc(code) == code
    assert not stdnum_uscc.is_valid(code)


def _random_uscc_like(rng: random.Random) -> str:
    division = rng.choice(list(_table().rows))
    body = "".join(rng.choice(USCC_CHARSET) for _ in range(8))
    code = "9" + rng.choice("123") + division + make_org_code(body)
    code += uscc_check_char(code)
    mutation = rng.random()
    if mutation < 0.4:
        i = rng.randrange(18)
        code = code[:i] + rng.choice(USCC_CHARSET) + code[i + 1 :]
    elif mutation < 0.5:
        i, j = sorted(rng.sample(range(18), 2))
        code = code[:i] + code[j] + code[i + 1 : j] + code[i] + code[j + 1 :]
    return code


def _valid(fn, value: str, **kwargs) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn(value, **kwargs)
    except PydanticCustomError:
        return False
    return True


def test_uscc_agrees_with_stdnum_on_generated_codes() -> None:
    rng = random.Random(20250630)
    valid = compared = 0
    for _ in range(5000):
        code = _random_uscc_like(rng)
        ours = _valid(validate_uscc, code)
        if not code[:2].isdigit():
            # A letter authority code: stdnum refuses it by design (see above).
            continue
        assert ours == stdnum_uscc.is_valid(code), code
        valid += ours
        compared += 1
    assert compared > 4500
    assert 2000 < valid < compared  # both outcomes exercised


def test_uscc_check_char_agrees_with_stdnum() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        first17 = "".join(rng.choice("0123456789") for _ in range(8)) + "".join(
            rng.choice(USCC_CHARSET) for _ in range(9)
        )
        assert uscc_check_char(first17) == stdnum_uscc.calc_check_digit(first17)


# --- Organisation code -------------------------------------------------------------


def test_org_code_known_values() -> None:
    # 60003734-1 is the organisation code inside 91110000600037341L.
    assert validate_org_code("60003734-1") == "600037341"
    assert org_code_check_char("60003734") == "1"
    assert org_code_check_char("D2143569") == "X"  # 11 - Σ mod 11 == 10


def test_org_code_check_x_and_zero() -> None:
    bodies = {org_code_check_char(f"{n:08d}") for n in range(0, 2000)}
    assert {"X", "0"} <= bodies
    for n in range(0, 2000):
        body = f"{n:08d}"
        total = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
        check = 11 - total % 11
        expected = "X" if check == 10 else "0" if check == 11 else str(check)
        assert org_code_check_char(body) == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("60003734", "org_code_length"),
        ("60003734-12", "org_code_length"),
        ("6000373#-1", "org_code_charset"),
        ("60003734-A", "org_code_charset"),
        ("60003734-2", "org_code_check_digit"),
    ],
)
def test_org_code_rules(value: str, rule: str) -> None:
    assert rule_of(validate_org_code, value) == rule


# --- Resident ID -----------------------------------------------------------------------


def test_resident_id_valid_and_stdnum_agrees() -> None:
    rid = make_resident_id("150102", date(1985, 3, 12), "103")
    assert rid == "15010219850312103X"
    assert validate_resident_id(rid.lower(), today=TODAY) == rid
    assert stdnum_ric.is_valid(rid)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("1501021985031210", "resident_id_length"),
        ("150102850312103", "resident_id_length"),  # old 15-digit numbers are refused
        ("15010219850312103XX", "resident_id_length"),
        ("1501021985031210AX", "resident_id_charset"),
        ("15010219850312103Y", "resident_id_charset"),
        ("150102198503121031", "resident_id_check_digit"),
        ("150102198503121301", "resident_id_check_digit"),
    ],
)
def test_resident_id_rules(value: str, rule: str) -> None:
    assert rule_of(validate_resident_id, value, today=TODAY) == rule


def _rid(division: str, digits8: str, seq: str = "101") -> str:
    first17 = division + digits8 + seq
    return first17 + resident_id_check_char(first17)


@pytest.mark.parametrize("digits", ["19850230", "19851301", "19850000", "18991231", "20250701"])
def test_resident_id_bad_birth_date(digits: str) -> None:
    assert rule_of(validate_resident_id, _rid("150102", digits), today=TODAY) == (
        "resident_id_birth_date"
    )


def test_resident_id_birth_today_ok_tomorrow_not() -> None:
    assert validate_resident_id(_rid("150102", "20250630"), today=TODAY)
    assert rule_of(validate_resident_id, _rid("150102", "20250701"), today=TODAY) == (
        "resident_id_birth_date"
    )


def test_resident_id_unknown_region() -> None:
    assert rule_of(validate_resident_id, _rid("990101", "19850312"), today=TODAY) == (
        "resident_id_region"
    )


def test_resident_id_abolished_region_accepted_outside_its_years() -> None:
    # 110103 崇文区 was abolished in 2010; stdnum refuses a birth after that, we
    # accept (see validate_resident_id's docstring).
    rid = _rid("110103", "20150101")
    assert validate_resident_id(rid, today=TODAY) == rid
    assert not stdnum_ric.is_valid(rid)
    old = _rid("110103", "19800101")
    assert validate_resident_id(old, today=TODAY) == old
    assert stdnum_ric.is_valid(old)


def test_resident_id_agrees_with_stdnum_on_generated_numbers() -> None:
    rng = random.Random(11643)
    current = [d.code for d in _table().rows.values() if d.current]
    valid = 0
    for _ in range(5000):
        # Births in 2025 H1: every current code existed then, so stdnum's
        # year-window check and ours coincide.
        birth = date(2025, 1, 1) + timedelta(days=rng.randrange(180))
        rid = make_resident_id(rng.choice(current), birth, f"{rng.randrange(1000):03d}")
        mutation = rng.random()
        if mutation < 0.3:
            i = rng.randrange(18)
            rid = rid[:i] + rng.choice("0123456789X") + rid[i + 1 :]
        elif mutation < 0.4:
            # Impossible months and days (never a future one: stdnum allows those).
            month = rng.choice([0, 1, 2, 4, 6, 13, 19])
            rid = rid[:10] + f"{month:02d}{rng.randrange(0, 40):02d}" + rid[14:]
        ours = _valid(validate_resident_id, rid, today=TODAY)
        theirs = stdnum_ric.is_valid(rid) if rid[:17].isdigit() else False
        assert ours == theirs, rid
        valid += ours
    assert 2000 < valid < 5000


def test_resident_id_check_char_agrees_with_stdnum() -> None:
    rng = random.Random(3)
    for _ in range(3000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        assert resident_id_check_char(first17) == stdnum_ric.calc_check_digit(first17 + "0")


# --- Phones ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("13847112345", "13847112345"),
        ("138 4711 2345", "13847112345"),
        ("138-4711-2345", "13847112345"),
        ("+86 138 4711 2345", "13847112345"),
        ("008619912345678", "19912345678"),
    ],
)
def test_mobile_valid(value: str, normal: str) -> None:
    assert validate_mobile(value) == normal
    assert validate_phone(value) == normal


@pytest.mark.parametrize(
    "value", ["12847112345", "1384711234", "138471123456", "1384711234a", "0471-6281234"]
)
def test_mobile_invalid(value: str) -> None:
    assert rule_of(validate_mobile, value) == "mobile_format"


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("0471-6281234", "0471-6281234"),
        ("04716281234", "0471-6281234"),
        ("(0471) 6281234", "0471-6281234"),
        ("010-62345678", "010-62345678"),
        ("01062345678", "010-62345678"),
        ("021-5123456-801", "021-5123456-801"),
    ],
)
def test_landline_valid(value: str, normal: str) -> None:
    assert validate_phone(value) == normal


@pytest.mark.parametrize(
    "value", ["0471-0281234", "471-6281234", "0471-62812", "0471-628123456", "电话", ""]
)
def test_phone_invalid(value: str) -> None:
    assert rule_of(validate_phone, value) == "phone_format"


# --- Year-month --------------------------------------------------------------------------


def test_year_month() -> None:
    assert validate_year_month("2024-03") == "2024-03"
    assert validate_year_month("2024-3") == "2024-03"
    for bad in ("2024-13", "2024-00", "202403", "24-03", "1800-01", "2024/03"):
        assert rule_of(validate_year_month, bad) == "year_month_format"


# --- Masking -------------------------------------------------------------------------------


def test_mask_resident_id() -> None:
    assert mask_resident_id("15010219850312103X") == "150102********103X"
    assert mask_resident_id("150102********103X") == "150102********103X"
    assert mask_resident_id("12345") == "*****"


def test_mask_phone() -> None:
    assert mask_phone("13856785678") == "138****5678"
    assert mask_phone("138****5678") == "138****5678"
    assert mask_phone("0471-6281234") == "0471-*****34"
    assert mask_phone("010-62345678-801") == "010-******78"
    assert mask_phone("0471-*****34") == "0471-*****34"


def test_mask_name() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳修文") == "欧***"
    assert mask_name("张**") == "张**"
    assert mask_name("") == ""
