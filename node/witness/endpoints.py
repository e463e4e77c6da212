"""``GET /api/v1/witness/status``: what this node has verified of the hub's log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from node.access import PROVINCIAL, Scope, allow
from node.deps import SessionDep
from node.principal import Actor
from node.witness import service
from node.witness.schemas import WitnessStatus

router = APIRouter(tags=["sync"])

ProvincialDep = Annotated[
    Actor, allow(PROVINCIAL, Scope.PROVINCE, "the node's own witness state and alarms")
]


@router.get(
    "/api/v1/witness/status",
    summary="透明日志见证状态与分叉告警 / witness state of the hub's log, fork alarms",
    response_model=WitnessStatus,
)
def witness_status(actor: ProvincialDep, session: SessionDep) -> dict[str, Any]:
    return service.summary(session)
