"""Demo data for a provincial node, entered through the node's own services so that
versions, review decisions and the audit trail look as they would in real use.

Everything here is invented: company and person names, USCCs and resident ID
numbers (with correct check characters), at real GB/T 2260 divisions.

In two steps, as a federation would see them:

- :func:`seed_node`, before enrollment: each province's accounts, contractors,
  licences, project departments in the province, accidents and rewards/penalties,
  with at least one record carrying each Order No. 62 flag (``node/flags/rules.py``);
- after every node is enrolled: :func:`file_elsewhere` at a contractor's home node
  files project departments located in another province (relayed there, as
  docs/cross-province.md describes), and :func:`review_relayed` at the location
  node approves the first of each home's and enters an accident against it (its
  notice goes home); the others wait in the location's review queue.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from node.accounts.service import create_user, register_contractor
from node.auth.passwords import hash_password
from node.entry import service as entry
from node.filing import service as filing
from node.models import Contractor, Record, User
from node.principal import Actor
from schemas.divisions import Division, children, get_division
from schemas.enums import RecordKind, ReviewState, Role
from schemas.identifiers import make_resident_id, make_uscc

DEMO_PASSWORD = "Demo-Minefed-2026"  # noqa: S105 - printed for the demo's users

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "建国志强海军明亮文博晓东宏伟立新国庆永刚红梅丽华秀英桂兰俊杰子豪浩然思远振华德胜"
TRADE_NAMES = ["恒信", "金石", "鑫达", "宏远", "中矿", "北方", "安泰", "华益", "聚力", "永盛"]
WORKS = ["井巷掘进", "井下采矿", "露天剥离", "充填", "支护", "提升运输", "探矿"]
MINES = ["白云鄂博铁矿", "哈达门沟金矿", "大苏计钼矿", "乌努格吐山铜钼矿", "朱家坪子铅锌矿"]
#: Mines of the default provinces; others use MINES.
MINES_BY_PROVINCE = {
    "140000": ["袁家村铁矿", "篦子沟铜矿", "孝义铝土矿", "尖山铁矿", "义兴寨金矿"],
    "530000": ["大红山铁矿", "兰坪铅锌矿", "东川铜矿", "个旧锡矿", "普朗铜矿"],
}


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


def demo_counties(province_code: str) -> list[Division]:
    """The four counties (of the first two cities) where a province's demo happens."""
    cities = [c for c in children(province_code) if c.level == "city"][:2]
    return [
        k
        for c in cities
        for k in children(c.code)
        if k.level == "county" and k.current and k.name != "市辖区"
    ][:4]


def _mines(province_code: str) -> list[str]:
    return MINES_BY_PROVINCE.get(province_code, MINES)


def department_form(
    rng: random.Random,
    where: Division,
    start: date,
    issuer_short: str,
    mines: list[str],
    *,
    inspected: date | None,
    by_item: bool = False,
    underground: bool = True,
    written_report: bool = True,
    agreement_signed: bool = True,
    plan_no: str,
) -> dict[str, Any]:
    """A complete project department form at county ``where``."""
    mine = rng.choice(mines)
    return {
        "project_name": f"{mine}{rng.choice(WORKS)}工程项目部",
        "province_code": where.code[:2] + "0000",
        "city_code": where.code[:4] + "00",
        "county_code": where.code,
        "issuing_unit": f"{issuer_short}{mine[:2]}矿业有限公司",
        "mine_name": mine,
        "head": person(rng, where.code),
        "safety_managers": [person(rng, where.code) for _ in range(2)],
        "technical_staff": [person(rng, where.code)],
        "safety_org": "项目部安全生产领导小组",
        "start_month": start.strftime("%Y-%m"),
        "expected_end_month": (start + timedelta(days=700)).strftime("%Y-%m"),
        "contracting_mode": "by_item" if by_item else "general",
        "work_content": rng.choice(WORKS),
        "underground": underground,
        "written_report": written_report,
        "agreement_signed": agreement_signed,
        "emergency_plan_no": plan_no,
        "inspections": []
        if inspected is None
        else [{"date": inspected.isoformat(), "participants": [person_name(rng)]}],
        "attachments": [],
    }


def enter_accident(
    session: Session,
    regulator: Actor,
    department: Record,
    occurred_at: datetime,
    *,
    deaths: int,
    serious_injuries: int,
    loss_yuan: int,
    categories: list[int],
) -> Record:
    """An accident at an approved project department, entered by ``regulator``."""
    data = filing.get_version(session, department, department.latest_version_no).data
    where = get_division(str(data["county_code"]))
    contractor = session.get(Contractor, department.contractor_id)
    assert where is not None and contractor is not None
    form = {
        "occurred_at": occurred_at.isoformat(),
        "province_code": where.code[:2] + "0000",
        "city_code": where.code[:4] + "00",
        "county_code": where.code,
        "enterprise": f"{data['mine_name']}（{where.name}）",
        "site": "-230m水平3号采场",
        "deaths": deaths,
        "serious_injuries": serious_injuries,
        "direct_loss_yuan": loss_yuan,
        "cause_direct": "顶板浮石未及时处理，冒落伤人",
        "cause_indirect": "安全检查不到位，作业人员安全培训不足",
        "categories": categories,
        "responsible_party": "contractor",
        "contractor_uscc": contractor.uscc,
        "project_department_id": str(department.id),
        "description": f"{occurred_at:%m月%d日%H时}，作业人员在3号采场出矿时发生事故",
    }
    return entry.enter(session, regulator, RecordKind.ACCIDENT, form)


def seed_node(
    session: Session, province_code: str, now: datetime, seed: int = 62
) -> list[DemoAccount]:
    """Populate an empty node; returns the demo accounts (all with DEMO_PASSWORD).

    Order No. 62 flags raised (each at least once, ``node/flags/rules.py``):
    contractor 2's licence expires in 45 days (``licence_expiring``), contractor
    4's expired last month (``licence_expired``); every province's first
    department of contractor 3 has no signed agreement (``agreement_not_signed``);
    the second department of each has no written report (``no_written_report``);
    the first departments were last inspected some 270 days ago
    (``inspection_overdue``).
    """
    rng = random.Random(f"{seed}-{province_code}")
    province = get_division(province_code)
    assert province is not None and province.level == "province"
    cities = [c for c in children(province_code) if c.level == "city"][:2]
    counties = demo_counties(province_code)
    short = short_name(province.name)
    mines = _mines(province_code)
    accounts_made: list[DemoAccount] = []
    # argon2id costs about a quarter of a second of CPU per hash on purpose, and
    # every demo account shares the one password: hashed once, not once per account.
    password_hash = hash_password(DEMO_PASSWORD)

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
            password_hash=password_hash,
            must_change_password=False,
            **kw,
        )
        accounts_made.append(DemoAccount(role, username, name, division))
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
        if n == 1:
            valid_to = (now + timedelta(days=45)).date()  # licence_expiring
        elif n == 3:
            valid_to = (now - timedelta(days=30)).date()  # licence_expired
        else:
            valid_to = date(2028, 3, 31)
        lic = filing.create_draft(
            session,
            me,
            "licence",
            {
                "safety_licence_no": f"（{short}）FM安许证字〔{valid_to.year - 3}〕{n + 1:04d}",
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
                department_form(
                    rng,
                    where,
                    start,
                    short,
                    mines,
                    # d == 0: last inspected ~270 days ago (inspection_overdue)
                    inspected=None if d == 2 else start + timedelta(days=30),
                    by_item=d == 0,
                    underground=d != 2,
                    written_report=d != 1,  # no_written_report
                    agreement_signed=not (n == 2 and d == 0),  # agreement_not_signed
                    plan_no=f"{where.code}-2025-{n}{d}",
                ),
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
                continue
            filing.approve(session, _actor(decider, dept_actor.now), dept.id, 1)
            if n == 0 and d == 0:
                # A 一般 accident, entered by the county regulator where it happened.
                enter_accident(
                    session,
                    _actor(decider, now - timedelta(days=9)),
                    dept,
                    now - timedelta(days=10),
                    deaths=1,
                    serious_injuries=0,
                    loss_yuan=1_200_000,
                    categories=[11, 1],
                )
        if n in (0, 2):
            reward = n == 0
            entry.enter(
                session,
                _actor(reviewer, now - timedelta(days=40 + n)),
                RecordKind.REWARD_PENALTY,
                {
                    "kind": "reward" if reward else "penalty",
                    "decided_on": (now - timedelta(days=40 + n)).date().isoformat(),
                    "issued_by": f"{province.name}应急管理厅",
                    "document_no": f"{short}应急{'奖' if reward else '罚'}〔{now.year}〕{n + 3}号",
                    "description": "年度安全生产先进单位，通报表扬"
                    if reward
                    else "未按规定对项目部进行安全检查，罚款人民币三万元",
                    "contractor_uscc": contractor.uscc,
                },
            )
    session.flush()
    return accounts_made


#: The project departments each home files in the next province: the first is
#: approved there, the second waits in the location's review queue.
ELSEWHERE_PER_HOME = 2


def file_elsewhere(
    session: Session, home_code: str, location_code: str, now: datetime, seed: int = 62
) -> list[Record]:
    """At the home node (enrolled, knowing the location node's key): contractor 1
    files and submits project departments located in ``location_code``; each
    submission is relayed to the location node (docs/cross-province.md).

    ``now`` must be after the node's enrollment: relays are signed at the actor's
    time, and the location refuses a signature older than the key (``key_not_yet_valid``).
    """
    rng = random.Random(f"{seed}-{home_code}-{location_code}")
    contractor_user = session.exec(select(User).where(User.username == "contractor-1")).one()
    home = get_division(home_code)
    assert home is not None
    where = demo_counties(location_code)
    filed = []
    for i in range(ELSEWHERE_PER_HOME):
        me = _actor(contractor_user, now + timedelta(milliseconds=i))  # filed in this order
        start = (now - timedelta(days=90)).date()
        draft = filing.create_draft(
            session,
            me,
            "project_department",
            department_form(
                rng,
                where[i % len(where)],
                start,
                short_name(home.name),
                _mines(location_code),
                inspected=start + timedelta(days=20),
                plan_no=f"{where[i % len(where)].code}-2026-X{i}",
            ),
        )
        filed.append(filing.submit(session, me, draft.id))
    session.flush()
    return filed


def review_relayed(session: Session, now: datetime, homes: set[str]) -> list[Record]:
    """At a location node: approve the earliest department relayed from each of
    ``homes`` (published here, the decision relayed home), and enter an accident
    against it (its notice goes home). The others stay in the review queue.
    Returns the approved. ``now``, as for :func:`file_elsewhere`, after enrollment."""
    waiting = session.exec(
        select(Record)
        .where(
            col(Record.home_node).in_(homes),
            Record.kind == RecordKind.PROJECT_DEPARTMENT,
            Record.state == ReviewState.SUBMITTED,
        )
        .order_by(col(Record.created_at))
    ).all()
    approved: list[Record] = []
    done: set[str | None] = set()
    for record in waiting:
        if record.home_node in done:
            continue
        done.add(record.home_node)
        version = filing.get_version(session, record, record.latest_version_no)
        reviewer = session.exec(
            select(User).where(
                User.division_code == version.review_division, User.role != Role.CONTRACTOR
            )
        ).first()
        assert reviewer is not None, f"no demo reviewer at {version.review_division}"
        decided = filing.approve(session, _actor(reviewer, now), record.id, version.version_no)
        approved.append(decided)
        # A 一般 accident at the department, investigated here: a notice goes home.
        enter_accident(
            session,
            _actor(reviewer, now),
            decided,
            now - timedelta(days=2),
            deaths=0,
            serious_injuries=2,
            loss_yuan=350_000,
            categories=[11],
        )
    session.flush()
    return approved
