"""Building blocks shared by the forms: base models, text and number types,
people, attachment references.

Input models (``*Create``, ``*Update`` and their parts) forbid unknown fields and
strip whitespace. Public models ignore unknown fields, so projecting a fuller
record onto one simply drops what the public may not see, and their sensitive
fields mask whatever they are given (masking is idempotent).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
)

from schemas.clock import today_from_context
from schemas.divisions import validate_location
from schemas.enums import AttachmentPurpose
from schemas.errors import register_model, rule_error
from schemas.identifiers import Phone, ResidentID, mask_phone, mask_resident_id, validate_phone

__all__ = [
    "PERSON_SENSITIVE_FIELDS",
    "AttachmentRef",
    "Count",
    "InputModel",
    "LongText",
    "MaskedPhone",
    "MaskedResidentID",
    "PastDate",
    "Person",
    "PersonName",
    "PersonPublic",
    "PublicModel",
    "ShortText",
    "Year",
    "Yuan",
    "check_date_order",
    "check_location",
    "check_unique_people",
    "optional_like",
    "sensitive_paths",
]


class InputModel(BaseModel):
    """Base of everything a user submits: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Register every form model so error messages can use its field titles."""
        super().__pydantic_init_subclass__(**kwargs)
        register_model(cls)


class PublicModel(BaseModel):
    """Base of what the public sees: unknown (e.g. sensitive) input is dropped."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Register the model for :func:`schemas.errors.format_errors`."""
        super().__pydantic_init_subclass__(**kwargs)
        register_model(cls)


# --- Scalars -------------------------------------------------------------------------

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""A name, number or short phrase (1–200 characters)."""

LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
"""Free text such as a description (1–4000 characters)."""

PersonName = Annotated[str, StringConstraints(min_length=1, max_length=50)]
"""A person's name (1–50 characters; names such as 买买提·艾力 included)."""


def _integer_only(v: Any) -> Any:
    # Pydantic's lax mode turns 3.0 into 3; signed payloads carry integers only,
    # so a fractional type is refused outright, whatever its value.
    if isinstance(v, bool | float | Decimal):
        raise rule_error(
            "integer_required",
            "应填写整数，不能有小数",
            "must be a whole number, not a decimal",
        )
    return v


def _whole_yuan(v: Any) -> Any:
    if isinstance(v, bool | float | Decimal):
        raise rule_error(
            "money_not_integer",
            "金额须以整数元填写，不能有小数",
            "amounts are whole yuan: integers only, no decimals",
        )
    return v


Count = Annotated[int, BeforeValidator(_integer_only), Field(ge=0)]
"""A non-negative whole number (people, items)."""

Yuan = Annotated[int, BeforeValidator(_whole_yuan), Field(ge=0)]
"""Money in whole yuan (元), never a float."""

Year = Annotated[int, BeforeValidator(_integer_only), Field(ge=1949, le=2199)]
"""A calendar year (1949–2199)."""


def _not_in_future(v: date, info: ValidationInfo) -> date:
    today = today_from_context(info.context)
    if v > today:
        raise rule_error(
            "date_in_future",
            "日期不能晚于今天（{today}）",
            "date cannot be after today ({today})",
            today=today.isoformat(),
        )
    return v


PastDate = Annotated[date, AfterValidator(_not_in_future)]
"""A date not after today in China (clock from the validation context ``now``)."""


def _mask_id_lenient(v: str) -> str:
    return mask_resident_id(v.replace(" ", "").upper())


def _mask_phone_lenient(v: str) -> str:
    # Normalise first so that every spelling of a number masks the same way.
    try:
        v = validate_phone(v)
    except ValueError:
        v = v.replace(" ", "")
    return mask_phone(v)


MaskedResidentID = Annotated[str, AfterValidator(_mask_id_lenient)]
"""A resident ID number as the public sees it (first 6 and last 4 kept)."""

MaskedPhone = Annotated[str, AfterValidator(_mask_phone_lenient)]
"""A phone number as the public sees it."""


def check_date_order(earlier: Any, later: Any, *, field: str, zh: str, en: str) -> None:
    """Raise ``date_order`` on ``field`` unless ``earlier <= later`` (skipped if either is None)."""
    if earlier is not None and later is not None and earlier > later:
        raise rule_error("date_order", zh, en, field=field)


def optional_like(model: type[BaseModel], name: str) -> Any:
    """``Field(default=None)`` with the title, description and examples of ``model.name``.

    Used by the ``*Update`` models so their documentation cannot drift from the
    ``*Create`` models; the value type (and its constraints) is in the annotation.
    """
    src = model.model_fields[name]
    return Field(default=None, title=src.title, description=src.description, examples=src.examples)


# --- People ------------------------------------------------------------------------


class Person(InputModel):
    """A named person on a filing: project head, safety manager, technician."""

    name: PersonName = Field(title="姓名", examples=["王建国"])
    resident_id: ResidentID = Field(title="公民身份号码", examples=["15010219850312103X"])
    phone: Phone | None = Field(default=None, title="联系电话", examples=["13847112345"])


#: Sensitive fields of :class:`Person`, relative to the person.
PERSON_SENSITIVE_FIELDS: tuple[str, ...] = ("resident_id", "phone")


def sensitive_paths(prefix: str) -> tuple[str, ...]:
    """The sensitive paths of a person at ``prefix`` (e.g. ``"safety_managers[]"``)."""
    return tuple(f"{prefix}.{name}" for name in PERSON_SENSITIVE_FIELDS)


class PersonPublic(PublicModel):
    """A person as the public sees them: name kept, ID number and phone masked."""

    name: str = Field(title="姓名")
    resident_id: MaskedResidentID = Field(title="公民身份号码（已脱敏）")
    phone: MaskedPhone | None = Field(default=None, title="联系电话（已脱敏）")


# --- Attachments ---------------------------------------------------------------------

Sha256Hex = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-fA-F]{64}$", to_lower=True),
]


class AttachmentRef(InputModel):
    """A reference to a stored scan: the file itself travels separately, by digest."""

    id: UUID = Field(title="附件标识")
    sha256: Sha256Hex = Field(
        title="SHA-256 摘要",
        description="64 hex digits of the file's SHA-256, lower case",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )
    filename: ShortText = Field(title="文件名", examples=["安全生产许可证.pdf"])
    media_type: Literal["application/pdf", "image/jpeg", "image/png"] = Field(
        title="文件类型", examples=["application/pdf"]
    )
    size_bytes: Annotated[int, BeforeValidator(_integer_only), Field(ge=1)] = Field(
        title="文件大小（字节）", examples=[482113]
    )
    purpose: AttachmentPurpose = Field(title="附件用途", examples=["safety_licence_scan"])


# --- Location --------------------------------------------------------------------------


def check_location(
    province: str | None, city: str | None, county: str | None
) -> tuple[str, str, str] | None:
    """Validate a location triple (all three or none); return it normalised.

    Wraps :func:`schemas.divisions.validate_location`; giving only part of the
    triple is ``location_incomplete``.
    """
    given = [v is not None for v in (province, city, county)]
    if not any(given):
        return None
    if not all(given):
        missing = next(
            name
            for name, v in zip(("province_code", "city_code", "county_code"), given, strict=True)
            if not v
        )
        raise rule_error(
            "location_incomplete",
            "省、市、县（区）须一并填写",
            "province, city and county must be given together",
            field=missing,
        )
    assert province is not None and city is not None and county is not None
    return validate_location(province, city, county)


def check_unique_people(people: list[Person], *, field: str) -> None:
    """Raise ``duplicate_person`` if two entries of ``field`` share an ID number."""
    seen: set[str] = set()
    for i, person in enumerate(people):
        if person.resident_id in seen:
            raise rule_error(
                "duplicate_person",
                "人员重复：同一身份号码出现多次",
                "the same person (ID number) is listed twice",
                field=f"{field}.{i}.resident_id",
            )
        seen.add(person.resident_id)
