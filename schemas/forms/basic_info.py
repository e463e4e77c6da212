"""单位基本情况表 — a contractor's basic information, filed by the contractor."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from schemas.errors import rule_error
from schemas.forms.common import (
    Count,
    InputModel,
    LongText,
    MaskedPhone,
    PersonName,
    PublicModel,
    ShortText,
    Year,
    optional_like,
)
from schemas.identifiers import USCC, OrgCode, Phone, ProvinceCode

__all__ = [
    "SENSITIVE_FIELDS",
    "BasicInfoBase",
    "BasicInfoCreate",
    "BasicInfoPublic",
    "BasicInfoUpdate",
    "Honour",
    "PerformanceRecord",
]

#: Dotted paths of the personal data in this form (signed as salted digests).
SENSITIVE_FIELDS: tuple[str, ...] = ("contact_phone",)

BusinessRegNo = Annotated[str, Field(pattern=r"^\d{15}$")]


class Honour(InputModel):
    """A main honour (主要荣誉)."""

    name: ShortText = Field(title="荣誉名称", examples=["全国安全生产先进单位"])
    awarded_by: ShortText = Field(title="授予单位", examples=["应急管理部"])


class PerformanceRecord(InputModel):
    """One entry of the performance record (业绩档案)."""

    project: ShortText = Field(title="工程项目", examples=["白云鄂博铁矿东矿井巷工程"])
    result: LongText = Field(title="完成情况", examples=["按期完工，验收合格"])
    year: Year | None = Field(default=None, title="完成年份", examples=[2022])


def _check_org_code(uscc: str | None, org_code: str | None) -> None:
    if uscc is None or org_code is None:
        return
    embedded = uscc[8:17]
    if org_code != embedded:
        raise rule_error(
            "org_code_mismatch",
            "组织机构代码应与统一社会信用代码第9至17位一致（{embedded}）",
            "organisation code must equal positions 9-17 of the USCC ({embedded})",
            embedded=embedded,
            field="org_code",
        )


class BasicInfoBase(InputModel):
    """The fields of basic info that are public as they are."""

    name: ShortText = Field(title="企业名称", examples=["内蒙古北方矿业工程有限公司"])
    registered_address: ShortText = Field(
        title="注册地址", examples=["内蒙古自治区呼和浩特市新城区新华大街1号"]
    )
    uscc: USCC = Field(title="统一社会信用代码", examples=["91150102MA0N1A2B3W"])
    business_reg_no: BusinessRegNo | None = Field(
        default=None,
        title="工商注册号",
        description="Pre-2015 15-digit business registration number, if the firm had one",
        examples=["150102000012345"],
    )
    org_code: OrgCode | None = Field(
        default=None,
        title="组织机构代码",
        description="If given, must equal positions 9-17 of the USCC",
        examples=["MA0N1A2B3"],
    )
    legal_rep_name: PersonName = Field(title="法定代表人", examples=["李志强"])
    legal_rep_cert_no: ShortText = Field(
        title="法定代表人安全资格证书编号", examples=["蒙安A2021000123"]
    )
    avg_headcount: Count = Field(title="年平均从业总人数", examples=[356])
    safety_org: LongText = Field(
        title="安全管理机构设置", examples=["设安全环保部，配专职安全管理人员12名"]
    )
    safety_staffing: LongText = Field(
        title="安全管理人员配备情况", examples=["专职安全管理人员12名，均持证上岗"]
    )
    technical_staffing: LongText = Field(
        title="专业技术人员配备情况", examples=["采矿、地质、测量、机电专业技术人员共28名"]
    )
    management_systems: list[ShortText] = Field(
        default_factory=list, title="管理体系", examples=[["HSE", "ISO 45001"]]
    )
    main_equipment: LongText = Field(
        title="主要设备", examples=["凿岩台车4台，铲运机6台，井下运矿卡车8台"]
    )
    honours: list[Honour] = Field(default_factory=list, title="主要荣誉")
    performance: list[PerformanceRecord] = Field(default_factory=list, title="业绩档案")
    central_soe: bool = Field(
        title="是否中央企业",
        description="Central state-owned enterprises are reviewed at provincial or municipal level",
        examples=[False],
    )
    home_province_code: ProvinceCode = Field(
        title="注册地所在省份",
        description="Province-level GB/T 2260 code of the contractor's home node",
        examples=["150000"],
    )
    contact_name: PersonName = Field(title="联系人", examples=["赵敏"])

    @model_validator(mode="after")
    def _org_code_matches(self) -> Self:
        _check_org_code(self.uscc, self.org_code)
        return self


class BasicInfoCreate(BasicInfoBase):
    """Basic info as the contractor files it."""

    contact_phone: Phone = Field(title="联系电话", examples=["0471-6281234"])


class BasicInfoUpdate(InputModel):
    """A partial change to basic info (a draft may be saved incomplete)."""

    name: ShortText | None = optional_like(BasicInfoCreate, "name")
    registered_address: ShortText | None = optional_like(BasicInfoCreate, "registered_address")
    uscc: USCC | None = optional_like(BasicInfoCreate, "uscc")
    business_reg_no: BusinessRegNo | None = optional_like(BasicInfoCreate, "business_reg_no")
    org_code: OrgCode | None = optional_like(BasicInfoCreate, "org_code")
    legal_rep_name: PersonName | None = optional_like(BasicInfoCreate, "legal_rep_name")
    legal_rep_cert_no: ShortText | None = optional_like(BasicInfoCreate, "legal_rep_cert_no")
    avg_headcount: Count | None = optional_like(BasicInfoCreate, "avg_headcount")
    safety_org: LongText | None = optional_like(BasicInfoCreate, "safety_org")
    safety_staffing: LongText | None = optional_like(BasicInfoCreate, "safety_staffing")
    technical_staffing: LongText | None = optional_like(BasicInfoCreate, "technical_staffing")
    management_systems: list[ShortText] | None = optional_like(
        BasicInfoCreate, "management_systems"
    )
    main_equipment: LongText | None = optional_like(BasicInfoCreate, "main_equipment")
    honours: list[Honour] | None = optional_like(BasicInfoCreate, "honours")
    performance: list[PerformanceRecord] | None = optional_like(BasicInfoCreate, "performance")
    central_soe: bool | None = optional_like(BasicInfoCreate, "central_soe")
    home_province_code: ProvinceCode | None = optional_like(BasicInfoCreate, "home_province_code")
    contact_name: PersonName | None = optional_like(BasicInfoCreate, "contact_name")
    contact_phone: Phone | None = optional_like(BasicInfoCreate, "contact_phone")

    @model_validator(mode="after")
    def _org_code_matches(self) -> Self:
        _check_org_code(self.uscc, self.org_code)
        return self


class BasicInfoPublic(BasicInfoBase, PublicModel):
    """Basic info as published: phone masked, project department count derived."""

    model_config = PublicModel.model_config

    contact_phone: MaskedPhone = Field(title="联系电话（已脱敏）", examples=["0471-*****34"])
    project_department_count: Count = Field(
        title="项目部总数量",
        description="Derived from the filed project departments, never typed in",
        examples=[3],
    )

    @classmethod
    def from_create(cls, record: BasicInfoCreate, *, project_department_count: int) -> Self:
        """Project a filed record onto its public view."""
        data = record.model_dump()
        data["project_department_count"] = project_department_count
        return cls.model_validate(data)
