"""``GET /api/v1/audit``: the hub's audit trail, for the bureau."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col, select

from central.access import BUREAU, Scope, allow
from central.deps import SessionDep
from central.models import HubAuditEvent
from central.principal import HubPrincipal

router = APIRouter(tags=["audit"])

BureauDep = Annotated[HubPrincipal, allow(BUREAU, Scope.NATIONAL, "the hub's whole trail")]


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    client_address: str | None
    action: str
    entity_kind: str
    entity_id: str | None
    detail: dict[str, Any]


@router.get("/api/v1/audit", summary="国家中心审计日志 / the hub's audit trail")
def list_events(
    principal: BureauDep,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=64, description="动作 / action")] = None,
    actor: Annotated[str | None, Query(max_length=64, description="操作者 / who")] = None,
    entity_id: Annotated[str | None, Query(max_length=64, description="对象 / entity id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventOut]:
    """Newest first. Who asked (a hub user, a node, ``cli:…``) and what; no personal data."""
    query = select(HubAuditEvent).order_by(col(HubAuditEvent.id).desc())
    if action:
        query = query.where(HubAuditEvent.action == action)
    if actor:
        query = query.where(HubAuditEvent.actor == actor)
    if entity_id:
        query = query.where(HubAuditEvent.entity_id == entity_id)
    return [
        AuditEventOut.model_validate(e, from_attributes=True)
        for e in session.exec(query.limit(limit))
    ]
