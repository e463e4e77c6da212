"""Query parameters and responses of the province's queries, counts and exports."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from node.errors import InvalidInput
from node.filing.schemas import RecordOut
from schemas.enums import AccidentGrade, FlagCode, RecordKind, ReviewState
from schemas.identifiers import USCC, DivisionCode

RecordSort = Literal[
    "updated_at",
    "-updated_at",
    "created_at",
    "-created_at",
    "event_on",
    "-event_on",
    "title",
    "-title",
]
GroupBy = Literal["kind", "state", "county_code", "city_code", "grade", "flag", "month"]

SORT_QUERY = Query(
    description="排序：updated_at、created_at、event_on、title，前加 - 表示降序 / sort key, "
    "'-' prefix for descending",
)


@dataclass(frozen=True)
class RecordFilters:
    """The filters every query, count and export of records shares (all optional, ANDed)."""

    kind: RecordKind | None = None
    state: ReviewState | None = None
    division: str | None = None
    grade: AccidentGrade | None = None
    flag: FlagCode | None = None
    published: bool | None = None
    event_from: date | None = None
    event_to: date | None = None
    created_from: date | None = None
    created_to: date | None = None
    contractor: str | None = None
    q: str | None = None

    def as_detail(self) -> dict[str, Any]:
        """The filters that are set, as JSON values (for the audit trail)."""
        detail: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value is None:
                continue
            if isinstance(value, date):
                value = value.isoformat()
            elif not isinstance(value, bool):
                value = str(value)  # enum members by their wire value
            detail[name] = value
        return detail


def check_range(low: Any, high: Any, low_name: str, high_name: str) -> None:
    """Refuse a range whose start is after its end, naming the end parameter."""
    if low is not None and high is not None and low > high:
        message = (
            f"{high_name}：结束日期不能早于开始日期 {low_name} / "
            f"{high_name}: must not be before {low_name}"
        )
        raise InvalidInput(
            f"{high_name} 不能早于 {low_name}",
            f"{high_name} must not be before {low_name}",
            code="invalid_input",
            field=high_name,
            errors=[{"field": high_name, "rule": "range_order", "message": message}],
        )


def record_filters(
    kind: Annotated[RecordKind | None, Query(description="表单类型 / form")] = None,
    state: Annotated[
        ReviewState | None, Query(description="最新版本的状态 / state of the latest version")
    ] = None,
    division: Annotated[
        DivisionCode | None,
        Query(
            description="行政区划（省、市或县代码），与本人管辖范围取交集 / division code "
            "(province, city or county), intersected with the caller's jurisdiction",
            examples=["150102"],
        ),
    ] = None,
    grade: Annotated[AccidentGrade | None, Query(description="事故等级 / accident grade")] = None,
    flag: Annotated[FlagCode | None, Query(description="第62号令预警 / Order No. 62 flag")] = None,
    published: Annotated[bool | None, Query(description="是否已公示 / published or not")] = None,
    event_from: Annotated[
        date | None, Query(description="业务日期起（含）/ event date from (inclusive)")
    ] = None,
    event_to: Annotated[
        date | None, Query(description="业务日期止（含）/ event date to (inclusive)")
    ] = None,
    created_from: Annotated[
        date | None, Query(description="创建日期起（北京时间，含）/ created on or after")
    ] = None,
    created_to: Annotated[
        date | None, Query(description="创建日期止（北京时间，含）/ created on or before")
    ] = None,
    contractor: Annotated[
        USCC | None,
        Query(description="承包单位统一社会信用代码 / contractor's USCC"),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="名称或承包单位名称包含 / record title or contractor name contains",
            examples=["铁矿"],
        ),
    ] = None,
) -> RecordFilters:
    check_range(event_from, event_to, "event_from", "event_to")
    check_range(created_from, created_to, "created_from", "created_to")
    return RecordFilters(
        kind=kind,
        state=state,
        division=division,
        grade=grade,
        flag=flag,
        published=published,
        event_from=event_from,
        event_to=event_to,
        created_from=created_from,
        created_to=created_to,
        contractor=contractor,
        q=(q or "").strip() or None,
    )


class CountGroup(BaseModel):
    key: str | None = Field(description="分组取值；空表示未填写 / group value, null when unset")
    label: str = Field(description="中文标签 / label shown to users")
    count: int


class CountsOut(BaseModel):
    group_by: GroupBy
    total: int = Field(
        description="符合条件的记录数（按预警分组时，一条记录可有多个预警）/ matching records "
        "(by flag, one record may carry several flags)"
    )
    groups: list[CountGroup]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "group_by": "kind",
                    "total": 3,
                    "groups": [
                        {"key": "licence", "label": "持证情况", "count": 1},
                        {"key": "project_department", "label": "项目部", "count": 2},
                    ],
                }
            ]
        }
    }


class ContractorSummary(BaseModel):
    id: uuid.UUID
    uscc: str
    name: str
    home_province_code: str
    central_soe: bool
    created_at: datetime
    project_department_count: int = Field(
        description="项目部总数量（现行已通过，自动统计）/ project departments in force, derived"
    )
    record_counts: dict[str, int] = Field(
        description="本人可见的记录数，按表单类型 / records visible to the caller, by form"
    )


class ContractorDetail(ContractorSummary):
    records_total: int = Field(description="本人可见的记录总数 / records visible to the caller")
    records: list[RecordOut] = Field(
        description="最近更新的记录（至多200条；完整列表见 /api/v1/records?contractor=）/ "
        "the most recently updated records (at most 200; see /api/v1/records?contractor=)"
    )
