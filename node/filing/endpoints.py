"""``/api/v1/filings``: what a contractor files, and reading one record."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from sqlmodel import Session, col, func, select

from node.access import ALL, CONTRACTOR, Scope, allow
from node.deps import ActorDep, SessionDep, SettingsDep
from node.filing import service
from node.filing.schemas import RecordDetail, RecordOut, VersionOut
from node.flags.rules import flags_of
from node.models import Contractor, Record
from node.pagination import Page, PageDep
from node.principal import Actor
from schemas.enums import RecordKind, ReviewState
from schemas.forms import (
    BasicInfoUpdate,
    LicenceUpdate,
    ProjectDepartmentUpdate,
    RewardPenaltyUpdate,
)

_OWN = allow(CONTRACTOR, Scope.OWN, "the contractor's own filings")
_READ = allow(
    ALL,
    Scope.OWN_OR_JURISDICTION,
    "contractors their own records; regulators the records located in their jurisdiction",
)

router = APIRouter(prefix="/api/v1/filings", tags=["filing"])


def record_detail(session: Session, actor: Actor, record: Record, settings: Any) -> RecordDetail:
    contractor = session.get(Contractor, record.contractor_id)
    assert contractor is not None
    versions = service.versions_of(session, record)
    by_no = {v.version_no: v for v in versions}
    flags = flags_of(
        session,
        [record.id],
        actor.today,
        settings.licence_warning_days,
        settings.inspection_interval_days,
    )
    base = RecordOut.of(record, contractor, flags.get(record.id))
    current = by_no.get(record.current_version_no or -1)
    return RecordDetail(
        **base.model_dump(),
        current=VersionOut.of(current) if current else None,
        latest=VersionOut.of(by_no[record.latest_version_no]),
        history=[VersionOut.of(v) for v in versions],
        project_department_count=service.project_department_count(session, contractor.id)
        if record.kind == RecordKind.BASIC_INFO
        else None,
    )


def _created(
    session: Session, actor: Actor, kind: RecordKind, body: Any, settings: Any
) -> RecordDetail:
    record = service.create_draft(
        session, actor, kind, body.model_dump(mode="json", exclude_unset=True)
    )
    return record_detail(session, actor, record, settings)


@router.post(
    "/basic-info",
    status_code=201,
    summary="新建基本情况草稿 / new basic-info draft",
    dependencies=[_OWN],
)
def create_basic_info(
    body: BasicInfoUpdate, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> RecordDetail:
    return _created(session, actor, RecordKind.BASIC_INFO, body, settings)


@router.post(
    "/licences",
    status_code=201,
    summary="新建持证情况草稿 / new licence draft",
    dependencies=[_OWN],
)
def create_licence(
    body: LicenceUpdate, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> RecordDetail:
    return _created(session, actor, RecordKind.LICENCE, body, settings)


@router.post(
    "/project-departments",
    status_code=201,
    summary="新建项目部草稿 / new project-department draft",
    dependencies=[_OWN],
)
def create_project_department(
    body: ProjectDepartmentUpdate, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> RecordDetail:
    return _created(session, actor, RecordKind.PROJECT_DEPARTMENT, body, settings)


@router.post(
    "/rewards-penalties",
    status_code=201,
    summary="新建奖惩情况草稿 / new reward-or-penalty draft",
    dependencies=[_OWN],
)
def create_reward_penalty(
    body: RewardPenaltyUpdate, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> RecordDetail:
    return _created(session, actor, RecordKind.REWARD_PENALTY, body, settings)


@router.get("", summary="本单位的填报 / my filings", dependencies=[_OWN])
def list_own(
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    paging: PageDep,
    kind: Annotated[RecordKind | None, Query(description="表单类型 / form")] = None,
    state: Annotated[ReviewState | None, Query(description="状态 / state")] = None,
) -> Page[RecordOut]:
    service._own_contractor(session, actor)
    where = [col(Record.contractor_id) == actor.contractor_id]
    if kind:
        where.append(col(Record.kind) == kind)
    if state:
        where.append(col(Record.state) == state)
    total = session.exec(select(func.count()).select_from(Record).where(*where)).one()
    rows = list(
        session.exec(
            select(Record)
            .where(*where)
            .order_by(col(Record.updated_at).desc(), col(Record.id))
            .offset(paging.offset)
            .limit(paging.page_size)
        )
    )
    contractor = session.get(Contractor, actor.contractor_id)
    assert contractor is not None
    flags = flags_of(
        session,
        [r.id for r in rows],
        actor.today,
        settings.licence_warning_days,
        settings.inspection_interval_days,
    )
    return Page.of([RecordOut.of(r, contractor, flags.get(r.id)) for r in rows], total, paging)


@router.get(
    "/{record_id}",
    summary="查看一条记录及其版本 / a record with its versions",
    dependencies=[_READ],
)
def read(
    record_id: uuid.UUID, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> RecordDetail:
    return record_detail(session, actor, service.get_visible(session, actor, record_id), settings)


@router.patch(
    "/{record_id}",
    summary="修改草稿（已通过或已退回的记录将生成新版本）/ edit (a new version if approved or returned)",
    dependencies=[_OWN],
)
def update(
    record_id: uuid.UUID,
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    changes: Annotated[
        dict[str, Any],
        Body(
            description="要修改的字段，按该记录表单的字段校验 / fields to change, validated by the record's form",
            examples=[{"avg_headcount": 350}],
        ),
    ],
) -> RecordDetail:
    record = service.update_draft(session, actor, record_id, changes)
    return record_detail(session, actor, record, settings)


@router.post("/{record_id}/submit", summary="提交审核 / submit for review", dependencies=[_OWN])
def submit(
    record_id: uuid.UUID, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> RecordDetail:
    return record_detail(session, actor, service.submit(session, actor, record_id), settings)


@router.post(
    "/{record_id}/withdraw", summary="撤回审核 / withdraw from review", dependencies=[_OWN]
)
def withdraw(
    record_id: uuid.UUID, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> RecordDetail:
    return record_detail(session, actor, service.withdraw(session, actor, record_id), settings)


@router.delete(
    "/{record_id}/draft",
    status_code=204,
    summary="删除草稿 / delete the draft",
    dependencies=[_OWN],
)
def delete_draft(record_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> None:
    service.delete_draft(session, actor, record_id)


@router.get(
    "/{record_id}/versions/{version_no}", summary="某一版本 / one version", dependencies=[_READ]
)
def read_version(
    record_id: uuid.UUID, version_no: int, actor: ActorDep, session: SessionDep
) -> VersionOut:
    record = service.get_visible(session, actor, record_id)
    return VersionOut.of(service.get_version(session, record, version_no))
