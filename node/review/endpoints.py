"""``/api/v1/review``: the review queue of a regulator's level and jurisdiction."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlmodel import col, func, select

from node.access import REGULATORS, Scope, allow
from node.deps import ActorDep, SessionDep, SettingsDep
from node.errors import Forbidden
from node.filing import service
from node.filing.endpoints import record_detail
from node.filing.schemas import RecordDetail, RecordOut
from node.jurisdiction import reviewable_divisions_filter, within
from node.models import Contractor, Record, RecordVersion
from node.pagination import Page, PageDep
from node.review.diff import FieldChange, diff
from schemas.enums import RecordKind, ReviewState

_REVIEW = allow(
    REGULATORS,
    Scope.JURISDICTION,
    "by level: a county its county's departments; central SOEs and the province-level forms "
    "by the city or the province (docs/decisions.md)",
)

router = APIRouter(prefix="/api/v1/review", tags=["review"])


class QueueItem(RecordOut):
    submitted_at: str | None
    review_division: str


class ReviewDetail(BaseModel):
    record: RecordDetail
    changes: list[FieldChange] = Field(
        description="与现行版本相比的变化 / changes against the version in force"
    )


class Approve(BaseModel):
    version_no: int = Field(ge=1, title="审核的版本号", description="the version being approved")


class Return(BaseModel):
    version_no: int = Field(ge=1, title="审核的版本号")
    reason: str = Field(
        min_length=2,
        max_length=2000,
        title="退回理由",
        examples=["项目部负责人身份证号与书面报告不一致，请核对后重新提交"],
    )


@router.get("/queue", summary="待审核队列 / review queue", dependencies=[_REVIEW])
def queue(
    actor: ActorDep,
    session: SessionDep,
    paging: PageDep,
    kind: Annotated[RecordKind | None, Query(description="表单类型 / form")] = None,
    division: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="限定行政区划 / narrow to a division")
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="名称包含 / title contains")] = None,
) -> Page[QueueItem]:
    if not actor.is_regulator:
        raise Forbidden("仅监管部门可以审核", "only regulators review", code="role_not_allowed")
    where = [
        col(RecordVersion.state) == ReviewState.SUBMITTED,
        col(RecordVersion.record_id) == col(Record.id),
        col(Record.latest_version_no) == col(RecordVersion.version_no),
        reviewable_divisions_filter(RecordVersion.review_division, actor.role, actor.division_code),
    ]
    if kind:
        where.append(col(Record.kind) == kind)
    if division:
        where.append(within(RecordVersion.review_division, division))
    if q:
        where.append(col(Record.title).contains(q))
    total = session.exec(
        select(func.count()).select_from(RecordVersion).join(Record).where(*where)
    ).one()
    rows = session.exec(
        select(Record, RecordVersion, Contractor)
        .join(RecordVersion, col(RecordVersion.record_id) == col(Record.id))
        .join(Contractor, col(Contractor.id) == col(Record.contractor_id))
        .where(*where)
        .order_by(col(RecordVersion.submitted_at), col(Record.id))
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    items = [
        QueueItem(
            **RecordOut.of(r, c).model_dump(),
            submitted_at=v.submitted_at.isoformat() if v.submitted_at else None,
            review_division=v.review_division,
        )
        for r, v, c in rows
    ]
    return Page.of(items, total, paging)


@router.get(
    "/{record_id}",
    summary="审核详情与变化对比 / review detail with the diff",
    dependencies=[_REVIEW],
)
def detail(
    record_id: uuid.UUID, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> ReviewDetail:
    if not actor.is_regulator:
        raise Forbidden("仅监管部门可以审核", "only regulators review", code="role_not_allowed")
    record = service.get_visible(session, actor, record_id)
    out = record_detail(session, actor, record, settings)
    before = (
        out.current.data
        if out.current and out.current.version_no != out.latest.version_no
        else None
    )
    return ReviewDetail(record=out, changes=diff(before, out.latest.data))


@router.post(
    "/{record_id}/approve",
    summary="审核通过（自动公示）/ approve (publishes)",
    dependencies=[_REVIEW],
)
def approve(
    record_id: uuid.UUID, body: Approve, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> RecordDetail:
    record = service.approve(session, actor, record_id, body.version_no)
    return record_detail(session, actor, record, settings)


@router.post(
    "/{record_id}/return", summary="退回修改 / return with a reason", dependencies=[_REVIEW]
)
def return_(
    record_id: uuid.UUID, body: Return, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> RecordDetail:
    record = service.return_for_changes(session, actor, record_id, body.version_no, body.reason)
    return record_detail(session, actor, record, settings)
