"""``/api/v1/national/…``: cross-province queries for the bureau, and for provincial
regulators through their node (``POST /api/v1/national/node-query``, signed)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from central.access import BUREAU, Scope, allow, signed_by_node
from central.deps import ClockDep, RawBody, SessionDep, SignedNode, client_address
from central.errors import InvalidInput
from central.principal import HubPrincipal
from central.queries import service
from central.queries.export import file_response, table_of
from central.queries.schemas import (
    AccidentsElsewhere,
    ConcurrentRoles,
    ContractorRecords,
    Format,
    NodeQueryIn,
    Viewer,
)
from central.web.templating import render
from schemas.errors import format_error_list

router = APIRouter(prefix="/api/v1/national", tags=["national"])

_BUREAU = allow(BUREAU, Scope.NATIONAL, "every province; full ID numbers; audited")
BureauUser = Annotated[HubPrincipal, _BUREAU]
FormatParam = Annotated[Format, Query(description="json, csv or xlsx")]
_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
        },
        "description": "JSON, or the table as CSV/XLSX (`format`)",
    }
}


def bureau_viewer(principal: HubPrincipal) -> Viewer:
    return Viewer(
        name=principal.username,
        role=principal.role,
        province=None,
        client_address=principal.client_address,
        now=principal.now,
    )


def _answer(result: BaseModel, fmt: str) -> Any:
    if fmt == "json":
        return result
    return file_response(table_of(result), fmt)  # type: ignore[arg-type]


@router.get(
    "/contractors/{uscc}/records",
    summary="承包单位在各省的记录 / a contractor's records in every province",
    responses=_FILES,
    response_model=ContractorRecords,
)
def contractor_records(
    uscc: Annotated[str, Path(min_length=18, max_length=18)],
    principal: BureauUser,
    session: SessionDep,
    format: FormatParam = "json",
) -> Any:
    return _answer(
        service.contractor_records(session, bureau_viewer(principal), uscc, format), format
    )


@router.get(
    "/accidents-elsewhere",
    summary="在外省发生事故的承包单位 / contractors with accidents in other provinces",
    description="有 `province`：在该省有记录、在其他省份发生事故的承包单位；无：在注册地以外省份"
    "发生事故的承包单位。/ With `province`: contractors with records there and accidents in "
    "other provinces; without: accidents outside their home province.",
    responses=_FILES,
    response_model=AccidentsElsewhere,
)
def accidents_elsewhere(
    principal: BureauUser,
    session: SessionDep,
    province: Annotated[str | None, Query(pattern=r"^\d{2}0000$")] = None,
    format: FormatParam = "json",
) -> Any:
    viewer = bureau_viewer(principal)
    return _answer(service.accidents_elsewhere(session, viewer, province, format), format)


@router.get(
    "/concurrent-roles",
    summary="同一人员同时在不同省份项目部任职 / one person in concurrent departments of "
    "different provinces (Order No. 62 Art. 21)",
    responses=_FILES,
    response_model=ConcurrentRoles,
)
def concurrent_roles(
    principal: BureauUser,
    session: SessionDep,
    province: Annotated[str | None, Query(pattern=r"^\d{2}0000$")] = None,
    role: Annotated[
        str | None, Query(description="head, safety_manager or technical_staff")
    ] = None,
    underground_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=service.MAX_ROWS)] = 200,
    format: FormatParam = "json",
) -> Any:
    result = service.concurrent_roles(
        session,
        bureau_viewer(principal),
        province=province,
        role=role,
        underground_only=underground_only,
        limit=limit,
        fmt=format,
    )
    return _answer(result, format)


@router.post(
    "/node-query",
    summary="节点代其监管人员查询 / a node asks on behalf of its regulator (signed request)",
    dependencies=[
        signed_by_node("the node's own regulators; full ID numbers of its province only")
    ],
    responses={**_FILES, 403: {"description": "用户不属于该节点辖区 / user outside the node"}},
)
def node_query(
    request: Request, node: SignedNode, body: RawBody, session: SessionDep, clock: ClockDep
) -> Any:
    """The node signs the body, which names its user (username, role, division); the hub
    checks the user lies in the node's jurisdiction and audits the query under both."""
    try:
        ask = NodeQueryIn.model_validate(json.loads(body))
    except (UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        errors = format_error_list(exc.errors()) if isinstance(exc, ValidationError) else []
        raise InvalidInput(
            "查询请求格式错误", f"malformed query: {exc.__class__.__name__}", errors=errors
        ) from exc
    viewer = service.node_viewer(node, ask.user, client_address(request), clock.now())
    result = service.run_node_query(session, viewer, ask.query, ask.params, ask.format)
    if ask.format == "json":
        return Response(result.model_dump_json(), media_type="application/json")
    return file_response(table_of(result), ask.format)


pages = APIRouter(tags=["national"])


@pages.get(
    "/national/queries",
    summary="跨省查询页面 / the bureau's cross-province query page",
    response_class=HTMLResponse,
    dependencies=[_BUREAU],
)
def queries_page(
    request: Request,
    principal: BureauUser,
    session: SessionDep,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
) -> HTMLResponse:
    records = None
    if uscc:
        records = service.contractor_records(session, bureau_viewer(principal), uscc, "page")
    return render(
        request, "queries/index.html", {"uscc": uscc, "records": records}, principal=principal
    )
