"""``/api/v1/accidents`` and ``/api/v1/rewards-penalties/entered``: regulator entry,
published on entry (no review)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import Session

from node.access import ALL, REGULATORS, Scope, allow
from node.deps import ActorDep, SessionDep, SettingsDep
from node.entry import repository, service
from node.entry.schemas import (
    AccidentCorrection,
    AccidentOut,
    EntryDetail,
    LicensingReport,
    LicensingReportItem,
    RewardPenaltyCorrection,
    correction_form,
)
from node.errors import Forbidden, InvalidInput
from node.filing.endpoints import record_detail
from node.models import Record
from node.pagination import Page, PageDep
from node.principal import Actor
from schemas.enums import AccidentCategory, AccidentGrade, RecordKind
from schemas.forms import AccidentCreate, RewardPenaltyCreate

_ENTER = allow(REGULATORS, Scope.JURISDICTION, "what happened or was decided in the jurisdiction")
_READ = allow(
    ALL, Scope.OWN_OR_JURISDICTION, "contractors their own; regulators their jurisdiction"
)

router = APIRouter(tags=["entry"])


def _detail(session: Session, actor: Actor, record: Record, settings: Any) -> EntryDetail:
    return EntryDetail.from_detail(record_detail(session, actor, record, settings), record)


def _form(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(mode="json")


@router.post(
    "/api/v1/accidents",
    status_code=201,
    summary="录入事故（录入即公示）/ enter an accident (published on entry)",
    description="事故等级由死亡、重伤人数和直接经济损失自动判定，不可填写。"
    " / The grade is derived from deaths, serious injuries and direct loss, never typed.",
    dependencies=[_ENTER],
)
def enter_accident(
    body: AccidentCreate, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> EntryDetail:
    record = service.enter(session, actor, RecordKind.ACCIDENT, _form(body))
    return _detail(session, actor, record, settings)


@router.get(
    "/api/v1/accidents/report-to-licensing-authority",
    summary="应报告发证机关的承包单位 / contractors to report to their licensing authority",
    description="一年内发生较大及以上事故，或一般事故三起及以上的承包单位（本辖区内发生的事故）。"
    " / Contractors with a 较大-or-worse accident, or three or more 一般 accidents, in the"
    " year, counting accidents that occurred in the caller's jurisdiction.",
    dependencies=[_ENTER],
)
def report_to_licensing_authority(
    actor: ActorDep,
    session: SessionDep,
    year: Annotated[
        int | None, Query(ge=1949, le=2199, description="年份，默认今年 / year, default this year")
    ] = None,
) -> LicensingReport:
    year = year or actor.today.year
    rows = repository.contractors_to_report(session, actor.division_code, year)
    authorities = repository.licence_issuing_authorities(session, [r.contractor.id for r in rows])
    items = []
    for row in rows:
        reasons = []
        if row.larger_or_worse_count:
            reasons.append("发生较大及以上事故 / a 较大 or worse accident")
        if row.general_count >= repository.GENERAL_ACCIDENTS_TO_REPORT:
            reasons.append(
                f"一年内发生一般事故{row.general_count}起 / {row.general_count} 一般 accidents"
            )
        items.append(
            LicensingReportItem(
                contractor_id=row.contractor.id,
                contractor_uscc=row.contractor.uscc,
                contractor_name=row.contractor.name,
                home_province_code=row.contractor.home_province_code,
                larger_or_worse_count=row.larger_or_worse_count,
                general_count=row.general_count,
                deaths=row.deaths,
                latest_occurred_on=row.latest_occurred_on,
                reasons=reasons,
                licence_issuing_authority=authorities.get(row.contractor.id),
            )
        )
    return LicensingReport(year=year, jurisdiction=actor.division_code, items=items)


@router.get(
    "/api/v1/accidents",
    summary="事故列表（监管部门：本辖区；承包单位：本单位）/ accidents: jurisdiction or own",
    dependencies=[_READ],
)
def list_accidents(
    actor: ActorDep,
    session: SessionDep,
    paging: PageDep,
    grade: Annotated[AccidentGrade | None, Query(description="事故等级 / grade")] = None,
    category: Annotated[
        list[AccidentCategory] | None,
        Query(description="包含的事故类别（可多选，须全部包含）/ categories it includes (all of)"),
    ] = None,
    occurred_from: Annotated[
        date | None, Query(description="发生日期起（含）/ occurred on or after")
    ] = None,
    occurred_to: Annotated[
        date | None, Query(description="发生日期止（含）/ occurred on or before")
    ] = None,
    contractor_uscc: Annotated[
        str | None,
        Query(pattern=r"^[0-9A-Z]{18}$", description="承包单位统一社会信用代码 / contractor USCC"),
    ] = None,
    county_code: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="事故发生地（县）/ county")
    ] = None,
) -> Page[AccidentOut]:
    if not (actor.is_regulator or actor.is_contractor):
        raise Forbidden(
            "当前账号无权查询事故",
            f"role {actor.role} may not list accidents",
            code="role_not_allowed",
        )
    if occurred_from and occurred_to and occurred_from > occurred_to:
        raise InvalidInput(
            "发生日期起不能晚于发生日期止",
            "occurred_from must not be after occurred_to",
            code="date_order",
            field="occurred_to",
        )
    filters = repository.AccidentFilters(
        grade=grade,
        categories=tuple(category or ()),
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        contractor_uscc=contractor_uscc,
        county_code=county_code,
    )
    total, rows = repository.list_accidents(session, actor, filters, paging)
    return Page.of([AccidentOut.of_row(r, v, c) for r, v, c in rows], total, paging)


@router.get(
    "/api/v1/accidents/{record_id}",
    summary="查看事故及其更正历史 / an accident and its corrections",
    dependencies=[_READ],
)
def read_accident(
    record_id: uuid.UUID, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> EntryDetail:
    record = service.get_entry(session, actor, RecordKind.ACCIDENT, record_id, for_update=False)
    return _detail(session, actor, record, settings)


@router.put(
    "/api/v1/accidents/{record_id}",
    summary="更正事故（生成新版本，即时公示）/ correct an accident (a new version, published)",
    description="请求体为完整的事故表，另加必填的 correction_reason（更正理由）。"
    " / The whole accident form plus the required correction_reason.",
    dependencies=[_ENTER],
)
def correct_accident(
    record_id: uuid.UUID,
    body: AccidentCorrection,
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
) -> EntryDetail:
    data, reason = correction_form(body)
    record = service.correct(session, actor, RecordKind.ACCIDENT, record_id, data, reason)
    return _detail(session, actor, record, settings)


@router.post(
    "/api/v1/rewards-penalties/entered",
    status_code=201,
    summary="监管部门录入奖惩（录入即公示）/ enter a reward or penalty (published on entry)",
    description="承包单位自行填报的奖惩走审核流程：/api/v1/filings/rewards-penalties。"
    " / Contractor-filed rewards/penalties are reviewed: see /api/v1/filings/rewards-penalties.",
    dependencies=[_ENTER],
)
def enter_reward_penalty(
    body: RewardPenaltyCreate, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> EntryDetail:
    record = service.enter(session, actor, RecordKind.REWARD_PENALTY, _form(body))
    return _detail(session, actor, record, settings)


@router.get(
    "/api/v1/rewards-penalties/entered/{record_id}",
    summary="查看监管部门录入的奖惩 / a regulator-entered reward or penalty",
    dependencies=[_READ],
)
def read_reward_penalty(
    record_id: uuid.UUID, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> EntryDetail:
    record = service.get_entry(
        session, actor, RecordKind.REWARD_PENALTY, record_id, for_update=False
    )
    return _detail(session, actor, record, settings)


@router.put(
    "/api/v1/rewards-penalties/entered/{record_id}",
    summary="更正监管部门录入的奖惩（生成新版本，即时公示）/ correct an entered reward or penalty",
    description="请求体为完整的奖惩表，另加必填的 correction_reason（更正理由）。"
    " / The whole reward/penalty form plus the required correction_reason.",
    dependencies=[_ENTER],
)
def correct_reward_penalty(
    record_id: uuid.UUID,
    body: RewardPenaltyCorrection,
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
) -> EntryDetail:
    data, reason = correction_form(body)
    record = service.correct(session, actor, RecordKind.REWARD_PENALTY, record_id, data, reason)
    return _detail(session, actor, record, settings)
