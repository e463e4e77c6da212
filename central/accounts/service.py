"""The bureau as account authority (docs/accounts.md).

Every decision about a node's account is a signed directive queued, in the
same transaction, to that node's inbox (``sync.outbox.enqueue``); the node
applies it exactly once (per-stream seq) and reports the result back
(``account.report``, ``central.accounts.reports``). Nothing here ever holds a
user's password: what goes down is the argon2id hash of a one-time code the
bureau saw once.

Every directive about an account carries that account's next ``version``; the
node applies a directive only if its version is newer than what it applied,
so an old directive retried from quarantine can never undo a newer one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from central.audit.service import Actor, record_event
from central.auth.passwords import hash_password, new_one_time_code
from central.errors import Conflict, InvalidInput, NotFound
from central.models import (
    AccountStatus,
    HubAccount,
    HubNode,
    HubProvinceQuota,
    HubUsccClaim,
    NodeStatus,
)
from central.principal import HubPrincipal
from schemas.divisions import get_division
from schemas.enums import Role
from sync.clock import format_rfc3339
from sync.keys import SigningKey
from sync.outbox import enqueue

#: The roles the bureau allocates at the hub; everything else is created at the node.
ALLOCATED_ROLES = frozenset({Role.PROVINCIAL_ADMIN})


@dataclass(frozen=True)
class Signer:
    """What queuing a directive needs: the hub's id and key."""

    hub_id: str
    key: SigningKey


@dataclass(frozen=True)
class OneTimeCode:
    code: str
    expires_at: datetime


def _new_code(now: datetime, ttl_s: int) -> tuple[OneTimeCode, dict[str, Any]]:
    """A one-time code (shown to the bureau once) and its credential for the directive."""
    code = OneTimeCode(new_one_time_code(), now + timedelta(seconds=ttl_s))
    credential = {
        "kind": "one_time_code",
        "hash": hash_password(code.code),
        "expires_at": format_rfc3339(code.expires_at),
    }
    return code, credential


def node_of_province(session: Session, province_code: str) -> HubNode:
    node = session.exec(select(HubNode).where(HubNode.jurisdiction == province_code)).first()
    if node is None:
        raise Conflict(
            f"省份 {province_code} 的节点尚未接入国家中心",
            f"no node is enrolled for province {province_code}",
            code="node_not_enrolled",
            field="province_code",
        )
    if node.status != NodeStatus.ACTIVE:
        raise Conflict("该省节点已被暂停", f"{node.node_id} is suspended", code="node_suspended")
    return node


def _directive(
    session: Session,
    signer: Signer,
    node_id: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
) -> int:
    message = enqueue(
        session,
        kind=kind,
        sender=signer.hub_id,
        recipient=node_id,
        payload=payload,
        key=signer.key,
        now=now,
    )
    return message.seq


def locked_account(session: Session, account_id: uuid.UUID) -> HubAccount:
    account = session.exec(
        select(HubAccount).where(col(HubAccount.id) == account_id).with_for_update()
    ).first()
    if account is None:
        raise NotFound("账号不存在", f"no account {account_id}", code="account_not_found")
    return account


def _audit_directive(
    session: Session,
    actor: Actor,
    action: str,
    account: HubAccount,
    seq: int,
    now: datetime,
    **extra: Any,
) -> None:
    record_event(
        session,
        actor,
        action,
        "account",
        account.id,
        now,
        {
            "node_id": account.node_id,
            "username": account.username,
            "version": account.version,
            "directive_seq": seq,
            **extra,
        },
    )


# ---------------------------------------------------------------- province administrators


def create_province_admin(
    session: Session,
    principal: HubPrincipal,
    signer: Signer,
    *,
    province_code: str,
    username: str,
    display_name: str,
    code_ttl_s: int,
) -> tuple[HubAccount, OneTimeCode]:
    """Allocate a provincial administrator account; its one-time code is shown once."""
    division = get_division(province_code)
    if division is None or division.level != "province":
        raise InvalidInput(
            f"{province_code} 不是省级行政区划代码",
            f"province_code {province_code} is not a province (GB/T 2260)",
            code="unknown_division",
            field="province_code",
        )
    node = node_of_province(session, province_code)
    taken = session.exec(
        select(HubAccount.id).where(
            HubAccount.node_id == node.node_id,
            HubAccount.username == username,
            col(HubAccount.status) != AccountStatus.DELETED,
        )
    ).first()
    if taken is not None:
        raise Conflict(
            f"该省已有用户名 {username}",
            f"username {username} is taken at {node.node_id}",
            code="username_taken",
            field="username",
        )
    now = principal.now
    code, credential = _new_code(now, code_ttl_s)
    account = HubAccount(
        id=uuid.uuid4(),
        node_id=node.node_id,
        province_code=province_code,
        username=username,
        display_name=display_name,
        role=Role.PROVINCIAL_ADMIN,
        division_code=province_code,
        status=AccountStatus.PENDING,
        must_change_password=True,
        origin="hub",
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    seq = _directive(
        session,
        signer,
        node.node_id,
        "directive.account_create",
        {
            "account_id": str(account.id),
            "username": username,
            "display_name": display_name,
            "role": account.role,
            "division_code": province_code,
            "credential": credential,
            "version": account.version,
            "requested_by": principal.username,
        },
        now,
    )
    _audit_directive(
        session, principal.actor, "account.create_requested", account, seq, now, role=account.role
    )
    return account, code


def _live(account: HubAccount) -> None:
    if account.status == AccountStatus.DELETED:
        raise Conflict("该账号已删除", f"account {account.id} is deleted", code="account_deleted")


def _next_version(account: HubAccount, now: datetime) -> None:
    account.version += 1
    account.updated_at = now


def reset_password(
    session: Session,
    principal: HubPrincipal,
    signer: Signer,
    account_id: uuid.UUID,
    *,
    code_ttl_s: int,
) -> tuple[HubAccount, OneTimeCode]:
    """A new one-time code for any node account; the node revokes its sessions and tokens
    and makes the user choose a new password at the next login."""
    account = locked_account(session, account_id)
    _live(account)
    node_of_province(session, account.province_code)
    now = principal.now
    code, credential = _new_code(now, code_ttl_s)
    _next_version(account, now)
    session.add(account)
    seq = _directive(
        session,
        signer,
        account.node_id,
        "directive.password_reset",
        {
            "account_id": str(account.id),
            "username": account.username,
            "credential": credential,
            "version": account.version,
            "requested_by": principal.username,
        },
        now,
    )
    _audit_directive(
        session, principal.actor, "account.password_reset_requested", account, seq, now
    )
    return account, code


_STATE_KINDS = {
    "disable": ("directive.account_disable", "account.disable_requested"),
    "enable": ("directive.account_enable", "account.enable_requested"),
    "delete": ("directive.account_delete", "account.delete_requested"),
}


def change_state(
    session: Session,
    principal: HubPrincipal,
    signer: Signer,
    account_id: uuid.UUID,
    what: str,
    reason: str | None = None,
) -> HubAccount:
    """Disable, enable or delete a node account (``what``), by directive."""
    kind, action = _STATE_KINDS[what]
    account = locked_account(session, account_id)
    _live(account)
    node_of_province(session, account.province_code)
    now = principal.now
    _next_version(account, now)
    session.add(account)
    payload: dict[str, Any] = {
        "account_id": str(account.id),
        "username": account.username,
        "version": account.version,
        "requested_by": principal.username,
    }
    if reason:
        payload["reason"] = reason
    seq = _directive(session, signer, account.node_id, kind, payload, now)
    if what == "delete" and account.status == AccountStatus.PENDING:
        # Never confirmed by the node (its allocation may have been refused there):
        # gone from the directory now; the directive still deletes it if it arrives.
        account.status = AccountStatus.DELETED
        session.add(account)
    _audit_directive(session, principal.actor, action, account, seq, now, reason=reason)
    return account


# ---------------------------------------------------------------- quotas


def set_quota(
    session: Session,
    principal: HubPrincipal,
    signer: Signer,
    *,
    province_code: str,
    contractor_accounts: int,
) -> HubProvinceQuota:
    """Allocate a province its contractor accounts; the node refuses more than this."""
    node = node_of_province(session, province_code)
    now = principal.now
    session.execute(
        insert(HubProvinceQuota)
        .values(
            node_id=node.node_id,
            contractor_accounts=contractor_accounts,
            version=0,
            updated_at=now,
            updated_by=principal.username,
        )
        .on_conflict_do_nothing()
    )
    quota = session.exec(
        select(HubProvinceQuota)
        .where(col(HubProvinceQuota.node_id) == node.node_id)
        .with_for_update()
    ).one()
    previous = quota.contractor_accounts if quota.version else None
    quota.contractor_accounts = contractor_accounts
    quota.version += 1
    quota.updated_at = now
    quota.updated_by = principal.username
    session.add(quota)
    seq = _directive(
        session,
        signer,
        node.node_id,
        "directive.quota",
        {
            "province_code": province_code,
            "contractor_accounts": contractor_accounts,
            "version": quota.version,
            "requested_by": principal.username,
        },
        now,
    )
    record_event(
        session,
        principal.actor,
        "quota.allocated",
        "province_quota",
        node.node_id,
        now,
        {
            "contractor_accounts": contractor_accounts,
            "previous": previous,
            "version": quota.version,
            "directive_seq": seq,
        },
    )
    return quota


def claims_held(session: Session, node_id: str) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(HubUsccClaim).where(HubUsccClaim.node_id == node_id)
        ).one()
    )


def quotas(session: Session) -> list[dict[str, Any]]:
    """Every enrolled province: quota (None: none allocated) and contractor accounts held."""
    held = dict(
        session.exec(
            select(HubUsccClaim.node_id, func.count()).group_by(col(HubUsccClaim.node_id))
        ).all()
    )
    rows = session.exec(
        select(HubNode, HubProvinceQuota)
        .outerjoin(HubProvinceQuota, col(HubProvinceQuota.node_id) == col(HubNode.node_id))
        .order_by(col(HubNode.jurisdiction))
    ).all()
    return [
        {
            "node_id": node.node_id,
            "province_code": node.jurisdiction,
            "province_name": node.display_name,
            "contractor_accounts": quota.contractor_accounts if quota else None,
            "version": quota.version if quota else 0,
            "used": int(held.get(node.node_id, 0)),
            "updated_at": quota.updated_at if quota else None,
            "updated_by": quota.updated_by if quota else None,
        }
        for node, quota in rows
    ]


# ---------------------------------------------------------------- one account per USCC


def claim_uscc(
    session: Session,
    node: HubNode,
    *,
    uscc: str,
    account_id: uuid.UUID,
    username: str,
    contractor_name: str,
    now: datetime,
) -> HubUsccClaim:
    """Record that ``node`` gives the contractor ``uscc`` its one account.

    Atomic: the claim's primary key is the USCC, so of two provinces asking at
    once exactly one wins and the other gets 409 ``uscc_claimed``. The same
    node asking again (its earlier attempt failed after the claim) is
    answered with the claim, now naming the new account. The province's quota
    (if allocated) is checked under a lock on its quota row, so concurrent
    claims cannot exceed it.
    """
    quota = session.exec(
        select(HubProvinceQuota)
        .where(col(HubProvinceQuota.node_id) == node.node_id)
        .with_for_update()
    ).first()
    inserted = session.execute(
        insert(HubUsccClaim)
        .values(
            uscc=uscc,
            node_id=node.node_id,
            account_id=account_id,
            username=username,
            contractor_name=contractor_name,
            claimed_at=now,
            source="request",
        )
        .on_conflict_do_nothing()
        .returning(col(HubUsccClaim.uscc))
    ).first()
    claim = session.exec(
        select(HubUsccClaim).where(col(HubUsccClaim.uscc) == uscc).with_for_update()
    ).one()
    if claim.node_id != node.node_id:
        holder = session.get(HubNode, claim.node_id)
        where = holder.display_name if holder else claim.node_id
        raise Conflict(
            f"统一社会信用代码 {uscc} 已在{where}开设账号，每个承包单位全国只能有一个账号",
            f"USCC {uscc} already has its account at {claim.node_id} (one per contractor "
            "nationally)",
            code="uscc_claimed",
            holder=claim.node_id,
        )
    if inserted is not None and quota is not None:
        held = claims_held(session, node.node_id)
        if held > quota.contractor_accounts:
            raise Conflict(
                f"本省承包单位账号已达国家局分配的上限（{quota.contractor_accounts} 个）",
                f"the province's contractor account quota ({quota.contractor_accounts}) is used up",
                code="quota_exhausted",
            )
    if inserted is None:
        claim.account_id = account_id
        claim.username = username
        claim.contractor_name = contractor_name
        session.add(claim)
    record_event(
        session,
        Actor(node.node_id),
        "account.uscc_claimed" if inserted is not None else "account.uscc_claim_renewed",
        "uscc_claim",
        uscc,
        now,
        {"account_id": str(account_id), "username": username},
    )
    session.flush()
    return claim


def release_claim(session: Session, principal: HubPrincipal, uscc: str) -> HubUsccClaim:
    """The bureau frees a USCC whose claim is stale (an account never created, say)."""
    claim = session.exec(
        select(HubUsccClaim).where(col(HubUsccClaim.uscc) == uscc).with_for_update()
    ).first()
    if claim is None:
        raise NotFound(
            "该统一社会信用代码没有占用记录", f"no claim on {uscc}", code="claim_not_found"
        )
    live = session.exec(
        select(HubAccount.id).where(
            HubAccount.contractor_uscc == uscc,
            HubAccount.node_id == claim.node_id,
            col(HubAccount.status) != AccountStatus.DELETED,
        )
    ).first()
    if live is not None:
        raise Conflict(
            "该承包单位的账号仍然存在，请先删除账号",
            f"the account of {uscc} still exists: delete it first",
            code="claim_in_use",
        )
    session.delete(claim)
    record_event(
        session,
        principal.actor,
        "account.uscc_claim_released",
        "uscc_claim",
        uscc,
        principal.now,
        {"node_id": claim.node_id, "account_id": str(claim.account_id)},
    )
    session.flush()
    return claim


# ---------------------------------------------------------------- search


def search(
    session: Session,
    *,
    q: str | None,
    province_code: str | None,
    role: str | None,
    status: str | None,
    uscc: str | None,
    conflict: bool | None,
    offset: int,
    limit: int,
) -> tuple[list[HubAccount], int]:
    """Every province's accounts, as the nodes reported them (no password data exists here)."""
    where: list[Any] = []
    if q:
        pattern = f"%{q}%"
        where.append(
            or_(
                col(HubAccount.username).ilike(pattern),
                col(HubAccount.display_name).ilike(pattern),
                col(HubAccount.contractor_name).ilike(pattern),
            )
        )
    if province_code:
        where.append(col(HubAccount.province_code) == province_code)
    if role:
        where.append(col(HubAccount.role) == role)
    if status:
        where.append(col(HubAccount.status) == status)
    if uscc:
        where.append(col(HubAccount.contractor_uscc) == uscc)
    if conflict is not None:
        where.append(col(HubAccount.uscc_conflict) == conflict)
    total = int(session.exec(select(func.count()).select_from(HubAccount).where(*where)).one())
    rows = session.exec(
        select(HubAccount)
        .where(*where)
        .order_by(col(HubAccount.province_code), col(HubAccount.username), col(HubAccount.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total
