"""``/api/v1/national/…`` on the node: its regulators' cross-province queries, asked of
the hub with the node's key (docs/national-queries.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from node.access import REGULATORS, Scope, allow
from node.deps import ClockDep, SessionDep, SettingsDep
from node.hubqueries.service import HubAnswer, ask_hub
from node.principal import Actor

router = APIRouter(prefix="/api/v1/national", tags=["national"])

_REGULATORS = allow(
    REGULATORS,
    Scope.JURISDICTION,
    "every province's records via the hub; full ID numbers of this province's records only",
)
Regulator = Annotated[Actor, _REGULATORS]
FormatParam = Annotated[Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")]
_FILES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}}, "description": "the hub's answer"},
    503: {"description": "国家中心不可达 / the hub cannot be reached"},
}


def _response(answer: HubAnswer) -> Response:
    headers = {"Content-Disposition": answer.disposition} if answer.disposition else None
    return Response(answer.body, media_type=answer.media_type, headers=headers)


def _ask(
    request: Request,
    session: Any,
    settings: Any,
    clock: Any,
    actor: Actor,
    query: str,
    params: dict[str, Any],
    fmt: str,
) -> Response:
    transport = getattr(request.app.state, "hub_transport", None)
    return _response(ask_hub(session, settings, clock, actor, query, params, fmt, transport))


@router.get(
    "/contractors/{uscc}/records",
    summary="承包单位在各省的记录 / a contractor's records in every province (via the hub)",
    responses=_FILES,
)
def contractor_records(
    request: Request,
    uscc: Annotated[str, Path(min_length=18, max_length=18)],
    actor: Regulator,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    format: FormatParam = "json",
) -> Response:
    return _ask(
        request, session, settings, clock, actor, "contractor_records", {"uscc": uscc}, format
    )


@router.get(
    "/accidents-elsewhere",
    summary="在本省有记录、在外省发生事故的承包单位 / contractors of this province with "
    "accidents elsewhere (via the hub)",
    responses=_FILES,
)
def accidents_elsewhere(
    request: Request,
    actor: Regulator,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    format: FormatParam = "json",
) -> Response:
    return _ask(request, session, settings, clock, actor, "accidents_elsewhere", {}, format)


@router.get(
    "/concurrent-roles",
    summary="本省项目部人员同时在外省项目部任职 / people of this province's departments in "
    "concurrent departments of other provinces (Order No. 62 Art. 21, via the hub)",
    responses=_FILES,
)
def concurrent_roles(
    request: Request,
    actor: Regulator,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    role: Annotated[
        str | None, Query(description="head, safety_manager or technical_staff")
    ] = None,
    underground_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    format: FormatParam = "json",
) -> Response:
    params = {"role": role, "underground_only": underground_only, "limit": limit}
    return _ask(request, session, settings, clock, actor, "concurrent_roles", params, format)
