"""A realistic province for benchmarks, bulk-loaded straight into a node's tables.

Inner Mongolia (150000): its real counties (``schemas.divisions``), contractors
with Chinese names and valid USCCs, one approved basic-info and licence record
each, and N project departments spread unevenly over the counties, each with
people holding valid resident ID numbers. Most departments are approved; some
wait for review (new filings and changes to approved ones), some were returned,
some are drafts. Accounts: contractor accounts for the first contractors, a
regulator for every county, city and the province, all sharing one password
(hashed with argon2 once).

Rows go in with PostgreSQL ``COPY``: 100,000 departments load in 16-20 s. The
index columns of every record are filled by the node's own
``node.filing.indexing.apply_index`` and the review division by
``node.filing.routing.review_division``, so the rows are what the node itself
would have written. Audit events of the history are not generated.

Run alone: ``uv run python -m bench.datagen --database-url URL [--departments N]``
(the database must exist and be migrated).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import psycopg
from sqlalchemy.engine import make_url

from node.filing.indexing import apply_index
from node.filing.routing import review_division
from node.models import Contractor, Record
from node.principal import CHINA_TZ
from schemas import divisions
from schemas.enums import QualificationGrade, RecordKind, ReviewState, Role
from schemas.identifiers import USCC_CHARSET, make_resident_id, make_uscc

PROVINCE = "150000"
BENCH_PASSWORD = "Bench-Load-2026!"  # shared by every generated account
DEPARTMENTS_PER_CONTRACTOR = 50
SEED = 150000

# --------------------------------------------------------------------- vocabulary

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋"
    "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙"
)
GIVEN_CHARS = (
    "建国志强明华丽敏军勇杰涛斌超刚平辉鹏磊伟芳娟霞英秀兰红梅海峰春林宏波宇浩鑫晨阳东亮文博凯旭"
)
MONGOLIAN_NAMES = (
    "巴特尔",
    "其木格",
    "乌云",
    "苏和",
    "额尔敦",
    "斯琴",
    "那仁",
    "孟和",
    "朝鲁",
    "阿拉坦",
    "图雅",
    "宝音",
    "格日勒",
    "萨仁",
)
FIRM_PLACES = (
    "内蒙古",
    "包头",
    "鄂尔多斯",
    "赤峰",
    "呼伦贝尔",
    "乌海",
    "通辽",
    "巴彦淖尔",
    "锡林郭勒",
    "阿拉善",
    "乌兰察布",
    "呼和浩特",
)
FIRM_CORES = (
    "北方",
    "宏达",
    "鑫源",
    "金桥",
    "恒通",
    "华安",
    "中兴",
    "瑞丰",
    "天骄",
    "草原",
    "蒙元",
    "正泰",
    "长城",
    "兴业",
    "远大",
    "众鑫",
    "昌盛",
    "腾飞",
    "永安",
    "利达",
    "广汇",
    "新华",
    "金鼎",
    "银河",
    "隆基",
    "祥和",
    "德润",
    "中和",
    "安泰",
    "蓝天",
    "昊天",
    "通达",
    "世纪",
    "东方",
    "西部",
    "巨力",
    "宝丰",
    "盛世",
    "凯旋",
    "金泰",
    "诚信",
    "博远",
    "海川",
    "青城",
    "鹿城",
    "黄河",
    "阴山",
    "大漠",
    "敕勒",
    "驼铃",
)
FIRM_TRADES = (
    "矿山工程",
    "矿业工程",
    "井巷工程",
    "爆破工程",
    "矿山建设",
    "岩土工程",
    "采掘工程",
    "建设工程",
)
MINE_PLACES = (
    "东山",
    "北沟",
    "哈达",
    "乌兰",
    "敖包",
    "查干",
    "巴彦",
    "白音",
    "塔木",
    "红旗",
    "金鼎",
    "西沟",
    "宝力格",
    "朝阳",
    "营盘",
    "大井",
    "黑山",
    "小南沟",
    "后石门",
    "马鞍山",
    "五道沟",
    "三合",
    "石门",
    "花敖包",
)
MINERALS = (
    "铁矿",
    "铜矿",
    "铅锌矿",
    "金矿",
    "银矿",
    "钼矿",
    "萤石矿",
    "稀土矿",
    "石灰石矿",
    "石墨矿",
    "膨润土矿",
    "白云岩矿",
    "锡矿",
    "钨矿",
)
SECTIONS = ("", "东采区", "西采区", "北区", "一期", "二期", "深部", "南翼")
WORKS = (
    ("井巷掘进", "主斜坡道及采准巷道掘进支护", True),
    ("井下采矿", "井下采矿、出矿及支护", True),
    ("竖井掘砌", "竖井井筒掘砌及提升系统安装", True),
    ("充填系统", "充填站及井下充填管路施工、运行维护", True),
    ("通风改造", "井下通风系统改造施工", True),
    ("露天剥离", "露天剥离、采装及运输", False),
    ("中深孔爆破", "露天中深孔爆破及二次破碎", False),
    ("尾矿库加高", "尾矿库加高扩容施工", False),
    ("边坡治理", "排土场治理及边坡加固", False),
)
ROADS = ("新华大街", "人民路", "钢铁大街", "建设路", "民族东路", "阿尔丁大街", "团结路", "工业路")
RETURN_REASONS = (
    "项目部负责人身份证号与书面报告不一致，请核对后重新提交",
    "安全生产管理协议签订日期有误，请补充协议扫描件",
    "安全检查记录缺少参加人员，请补充",
    "专职安全管理人员配备不足，请说明",
)


# --------------------------------------------------------------------- places


@dataclass(frozen=True)
class County:
    code: str
    name: str
    city_code: str

    @property
    def short(self) -> str:
        """The name without its level word: 准格尔旗 → 准格尔, 白云鄂博矿区 → 白云鄂博."""
        for suffix in ("矿区", "自治旗", "联合旗", "区", "旗", "县", "市"):
            if self.name.endswith(suffix) and len(self.name) > len(suffix) + 1:
                return self.name[: -len(suffix)]
        return self.name


def counties(province: str = PROVINCE) -> list[County]:
    """The province's current counties (districts, banners, county-level cities),
    without the 市辖区 placeholders."""
    found: list[County] = []
    for city in divisions.children(province):
        for county in divisions.children(city.code):
            if county.name != "市辖区":
                found.append(County(county.code, county.name, city.code))
    return found


# --------------------------------------------------------------------- names and people


def person_name(rng: random.Random) -> str:
    if rng.random() < 0.12:
        return rng.choice(MONGOLIAN_NAMES)
    given = rng.choice(GIVEN_CHARS)
    if rng.random() < 0.7:
        given += rng.choice(GIVEN_CHARS)
    return rng.choice(SURNAMES) + given


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"


def person(rng: random.Random, places: Sequence[County], seq: int) -> dict[str, Any]:
    """A person with a valid resident ID; ``seq`` keeps IDs distinct within one list."""
    birth = date(1965, 1, 1) + timedelta(days=rng.randrange(33 * 365))
    county = rng.choice(places)
    seq3 = f"{(rng.randrange(100) * 10 + seq) % 1000:03d}"
    return {
        "name": person_name(rng),
        "resident_id": make_resident_id(county.code, birth, seq3),
        "phone": mobile(rng),
    }


def staff_pool(rng: random.Random, places: Sequence[County], size: int) -> list[dict[str, Any]]:
    """``size`` people with distinct resident IDs. Departments draw their staff from
    one pool, as the same engineers move from project to project (and it is ~8x
    faster than making new people for every department)."""
    by_id: dict[str, dict[str, Any]] = {}
    i = 0
    while len(by_id) < size:
        p = person(rng, places, i)
        by_id[p["resident_id"]] = p
        i += 1
    return list(by_id.values())


def _base31(n: int, width: int) -> str:
    chars = []
    for _ in range(width):
        n, digit = divmod(n, len(USCC_CHARSET))
        chars.append(USCC_CHARSET[digit])
    return "".join(reversed(chars))


def firm_uscc(county_code: str, n: int) -> str:
    """A valid USCC, unique per ``n``, in the new-style ``MA…`` organisation range."""
    return make_uscc(county_code, "MA" + _base31(n, 6))


def firm_names(rng: random.Random, count: int) -> list[str]:
    combos = [
        f"{p}{c}{t}" for p in FIRM_PLACES for c in FIRM_CORES for t in FIRM_TRADES
    ]  # 4,800 distinct stems
    rng.shuffle(combos)
    names = []
    for i in range(count):
        stem = combos[i % len(combos)]
        lap = i // len(combos)
        suffix = "有限责任公司" if rng.random() < 0.3 else "有限公司"
        names.append(f"{stem}{'第' + str(lap + 1) + '分' if lap else ''}{suffix}")
    return names


# --------------------------------------------------------------------- dates


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _between(rng: random.Random, start: date, end: date) -> date:
    if end <= start:
        return start
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def _instant(rng: random.Random, day: date, now: datetime) -> datetime:
    """A moment during office hours (China) on ``day``, never after ``now``."""
    moment = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ) + timedelta(
        hours=8 + rng.random() * 10
    )
    return min(moment.astimezone(UTC), now - timedelta(seconds=rng.randrange(60, 3600)))


# --------------------------------------------------------------------- forms


def project_department(
    rng: random.Random, county: County, today: date, pool: Sequence[dict[str, Any]], seq: int
) -> dict[str, Any]:
    """A complete project department (valid for ``ProjectDepartmentCreate`` as of ``today``),
    its people drawn from ``pool`` (see :func:`staff_pool`)."""
    staff = rng.sample(pool, 1 + rng.randrange(1, 4) + rng.randrange(1, 4))
    managers = rng.randrange(1, len(staff) - 1)
    work_short, work_content, underground = rng.choice(WORKS)
    mine = f"{county.short}{rng.choice(MINE_PLACES)}{rng.choice(MINERALS)}"
    this_month = today.replace(day=1)
    start = add_months(this_month, -rng.randrange(0, 60))
    end = add_months(start, rng.randrange(6, 48))
    inspections: list[dict[str, Any]] = []
    last = _between(rng, start, today) if rng.random() < 0.85 else None
    if last is not None:
        for _ in range(rng.randrange(1, 5)):
            inspections.append(
                {
                    "date": _between(rng, start, last).isoformat(),
                    "participants": [person_name(rng) for _ in range(rng.randrange(2, 4))],
                }
            )
        inspections.sort(key=lambda i: str(i["date"]))
    reported = rng.random() < 0.95
    signed = rng.random() < 0.96
    before_start = start - timedelta(days=rng.randrange(3, 25))
    return {
        "project_name": f"{mine}{rng.choice(SECTIONS)}{work_short}工程项目部",
        "province_code": PROVINCE,
        "city_code": county.city_code,
        "county_code": county.code,
        "issuing_unit": f"{county.short}{rng.choice(MINE_PLACES)}矿业有限公司",
        "mine_name": mine,
        "head": staff[0],
        "safety_managers": staff[1 : 1 + managers],
        "technical_staff": staff[1 + managers :],
        "safety_org": f"项目部设安全生产领导小组，配专职安全员{rng.randrange(2, 9)}名",
        "start_month": _month(start),
        "expected_end_month": _month(end),
        "contracting_mode": "general" if rng.random() < 0.6 else "by_item",
        "work_content": work_content,
        "underground": underground,
        "written_report": reported,
        "written_report_date": min(before_start, today).isoformat() if reported else None,
        "agreement_signed": signed,
        "agreement_date": min(before_start, today).isoformat() if signed else None,
        "emergency_plan_no": f"{county.code}-{start.year}-{seq % 1000:03d}",
        "inspections": inspections,
        "attachments": [],
    }


def basic_info(
    rng: random.Random, firm: Contractor, home: County, places: Sequence[County]
) -> dict[str, Any]:
    n = rng.randrange(10**6)
    return {
        "name": firm.name,
        "registered_address": f"内蒙古自治区{divisions.get_division(home.city_code).name}"  # type: ignore[union-attr]
        f"{home.name}{rng.choice(ROADS)}{rng.randrange(1, 300)}号",
        "uscc": firm.uscc,
        "org_code": firm.uscc[8:17],
        "legal_rep_name": person_name(rng),
        "legal_rep_cert_no": f"蒙安A{rng.randrange(2018, 2026)}{n:06d}",
        "avg_headcount": rng.randrange(40, 2500),
        "safety_org": f"设安全环保部，配专职安全管理人员{rng.randrange(3, 30)}名",
        "safety_staffing": f"专职安全管理人员{rng.randrange(3, 30)}名，均持证上岗",
        "technical_staffing": f"采矿、地质、测量、机电专业技术人员共{rng.randrange(10, 120)}名",
        "management_systems": rng.sample(["HSE", "ISO 45001", "ISO 9001", "ISO 14001"], 2),
        "main_equipment": f"凿岩台车{rng.randrange(1, 12)}台，铲运机{rng.randrange(1, 15)}台",
        "honours": [{"name": "安全生产标准化二级企业", "awarded_by": "内蒙古自治区应急管理厅"}]
        if rng.random() < 0.3
        else [],
        "performance": [
            {
                "project": f"{rng.choice(places).short}{rng.choice(MINE_PLACES)}"
                f"{rng.choice(MINERALS)}井巷工程",
                "result": "按期完工，验收合格",
                "year": rng.randrange(2015, 2026),
            }
        ],
        "central_soe": firm.central_soe,
        "home_province_code": firm.home_province_code,
        "contact_name": person_name(rng),
        "contact_phone": f"0471-{rng.randrange(2, 10)}{rng.randrange(10**6):06d}",
    }


def licence(rng: random.Random, n: int, today: date) -> dict[str, Any]:
    valid_from = today - timedelta(days=rng.randrange(30, 3 * 365 + 60))
    grade = rng.choice(list(QualificationGrade))
    grade_zh = {"special": "特", "first": "一", "second": "二", "third": "三"}[grade.value]
    certs = rng.randrange(2, 12)
    return {
        "safety_licence_no": f"(蒙)FM安许证字〔{valid_from.year}〕{n:05d}",
        "issuing_authority": "内蒙古自治区应急管理厅",
        "valid_from": valid_from.isoformat(),
        "valid_to": (valid_from.replace(year=valid_from.year + 3) - timedelta(days=1)).isoformat()
        if not (valid_from.month == 2 and valid_from.day == 29)
        else date(valid_from.year + 3, 2, 28).isoformat(),
        "legal_rep_cert_no": f"蒙安A{valid_from.year}{n:06d}",
        "safety_manager_count": certs,
        "safety_manager_certs": [f"NM-AQ-{n:05d}-{i:02d}" for i in range(certs)],
        "qualification_grade": grade.value,
        "qualification_scope": f"矿山工程施工总承包{grade_zh}级",
        "attachments": [],
    }


# --------------------------------------------------------------------- rows

CONTRACTOR_COLUMNS = ("id", "uscc", "name", "home_province_code", "central_soe", "created_at")
USER_COLUMNS = (
    "id",
    "username",
    "display_name",
    "role",
    "division_code",
    "contractor_id",
    "password_hash",
    "is_active",
    "must_change_password",
    "failed_logins",
    "locked_until",
    "created_at",
    "password_changed_at",
)
# The columns node.filing.indexing.apply_index derives from a version's data.
INDEX_COLUMNS = (
    "title",
    "province_code",
    "city_code",
    "county_code",
    "central_soe",
    "event_on",
    "valid_to",
    "last_inspection_on",
    "agreement_signed",
    "written_report",
    "expected_end_on",
    "grade",
    "deaths",
    "related_record_id",
)
RECORD_COLUMNS = (
    "id",
    "kind",
    "contractor_id",
    "state",
    "latest_version_no",
    "current_version_no",
    "created_at",
    "updated_at",
    "published_at",
    "created_by",
    "entered_by_regulator",
    *INDEX_COLUMNS,
)
VERSION_COLUMNS = (
    "id",
    "record_id",
    "version_no",
    "state",
    "data",
    "review_division",
    "created_at",
    "created_by",
    "submitted_at",
    "decided_at",
    "decided_by",
    "return_reason",
)


class _IndexTarget:
    """Stands in for a ``Record`` while ``apply_index`` fills its index columns
    (a SQLModel instance per row would cost more than the rest of the load)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        for name in INDEX_COLUMNS:
            setattr(self, name, None)
        self.title = ""
        self.central_soe = False


def index_values(kind: str, data: dict[str, Any], firm: Contractor) -> tuple[Any, ...]:
    target = _IndexTarget(kind)
    apply_index(cast(Record, target), data, firm)
    return tuple(getattr(target, name) for name in INDEX_COLUMNS)


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Version:
    """One version of a generated record, as it would stand in ``record_version``."""

    state: str
    data: dict[str, Any]
    created_at: datetime
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: uuid.UUID | None = None
    return_reason: str | None = None


@dataclass
class _Rows:
    records: list[tuple[Any, ...]] = field(default_factory=list)
    versions: list[tuple[Any, ...]] = field(default_factory=list)

    def add(
        self,
        kind: str,
        firm: Contractor,
        created_by: uuid.UUID | None,
        versions: list[Version],
    ) -> None:
        """One record with its version chain; the index follows the version in force
        (the approved one) or, before any approval, the latest (as the node does)."""
        record_id = uuid.uuid4()
        latest = versions[-1]
        approved = [i for i, v in enumerate(versions) if v.state == ReviewState.APPROVED]
        current_no = approved[-1] + 1 if approved else None
        indexed = versions[(current_no or len(versions)) - 1]
        published_at = versions[current_no - 1].decided_at if current_no else None
        updated_at = latest.decided_at or latest.submitted_at or latest.created_at
        self.records.append(
            (
                record_id,
                kind,
                firm.id,
                latest.state,
                len(versions),
                current_no,
                versions[0].created_at,
                updated_at,
                published_at,
                created_by,
                False,
                *index_values(kind, indexed.data, firm),
            )
        )
        for no, v in enumerate(versions, start=1):
            self.versions.append(
                (
                    uuid.uuid4(),
                    record_id,
                    no,
                    v.state,
                    _json(v.data),
                    review_division(kind, v.data, firm),
                    v.created_at,
                    created_by,
                    v.submitted_at,
                    v.decided_at,
                    v.decided_by,
                    v.return_reason,
                )
            )


# --------------------------------------------------------------------- the load


@dataclass(frozen=True)
class BenchUser:
    username: str
    role: str
    division_code: str
    user_id: uuid.UUID
    contractor_id: uuid.UUID | None = None


@dataclass
class LoadSummary:
    departments: int
    contractors: int
    users: list[BenchUser]
    password: str
    seconds: float
    rows: dict[str, int]


def conninfo(database_url: str) -> str:
    u = make_url(database_url)
    parts = [
        f"host={u.host or '127.0.0.1'}",
        f"port={u.port or 5432}",
        f"user={u.username or 'postgres'}",
        f"dbname={u.database or 'postgres'}",
    ]
    if u.password:
        parts.append(f"password={u.password}")
    return " ".join(parts)


class _Copier:
    """COPYs batches of rows on a thread of its own, so the server works through one
    batch while the next is being generated (the GIL is released while psycopg
    waits on the socket)."""

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur
        self._queue: queue.Queue[tuple[str, Sequence[str], list[Any]] | None] = queue.Queue(2)
        self._error: BaseException | None = None
        self.counts: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._run, name="bench-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain, so the producer never blocks on a dead consumer
            table, columns, rows = item
            try:
                sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                with self._cur.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
                self.counts[table] += len(rows)
            except BaseException as exc:
                self._error = exc

    def put(self, table: str, columns: Sequence[str], rows: list[Any]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((table, columns, rows))

    def finish(self) -> dict[str, int]:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return dict(self.counts)


def _weights(rng: random.Random, count: int, skew: float) -> list[float]:
    """Cumulative weights, a few heavy and many light (Zipf-like), in random order."""
    w = [1 / (rank + 1) ** skew for rank in range(count)]
    rng.shuffle(w)
    return list(itertools.accumulate(w))


class _Province:
    """The generator's state: its random source, clock, places, people and reviewers."""

    def __init__(self, rng: random.Random, now: datetime, departments: int) -> None:
        self.rng = rng
        self.now = now
        self.today = now.astimezone(CHINA_TZ).date()
        self.places = counties()
        self.place_weights = _weights(rng, len(self.places), 0.9)
        self.pool = staff_pool(rng, self.places, max(200, departments // 2))
        self.reviewer: dict[str, uuid.UUID] = {}

    def county(self) -> County:
        return self.rng.choices(self.places, cum_weights=self.place_weights)[0]

    def approved(self, data: dict[str, Any], on: date, division: str) -> Version:
        """A version filed around ``on`` and approved a few days later."""
        rng = self.rng
        created = _instant(rng, on - timedelta(days=rng.randrange(1, 10)), self.now)
        submitted = created + timedelta(minutes=rng.randrange(5, 600))
        decided = min(submitted + timedelta(hours=rng.randrange(2, 120)), self.now)
        return Version(
            ReviewState.APPROVED,
            data,
            created,
            min(submitted, decided),
            decided,
            self.reviewer[division],
        )

    def department_chain(self, data: dict[str, Any], division: str) -> list[Version]:
        """The versions of one department: 86 % approved, 4 % approved with a change
        under review, 5 % new and under review, 2 % returned, 3 % drafts."""
        rng, now = self.rng, self.now
        start = date.fromisoformat(data["start_month"] + "-01")
        recent = _instant(rng, self.today - timedelta(days=rng.randrange(0, 30)), now)
        roll = rng.random()
        if roll < 0.86:
            return [self.approved(data, start, division)]
        if roll < 0.90:
            first = self.approved(data, start, division)
            assert first.decided_at is not None
            submitted = max(recent, min(first.decided_at + timedelta(hours=2), now))
            inspected = {
                "date": min(submitted.astimezone(CHINA_TZ).date(), self.today).isoformat(),
                "participants": [person_name(rng), person_name(rng)],
            }
            change = {**data, "inspections": [*data["inspections"], inspected]}
            created = max(submitted - timedelta(hours=3), first.decided_at)
            return [first, Version(ReviewState.SUBMITTED, change, created, submitted)]
        if roll < 0.95:
            created = recent - timedelta(days=rng.randrange(0, 5))
            return [Version(ReviewState.SUBMITTED, data, created, recent)]
        if roll < 0.97:
            decided = min(recent + timedelta(hours=rng.randrange(1, 48)), now)
            return [
                Version(
                    ReviewState.RETURNED,
                    data,
                    recent - timedelta(days=1),
                    recent,
                    decided,
                    self.reviewer[division],
                    rng.choice(RETURN_REASONS),
                )
            ]
        return [Version(ReviewState.DRAFT, data, recent)]


def _make_firms(p: _Province, count: int, with_accounts: int) -> list[tuple[Contractor, County]]:
    """Contractors and their registration counties. The first ``with_accounts`` are
    never central SOEs, so their filings go to county regulators."""
    firms = []
    for i, name in enumerate(firm_names(p.rng, count)):
        central = i >= with_accounts and p.rng.random() < 0.04
        home = p.county()
        if central:
            name = "中国" + name.removeprefix("内蒙古").replace("有限", "集团有限", 1)
        firm = Contractor(
            id=uuid.uuid4(),
            uscc=firm_uscc(home.code, i + 1),
            name=name,
            home_province_code=PROVINCE,
            central_soe=central,
            created_at=p.now - timedelta(days=p.rng.randrange(400, 2000)),
        )
        firms.append((firm, home))
    return firms


def _make_accounts(
    p: _Province, firms: Sequence[Contractor], password_hash: str
) -> tuple[list[BenchUser], list[tuple[Any, ...]]]:
    """One regulator per county, city and the province (recorded in ``p.reviewer``)
    and one account per contractor given, all with the same password."""
    users: list[BenchUser] = []
    rows: list[tuple[Any, ...]] = []

    def add(username: str, display: str, role: str, division: str, firm: Any = None) -> None:
        created = p.now - timedelta(days=p.rng.randrange(30, 900))
        user = BenchUser(username, role, division, uuid.uuid4(), firm.id if firm else None)
        rows.append(
            (
                user.user_id,
                username,
                display[:100],
                role,
                division,
                user.contractor_id,
                password_hash,
                True,  # is_active
                False,  # must_change_password
                0,  # failed_logins
                None,  # locked_until
                created,
                created,
            )
        )
        users.append(user)
        if role != Role.CONTRACTOR:
            p.reviewer[division] = user.user_id

    add(f"province-{PROVINCE}", "内蒙古自治区应急管理厅", Role.PROVINCIAL_REGULATOR, PROVINCE)
    for city in divisions.children(PROVINCE):
        add(f"city-{city.code}", f"{city.name}应急管理局", Role.MUNICIPAL_REGULATOR, city.code)
    for county in p.places:
        add(f"county-{county.code}", f"{county.name}应急管理局", Role.COUNTY_REGULATOR, county.code)
    for firm in firms:
        add(firm.uscc, firm.name, Role.CONTRACTOR, PROVINCE, firm)
    return users, rows


def generate_and_load(
    database_url: str,
    departments: int = 100_000,
    *,
    contractor_accounts: int = 100,
    seed: int = SEED,
    now: datetime | None = None,
    password_hash: str | None = None,
    chunk: int = 5_000,
    log: Any = print,
) -> LoadSummary:
    """Fill an empty, migrated node database with a province of ``departments``
    project departments. ``now`` fixes the dates (default: the real time)."""
    started = time.perf_counter()
    if password_hash is None:
        from node.auth.passwords import hash_password

        password_hash = hash_password(BENCH_PASSWORD)
    p = _Province(random.Random(seed), now or datetime.now(UTC), departments)
    n_firms = max(contractor_accounts, math.ceil(departments / DEPARTMENTS_PER_CONTRACTOR))
    firms = _make_firms(p, n_firms, contractor_accounts)
    users, user_rows = _make_accounts(p, [f for f, _ in firms[:contractor_accounts]], password_hash)
    account_of = {u.contractor_id: u.user_id for u in users if u.contractor_id}

    with psycopg.connect(conninfo(database_url)) as conn, conn.cursor() as cur:
        copier = _Copier(cur)
        try:
            copier.put(
                "contractor",
                CONTRACTOR_COLUMNS,
                [
                    (f.id, f.uscc, f.name, f.home_province_code, f.central_soe, f.created_at)
                    for f, _ in firms
                ],
            )
            copier.put("user_account", USER_COLUMNS, user_rows)

            # Basic info and licence of every contractor, approved by the province.
            batch = _Rows()
            for i, (firm, home) in enumerate(firms):
                by = account_of.get(firm.id)
                on = firm.created_at.date() + timedelta(days=p.rng.randrange(1, 30))
                info = basic_info(p.rng, firm, home, p.places)
                batch.add(RecordKind.BASIC_INFO, firm, by, [p.approved(info, on, PROVINCE)])
                lic = licence(p.rng, i + 1, p.today)
                on = date.fromisoformat(lic["valid_from"])
                batch.add(RecordKind.LICENCE, firm, by, [p.approved(lic, on, PROVINCE)])
            copier.put("record", RECORD_COLUMNS, batch.records)
            copier.put("record_version", VERSION_COLUMNS, batch.versions)

            # Project departments, a few contractors holding many.
            firm_weights = _weights(p.rng, len(firms), 0.6)
            for first in range(0, departments, chunk):
                batch = _Rows()
                for seq in range(first, min(first + chunk, departments)):
                    firm = p.rng.choices(firms, cum_weights=firm_weights)[0][0]
                    data = project_department(p.rng, p.county(), p.today, p.pool, seq)
                    division = review_division(RecordKind.PROJECT_DEPARTMENT, data, firm)
                    chain = p.department_chain(data, division)
                    batch.add(RecordKind.PROJECT_DEPARTMENT, firm, account_of.get(firm.id), chain)
                copier.put("record", RECORD_COLUMNS, batch.records)
                copier.put("record_version", VERSION_COLUMNS, batch.versions)
        finally:
            rows = copier.finish()
        conn.commit()
    copied = time.perf_counter() - started
    # Fresh statistics and visibility maps, as autovacuum would have left them.
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        for table in ("contractor", "user_account", "record", "record_version"):
            conn.execute(f"VACUUM ANALYZE {table}")
    seconds = time.perf_counter() - started
    log(
        f"loaded {departments:,} project departments, {len(firms):,} contractors and "
        f"{len(users):,} accounts in {seconds:.1f} s "
        f"(generate + COPY {copied:.1f} s, VACUUM ANALYZE {seconds - copied:.1f} s)"
    )
    return LoadSummary(departments, len(firms), users, BENCH_PASSWORD, seconds, rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="an empty, migrated node database")
    parser.add_argument("--departments", type=int, default=100_000)
    parser.add_argument("--contractor-accounts", type=int, default=100)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    generate_and_load(
        args.database_url,
        args.departments,
        contractor_accounts=args.contractor_accounts,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
