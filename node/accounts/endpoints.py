"""``/api/v1/accounts``: accounts inside the province, within the creator's jurisdiction;
the province's contractor account quota."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import col, func, select

from node.access import REGULATORS, Scope, allow
from node.accounts import service
from node.accounts.hub import UsccClaims
from node.accounts.reports import account_status
from node.deps import SessionDep, SettingsDep
from node.errors import InvalidInput
from node.jurisdiction import within
from node.models import Contractor, User
from node.pagination import Page, PageDep
from node.principal import Actor
from schemas.enums import Role
from schemas.identifiers import USCC

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])

RegulatorDep = Annotated[
    Actor,
    allow(
        REGULATORS,
        Scope.JURISDICTION,
        "accounts inside the caller's division; regulators by the provincial administrator, "
        "contractors by any regulator",
    ),
]


def uscc_claims(request: Request) -> UsccClaims:
    return request.app.state.uscc_claims  # type: ignore[no-any-return]


ClaimsDep = Annotated[UsccClaims, Depends(uscc_claims)]


class ContractorIn(BaseModel):
    uscc: USCC = Field(title="统一社会信用代码", examples=["91150102MA0N0000XX"])
    name: str = Field(min_length=2, max_length=200, title="企业名称")
    central_soe: bool = Field(False, title="是否中央企业")


class AccountCreate(BaseModel):
    username: str = Field(
        min_length=3,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.@-]+$",
        title="用户名",
        examples=["xinchengqu-reviewer"],
    )
    display_name: str = Field(
        min_length=1, max_length=100, title="姓名或单位", examples=["新城区应急管理局审核员"]
    )
    role: Role = Field(title="角色")
    division_code: str = Field(pattern=r"^\d{6}$", title="管辖行政区划代码", examples=["150102"])
    password: str = Field(min_length=1, max_length=200, title="初始密码")
    contractor: ContractorIn | None = Field(None, title="承包单位（角色为承包单位时必填）")


class AccountOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    role_label: str
    division_code: str
    contractor_uscc: str | None
    is_active: bool
    status: str = Field(description="active, disabled or deleted")
    must_change_password: bool
    created_at: datetime


class QuotaOut(BaseModel):
    contractor_accounts: int | None = Field(
        description="国家局分配的承包单位账号上限（null：未分配，不限）/ quota (null: none)"
    )
    used: int = Field(description="已开设的承包单位账号 / contractor accounts held")
    remaining: int | None


def _out(user: User, contractor: Contractor | None) -> AccountOut:
    return AccountOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        role_label=Role(user.role).label_zh,
        division_code=user.division_code,
        contractor_uscc=contractor.uscc if contractor else None,
        is_active=user.is_active,
        status=account_status(user),
        must_change_password=user.must_change_password,
        created_at=user.created_at,
    )


@router.post(
    "",
    status_code=201,
    summary="创建账号 / create an account",
    responses={
        409: {"description": "用户名已占用、已有账号、已在他省开户或配额用尽 / conflict"},
        503: {"description": "国家中心不可达，暂不能开设承包单位账号 / hub unreachable"},
    },
)
def create(
    body: AccountCreate,
    actor: RegulatorDep,
    session: SessionDep,
    settings: SettingsDep,
    claims: ClaimsDep,
) -> AccountOut:
    """A contractor account is first claimed at the hub (one per USCC nationally, within the
    province's quota); when the hub cannot be reached the creation is refused (503
    `hub_unreachable`) and nothing is kept."""
    contractor = None
    if body.role == Role.CONTRACTOR:
        if body.contractor is None:
            raise InvalidInput(
                "承包单位账号须填写单位信息",
                "contractor details are required",
                code="contractor_required",
                field="contractor",
            )
        contractor = service.register_contractor(
            session,
            actor,
            uscc=body.contractor.uscc,
            name=body.contractor.name,
            home_province_code=settings.province_code,
            central_soe=body.contractor.central_soe,
        )
    user = service.create_account(
        session,
        actor,
        claims,
        province_code=settings.province_code,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        division_code=body.division_code,
        password=body.password,
        contractor=contractor,
    )
    return _out(user, contractor)


@router.get("/quota", summary="本省承包单位账号配额 / the province's contractor account quota")
def quota(actor: RegulatorDep, session: SessionDep) -> QuotaOut:
    allocated, used = service.quota_status(session)
    return QuotaOut(
        contractor_accounts=allocated,
        used=used,
        remaining=None if allocated is None else max(0, allocated - used),
    )


@router.get("", summary="本辖区账号 / accounts in my jurisdiction")
def list_accounts(
    actor: RegulatorDep,
    session: SessionDep,
    paging: PageDep,
    role: Annotated[Role | None, Query(description="角色 / role")] = None,
    q: Annotated[
        str | None, Query(max_length=64, description="用户名或姓名包含 / contains")
    ] = None,
    include_deleted: Annotated[
        bool, Query(description="包括已删除的账号 / include deleted accounts")
    ] = False,
) -> Page[AccountOut]:
    where = [within(User.division_code, actor.division_code)]
    if not include_deleted:
        where.append(col(User.deleted_at).is_(None))
    if role:
        where.append(col(User.role) == role)
    if q:
        where.append(col(User.username).contains(q) | col(User.display_name).contains(q))
    total = session.exec(select(func.count()).select_from(User).where(*where)).one()
    rows = session.exec(
        select(User, Contractor)
        .outerjoin(Contractor, col(Contractor.id) == col(User.contractor_id))
        .where(*where)
        .order_by(col(User.created_at), col(User.id))
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    return Page.of([_out(u, c) for u, c in rows], total, paging)
