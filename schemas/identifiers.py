"""Identifier checks that say exactly what is wrong, and masking for the public.

Each ``validate_*`` normalises its input (strip, upper-case, drop separators),
checks it, and returns the normal form, or raises a :func:`~schemas.errors.rule_error`
with one rule per kind of fault (length, characters, check character, …) so a
user knows what to fix. The check algorithms are written out from the standards
and the tests check that they agree with python-stdnum where it implements them.

The ``Annotated`` types (:data:`USCC`, :data:`ResidentID`, …) plug these into
pydantic models.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo

from schemas.clock import today_from_context
from schemas.divisions import get_division, validate_division_code
from schemas.errors import rule_error

__all__ = [
    "USCC",
    "DivisionCode",
    "Mobile",
    "OrgCode",
    "Phone",
    "ProvinceCode",
    "ResidentID",
    "YearMonth",
    "make_org_code",
    "make_resident_id",
    "make_uscc",
    "mask_name",
    "mask_phone",
    "mask_resident_id",
    "org_code_check_char",
    "resident_id_check_char",
    "uscc_check_char",
    "validate_mobile",
    "validate_org_code",
    "validate_phone",
    "validate_resident_id",
    "validate_uscc",
    "validate_year_month",
]

# --- USCC, GB 32100-2015 -------------------------------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The 18th character of a USCC whose first 17 characters are given."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def _compact(v: str, separators: str = " -") -> str:
    v = v.strip().upper()
    for sep in separators:
        v = v.replace(sep, "")
    return v


def validate_uscc(v: str) -> str:
    """Check a unified social credit code (统一社会信用代码) and return it normalised.

    Rules: ``uscc_length`` (18 characters), ``uscc_charset`` (only
    ``0-9 A-H J-N P-R T U W X Y``), ``uscc_division_format`` (positions 3–8, the
    registration division, are 6 digits; the code need not still exist, since
    divisions change after registration), ``uscc_check_digit``. Positions 1–2 may
    be letters (e.g. ``N`` agriculture, ``Y`` other registration authorities).
    """
    v = _compact(v)
    if len(v) != 18:
        raise rule_error(
            "uscc_length",
            "统一社会信用代码应为18位，实际为{length}位",
            "USCC must be 18 characters, got {length}",
            length=len(v),
        )
    bad = sorted({c for c in v if c not in USCC_CHARSET})
    if bad:
        raise rule_error(
            "uscc_charset",
            "统一社会信用代码含有不允许的字符：{chars}（不使用 I、O、S、V、Z）",
            "USCC contains characters not allowed: {chars} (I, O, S, V, Z are never used)",
            chars="".join(bad),
        )
    if not v[2:8].isdigit():
        raise rule_error(
            "uscc_division_format",
            "统一社会信用代码第3至8位（登记管理机关行政区划码）应为数字",
            "USCC positions 3-8 (registration division code) must be digits",
        )
    # One computation at run time; tests/schemas/test_identifiers.py checks that it
    # agrees with python-stdnum (the hub validates every record it ingests: twice
    # was 8 % of its CPU per record).
    if v[17] != uscc_check_char(v[:17]):
        raise rule_error(
            "uscc_check_digit",
            "统一社会信用代码校验码错误，请核对是否录入有误",
            "USCC check character is wrong; please check for typing errors",
        )
    return v


# --- Organisation code, GB 11714-1997 ---------------------------------------------

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY = re.compile(r"^[0-9A-Z]{8}$")


def _org_value(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def org_code_check_char(body8: str) -> str:
    """The check character (9th) of an organisation code with this 8-character body."""
    total = sum(_org_value(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def validate_org_code(v: str) -> str:
    """Check an organisation code (组织机构代码), ``12345678-9`` or ``123456789``.

    Rules: ``org_code_length`` (9 characters without the hyphen),
    ``org_code_charset`` (body digits/capital letters, check a digit or ``X``),
    ``org_code_check_digit``. Returns the 9 characters without a hyphen, as the
    code appears inside a USCC.
    """
    v = _compact(v)
    if len(v) != 9:
        raise rule_error(
            "org_code_length",
            "组织机构代码应为9位（8位本体代码+1位校验码），实际为{length}位",
            "organisation code must be 9 characters (8 + check), got {length}",
            length=len(v),
        )
    if not _ORG_BODY.fullmatch(v[:8]) or not (v[8].isdigit() or v[8] == "X"):
        raise rule_error(
            "org_code_charset",
            "组织机构代码只能包含数字和大写字母，校验码为数字或X",
            "organisation code may hold only digits and capital letters; check is a digit or X",
        )
    if v[8] != org_code_check_char(v[:8]):
        raise rule_error(
            "org_code_check_digit",
            "组织机构代码校验码错误",
            "organisation code check character is wrong",
        )
    return v


# --- Resident ID, GB 11643-1999 ----------------------------------------------------

_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK = "10X98765432"
_EARLIEST_BIRTH = date(1900, 1, 1)


def resident_id_check_char(first17: str) -> str:
    """The 18th character of a resident ID number whose first 17 digits are given."""
    total = sum(int(c) * w for c, w in zip(first17, _RIC_WEIGHTS, strict=True))
    return _RIC_CHECK[total % 11]


def validate_resident_id(v: str, *, today: date | None = None) -> str:
    """Check an 18-digit resident identity card number (公民身份号码).

    Rules: ``resident_id_length``, ``resident_id_charset`` (17 digits then a digit
    or ``X``), ``resident_id_check_digit``, ``resident_id_birth_date`` (digits
    7–14 a real date, not before 1900 and not after ``today``),
    ``resident_id_region`` (digits 1–6 a known division code, current or
    abolished). Unlike python-stdnum, the region need not have existed in the
    birth year: the table's dates come from an encyclopaedia, and refusing a real
    person's number over a table gap would stop a filing.
    """
    v = _compact(v)
    if len(v) != 18:
        raise rule_error(
            "resident_id_length",
            "公民身份号码应为18位，实际为{length}位",
            "resident ID number must be 18 characters, got {length}",
            length=len(v),
        )
    if not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        raise rule_error(
            "resident_id_charset",
            "公民身份号码前17位应为数字，最后一位为数字或X",
            "resident ID number must be 17 digits followed by a digit or X",
        )
    if v[17] != resident_id_check_char(v[:17]):
        raise rule_error(
            "resident_id_check_digit",
            "公民身份号码校验码错误，请核对是否录入有误",
            "resident ID check character is wrong; please check for typing errors",
        )
    try:
        birth = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        birth = None
    today = today or date.today()
    if birth is None or not _EARLIEST_BIRTH <= birth <= today:
        raise rule_error(
            "resident_id_birth_date",
            "公民身份号码中的出生日期无效：{digits}",
            "resident ID number holds an invalid date of birth: {digits}",
            digits=v[6:14],
        )
    if get_division(v[:6]) is None:
        raise rule_error(
            "resident_id_region",
            "公民身份号码前6位不是有效的行政区划代码：{code}",
            "resident ID number starts with an unknown division code: {code}",
            code=v[:6],
        )
    return v


# --- Phone numbers -------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# 010 and 02x are three-digit area codes, all others four; local numbers never
# start with 0 or 1; an extension may follow after a hyphen.
_LANDLINE = re.compile(r"^(010|02\d|0[3-9]\d{2})-?([2-9]\d{6,7})(?:-(\d{1,6}))?$")


def _normal_mobile(v: str) -> str | None:
    v = _compact(v)
    for prefix in ("+86", "0086"):
        if v.startswith(prefix):
            v = v[len(prefix) :]
            break
    return v if _MOBILE.fullmatch(v) else None


def validate_mobile(v: str) -> str:
    """Check a mainland mobile number (11 digits, ``1[3-9]…``); ``+86`` is dropped.

    Rule: ``mobile_format``.
    """
    normal = _normal_mobile(v)
    if normal is None:
        raise rule_error(
            "mobile_format",
            "手机号码应为11位数字，以13至19开头",
            "mobile number must be 11 digits starting with 13-19",
        )
    return normal


def validate_phone(v: str) -> str:
    """Check a mobile or landline number; landlines normalise to ``0471-1234567[-801]``.

    Rule: ``phone_format``.
    """
    normal = _normal_mobile(v)
    if normal is not None:
        return normal
    compact = v.strip().replace(" ", "").replace("(", "").replace(")", "")
    m = _LANDLINE.fullmatch(compact)
    if m is None:
        raise rule_error(
            "phone_format",
            "电话号码格式不正确，应为手机号或“区号-号码”，如 0471-1234567",
            "phone must be a mobile number or 'area code-number', e.g. 0471-1234567",
        )
    area, local, ext = m.groups()
    return f"{area}-{local}" + (f"-{ext}" if ext else "")


# --- Masking -----------------------------------------------------------------------


def mask_resident_id(v: str) -> str:
    """Keep the first 6 and last 4 characters: ``150102********103X``. Idempotent."""
    if len(v) <= 10:
        return "*" * len(v)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def mask_phone(v: str) -> str:
    """Mask a phone number: ``138****5678``; a landline keeps its area code and last 2.

    ``0471-1234567`` → ``0471-*****67`` (any extension is dropped). Idempotent.
    """
    if "-" in v:
        area, _, rest = v.partition("-")
        local = rest.split("-")[0]
        return f"{area}-" + "*" * max(len(local) - 2, 0) + local[-2:]
    if len(v) == 11:
        return v[:3] + "****" + v[-4:]
    if len(v) <= 2:
        return "*" * len(v)
    return "*" * (len(v) - 2) + v[-2:]


def mask_name(v: str) -> str:
    """Keep the first character of a name: ``张三丰`` → ``张**``. Idempotent."""
    return v[:1] + "*" * (len(v) - 1)


# --- Generators for tests and demo data ------------------------------------------------


def make_org_code(body8: str) -> str:
    """An organisation code: ``body8`` plus its check character."""
    return body8 + org_code_check_char(body8)


def make_uscc(division6: str, org8: str) -> str:
    """A valid USCC for a company (``91``) in ``division6`` with organisation body ``org8``.

    ``org8`` must use USCC characters (no I, O, S, V, Z).
    """
    first17 = "91" + division6 + make_org_code(org8)
    return first17 + uscc_check_char(first17)


def make_resident_id(division6: str, birth: date, seq3: str) -> str:
    """A valid resident ID number (odd ``seq3`` for men, even for women)."""
    first17 = f"{division6}{birth:%Y%m%d}{seq3}"
    return first17 + resident_id_check_char(first17)


# --- Year-month --------------------------------------------------------------------------

_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def validate_year_month(v: str) -> str:
    """Check ``YYYY-MM`` (year 1900–2199, month 01–12); ``2024-3`` becomes ``2024-03``.

    Rule: ``year_month_format``.
    """
    m = _YEAR_MONTH.fullmatch(v.strip())
    if m is None or not 1900 <= int(m[1]) <= 2199 or not 1 <= int(m[2]) <= 12:
        raise rule_error(
            "year_month_format",
            "年月格式应为 YYYY-MM，月份 01 至 12",
            "year-month must be YYYY-MM with month 01-12",
        )
    return f"{m[1]}-{int(m[2]):02d}"


# --- Annotated types ---------------------------------------------------------------------


def _resident_id_in_context(v: str, info: ValidationInfo) -> str:
    return validate_resident_id(v, today=today_from_context(info.context))


def _schema(pattern: str, example: str, description: str) -> Any:
    return Field(
        description=description,
        examples=[example],
        json_schema_extra={"pattern": pattern},
    )


USCC = Annotated[
    str,
    AfterValidator(validate_uscc),
    _schema(
        "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
        "91150102MA0N1A2B3W",
        "统一社会信用代码 (GB 32100-2015), 18 characters",
    ),
]
"""Unified social credit code, normalised to upper case."""

OrgCode = Annotated[
    str,
    AfterValidator(validate_org_code),
    _schema("^[0-9A-Z]{8}-?[0-9X]$", "MA0N1A2B3", "组织机构代码 (GB 11714), 9 characters"),
]
"""Organisation code, normalised to 9 characters without a hyphen."""

ResidentID = Annotated[
    str,
    AfterValidator(_resident_id_in_context),
    _schema("^[0-9]{17}[0-9X]$", "15010219850312103X", "公民身份号码 (GB 11643-1999)"),
]
"""Resident ID number; birth date checked against the context clock."""

Mobile = Annotated[
    str,
    AfterValidator(validate_mobile),
    _schema("^1[3-9][0-9]{9}$", "13847112345", "手机号码"),
]
"""Mainland mobile number, 11 digits."""

Phone = Annotated[
    str,
    AfterValidator(validate_phone),
    _schema(
        r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-[2-9][0-9]{6,7}(-[0-9]{1,6})?)$",
        "0471-6281234",
        "联系电话：手机号或固定电话（区号-号码）",
    ),
]
"""Mobile or landline number in normal form."""

DivisionCode = Annotated[
    str,
    AfterValidator(validate_division_code),
    _schema("^[0-9]{6}$", "150102", "行政区划代码 (GB/T 2260)"),
]
"""A known GB/T 2260 division code of any level."""


def _province(v: str) -> str:
    return validate_division_code(v, "province")


ProvinceCode = Annotated[
    str,
    AfterValidator(_province),
    _schema("^[0-9]{2}0000$", "150000", "省级行政区划代码 (GB/T 2260)"),
]
"""A known province-level division code (``PP0000``)."""

YearMonth = Annotated[
    str,
    AfterValidator(validate_year_month),
    _schema("^[0-9]{4}-(0[1-9]|1[0-2])$", "2024-03", "年月 YYYY-MM"),
]
"""A year and month, ``YYYY-MM``."""
