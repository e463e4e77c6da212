"""Requests and answers of the account authority's APIs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from central.models import HubAccount, HubUsccClaim
from schemas.identifiers import USCC


class ProvinceAdminCreate(BaseModel):
    province_code: str = Field(
        pattern=r"^\d{2}0000$", title="省级行政区划代码", examples=["150000"]
    )
    username: str = Field(
        min_length=3,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.@-]+$",
        title="用户名",
        examples=["nm-admin"],
    )
    display_name: str = Field(
        min_length=1, max_length=100, title="姓名或单位", examples=["内蒙古自治区应急管理厅管理员"]
    )


class AccountOut(BaseModel):
    id: uuid.UUID
    node_id: str
    province_code: str
    username: str
    display_name: str
    role: str
    division_code: str
    contractor_uscc: str | None
    contractor_name: str | None
    status: str = Field(description="pending（待节点确认）, active, disabled, deleted")
    must_change_password: bool
    origin: str = Field(description="hub（国家局分配）或 node（节点创建）")
    version: int = Field(description="国家局对该账号的指令版本 / directives issued")
    applied_version: int = Field(description="节点已执行的指令版本 / directives applied")
    directive_pending: bool = Field(description="有指令尚未在节点执行 / a directive is on its way")
    uscc_conflict: bool
    created_at: datetime
    updated_at: datetime
    reported_at: datetime | None

    @classmethod
    def of(cls, row: HubAccount) -> AccountOut:
        return cls(
            **row.model_dump(exclude={"report_version"}),
            directive_pending=row.version > row.applied_version,
        )


class OneTimeCodeOut(BaseModel):
    account: AccountOut
    one_time_code: str = Field(
        description="只显示这一次；只有其哈希下发到节点 / shown once; only its hash goes to the node"
    )
    expires_at: datetime


class AccountPage(BaseModel):
    items: list[AccountOut]
    total: int
    page: int
    page_size: int


class StateChange(BaseModel):
    reason: str | None = Field(None, max_length=500, title="原因")


class QuotaIn(BaseModel):
    contractor_accounts: int = Field(ge=0, le=10_000_000, title="承包单位账号数量上限")


class QuotaOut(BaseModel):
    node_id: str
    province_code: str
    province_name: str
    contractor_accounts: int | None = Field(description="null：尚未分配（不限）/ none allocated")
    version: int
    used: int = Field(description="已占用（全国唯一登记数）/ contractor accounts held")
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> QuotaOut:
        return cls(**row)


class ClaimIn(BaseModel):
    """``POST /sync/v1/accounts/claim-uscc`` (signed by the node)."""

    uscc: USCC
    account_id: uuid.UUID
    username: str = Field(min_length=1, max_length=64)
    contractor_name: str = Field(min_length=1, max_length=200)


class ClaimOut(BaseModel):
    uscc: str
    node_id: str
    account_id: uuid.UUID | None
    username: str | None
    contractor_name: str | None
    claimed_at: datetime
    source: str

    @classmethod
    def of(cls, row: HubUsccClaim) -> ClaimOut:
        return cls.model_validate(row, from_attributes=True)
