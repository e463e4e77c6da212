"""``/api/v1/audit``: reading the append-only audit trail (provincial level only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlmodel import col, func, select

from node.access import PROVINCIAL, Scope, allow
from node.deps import SessionDep
from node.models import AuditEvent
from node.pagination import Page, PageDep
from node.principal import CHINA_TZ, Actor
from node.queries.schemas import check_range

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

ProvincialDep = Annotated[
    Actor, allow(PROVINCIAL, Scope.PROVINCE, "the node's whole trail (masked personal data)")
]


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_username: str | None
    actor_role: str | None
    client_address: str | None
    action: str = Field(examples=["review.approved"])
    entity_kind: str
    entity_id: str | None
    detail: dict[str, Any] = Field(description="变化内容（已脱敏）/ what changed (masked)")

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventOut:
        assert e.id is not None
        return cls(
            id=e.id,
            at=e.at,
            actor_id=e.actor_id,
            actor_username=e.actor_username,
            actor_role=e.actor_role,
            client_address=e.client_address,
            action=e.action,
            entity_kind=e.entity_kind,
            entity_id=e.entity_id,
            detail=e.detail,
        )


def _aware(value: datetime) -> datetime:
    """A time without a zone is read as Beijing time, as users type it."""
    return value if value.tzinfo else value.replace(tzinfo=CHINA_TZ)


@router.get(
    "",
    summary="审计日志 / audit trail",
    description="仅省级管理员和省级监管人员；最新的在前。 / Provincial administrators and "
    "regulators only; newest first.",
)
def list_events(
    actor: ProvincialDep,
    session: SessionDep,
    paging: PageDep,
    entity_id: Annotated[
        str | None, Query(max_length=64, description="对象标识 / entity id")
    ] = None,
    actor_username: Annotated[
        str | None,
        Query(alias="actor", max_length=64, description="操作人用户名 / actor's username"),
    ] = None,
    action: Annotated[
        str | None,
        Query(max_length=64, description="操作类型前缀 / action prefix", examples=["review."]),
    ] = None,
    at_from: Annotated[
        datetime | None,
        Query(alias="from", description="起始时间（含）/ from (inclusive), ISO 8601"),
    ] = None,
    at_to: Annotated[
        datetime | None,
        Query(alias="to", description="截止时间（含）/ to (inclusive), ISO 8601"),
    ] = None,
) -> Page[AuditEventOut]:
    start = _aware(at_from) if at_from else None
    end = _aware(at_to) if at_to else None
    check_range(start, end, "from", "to")
    where: list[Any] = []
    if entity_id:
        where.append(col(AuditEvent.entity_id) == entity_id)
    if actor_username:
        where.append(col(AuditEvent.actor_username) == actor_username)
    if action:
        where.append(col(AuditEvent.action).startswith(action, autoescape=True))
    if start:
        where.append(col(AuditEvent.at) >= start)
    if end:
        where.append(col(AuditEvent.at) <= end)
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*where)).one()
    events = session.exec(
        select(AuditEvent)
        .where(*where)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    return Page.of([AuditEventOut.of(e) for e in events], total, paging)
