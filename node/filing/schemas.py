"""Responses of the filing and review endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from node.models import Contractor, Record, RecordVersion
from schemas.enums import RecordKind, ReviewState


class VersionOut(BaseModel):
    version_no: int
    state: str
    state_label: str
    data: dict[str, Any]
    review_division: str
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    return_reason: str | None
    correction_reason: str | None = Field(
        None, description="更正理由（监管部门更正录入信息时填写）/ why an entry was corrected"
    )

    @classmethod
    def of(cls, v: RecordVersion) -> VersionOut:
        return cls(
            version_no=v.version_no,
            state=v.state,
            state_label=ReviewState(v.state).label_zh,
            data=v.data,
            review_division=v.review_division,
            created_at=v.created_at,
            submitted_at=v.submitted_at,
            decided_at=v.decided_at,
            return_reason=v.return_reason,
            correction_reason=v.correction_reason,
        )


class RecordOut(BaseModel):
    id: uuid.UUID
    kind: str
    kind_label: str
    state: str = Field(description="最新版本的状态 / state of the latest version")
    state_label: str
    latest_version_no: int
    current_version_no: int | None = Field(
        description="现行（已通过）版本 / the approved version in force"
    )
    title: str
    contractor_id: uuid.UUID
    contractor_uscc: str
    contractor_name: str
    province_code: str | None
    city_code: str | None
    county_code: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    entered_by_regulator: bool
    owner_node: str | None = Field(
        None,
        description="由他省节点审核并公示（本省为只读副本）/ owned and reviewed by that "
        "province's node; read-only here",
    )
    home_node: str | None = Field(
        None, description="从承包单位所属省节点转来 / relayed from the contractor's home node"
    )
    flags: list[str] = Field(default_factory=list, description="第62号令预警 / Order No. 62 flags")

    @classmethod
    def of(cls, r: Record, c: Contractor, flags: list[str] | None = None) -> RecordOut:
        return cls(
            id=r.id,
            kind=r.kind,
            kind_label=RecordKind(r.kind).label_zh,
            state=r.state,
            state_label=ReviewState(r.state).label_zh,
            latest_version_no=r.latest_version_no,
            current_version_no=r.current_version_no,
            title=r.title,
            contractor_id=c.id,
            contractor_uscc=c.uscc,
            contractor_name=c.name,
            province_code=r.province_code,
            city_code=r.city_code,
            county_code=r.county_code,
            created_at=r.created_at,
            updated_at=r.updated_at,
            published_at=r.published_at,
            entered_by_regulator=r.entered_by_regulator,
            owner_node=r.owner_node,
            home_node=r.home_node,
            flags=flags or [],
        )


class RecordDetail(RecordOut):
    current: VersionOut | None = Field(description="现行版本 / the version in force")
    latest: VersionOut = Field(description="最新版本 / the latest version")
    history: list[VersionOut] = Field(default_factory=list, description="全部版本 / every version")
    project_department_count: int | None = Field(
        None, description="项目部总数量（自动统计）/ derived count, basic info only"
    )
