"""What the public API answers (JSON); the pages render the same objects."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class SortOrder(StrEnum):
    relevance = "relevance"
    name = "name"
    updated = "updated"
    departments = "departments"


class LicenceStatus(StrEnum):
    valid = "valid"
    expiring = "expiring"
    expired = "expired"
    none = "none"


LICENCE_STATUS_ZH = {
    LicenceStatus.valid: "有效",
    LicenceStatus.expiring: "90日内到期",
    LicenceStatus.expired: "已过期",
    LicenceStatus.none: "无许可证信息",
}


class ContractorSummary(BaseModel):
    """A contractor as a search result."""

    uscc: str = Field(title="统一社会信用代码")
    name: str = Field(title="企业名称")
    province_code: str | None = Field(title="注册地所在省代码")
    province_name: str | None = Field(title="注册地所在省")
    has_basic_info: bool = Field(
        title="已公示基本情况", description="false while only other provinces' records are here"
    )
    qualification_grades: list[str] = Field(title="施工资质等级")
    licence_valid_to: date | None = Field(title="许可证有效期至（最晚）")
    licence_status: LicenceStatus = Field(title="许可证状态")
    licence_count: int
    project_department_count: int
    accident_count: int
    reward_penalty_count: int
    last_accident_on: date | None
    last_penalty_on: date | None
    updated_at: datetime = Field(title="最近更新", description="latest receipt of its records")
    url: str = Field(description="the contractor's public page")
    api_url: str


class SearchAnswer(BaseModel):
    items: list[ContractorSummary]
    total: int = Field(description="matches, counted up to total_cap")
    total_capped: bool = Field(description="true if there are more than total")
    fuzzy: bool = Field(description="nothing matched exactly: names missing one query character")
    page: int
    page_size: int
    data_as_of: datetime | None = Field(description="the hub's latest accepted publication")


class PublicRecord(BaseModel):
    """One published record with what it takes to verify it."""

    record_id: str
    kind: str
    version_no: int
    owner: str = Field(description="the node that owns and signed it")
    province_code: str | None
    city_code: str | None
    county_code: str | None
    approved_at: datetime | None
    received_at: datetime
    data: dict[str, Any] = Field(
        description="the signed form with personal data masked (ID numbers, phones)"
    )
    flags: list[str] = Field(description="Order No. 62 flags (FlagCode) as of today")
    envelope: dict[str, Any] = Field(
        description="the signed envelope as the node sent it (personal data as salted digests)"
    )
    publication_id: int | None = Field(description="its entry in hub_publication")
    log_index: int | None = Field(description="its leaf in the transparency log")
    verify_url: str


class ContractorRecord(BaseModel):
    """A contractor's whole public record."""

    uscc: str
    name: str
    summary: ContractorSummary
    basic_info: PublicRecord | None
    licences: list[PublicRecord]
    project_departments: list[PublicRecord]
    accidents: list[PublicRecord]
    rewards_penalties: list[PublicRecord]
    flags: dict[str, int] = Field(description="how many of its records carry each flag")
    counts: dict[str, int] = Field(description="live records per kind (lists stop at 500)")
    data_as_of: datetime | None
