"""Administrative division codes (GB/T 2260) and the location hierarchy.

The table ships as ``data/gbt2260.tsv`` (built from python-stdnum's division
data, see :data:`EDITION`) and holds current and abolished codes: abolished ones
stay valid because old ID numbers and old records still use them.

Codes are six digits: ``PP0000`` a province, ``PPCC00`` a city (prefecture), and
anything else a county. The four municipalities (北京 11, 天津 12, 上海 31,
重庆 50) have pseudo-cities ``PP0100`` 市辖区 and ``PP0200`` 县 between the
province and its districts.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from dataclasses import dataclass
from typing import Literal

from schemas.errors import rule_error

__all__ = [
    "EDITION",
    "MUNICIPALITIES",
    "Division",
    "DivisionLevel",
    "children",
    "city_code",
    "edition",
    "get_division",
    "level_of",
    "province_code",
    "provinces",
    "validate_division_code",
    "validate_location",
]

DivisionLevel = Literal["province", "city", "county"]

#: Province-level codes of the directly administered municipalities.
MUNICIPALITIES: frozenset[str] = frozenset({"110000", "120000", "310000", "500000"})

#: Edition of the shipped table; a test keeps it equal to the data file's header.
EDITION = (
    "GB/T 2260 codes derived from python-stdnum 2.2 cn/loc.dat "
    "(zh.wikipedia 中华人民共和国行政区划代码, changes up to 2025)"
)

_CODE = re.compile(r"^\d{6}$")
_LEVEL_ZH: dict[str, str] = {"province": "省级", "city": "市级", "county": "县级"}


@dataclass(frozen=True, slots=True)
class Division:
    """One row of the division table."""

    code: str
    name: str
    level: DivisionLevel
    current: bool


def level_of(code: str) -> DivisionLevel:
    """The level a well-formed six-digit code denotes by its shape."""
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


@dataclass(frozen=True, slots=True)
class _Table:
    edition: str
    rows: dict[str, Division]
    children: dict[str, list[Division]]


@functools.cache
def _table() -> _Table:
    text = importlib.resources.files("schemas").joinpath("data/gbt2260.tsv").read_text("utf-8")
    edition = ""
    rows: dict[str, Division] = {}
    for line in text.splitlines():
        if line.startswith("# EDITION:"):
            edition = line.removeprefix("# EDITION:").strip()
            continue
        if not line or line.startswith("#") or line.startswith("code\t"):
            continue
        code, name, current = line.split("\t")
        rows[code] = Division(code, name, level_of(code), current == "1")
    kids: dict[str, list[Division]] = {}
    for code in sorted(rows):
        parent = province_code(code) if rows[code].level == "city" else city_code(code)
        if rows[code].level != "province" and parent is not None:
            kids.setdefault(parent, []).append(rows[code])
    return _Table(edition, rows, kids)


def edition() -> str:
    """The edition line read from the shipped data file (equals :data:`EDITION`)."""
    return _table().edition


def get_division(code: str) -> Division | None:
    """The division with this code (current or abolished), or ``None``."""
    return _table().rows.get(code)


def province_code(code: str) -> str:
    """The province a code lies in: its first two digits + ``0000``."""
    return code[:2] + "0000"


def city_code(code: str) -> str | None:
    """The city (prefecture, or a municipality's pseudo-city) a code lies in.

    ``None`` for a province, and for the few (abolished) counties placed directly
    under a province (``PP00DD``). A city code returns itself.
    """
    if level_of(code) == "province" or code[2:4] == "00":
        return None
    return code[:4] + "00"


def provinces(*, include_abolished: bool = False) -> list[Division]:
    """Province-level divisions in code order."""
    return [
        d
        for d in _table().rows.values()
        if d.level == "province" and (include_abolished or d.current)
    ]


def children(code: str, *, include_abolished: bool = False) -> list[Division]:
    """Direct subdivisions: a province's cities, a city's counties, in code order."""
    found = _table().children.get(code, [])
    return [d for d in found if include_abolished or d.current]


def validate_division_code(
    v: str, level: DivisionLevel | None = None, *, field: str | None = None
) -> str:
    """Check that ``v`` is a known division code (of ``level``, if given).

    ``field``, when given, is put in the error context for model-level callers.
    """
    where = {"field": field} if field else {}
    v = v.strip()
    if not _CODE.fullmatch(v):
        raise rule_error(
            "division_format",
            "行政区划代码应为6位数字",
            "division code must be 6 digits",
            **where,
        )
    division = get_division(v)
    if division is None:
        raise rule_error(
            "division_unknown",
            "行政区划代码不存在：{code}",
            "unknown division code {code}",
            code=v,
            **where,
        )
    if level is not None and division.level != level:
        raise rule_error(
            "division_level",
            "应为{level_zh}行政区划代码：{code}",
            "{code} is not a {level}-level division code",
            code=v,
            level=level,
            level_zh=_LEVEL_ZH[level],
            **where,
        )
    return v


def _has_counties(city: str) -> bool:
    return bool(children(city))


def validate_location(
    province: str,
    city: str,
    county: str,
    *,
    require_current: bool = False,
    prefix: str = "",
) -> tuple[str, str, str]:
    """Check a province / city / county triple and return it normalised.

    Rules (error ``field`` names the culprit, as ``{prefix}province_code`` etc.):
    each code known and of its level; the city inside the province; the county
    inside the city. For a municipality the city may be given as the province
    code itself (as many forms show 北京市 / 北京市 / 朝阳区); it is normalised to
    the county's pseudo-city. A city without counties (东莞市, 中山市, 嘉峪关市,
    儋州市) is given as its own county. With ``require_current`` abolished codes
    are refused; by default they pass, so old records still validate.
    """
    names = (f"{prefix}province_code", f"{prefix}city_code", f"{prefix}county_code")
    levels: tuple[DivisionLevel, ...] = ("province", "city", "county")
    for value, expected, field in zip((province, city, county), levels, names, strict=True):
        level: DivisionLevel = expected
        if field == names[1] and value in MUNICIPALITIES:
            level = "province"
        elif field == names[2] and value == city:
            level = "city"
        validate_division_code(value, level, field=field)
        division = get_division(value)
        if require_current and division is not None and not division.current:
            raise rule_error(
                "division_abolished",
                "行政区划代码已撤销：{code}",
                "division code {code} has been abolished",
                code=value,
                field=field,
            )

    if province_code(city) != province:
        raise rule_error(
            "division_not_in_province",
            "所选市不属于所选省：{city}",
            "city {city} is not in province {province}",
            city=city,
            province=province,
            field=names[1],
        )
    if city in MUNICIPALITIES:
        # 北京市 / 北京市 / 朝阳区: take the pseudo-city from the district.
        if province_code(county) != province or level_of(county) != "county":
            raise rule_error(
                "division_not_in_city",
                "所选县（区）不属于所选市：{county}",
                "county {county} is not in city {city}",
                county=county,
                city=city,
                field=names[2],
            )
        real_city = city_code(county)
        if real_city is None:  # pragma: no cover - municipalities have no PP00DD codes
            raise rule_error(
                "division_not_in_city",
                "所选县（区）不属于所选市：{county}",
                "county {county} is not in city {city}",
                county=county,
                city=city,
                field=names[2],
            )
        return province, real_city, county
    if county == city:
        if _has_counties(city):
            raise rule_error(
                "division_county_required",
                "请选择县（区）：{city} 下设县级行政区",
                "choose a county: {city} has county-level divisions",
                city=city,
                field=names[2],
            )
        return province, city, county
    if city_code(county) != city:
        raise rule_error(
            "division_not_in_city",
            "所选县（区）不属于所选市：{county}",
            "county {county} is not in city {city}",
            county=county,
            city=city,
            field=names[2],
        )
    return province, city, county
