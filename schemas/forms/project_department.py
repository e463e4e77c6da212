"""项目部情况表 — a contractor's project department at a mine."""

from __future__ import annotations

from datetime import date
from typing import Any, Self

from pydantic import Field, computed_field, model_validator

from schemas.enums import ContractingMode
from schemas.errors import rule_error
from schemas.forms.common import (
    AttachmentRef,
    InputModel,
    LongText,
    PastDate,
    Person,
    PersonName,
    PersonPublic,
    PublicModel,
    ShortText,
    check_date_order,
    check_location,
    check_unique_people,
    optional_like,
    sensitive_paths,
)
from schemas.identifiers import DivisionCode, YearMonth

__all__ = [
    "SENSITIVE_FIELDS",
    "Inspection",
    "ProjectDepartmentBase",
    "ProjectDepartmentCreate",
    "ProjectDepartmentPublic",
    "ProjectDepartmentUpdate",
]

#: Dotted paths of the personal data in this form (signed as salted digests).
SENSITIVE_FIELDS: tuple[str, ...] = (
    *sensitive_paths("head"),
    *sensitive_paths("safety_managers[]"),
    *sensitive_paths("technical_staff[]"),
)

_ORDER_ZH = "进场年月不能晚于预计完工年月"
_ORDER_EN = "start month must not be after the expected end month"


class Inspection(InputModel):
    """One safety inspection of the department by its contractor (Order 62 Art. 20)."""

    date: PastDate = Field(title="检查日期", examples=["2024-04-18"])
    participants: list[PersonName] = Field(
        min_length=1, title="参加检查人员", examples=[["李志强", "赵敏"]]
    )


def _check_flag_date(
    flag: bool | None, when: date | None, *, field: str, what_zh: str, what_en: str
) -> None:
    if flag is False and when is not None:
        raise rule_error(
            "flag_date_mismatch",
            f"选择“否”时不应填写{what_zh}日期",
            f"a {what_en} date is given but the answer is 'no'",
            field=field,
        )


class _Rules:
    """Cross-field rules shared by Create and Update (they may see partial data)."""

    province_code: str | None
    city_code: str | None
    county_code: str | None
    start_month: str | None
    expected_end_month: str | None
    written_report: bool | None
    written_report_date: date | None
    agreement_signed: bool | None
    agreement_date: date | None

    def _apply_rules(self, people: dict[str, list[Person] | None]) -> None:
        location = check_location(self.province_code, self.city_code, self.county_code)
        if location is not None:
            self.province_code, self.city_code, self.county_code = location
        check_date_order(
            self.start_month,
            self.expected_end_month,
            field="expected_end_month",
            zh=_ORDER_ZH,
            en=_ORDER_EN,
        )
        _check_flag_date(
            self.written_report,
            self.written_report_date,
            field="written_report_date",
            what_zh="书面报告",
            what_en="written report",
        )
        _check_flag_date(
            self.agreement_signed,
            self.agreement_date,
            field="agreement_date",
            what_zh="协议签订",
            what_en="agreement",
        )
        for field, listed in people.items():
            if listed is not None:
                check_unique_people(listed, field=field)


class ProjectDepartmentBase(InputModel):
    """The project department fields that are public as they are."""

    project_name: ShortText = Field(title="项目名称", examples=["白云鄂博铁矿东矿井巷掘进工程"])
    province_code: DivisionCode = Field(title="所在省", examples=["150000"])
    city_code: DivisionCode = Field(
        title="所在市",
        description="For 北京/天津/上海/重庆 the province code is accepted and normalised",
        examples=["150200"],
    )
    county_code: DivisionCode = Field(
        title="所在县（区）",
        description="A city without counties (e.g. 东莞市) is given as its own code",
        examples=["150206"],
    )
    issuing_unit: ShortText = Field(title="发包单位", examples=["包钢集团矿山研究院有限责任公司"])
    mine_name: ShortText | None = Field(default=None, title="矿山名称", examples=["白云鄂博铁矿"])
    safety_org: LongText = Field(
        title="安全管理机构设置", examples=["项目部设安全组，专职安全员3名"]
    )
    start_month: YearMonth = Field(title="进场年月", examples=["2024-03"])
    expected_end_month: YearMonth = Field(title="预计完工年月", examples=["2026-12"])
    contracting_mode: ContractingMode = Field(title="承包方式", examples=["general"])
    work_content: LongText = Field(title="主要工作内容", examples=["主斜坡道及采准巷道掘进支护"])
    underground: bool = Field(title="是否井下作业", examples=[True])
    written_report: bool = Field(title="是否书面报告当地安全监管部门", examples=[True])
    written_report_date: PastDate | None = Field(
        default=None, title="书面报告日期", examples=["2024-02-26"]
    )
    agreement_signed: bool = Field(title="是否签订安全生产管理协议", examples=[True])
    agreement_date: PastDate | None = Field(
        default=None, title="协议签订日期", examples=["2024-02-20"]
    )
    emergency_plan_no: ShortText | None = Field(
        default=None, title="应急预案备案号", examples=["150206-2024-017"]
    )
    inspections: list[Inspection] = Field(default_factory=list, title="安全检查记录")
    attachments: list[AttachmentRef] = Field(default_factory=list, title="附件")


class ProjectDepartmentCreate(_Rules, ProjectDepartmentBase):
    """A project department as the contractor files it."""

    head: Person = Field(title="项目部负责人")
    safety_managers: list[Person] = Field(default_factory=list, title="安全管理人员")
    technical_staff: list[Person] = Field(default_factory=list, title="专业技术人员")

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        self._apply_rules(
            {"safety_managers": self.safety_managers, "technical_staff": self.technical_staff}
        )
        return self


def _like(name: str) -> Any:
    return optional_like(ProjectDepartmentCreate, name)


class ProjectDepartmentUpdate(_Rules, InputModel):
    """A partial change to a project department; a location is given whole or not at all."""

    project_name: ShortText | None = _like("project_name")
    province_code: DivisionCode | None = _like("province_code")
    city_code: DivisionCode | None = _like("city_code")
    county_code: DivisionCode | None = _like("county_code")
    issuing_unit: ShortText | None = _like("issuing_unit")
    mine_name: ShortText | None = _like("mine_name")
    head: Person | None = _like("head")
    safety_managers: list[Person] | None = _like("safety_managers")
    technical_staff: list[Person] | None = _like("technical_staff")
    safety_org: LongText | None = _like("safety_org")
    start_month: YearMonth | None = _like("start_month")
    expected_end_month: YearMonth | None = _like("expected_end_month")
    contracting_mode: ContractingMode | None = _like("contracting_mode")
    work_content: LongText | None = _like("work_content")
    underground: bool | None = _like("underground")
    written_report: bool | None = _like("written_report")
    written_report_date: PastDate | None = _like("written_report_date")
    agreement_signed: bool | None = _like("agreement_signed")
    agreement_date: PastDate | None = _like("agreement_date")
    emergency_plan_no: ShortText | None = _like("emergency_plan_no")
    inspections: list[Inspection] | None = _like("inspections")
    attachments: list[AttachmentRef] | None = _like("attachments")

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        self._apply_rules(
            {"safety_managers": self.safety_managers, "technical_staff": self.technical_staff}
        )
        return self


class ProjectDepartmentPublic(ProjectDepartmentBase, PublicModel):
    """A project department as published: names shown, ID numbers and phones masked."""

    model_config = PublicModel.model_config

    head: PersonPublic = Field(title="项目部负责人")
    safety_managers: list[PersonPublic] = Field(default_factory=list, title="安全管理人员")
    technical_staff: list[PersonPublic] = Field(default_factory=list, title="专业技术人员")

    @computed_field(title="安全管理人员数")  # type: ignore[prop-decorator]
    @property
    def safety_manager_count(self) -> int:
        """How many safety managers the department lists."""
        return len(self.safety_managers)

    @computed_field(title="专业技术人员数")  # type: ignore[prop-decorator]
    @property
    def technical_staff_count(self) -> int:
        """How many technical staff the department lists."""
        return len(self.technical_staff)

    @computed_field(title="安全检查次数")  # type: ignore[prop-decorator]
    @property
    def inspection_count(self) -> int:
        """How many inspections are recorded."""
        return len(self.inspections)

    @computed_field(title="最近检查日期")  # type: ignore[prop-decorator]
    @property
    def last_inspection_date(self) -> date | None:
        """The date of the latest recorded inspection, if any."""
        return max((i.date for i in self.inspections), default=None)

    @classmethod
    def from_create(cls, record: ProjectDepartmentCreate) -> Self:
        """Project a filed record onto its public view."""
        return cls.model_validate(record.model_dump())
