"""``/api/v1/records``, ``/api/v1/flags``, ``/api/v1/contractors``: the province's queries."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from node.access import ALL, REGULATORS, Scope, allow
from node.deps import ActorDep, SessionDep, SettingsDep
from node.filing.schemas import RecordOut
from node.pagination import Page, PageDep
from node.queries import service
from node.queries.schemas import (
    SORT_QUERY,
    ContractorDetail,
    ContractorSummary,
    CountsOut,
    GroupBy,
    RecordFilters,
    RecordSort,
    record_filters,
)
from schemas.enums import FlagCode

_READ = allow(
    ALL, Scope.OWN_OR_JURISDICTION, "contractors their own records; regulators their jurisdiction"
)
_REGULATORS = allow(REGULATORS, Scope.JURISDICTION, "the caller's jurisdiction")

router = APIRouter(prefix="/api/v1", tags=["queries"])

FiltersDep = Annotated[RecordFilters, Depends(record_filters)]
SortParam = Annotated[RecordSort, SORT_QUERY]


@router.get(
    "/records",
    summary="查询记录 / query records",
    description="监管部门查询管辖范围内的全部记录，承包单位只查询本单位的记录；各筛选条件同时满足。"
    " / Regulators query every record in their jurisdiction, contractors only their own; "
    "all filters apply together.",
    dependencies=[_READ],
)
def list_records(
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    paging: PageDep,
    filters: FiltersDep,
    sort: SortParam = "-updated_at",
) -> Page[RecordOut]:
    return service.list_records(session, actor, settings, filters, sort, paging)


@router.get(
    "/records/counts",
    summary="分组统计 / counts by group",
    description="与查询相同的筛选条件，按类型、状态、县、市、事故等级、预警或月份（业务日期）分组计数。"
    " / The same filters as the query, counted by kind, state, county, city, accident grade, "
    "flag or month (of the event date).",
    dependencies=[_READ],
)
def count_records(
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    filters: FiltersDep,
    group_by: Annotated[GroupBy, Query(description="分组方式 / what to group by")],
) -> CountsOut:
    return service.count_records(session, actor, settings, filters, group_by)


@router.get(
    "/records/export.csv",
    summary="导出CSV / export as CSV",
    description="仅监管部门。与查询相同的筛选条件；UTF-8（带BOM）、中文表头；超过导出上限时返回422，"
    "请缩小查询条件。每次导出记入审计日志。 / Regulators only. The same filters as the query; "
    "UTF-8 with BOM and a Chinese header; 422 when more rows match than the export limit. "
    "Every export is audited.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV file"}},
    dependencies=[_REGULATORS],
)
def export_records(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    filters: FiltersDep,
    sort: SortParam = "-updated_at",
) -> StreamingResponse:
    chunks = service.start_export(
        session, actor, settings, filters, sort, request.app.state.session_factory
    )
    stamp = actor.today.strftime("%Y%m%d")
    disposition = (
        f'attachment; filename="records-{stamp}.csv"; '
        f"filename*=UTF-8''{quote(f'记录导出-{stamp}.csv')}"
    )
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


@router.get(
    "/flags",
    summary="预警记录 / flagged records",
    description="管辖范围内带有第62号令预警的记录；可按预警类型筛选。"
    " / The records carrying Order No. 62 flags in the caller's jurisdiction, optionally "
    "of one flag.",
    dependencies=[_READ],
)
def flagged_records(
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    paging: PageDep,
    filters: FiltersDep,
    code: Annotated[FlagCode | None, Query(description="预警类型 / flag")] = None,
    sort: SortParam = "-updated_at",
) -> Page[RecordOut]:
    filters = replace(filters, flag=code or filters.flag)
    return service.list_records(session, actor, settings, filters, sort, paging, flagged_only=True)


@router.get("/contractors", summary="承包单位查询 / contractors", dependencies=[_REGULATORS])
def list_contractors(
    actor: ActorDep,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="名称包含或统一社会信用代码开头 / name contains, or USCC starts with",
        ),
    ] = None,
) -> Page[ContractorSummary]:
    return service.list_contractors(session, actor, (q or "").strip() or None, paging)


@router.get(
    "/contractors/{contractor_id}",
    summary="承包单位详情 / one contractor",
    dependencies=[_REGULATORS],
)
def read_contractor(
    contractor_id: uuid.UUID, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> ContractorDetail:
    return service.contractor_detail(session, actor, settings, contractor_id)
