"""Accounts held by this node: regulators and administrators of the province, and
contractors (one account per USCC nationally).

Who creates what (docs/accounts.md): the national bureau allocates provincial
administrators at the hub (``directive.account_create``, applied by
``node.accounts.directives``; ``minefed node create-admin`` remains for
bootstrap and offline recovery); a provincial administrator creates the
province's regulators inside the province; any regulator gives a contractor
of its jurisdiction its one account, within the quota the bureau allocated,
after the hub has recorded the USCC as this province's (``node.accounts.hub``).
Every change is reported to the hub (``account.report``)."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, func, select

from node.accounts.hub import UsccClaims
from node.accounts.reports import report_account
from node.audit.service import record_event
from node.auth.passwords import check_password_rules, hash_password
from node.errors import Conflict, Forbidden, InvalidInput
from node.jurisdiction import covers, division_level
from node.models import Contractor, NodeFederation, User
from node.principal import Actor
from schemas.divisions import get_division
from schemas.enums import Role

# The level of division each role's jurisdiction must be.
ROLE_LEVEL = {
    Role.PROVINCIAL_ADMIN: "province",
    Role.PROVINCIAL_REGULATOR: "province",
    Role.MUNICIPAL_REGULATOR: "city",
    Role.COUNTY_REGULATOR: "county",
}
# Who may create which roles.
CREATABLE_BY = {
    # Provincial administrators themselves are allocated by the bureau at the hub.
    Role.PROVINCIAL_ADMIN: {
        Role.PROVINCIAL_REGULATOR,
        Role.MUNICIPAL_REGULATOR,
        Role.COUNTY_REGULATOR,
        Role.CONTRACTOR,
    },
    Role.PROVINCIAL_REGULATOR: {Role.CONTRACTOR},
    Role.MUNICIPAL_REGULATOR: {Role.CONTRACTOR},
    Role.COUNTY_REGULATOR: {Role.CONTRACTOR},
}


def _check_division(role: str, division_code: str, province_code: str) -> None:
    division = get_division(division_code)
    if division is None:
        raise InvalidInput(
            f"行政区划代码 {division_code} 不存在",
            f"division_code {division_code} is not a known GB/T 2260 code",
            code="unknown_division",
            field="division_code",
        )
    if not covers(province_code, division_code):
        raise Forbidden(
            "只能在本省范围内创建账号",
            f"division_code {division_code} is outside this node's province {province_code}",
            code="outside_jurisdiction",
            field="division_code",
        )
    want = ROLE_LEVEL.get(Role(role))
    if want and division_level(division_code) != want:
        raise InvalidInput(
            f"该角色须对应{ {'province': '省级', 'city': '市级', 'county': '县级'}[want] }行政区划",
            f"role {role} needs a {want}-level division code",
            code="division_level_mismatch",
            field="division_code",
        )


def create_user(
    session: Session,
    actor: Actor | None,
    *,
    province_code: str,
    username: str,
    display_name: str,
    role: str,
    division_code: str,
    password: str,
    contractor: Contractor | None = None,
    must_change_password: bool = True,
    report: bool = True,
    password_hash: str | None = None,
) -> User:
    """Create an account. ``actor`` None means the operator's CLI (bootstrap).

    ``password_hash``: ``hash_password(password)`` made already, for a caller
    creating many accounts with one password (the demo); the rules are still
    checked on ``password``.

    ``report`` queues its ``account.report`` for the hub now (the caller does it
    later otherwise: see :func:`create_account`).
    """
    if actor is not None:
        allowed = CREATABLE_BY.get(Role(actor.role), set())
        if role not in allowed:
            raise Forbidden(
                "当前账号无权创建该类账号",
                f"role {actor.role} may not create {role} accounts",
                code="role_not_allowed",
                field="role",
            )
        if not covers(actor.division_code, division_code):
            raise Forbidden(
                "只能在本辖区范围内创建账号",
                f"division_code {division_code} is outside your jurisdiction {actor.division_code}",
                code="outside_jurisdiction",
                field="division_code",
            )
    _check_division(role, division_code, province_code)
    check_password_rules(password, username)
    if session.exec(select(User.id).where(User.username == username)).first():
        raise Conflict(
            f"用户名 {username} 已存在",
            f"username {username} is taken",
            code="username_taken",
            field="username",
        )
    if role == Role.CONTRACTOR:
        if contractor is None:
            raise InvalidInput(
                "承包单位账号须关联单位",
                "a contractor account needs its company",
                code="contractor_required",
                field="uscc",
            )
        live = select(User.id).where(
            User.contractor_id == contractor.id, col(User.deleted_at).is_(None)
        )
        if session.exec(live).first():
            raise Conflict(
                f"统一社会信用代码 {contractor.uscc} 已有账号，每个承包单位只能有一个账号",
                f"USCC {contractor.uscc} already has an account (one per contractor)",
                code="contractor_has_account",
                field="uscc",
            )
        check_quota(session)
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        division_code=division_code,
        contractor_id=contractor.id if contractor else None,
        password_hash=password_hash or hash_password(password),
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        actor,
        "account.created",
        "user",
        user.id,
        {
            "username": username,
            "role": role,
            "division_code": division_code,
            "contractor_uscc": contractor.uscc if contractor else None,
        },
    )
    if report:
        report_account(session, user, actor.now if actor else user.created_at)
    return user


def contractor_accounts_held(session: Session) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.CONTRACTOR, col(User.deleted_at).is_(None))
        ).one()
    )


def quota_status(session: Session) -> tuple[int | None, int]:
    """The province's contractor account quota (None: none allocated) and accounts held."""
    federation = session.get(NodeFederation, 1)
    quota = federation.contractor_account_quota if federation else None
    return quota, contractor_accounts_held(session)


def check_quota(session: Session) -> None:
    """Refuse a contractor account beyond the quota the bureau allocated (409).

    No quota allocated (or not enrolled) means no limit here; the hub checks
    the quota again, atomically, when the USCC is claimed.
    """
    quota, held = quota_status(session)
    if quota is not None and held >= quota:
        raise Conflict(
            f"本省承包单位账号已达国家局分配的上限（{quota} 个），请联系国家局增加配额",
            f"the province's contractor account quota ({quota}) is used up; "
            "ask the national bureau for more",
            code="quota_exhausted",
        )


def create_account(
    session: Session,
    actor: Actor,
    claims: UsccClaims,
    *,
    province_code: str,
    username: str,
    display_name: str,
    role: str,
    division_code: str,
    password: str,
    contractor: Contractor | None,
) -> User:
    """An account created at the node by an administrator or regulator.

    A contractor account is checked here first (rules, jurisdiction, quota, one
    per USCC in this node), then claimed at the hub (one per USCC nationally);
    a refusal there rolls the whole creation back.
    """
    user = create_user(
        session,
        actor,
        province_code=province_code,
        username=username,
        display_name=display_name,
        role=role,
        division_code=division_code,
        password=password,
        contractor=contractor,
        report=False,
    )
    if contractor is not None:
        # Before the report is queued: queuing locks the outbox counter until commit,
        # and no other publication should wait for this HTTP call.
        outcome = claims.claim(
            session,
            uscc=contractor.uscc,
            account_id=user.id,
            username=user.username,
            contractor_name=contractor.name,
        )
        record_event(
            session,
            actor,
            "account.uscc_claimed" if outcome == "claimed" else "account.uscc_unclaimed",
            "user",
            user.id,
            {"uscc": contractor.uscc, "outcome": outcome},
        )
    report_account(session, user, actor.now)
    return user


def register_contractor(
    session: Session,
    actor: Actor | None,
    *,
    uscc: str,
    name: str,
    home_province_code: str,
    central_soe: bool,
) -> Contractor:
    """The contractor company behind a new account (or the existing one)."""
    existing = session.exec(select(Contractor).where(Contractor.uscc == uscc)).first()
    if existing is not None:
        return existing
    contractor = Contractor(
        uscc=uscc, name=name, home_province_code=home_province_code, central_soe=central_soe
    )
    session.add(contractor)
    session.flush()
    record_event(
        session,
        actor,
        "contractor.registered",
        "contractor",
        contractor.id,
        {"uscc": uscc, "name": name},
    )
    return contractor


def get_user(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)
