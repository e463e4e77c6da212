"""``/api/v1/crossprov``: this province's contractors' records owned by other provinces."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import ColumnElement
from sqlmodel import col, func, select

from node.access import REGULATORS, Scope, allow
from node.deps import SessionDep
from node.filing.schemas import RecordOut
from node.models import Contractor, Record
from node.pagination import Page, PageDep
from schemas.enums import RecordKind

_READ = allow(
    REGULATORS,
    Scope.PROVINCE,
    "read-only copies: this province's contractors' departments and accidents in other "
    "provinces (docs/cross-province.md)",
)

router = APIRouter(prefix="/api/v1/crossprov", tags=["crossprov"])


@router.get(
    "/elsewhere",
    summary="本省承包单位在外省的项目部和事故（只读）/ our contractors' records elsewhere",
    dependencies=[_READ],
)
def elsewhere(
    session: SessionDep,
    paging: PageDep,
    kind: Annotated[RecordKind | None, Query(description="表单类型 / form")] = None,
    province: Annotated[
        str | None, Query(pattern=r"^\d{2}0000$", description="所在省 / location province")
    ] = None,
) -> Page[RecordOut]:
    where: list[ColumnElement[bool]] = [col(Record.owner_node).is_not(None)]
    if kind:
        where.append(col(Record.kind) == kind)
    if province:
        where.append(col(Record.province_code) == province)
    total = session.exec(select(func.count()).select_from(Record).where(*where)).one()
    rows = session.exec(
        select(Record, Contractor)
        .join(Contractor, col(Contractor.id) == col(Record.contractor_id))
        .where(*where)
        .order_by(col(Record.updated_at).desc(), col(Record.id))
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    return Page.of([RecordOut.of(r, c) for r, c in rows], total, paging)
