"""持证情况表 — a contractor's safety licence and construction qualification."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import Field, model_validator

from schemas.enums import QualificationGrade
from schemas.forms.common import (
    AttachmentRef,
    Count,
    InputModel,
    LongText,
    PublicModel,
    ShortText,
    check_date_order,
    optional_like,
)

__all__ = ["SENSITIVE_FIELDS", "LicenceBase", "LicenceCreate", "LicencePublic", "LicenceUpdate"]

#: Dotted paths of the personal data in this form: none.
SENSITIVE_FIELDS: tuple[str, ...] = ()

_ORDER_ZH = "有效期起始日期不能晚于截止日期"
_ORDER_EN = "validity start must not be after its end"


class LicenceBase(InputModel):
    """The licence form (all of it is public)."""

    safety_licence_no: ShortText = Field(
        title="安全生产许可证编号", examples=["（蒙）FM安许证字〔2023〕000123号"]
    )
    issuing_authority: ShortText = Field(title="发证机关", examples=["内蒙古自治区应急管理厅"])
    valid_from: date = Field(title="有效期起始日期", examples=["2023-06-01"])
    valid_to: date = Field(title="有效期截止日期", examples=["2026-05-31"])
    legal_rep_cert_no: ShortText = Field(
        title="法定代表人资格证书编号", examples=["蒙安A2021000123"]
    )
    safety_manager_count: Count = Field(title="安全管理人员数量", examples=[12])
    safety_manager_certs: list[ShortText] = Field(
        default_factory=list,
        title="安全管理人员资格证书编号",
        examples=[["蒙安C2022000456", "蒙安C2022000457"]],
    )
    qualification_grade: QualificationGrade = Field(title="施工资质等级", examples=["second"])
    qualification_scope: LongText = Field(title="资质范围", examples=["矿山工程施工总承包二级"])
    attachments: list[AttachmentRef] = Field(
        default_factory=list,
        title="扫描件",
        description="Scans of the safety licence and the qualification certificate",
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        check_date_order(
            self.valid_from, self.valid_to, field="valid_to", zh=_ORDER_ZH, en=_ORDER_EN
        )
        return self


class LicenceCreate(LicenceBase):
    """Licences as the contractor files them."""


class LicenceUpdate(InputModel):
    """A partial change to the licence form."""

    safety_licence_no: ShortText | None = optional_like(LicenceCreate, "safety_licence_no")
    issuing_authority: ShortText | None = optional_like(LicenceCreate, "issuing_authority")
    valid_from: date | None = optional_like(LicenceCreate, "valid_from")
    valid_to: date | None = optional_like(LicenceCreate, "valid_to")
    legal_rep_cert_no: ShortText | None = optional_like(LicenceCreate, "legal_rep_cert_no")
    safety_manager_count: Count | None = optional_like(LicenceCreate, "safety_manager_count")
    safety_manager_certs: list[ShortText] | None = optional_like(
        LicenceCreate, "safety_manager_certs"
    )
    qualification_grade: QualificationGrade | None = optional_like(
        LicenceCreate, "qualification_grade"
    )
    qualification_scope: LongText | None = optional_like(LicenceCreate, "qualification_scope")
    attachments: list[AttachmentRef] | None = optional_like(LicenceCreate, "attachments")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        check_date_order(
            self.valid_from, self.valid_to, field="valid_to", zh=_ORDER_ZH, en=_ORDER_EN
        )
        return self


class LicencePublic(LicenceBase, PublicModel):
    """Licences as published (nothing to mask)."""

    model_config = PublicModel.model_config

    @classmethod
    def from_create(cls, record: LicenceCreate) -> Self:
        """Project a filed record onto its public view."""
        return cls.model_validate(record.model_dump())
