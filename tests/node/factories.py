"""Plain factory functions for node tests: rows straight into the test transaction."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from sqlmodel import Session

from node.auth.passwords import hash_password
from node.auth.tokens import new_token, token_digest
from node.models import ApiToken, Contractor, User
from schemas.enums import Role
from schemas.identifiers import make_resident_id, make_uscc

PASSWORD = "Correct-Horse-9"
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # 10:00 in Beijing; the tests' fixed clock
_seq = itertools.count(1)


@cache
def password_hash() -> str:
    # argon2id takes ~0.1 s: hash the shared test password once.
    return hash_password(PASSWORD)


def make_contractor(
    session: Session,
    *,
    name: str | None = None,
    province: str = "150000",
    central_soe: bool = False,
    uscc: str | None = None,
) -> Contractor:
    n = next(_seq)
    contractor = Contractor(
        uscc=uscc or make_uscc("150102", f"{n:08d}"),
        name=name or f"内蒙古第{n}矿山工程有限公司",
        home_province_code=province,
        central_soe=central_soe,
    )
    session.add(contractor)
    session.flush()
    return contractor


def make_user(
    session: Session,
    role: str,
    division_code: str = "150000",
    *,
    contractor: Contractor | None = None,
    username: str | None = None,
) -> User:
    n = next(_seq)
    if role == Role.CONTRACTOR and contractor is None:
        contractor = make_contractor(session)
    user = User(
        username=username or f"{role}-{n}",
        display_name=f"测试用户{n}",
        role=role,
        division_code=division_code,
        contractor_id=contractor.id if contractor else None,
        password_hash=password_hash(),
    )
    session.add(user)
    session.flush()
    return user


def token_for(session: Session, user: User, days: int = 1) -> dict[str, str]:
    """Authorization headers for ``user`` (a token row, no argon2 round trip), valid
    for ``days`` from the tests' fixed clock."""
    token = new_token()
    session.add(
        ApiToken(
            token_hash=token_digest(token),
            user_id=user.id,
            created_at=NOW,
            expires_at=NOW + timedelta(days=days),
        )
    )
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def person(n: int = 1, division: str = "150102") -> dict[str, Any]:
    return {
        "name": f"张{'一二三四五六七八九十'[n % 10]}",
        "resident_id": make_resident_id(
            division, date(1980, 1, 1) + timedelta(days=n), f"{n % 1000:03d}"
        ),
        "phone": f"1380471{n % 10000:04d}",
    }


def basic_info(contractor: Contractor, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": contractor.name,
        "registered_address": "内蒙古自治区呼和浩特市新城区新华大街1号",
        "uscc": contractor.uscc,
        "legal_rep_name": "王建国",
        "legal_rep_cert_no": "NM-FR-2024-0001",
        "avg_headcount": 320,
        "safety_org": "安全环保部，专职安全员12人",
        "safety_staffing": "专职安全管理人员12名，持证上岗",
        "technical_staffing": "采矿、地质、机电等专业技术人员45名",
        "management_systems": ["HSE", "ISO 45001"],
        "main_equipment": "凿岩台车4台，铲运机6台",
        "honours": [{"name": "安全生产标准化二级企业", "awarded_by": "内蒙古自治区应急管理厅"}],
        "performance": [{"project": "某铁矿井巷工程", "result": "优良", "year": 2023}],
        "central_soe": contractor.central_soe,
        "home_province_code": contractor.home_province_code,
        "contact_name": "李明",
        "contact_phone": "13804711234",
    }
    data.update(over)
    return data


def licence(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "safety_licence_no": "(蒙)FM安许证字〔2024〕0001",
        "issuing_authority": "内蒙古自治区应急管理厅",
        "valid_from": "2024-03-01",
        "valid_to": "2027-02-28",
        "legal_rep_cert_no": "NM-FR-2024-0001",
        "safety_manager_count": 12,
        "safety_manager_certs": ["NM-AQ-0001", "NM-AQ-0002"],
        "qualification_grade": "second",
        "qualification_scope": "矿山工程施工总承包二级",
        "attachments": [],
    }
    data.update(over)
    return data


def project_department(county: str = "150102", **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "project_name": "某铁矿井下采矿工程项目部",
        "province_code": county[:2] + "0000",
        "city_code": county[:4] + "00",
        "county_code": county,
        "issuing_unit": "内蒙古某矿业有限公司",
        "mine_name": "某铁矿",
        "head": person(1),
        "safety_managers": [person(2), person(3)],
        "technical_staff": [person(4)],
        "safety_org": "项目部安全生产领导小组",
        "start_month": "2026-01",
        "expected_end_month": "2027-12",
        "contracting_mode": "general",
        "work_content": "井下采矿、掘进及支护",
        "underground": True,
        "written_report": True,
        "written_report_date": "2026-01-05",
        "agreement_signed": True,
        "agreement_date": "2025-12-20",
        "emergency_plan_no": "150102-2026-001",
        "inspections": [{"date": "2026-05-10", "participants": ["李明", "赵强"]}],
        "attachments": [],
    }
    data.update(over)
    return data


def reward_penalty(contractor: Contractor, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "reward",
        "decided_on": "2026-03-01",
        "issued_by": "内蒙古自治区应急管理厅",
        "document_no": "内应急奖〔2026〕3号",
        "description": "安全生产先进单位",
        "contractor_uscc": contractor.uscc,
    }
    data.update(over)
    return data


def new_id() -> str:
    return str(uuid.uuid4())
