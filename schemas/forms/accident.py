"""事故情况表 — an accident, entered by the regulator investigating it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AfterValidator, Field, ValidationInfo, computed_field, model_validator

from schemas.accidents import derive_accident_grade
from schemas.clock import CHINA_TZ, now_from_context
from schemas.enums import AccidentCategory, AccidentGrade, ResponsibleParty
from schemas.errors import rule_error
from schemas.forms.common import (
    Count,
    InputModel,
    LongText,
    PublicModel,
    ShortText,
    Yuan,
    check_location,
    optional_like,
)
from schemas.identifiers import USCC, DivisionCode

__all__ = [
    "SENSITIVE_FIELDS",
    "AccidentBase",
    "AccidentCreate",
    "AccidentPublic",
    "AccidentUpdate",
    "OccurredAt",
]

#: Dotted paths of the personal data in this form: none.
SENSITIVE_FIELDS: tuple[str, ...] = ()


def _occurred_at(v: datetime, info: ValidationInfo) -> datetime:
    # A datetime-local form field carries no offset: it is Beijing time.
    if v.tzinfo is None:
        v = v.replace(tzinfo=CHINA_TZ)
    now = now_from_context(info.context)
    if v > now:
        raise rule_error(
            "datetime_in_future",
            "事故发生时间不能晚于当前时间",
            "the accident cannot have happened in the future",
        )
    return v


OccurredAt = Annotated[datetime, AfterValidator(_occurred_at)]
"""An aware time not in the future; a time without offset is taken as Beijing time."""


def _categories(v: list[AccidentCategory]) -> list[AccidentCategory]:
    if len(set(v)) != len(v):
        raise rule_error(
            "categories_unique",
            "事故类别不能重复选择",
            "each accident category may be chosen once",
        )
    return sorted(v)


Categories = Annotated[list[AccidentCategory], Field(min_length=1), AfterValidator(_categories)]


class AccidentBase(InputModel):
    """The accident form (all of it is public)."""

    occurred_at: OccurredAt = Field(
        title="事故发生时间",
        description="ISO 8601; without an offset it is taken as Beijing time (UTC+8)",
        examples=["2024-05-14T09:30:00+08:00"],
    )
    province_code: DivisionCode = Field(title="事故发生地（省）", examples=["150000"])
    city_code: DivisionCode = Field(title="事故发生地（市）", examples=["150200"])
    county_code: DivisionCode = Field(title="事故发生地（县、区）", examples=["150206"])
    enterprise: ShortText = Field(title="事故单位/矿山", examples=["包钢集团白云鄂博铁矿"])
    site: ShortText = Field(title="作业地点", examples=["东矿-230m水平3号采场"])
    deaths: Count = Field(title="死亡人数", examples=[1])
    serious_injuries: Count = Field(title="重伤人数", examples=[2])
    direct_loss_yuan: Yuan = Field(title="直接经济损失（元）", examples=[1_850_000])
    cause_direct: LongText = Field(title="直接原因", examples=["顶板浮石未及时处理，冒落伤人"])
    cause_indirect: LongText = Field(
        title="间接原因", examples=["安全检查不到位，作业人员培训不足"]
    )
    categories: Categories = Field(
        title="事故类别", description="GB 6441-86 categories, 1-20, at least one", examples=[[11]]
    )
    responsible_party: ResponsibleParty = Field(title="事故主要责任单位", examples=["contractor"])
    contractor_uscc: USCC = Field(title="承包单位统一社会信用代码", examples=["91150102MA0N1A2B3W"])
    project_department_id: UUID | None = Field(default=None, title="项目部标识")
    description: LongText = Field(
        title="事故经过", examples=["5月14日9时30分，作业人员在3号采场出矿时顶板冒落……"]
    )

    @model_validator(mode="after")
    def _location(self) -> Self:
        location = check_location(self.province_code, self.city_code, self.county_code)
        if location is not None:
            self.province_code, self.city_code, self.county_code = location
        return self


class AccidentCreate(AccidentBase):
    """An accident as the regulator enters it."""

    @property
    def grade(self) -> AccidentGrade:
        """The grade derived from deaths, serious injuries and direct loss."""
        return derive_accident_grade(self.deaths, self.serious_injuries, self.direct_loss_yuan)


def _like(name: str) -> Any:
    return optional_like(AccidentCreate, name)


class AccidentUpdate(InputModel):
    """A partial change to an accident; a location is given whole or not at all."""

    occurred_at: OccurredAt | None = _like("occurred_at")
    province_code: DivisionCode | None = _like("province_code")
    city_code: DivisionCode | None = _like("city_code")
    county_code: DivisionCode | None = _like("county_code")
    enterprise: ShortText | None = _like("enterprise")
    site: ShortText | None = _like("site")
    deaths: Count | None = _like("deaths")
    serious_injuries: Count | None = _like("serious_injuries")
    direct_loss_yuan: Yuan | None = _like("direct_loss_yuan")
    cause_direct: LongText | None = _like("cause_direct")
    cause_indirect: LongText | None = _like("cause_indirect")
    categories: Categories | None = _like("categories")
    responsible_party: ResponsibleParty | None = _like("responsible_party")
    contractor_uscc: USCC | None = _like("contractor_uscc")
    project_department_id: UUID | None = _like("project_department_id")
    description: LongText | None = _like("description")

    @model_validator(mode="after")
    def _location(self) -> Self:
        location = check_location(self.province_code, self.city_code, self.county_code)
        if location is not None:
            self.province_code, self.city_code, self.county_code = location
        return self


class AccidentPublic(AccidentBase, PublicModel):
    """An accident as published, with its derived grade."""

    model_config = PublicModel.model_config

    @computed_field(title="事故等级")  # type: ignore[prop-decorator]
    @property
    def grade(self) -> AccidentGrade:
        """The grade derived from deaths, serious injuries and direct loss."""
        return derive_accident_grade(self.deaths, self.serious_injuries, self.direct_loss_yuan)

    @classmethod
    def from_create(cls, record: AccidentCreate) -> Self:
        """Project an entered accident onto its public view."""
        return cls.model_validate(record.model_dump())
