"""Demo data for a provincial node, entered through the node's own services so that
versions, review decisions and the audit trail look as they would in real use.

Everything here is invented: company and person names, USCCs and resident ID
numbers (with correct check characters), at real GB/T 2260 divisions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from node.accounts.service import create_user, register_contractor
from node.filing import service as filing
from node.models import User
from node.principal import Actor
from schemas.divisions import children, get_division
from schemas.enums import Role
from schemas.identifiers import make_resident_id, make_uscc

DEMO_PASSWORD = "Demo-Minefed-2026"  # noqa: S105 - printed for the demo's users

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "建国志强海军明亮文博晓东宏伟立新国庆永刚红梅丽华秀英桂兰俊杰子豪浩然思远振华德胜"
TRADE_NAMES = ["恒信", "金石", "鑫达", "宏远", "中矿", "北方", "安泰", "华益", "聚力", "永盛"]
WORKS = ["井巷掘进", "井下采矿", "露天剥离", "充填", "支护", "提升运输", "探矿"]
MINES = ["白云鄂博铁矿", "哈达门沟金矿", "大苏计钼矿", "乌努格吐山铜钼矿", "朱家坪子铅锌矿"]


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    display_name: str
    division_code: str


def short_name(province_name: str) -> str:
    """内蒙古自治区 → 内蒙古, 广西壮族自治区 → 广西, 山西省 → 山西."""
    for suffix in ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市"):
        if province_name.endswith(suffix):
            return province_name[: -len(suffix)]
    return province_name


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def person(rng: random.Random, division: str) -> dict[str, Any]:
    birth = date(1965, 1, 1) + timedelta(days=rng.randrange(0, 365 * 30))
    return {
        "name": person_name(rng),
        "resident_id": make_resident_id(division, birth, f"{rng.randrange(1, 999):03d}"),
        "phone": f"1{rng.choice('3578')}{rng.randrange(0, 10**9):09d}",
    }


def _actor(user: User, now: datetime) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        division_code=user.division_code,
        contractor_id=user.contractor_id,
        client_address="127.0.0.1",
        now=now,
    )


def seed_node(
    session: Session, province_code: str, now: datetime, seed: int = 62
) -> list[DemoAccount]:
    """Populate an empty node; returns the demo accounts (all with DEMO_PASSWORD)."""
    rng = random.Random(seed)
    province = get_division(province_code)
    assert province is not None and province.level == "province"
    cities = [c for c in children(province_code) if c.level == "city"][:2]
    counties = [
        k
        for c in cities
        for k in children(c.code)
        if k.level == "county" and k.current and k.name != "市辖区"
    ][:4]
    short = short_name(province.name)
    accounts: list[DemoAccount] = []

    def user(role: str, username: str, name: str, division: str, **kw: Any) -> User:
        u = create_user(
            session,
            None,
            province_code=province_code,
            username=username,
            display_name=name,
            role=role,
            division_code=division,
            password=DEMO_PASSWORD,
            must_change_password=False,
            **kw,
        )
        accounts.append(DemoAccount(role, username, name, division))
        return u

    user(
        Role.PROVINCIAL_ADMIN,
        f"admin-{province_code}",
        f"{province.name}应急管理厅管理员",
        province_code,
    )
    reviewer = user(
        Role.PROVINCIAL_REGULATOR,
        f"province-{province_code}",
        f"{province.name}应急管理厅审核员",
        province_code,
    )
    county_users = {
        k.code: user(Role.COUNTY_REGULATOR, f"county-{k.code}", f"{k.name}应急管理局审核员", k.code)
        for k in counties
    }
    for c in cities[:1]:
        user(Role.MUNICIPAL_REGULATOR, f"city-{c.code}", f"{c.name}应急管理局审核员", c.code)

    for n, trade in enumerate(TRADE_NAMES[:5]):
        county = counties[n % len(counties)]
        central = n == 4
        name = f"中国{trade}矿山工程集团有限公司" if central else f"{short}{trade}矿山工程有限公司"
        contractor = register_contractor(
            session,
            None,
            uscc=make_uscc(county.code, f"{70000000 + n * 7919:08d}"),
            name=name,
            home_province_code=province_code,
            central_soe=central,
        )
        cu = user(Role.CONTRACTOR, f"contractor-{n + 1}", name, county.code, contractor=contractor)
        me = _actor(cu, now - timedelta(days=200))
        info = filing.create_draft(
            session,
            me,
            "basic_info",
            {
                "name": name,
                "uscc": contractor.uscc,
                "registered_address": f"{province.name}{county.name}建设路{10 + n}号",
                "legal_rep_name": person_name(rng),
                "legal_rep_cert_no": f"FR-{2024}-{n:04d}",
                "avg_headcount": rng.randrange(80, 900),
                "safety_org": "安全环保部",
                "safety_staffing": "专职安全管理人员8名",
                "technical_staffing": "采矿、地质、机电专业技术人员30名",
                "management_systems": ["HSE", "ISO 45001"],
                "main_equipment": "凿岩台车、铲运机、矿用卡车",
                "honours": [],
                "performance": [],
                "central_soe": central,
                "home_province_code": province_code,
                "contact_name": person_name(rng),
                "contact_phone": f"138{rng.randrange(0, 10**8):08d}",
            },
        )
        filing.submit(session, me, info.id)
        filing.approve(session, _actor(reviewer, me.now + timedelta(days=1)), info.id, 1)
        valid_to = (now + timedelta(days=45)).date() if n == 1 else date(2028, 3, 31)
        lic = filing.create_draft(
            session,
            me,
            "licence",
            {
                "safety_licence_no": f"（{short}）FM安许证字〔2025〕{n + 1:04d}",
                "issuing_authority": f"{province.name}应急管理厅",
                "valid_from": (valid_to - timedelta(days=3 * 365)).isoformat(),
                "valid_to": valid_to.isoformat(),
                "legal_rep_cert_no": f"FR-2024-{n:04d}",
                "safety_manager_count": 8,
                "safety_manager_certs": [f"AQ-{n}-{i}" for i in range(3)],
                "qualification_grade": ["first", "second", "third"][n % 3],
                "qualification_scope": "矿山工程施工总承包",
                "attachments": [],
            },
        )
        filing.submit(session, me, lic.id)
        filing.approve(session, _actor(reviewer, me.now + timedelta(days=1)), lic.id, 1)

        for d in range(3):
            where = counties[(n + d) % len(counties)]
            start = (now - timedelta(days=300 - 60 * d)).date()
            dept_actor = _actor(cu, now - timedelta(days=20 - d))
            dept = filing.create_draft(
                session,
                dept_actor,
                "project_department",
                {
                    "project_name": f"{rng.choice(MINES)}{rng.choice(WORKS)}工程项目部",
                    "province_code": province_code,
                    "city_code": where.code[:4] + "00",
                    "county_code": where.code,
                    "issuing_unit": f"{short}{rng.choice(MINES)[:2]}矿业有限公司",
                    "mine_name": rng.choice(MINES),
                    "head": person(rng, where.code),
                    "safety_managers": [person(rng, where.code) for _ in range(2)],
                    "technical_staff": [person(rng, where.code)],
                    "safety_org": "项目部安全生产领导小组",
                    "start_month": start.strftime("%Y-%m"),
                    "expected_end_month": (start + timedelta(days=700)).strftime("%Y-%m"),
                    "contracting_mode": "general" if d else "by_item",
                    "work_content": rng.choice(WORKS),
                    "underground": d != 2,
                    "written_report": d != 1,
                    "agreement_signed": not (n == 2 and d == 0),
                    "emergency_plan_no": f"{where.code}-2025-{n}{d}",
                    "inspections": []
                    if d == 2
                    else [
                        {
                            "date": (start + timedelta(days=30)).isoformat(),
                            "participants": [person_name(rng)],
                        }
                    ],
                    "attachments": [],
                },
            )
            filing.submit(session, dept_actor, dept.id)
            if central or d == 2:
                continue  # left in the queue for the demo's reviewers
            decider = county_users[where.code]
            if n == 3 and d == 1:
                filing.return_for_changes(
                    session,
                    _actor(decider, dept_actor.now),
                    dept.id,
                    1,
                    "安全管理人员证书编号与书面报告不一致，请核对后重新提交",
                )
            else:
                filing.approve(session, _actor(decider, dept_actor.now), dept.id, 1)
    session.flush()
    return accounts
