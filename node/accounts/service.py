"""Accounts held by this node: regulators and administrators of the province, and
contractors (one account per USCC). The hub's allocation of accounts arrives in a
later stage; until then a provincial administrator is created from the CLI."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from node.audit.service import record_event
from node.auth.passwords import check_password_rules, hash_password
from node.errors import Conflict, Forbidden, InvalidInput
from node.jurisdiction import covers, division_level
from node.models import Contractor, User
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
    Role.PROVINCIAL_ADMIN: {
        Role.PROVINCIAL_ADMIN,
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
) -> User:
    """Create an account. ``actor`` None means the operator's CLI (bootstrap)."""
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
        if session.exec(select(User.id).where(User.contractor_id == contractor.id)).first():
            raise Conflict(
                f"统一社会信用代码 {contractor.uscc} 已有账号，每个承包单位只能有一个账号",
                f"USCC {contractor.uscc} already has an account (one per contractor)",
                code="contractor_has_account",
                field="uscc",
            )
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        division_code=division_code,
        contractor_id=contractor.id if contractor else None,
        password_hash=hash_password(password),
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
