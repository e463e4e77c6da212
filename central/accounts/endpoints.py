"""The account authority's APIs (hub users) and the nodes' USCC claim (signed request)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import ValidationError
from sqlmodel import col, select

from central.access import ADMIN, BUREAU, Scope, allow, signed_by_node
from central.accounts import service
from central.accounts.schemas import (
    AccountOut,
    AccountPage,
    ClaimIn,
    ClaimOut,
    OneTimeCodeOut,
    ProvinceAdminCreate,
    QuotaIn,
    QuotaOut,
    StateChange,
)
from central.deps import ClockDep, HubKeyDep, RawBody, SessionDep, SettingsDep, SignedNode
from central.errors import InvalidInput, NotFound
from central.models import HubAccount, HubUsccClaim
from central.principal import HubPrincipal
from schemas.errors import format_error_list

router = APIRouter(tags=["accounts"])

AdminDep = Annotated[
    HubPrincipal, allow(ADMIN, Scope.NATIONAL, "the bureau decides on any province's accounts")
]
BureauDep = Annotated[
    HubPrincipal, allow(BUREAU, Scope.NATIONAL, "national search: every province")
]


def signer(settings: SettingsDep, key: HubKeyDep) -> service.Signer:
    return service.Signer(settings.hub_id, key)


SignerDep = Annotated[service.Signer, Depends(signer)]

_ACCOUNT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "账号不存在 / no such account"},
    409: {"description": "账号已删除或节点未接入 / account deleted or node not enrolled"},
}


@router.post(
    "/api/v1/accounts",
    status_code=201,
    summary="分配省级管理员账号 / allocate a provincial administrator account",
    responses={409: {"description": "用户名已占用或节点未接入 / username taken, node absent"}},
)
def create_province_admin(
    body: ProvinceAdminCreate,
    principal: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    sign: SignerDep,
) -> OneTimeCodeOut:
    """Sent to the province's node as `directive.account_create` with the one-time code's
    argon2id hash; the code itself is in this answer only, once."""
    account, code = service.create_province_admin(
        session,
        principal,
        sign,
        province_code=body.province_code,
        username=body.username,
        display_name=body.display_name,
        code_ttl_s=settings.one_time_code_ttl_s,
    )
    return OneTimeCodeOut(
        account=AccountOut.of(account), one_time_code=code.code, expires_at=code.expires_at
    )


@router.get("/api/v1/accounts", summary="全国账号查询 / search accounts nationally")
def search_accounts(
    principal: BureauDep,
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=64, description="用户名、姓名或单位名称包含 / contains")
    ] = None,
    province_code: Annotated[
        str | None, Query(pattern=r"^\d{2}0000$", description="省份 / province")
    ] = None,
    role: Annotated[str | None, Query(max_length=32, description="角色 / role")] = None,
    status: Annotated[
        str | None,
        Query(pattern=r"^(pending|active|disabled|deleted)$", description="状态 / status"),
    ] = None,
    uscc: Annotated[
        str | None, Query(pattern=r"^[0-9A-Z]{18}$", description="统一社会信用代码 / USCC")
    ] = None,
    conflict: Annotated[
        bool | None, Query(description="统一社会信用代码冲突 / USCC held elsewhere")
    ] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AccountPage:
    rows, total = service.search(
        session,
        q=q,
        province_code=province_code,
        role=role,
        status=status,
        uscc=uscc,
        conflict=conflict,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return AccountPage(
        items=[AccountOut.of(r) for r in rows], total=total, page=page, page_size=page_size
    )


@router.get(
    "/api/v1/accounts/{account_id}",
    summary="账号详情 / one account",
    responses={404: _ACCOUNT_ERRORS[404]},
)
def read_account(account_id: uuid.UUID, principal: BureauDep, session: SessionDep) -> AccountOut:
    account = session.get(HubAccount, account_id)
    if account is None:
        raise NotFound("账号不存在", f"no account {account_id}", code="account_not_found")
    return AccountOut.of(account)


@router.post(
    "/api/v1/accounts/{account_id}/password-reset",
    summary="重置密码（一次性密码，只显示一次）/ reset a password (one-time code, shown once)",
    responses=_ACCOUNT_ERRORS,
)
def reset_password(
    account_id: uuid.UUID,
    principal: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    sign: SignerDep,
) -> OneTimeCodeOut:
    """`directive.password_reset`: the node sets the code's hash, revokes every token and
    session of the account, and makes its user choose a new password at the next login."""
    account, code = service.reset_password(
        session, principal, sign, account_id, code_ttl_s=settings.one_time_code_ttl_s
    )
    return OneTimeCodeOut(
        account=AccountOut.of(account), one_time_code=code.code, expires_at=code.expires_at
    )


@router.post(
    "/api/v1/accounts/{account_id}/disable",
    summary="停用账号 / disable an account",
    responses=_ACCOUNT_ERRORS,
)
def disable_account(
    account_id: uuid.UUID,
    principal: AdminDep,
    session: SessionDep,
    sign: SignerDep,
    body: StateChange | None = None,
) -> AccountOut:
    reason = body.reason if body else None
    return AccountOut.of(
        service.change_state(session, principal, sign, account_id, "disable", reason)
    )


@router.post(
    "/api/v1/accounts/{account_id}/enable",
    summary="启用账号 / enable an account",
    responses=_ACCOUNT_ERRORS,
)
def enable_account(
    account_id: uuid.UUID,
    principal: AdminDep,
    session: SessionDep,
    sign: SignerDep,
    body: StateChange | None = None,
) -> AccountOut:
    reason = body.reason if body else None
    return AccountOut.of(
        service.change_state(session, principal, sign, account_id, "enable", reason)
    )


@router.delete(
    "/api/v1/accounts/{account_id}",
    summary="删除账号 / delete an account",
    responses=_ACCOUNT_ERRORS,
)
def delete_account(
    account_id: uuid.UUID, principal: AdminDep, session: SessionDep, sign: SignerDep
) -> AccountOut:
    return AccountOut.of(service.change_state(session, principal, sign, account_id, "delete"))


# ---------------------------------------------------------------- quotas and claims


@router.get("/api/v1/quotas", summary="各省承包单位账号配额 / contractor account quotas")
def list_quotas(principal: BureauDep, session: SessionDep) -> list[QuotaOut]:
    return [QuotaOut.of(row) for row in service.quotas(session)]


@router.put(
    "/api/v1/quotas/{province_code}",
    summary="分配承包单位账号配额 / allocate a province's contractor accounts",
    responses={409: {"description": "节点未接入 / node not enrolled"}},
)
def put_quota(
    province_code: Annotated[str, Path(pattern=r"^\d{2}0000$", description="省份 / province")],
    body: QuotaIn,
    principal: AdminDep,
    session: SessionDep,
    sign: SignerDep,
) -> QuotaOut:
    service.set_quota(
        session,
        principal,
        sign,
        province_code=province_code,
        contractor_accounts=body.contractor_accounts,
    )
    return next(
        QuotaOut.of(r) for r in service.quotas(session) if r["province_code"] == province_code
    )


@router.get(
    "/api/v1/uscc-claims",
    summary="承包单位账号的全国唯一登记 / national USCC claims",
)
def list_claims(
    principal: BureauDep,
    session: SessionDep,
    uscc: Annotated[str | None, Query(pattern=r"^[0-9A-Z]{18}$")] = None,
    node_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ClaimOut]:
    query = select(HubUsccClaim).order_by(col(HubUsccClaim.claimed_at).desc())
    if uscc:
        query = query.where(HubUsccClaim.uscc == uscc)
    if node_id:
        query = query.where(HubUsccClaim.node_id == node_id)
    return [ClaimOut.of(r) for r in session.exec(query.limit(limit))]


@router.delete(
    "/api/v1/uscc-claims/{uscc}",
    summary="释放失效的统一社会信用代码登记 / release a stale USCC claim",
    responses={
        404: {"description": "无登记 / no claim"},
        409: {"description": "账号仍在 / in use"},
    },
)
def release_claim(
    uscc: Annotated[str, Path(pattern=r"^[0-9A-Z]{18}$")], principal: AdminDep, session: SessionDep
) -> ClaimOut:
    return ClaimOut.of(service.release_claim(session, principal, uscc))


@router.post(
    "/sync/v1/accounts/claim-uscc",
    tags=["sync"],
    summary="节点登记承包单位账号（全国唯一）/ a node claims a contractor's one account",
    dependencies=[signed_by_node("the claiming node; its quota and its claims")],
    responses={
        400: {"description": "正文格式错误 / malformed body"},
        401: {"description": "请求签名无效 / request authentication failed"},
        409: {"description": "已在他省开户或配额用尽 / claimed elsewhere, or quota used up"},
    },
)
def claim_uscc(node: SignedNode, body: RawBody, session: SessionDep, clock: ClockDep) -> ClaimOut:
    """Before creating a contractor account, the node asks here; the hub records the claim
    atomically (one per USCC nationally) and checks the province's quota."""
    try:
        claim = ClaimIn.model_validate(json.loads(body))
    except (UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        errors = format_error_list(exc.errors()) if isinstance(exc, ValidationError) else []
        raise InvalidInput(
            "登记请求格式错误", f"malformed claim: {exc.__class__.__name__}", errors=errors
        ) from exc
    row = service.claim_uscc(
        session,
        node,
        uscc=claim.uscc,
        account_id=claim.account_id,
        username=claim.username,
        contractor_name=claim.contractor_name,
        now=clock.now(),
    )
    return ClaimOut.of(row)
