"""Division table and the province / city / county hierarchy."""

from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from schemas import divisions
from schemas.data.build_gbt2260 import TSV_PATH, build
from schemas.divisions import (
    EDITION,
    Division,
    children,
    city_code,
    get_division,
    province_code,
    provinces,
    validate_division_code,
    validate_location,
)


def test_shipped_table_matches_a_fresh_build_and_edition() -> None:
    assert TSV_PATH.read_text("utf-8") == build()
    assert divisions.edition() == EDITION
    assert "python-stdnum 2.2" in EDITION


def test_lookup() -> None:
    assert get_division("150000") == Division("150000", "内蒙古自治区", "province", True)
    assert get_division("150200") == Division("150200", "包头市", "city", True)
    assert get_division("150206") == Division("150206", "白云鄂博矿区", "county", True)
    assert get_division("110103") == Division("110103", "崇文区", "county", False)
    assert get_division("990000") is None


def test_every_county_has_its_province_and_city_rows() -> None:
    rows = divisions._table().rows
    for code, division in rows.items():
        assert rows[province_code(code)].name
        parent = city_code(code)
        if division.level == "county" and parent is not None:
            assert rows[parent].name, code


def test_codes_of_parents() -> None:
    assert province_code("150206") == "150000"
    assert city_code("150206") == "150200"
    assert city_code("150200") == "150200"
    assert city_code("150000") is None
    assert city_code("110105") == "110100"


def test_provinces_and_children() -> None:
    names = [p.name for p in provinces()]
    assert len(names) == 34
    assert names[0] == "北京市" and "内蒙古自治区" in names and "澳门特别行政区" in names
    baotou = [c.name for c in children("150200")]
    assert "白云鄂博矿区" in baotou and "固阳县" in baotou
    assert all(c.current for c in children("150200"))
    assert [c.code for c in children("110000")] == ["110100"]
    assert "110200" in [c.code for c in children("110000", include_abolished=True)]
    assert children("150206") == []


@pytest.mark.parametrize(
    ("value", "level", "rule"),
    [
        ("15020", None, "division_format"),
        ("15020a", None, "division_format"),
        ("159999", None, "division_unknown"),
        ("150206", "city", "division_level"),
        ("150200", "province", "division_level"),
    ],
)
def test_division_code_rules(value: str, level: str | None, rule: str) -> None:
    with pytest.raises(PydanticCustomError) as info:
        validate_division_code(value, level)  # type: ignore[arg-type]
    assert info.value.type == rule


def test_location_ok() -> None:
    assert validate_location("150000", "150200", "150206") == ("150000", "150200", "150206")


@pytest.mark.parametrize(
    ("triple", "rule", "field"),
    [
        (("150000", "150200", "150102"), "division_not_in_city", "county_code"),
        (("150000", "140100", "140105"), "division_not_in_province", "city_code"),
        (("150200", "150200", "150206"), "division_level", "province_code"),
        (("150000", "150206", "150206"), "division_level", "city_code"),
        (("150000", "150200", "159999"), "division_unknown", "county_code"),
        (("150000", "150200", "150200"), "division_county_required", "county_code"),
        (("110000", "110000", "120101"), "division_not_in_city", "county_code"),
    ],
)
def test_location_errors_name_the_field(
    triple: tuple[str, str, str], rule: str, field: str
) -> None:
    with pytest.raises(PydanticCustomError) as info:
        validate_location(*triple, prefix="")
    assert info.value.type == rule
    assert info.value.context is not None and info.value.context["field"] == field


@pytest.mark.parametrize(
    ("triple", "normal"),
    [
        (("110000", "110100", "110105"), ("110000", "110100", "110105")),
        (("110000", "110000", "110105"), ("110000", "110100", "110105")),
        (("120000", "120000", "120116"), ("120000", "120100", "120116")),
        (("310000", "310100", "310115"), ("310000", "310100", "310115")),
        (("500000", "500000", "500235"), ("500000", "500200", "500235")),
        (("500000", "500200", "500235"), ("500000", "500200", "500235")),
    ],
)
def test_municipalities(triple: tuple[str, str, str], normal: tuple[str, str, str]) -> None:
    assert validate_location(*triple) == normal


def test_city_without_counties_is_its_own_county() -> None:
    assert validate_location("440000", "441900", "441900") == ("440000", "441900", "441900")
    assert validate_location("620000", "620200", "620200") == ("620000", "620200", "620200")


def test_abolished_codes_pass_unless_current_required() -> None:
    assert validate_location("110000", "110100", "110103")
    with pytest.raises(PydanticCustomError) as info:
        validate_location("110000", "110100", "110103", require_current=True)
    assert info.value.type == "division_abolished"
