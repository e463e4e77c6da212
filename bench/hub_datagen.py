"""Fill a hub database with a national-scale replica, fast (COPY), for the public
disclosure benchmark (``bench/hub_load.py``).

    uv run python -m bench.hub_datagen --database-url URL [--scale 1|10] [--seed 7]

``--scale 1`` is the national scale of issue 5: 31 provinces, 50,000 contractors
(each with basic info and one or two licences), 500,000 project departments,
20,000 accidents and 30,000 rewards/penalties; ``--scale 10`` is ten times that.
Rows are what ingest would have written to ``hub_record`` (``public_data`` masked,
``envelope`` with personal data as ``_sd`` digest slots) and ``hub_publication``
(one entry per record). The signatures are random bytes of the right length,
not real Ed25519 signatures: signing millions of envelopes would take longer
than the benchmark, and the search never verifies them. ``--no-envelopes`` also
leaves the envelopes out of ``hub_publication`` (saves a third of the disk at
scale 10). The search table is then rebuilt in one pass
(``hub_public_contractor_rebuild()``), as triggers would have kept it.

The database must be migrated to head and empty; the triggers are set aside
during the load (``session_replication_role = replica``, superuser).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from schemas.divisions import children, provinces
from schemas.identifiers import make_uscc, mask_phone, mask_resident_id, resident_id_check_char

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PER_SCALE = {
    "contractors": 50_000,
    "project_departments": 500_000,
    "accidents": 20_000,
    "rewards_penalties": 30_000,
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰斌波宇浩凯鹏飞亮东"
BRAND = "金鑫鼎盛华宏远达泰昌隆兴源通顺安恒信和嘉瑞祥丰茂鸿运晟德正宇辰星海山川河岳峰岩石磊坤乾元亨利贞中北南东西新汇聚创成宝利晋蒙冀鲁豫皖苏浙闽赣湘鄂粤桂琼川黔滇藏陕甘青宁疆辽吉黑"
INDUSTRY = [
    "矿业",
    "矿山工程",
    "矿业工程",
    "建设工程",
    "爆破工程",
    "井巷工程",
    "岩土工程",
    "矿山建设",
    "采矿工程",
    "地质勘查",
    "工程技术",
    "矿山机械安装",
]
SUFFIX = ["有限公司", "有限责任公司", "集团有限公司", "股份有限公司"]
MINES = ["铁矿", "铜矿", "金矿", "铅锌矿", "钼矿", "石灰石矿", "磷矿", "萤石矿", "稀土矿", "铝土矿"]
GRADES = ["special", "first", "second", "third"]
GRADE_WEIGHTS = [1, 15, 44, 40]


@dataclass
class Firm:
    uscc: str
    name: str
    province: str
    county: str
    owner: str


def _counties() -> dict[str, list[str]]:
    by_province: dict[str, list[str]] = {}
    for p in provinces():
        counties = [county.code for city in children(p.code) for county in children(city.code)] or [
            city.code for city in children(p.code)
        ]
        by_province[p.code] = counties or [p.code]
    return by_province


def _person(rng: random.Random, county: str) -> dict[str, Any]:
    # make_resident_id validates what it makes (~90 µs); the check character is enough here.
    birth = date(1960, 1, 1) + timedelta(days=rng.randrange(15000))
    first17 = f"{county}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    rid = first17 + resident_id_check_char(first17)
    phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
    return {
        "name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
        "resident_id": rid,
        "phone": phone,
    }


def _masked(person: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": person["name"],
        "resident_id": mask_resident_id(person["resident_id"]),
        "phone": mask_phone(person["phone"]),
    }


def _slot(rng: random.Random) -> dict[str, str]:
    return {"_sd": rng.randbytes(32).hex()[:43]}


def _signed(person: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return {"name": person["name"], "resident_id": _slot(rng), "phone": _slot(rng)}


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Writer:
    """Rows for hub_record and hub_publication, written through two COPY streams."""

    def __init__(self, conn: psycopg.Connection[Any], envelopes_in_log: bool) -> None:
        self.conn = conn
        self.envelopes_in_log = envelopes_in_log
        self.seq: dict[str, int] = {}
        self.records = 0

    def rows(
        self, items: Iterator[tuple[Firm, str, str, dict[str, Any], dict[str, Any], datetime]]
    ) -> None:
        record_sql = (
            "COPY hub_record (record_id, kind, owner, contractor_uscc, contractor_name, "
            "province_code, city_code, county_code, version_no, public_data, envelope, "
            "disclosures, approved_at, first_entered_at, received_at) FROM STDIN"
        )
        log_sql = (
            "COPY hub_publication (node_id, record_id, kind, record_kind, version_no, envelope, "
            "envelope_sha256, leaf_hash, received_at) FROM STDIN"
        )
        pending: list[tuple[Any, ...]] = []

        def flush_log() -> None:
            with self.conn.cursor().copy(log_sql) as log_copy:
                for row in pending:
                    log_copy.write_row(row)
            pending.clear()

        with self.conn.cursor() as cur, cur.copy(record_sql) as copy:
            for item in items:
                firm, record_id, kind, public_text, signed_text, at = item[:6]
                location_owner, province, county = item[6:] or (
                    firm.owner,
                    firm.province,
                    firm.county,
                )
                seq = self.seq[location_owner] = self.seq.get(location_owner, 0) + 1
                stamp = at.isoformat()
                entered = (at - timedelta(days=3)).isoformat()
                city = county[:4] + "00"
                # Built as text: json.dumps of a whole envelope per row was most of the time.
                env_text = (
                    f'{{"v":1,"kind":"record.publish","sender":"{location_owner}","seq":{seq},'
                    f'"recipient":"hub","issued_at":"{stamp}",'
                    f'"key_id":"{location_owner.replace(":", "-")}-k1","payload":{{'
                    f'"record_id":"{record_id}","kind":"{kind}","version_no":1,'
                    f'"owner":"{location_owner}","contractor":{{"uscc":"{firm.uscc}",'
                    f'"name":"{firm.name}"}},"province_code":"{province}",'
                    f'"city_code":"{city}","county_code":"{county}",'
                    f'"first_entered_at":"{entered}","approved_at":"{stamp}",'
                    f'"data":{signed_text}}},"sig":"{os.urandom(43).hex()[:86]}"}}'
                )
                copy.write_row(
                    (
                        record_id,
                        kind,
                        location_owner,
                        firm.uscc,
                        firm.name,
                        province,
                        city,
                        county,
                        1,
                        public_text,
                        env_text,
                        "[]",
                        stamp,
                        entered,
                        stamp,
                    )
                )
                digest = hashlib.sha256(env_text.encode()).digest()
                pending.append(
                    (
                        location_owner,
                        record_id,
                        "record.publish",
                        kind,
                        1,
                        env_text if self.envelopes_in_log else None,
                        digest.hex(),
                        hashlib.sha256(b"\x00" + env_text.encode()).digest(),
                        stamp,
                    )
                )
                self.records += 1
        flush_log()


def generate(
    conn: psycopg.Connection[Any],
    scale: float,
    seed: int,
    envelopes_in_log: bool,
    log: Callable[[str], None],
) -> dict[str, Any]:
    rng = random.Random(seed)
    counties = _counties()
    province_codes = sorted(counties)
    weights = [
        3 if p in {"150000", "140000", "130000", "410000", "370000", "530000"} else 1
        for p in province_codes
    ]
    n_firms = int(PER_SCALE["contractors"] * scale)
    firms: list[Firm] = []
    names: set[str] = set()
    for i in range(n_firms):
        province = rng.choices(province_codes, weights)[0]
        county = rng.choice(counties[province])
        short = provinces_short(province)
        while True:
            name = (
                short + "".join(rng.choices(BRAND, k=2)) + rng.choice(INDUSTRY) + rng.choice(SUFFIX)
            )
            if name not in names:
                names.add(name)
                break
        firms.append(
            Firm(make_uscc(county, f"{i:08d}"), name, province, county, f"node:{province}")
        )
    writer = Writer(conn, envelopes_in_log)
    started = time.monotonic()

    def received() -> datetime:
        return NOW - timedelta(seconds=rng.randrange(3 * 365 * 86400))

    def contractor_rows() -> Iterator[Any]:
        for n, firm in enumerate(firms):
            staff = rng.randrange(30, 3000)
            public = {
                "name": firm.name,
                "registered_address": f"{provinces_name(firm.province)}某市某区矿业路{rng.randrange(1, 999)}号",
                "uscc": firm.uscc,
                "legal_rep_name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                "legal_rep_cert_no": f"AQ-{firm.province[:2]}-{n:07d}",
                "avg_headcount": staff,
                "safety_org": "设安全环保部，配专职安全管理人员",
                "safety_staffing": f"专职安全管理人员{staff // 30 + 1}名，均持证上岗",
                "technical_staffing": f"采矿、地质、机电专业技术人员共{staff // 12 + 2}名",
                "management_systems": rng.sample(["HSE", "ISO 45001", "ISO 9001", "ISO 14001"], 2),
                "main_equipment": "凿岩台车、铲运机、井下运矿卡车若干",
                "honours": [],
                "performance": [
                    {
                        "project": f"某{rng.choice(MINES)}井巷工程",
                        "result": "按期完工，验收合格",
                        "year": 2020 + rng.randrange(6),
                    }
                ],
                "central_soe": rng.random() < 0.05,
                "home_province_code": firm.province,
                "contact_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "contact_phone": mask_phone(f"13{rng.randrange(10**9):09d}"),
                "project_department_count": 10,
            }
            signed = {**public, "contact_phone": _slot(rng)}
            signed.pop("project_department_count")
            yield firm, f"bi-{n}", "basic_info", _j(public), _j(signed), received()
            for k in range(1 if rng.random() < 0.8 else 2):
                valid_to = NOW.date() + timedelta(days=rng.randrange(-400, 1100))
                lic = {
                    "safety_licence_no": f"({firm.province[:2]})FM安许证字〔{valid_to.year - 3}〕{n:05d}{k}",
                    "issuing_authority": f"{provinces_name(firm.province)}应急管理厅",
                    "valid_from": (valid_to - timedelta(days=3 * 365)).isoformat(),
                    "valid_to": valid_to.isoformat(),
                    "legal_rep_cert_no": f"AQ-{firm.province[:2]}-{n:07d}",
                    "safety_manager_count": rng.randrange(3, 40),
                    "safety_manager_certs": [f"AQ{rng.randrange(10**6):06d}" for _ in range(2)],
                    "qualification_grade": rng.choices(GRADES, GRADE_WEIGHTS)[0],
                    "qualification_scope": "矿山工程施工总承包",
                    "attachments": [],
                }
                text = _j(lic)
                yield firm, f"lic-{n}-{k}", "licence", text, text, received()

    # People drawn from a pool per province (their masked form is what is public;
    # making a fresh valid ID number per person costs more than the rest of a row).
    people = {
        p: [_person(rng, rng.choice(counties[p])) for _ in range(200)] for p in province_codes
    }

    def department_body(province: str, n: int) -> tuple[str, str, str]:
        if True:
            county = rng.choice(counties[province])
            pool = people[province]
            head = rng.choice(pool)
            managers = [rng.choice(pool) for _ in range(rng.randrange(1, 4))]
            tech = [rng.choice(pool) for _ in range(rng.randrange(0, 4))]
            start = NOW.date() - timedelta(days=rng.randrange(30, 5 * 365))
            end = start + timedelta(days=rng.randrange(180, 1500))
            inspections = [
                {
                    "date": (start + timedelta(days=rng.randrange(10, 400))).isoformat(),
                    "participants": [head["name"]],
                }
                for _ in range(rng.randrange(0, 4))
            ]
            common = {
                "project_name": f"{rng.choice(BRAND)}{rng.choice(BRAND)}{rng.choice(MINES)}{rng.choice(['井巷掘进', '采矿', '剥离', '充填', '支护'])}工程项目部",
                "province_code": province,
                "city_code": county[:4] + "00",
                "county_code": county,
                "issuing_unit": f"{provinces_short(province)}{rng.choice(BRAND)}{rng.choice(BRAND)}矿业有限公司",
                "mine_name": f"{rng.choice(BRAND)}{rng.choice(MINES)}",
                "safety_org": "项目部安全生产领导小组",
                "start_month": start.strftime("%Y-%m"),
                "expected_end_month": end.strftime("%Y-%m"),
                "contracting_mode": "general" if rng.random() < 0.7 else "by_item",
                "work_content": "井下采矿、掘进及支护",
                "underground": rng.random() < 0.6,
                "written_report": rng.random() < 0.93,
                "written_report_date": start.isoformat(),
                "agreement_signed": rng.random() < 0.95,
                "agreement_date": (start - timedelta(days=10)).isoformat(),
                "emergency_plan_no": f"{county}-{start.year}-{n % 1000:03d}",
                "inspections": inspections,
                "attachments": [],
            }
            public = {
                **common,
                "head": _masked(head),
                "safety_managers": [_masked(p) for p in managers],
                "technical_staff": [_masked(p) for p in tech],
            }
            signed = {
                **common,
                "head": _signed(head, rng),
                "safety_managers": [_signed(p, rng) for p in managers],
                "technical_staff": [_signed(p, rng) for p in tech],
            }
            return _j(public), _j(signed), county

    # Bodies drawn from a pool per province: the public search reads none of them,
    # the contractor page shows them, and building each row's JSON was the cost.
    bodies = {p: [department_body(p, n) for n in range(150)] for p in province_codes}

    def department_rows() -> Iterator[Any]:
        for n in range(int(PER_SCALE["project_departments"] * scale)):
            firm = firms[int(rng.paretovariate(1.2) * 7 + n) % len(firms)]
            province = rng.choice(province_codes) if rng.random() < 0.15 else firm.province
            public_text, signed_text, county = rng.choice(bodies[province])
            yield (
                firm,
                f"pd-{n}",
                "project_department",
                public_text,
                signed_text,
                received(),
                f"node:{province}",
                province,
                county,
            )

    def accident_rows() -> Iterator[Any]:
        for n in range(int(PER_SCALE["accidents"] * scale)):
            firm = rng.choice(firms)
            county = rng.choice(counties[firm.province])
            occurred = NOW - timedelta(seconds=rng.randrange(5 * 365 * 86400))
            deaths = rng.choices([0, 1, 2, 3, 5], [30, 55, 10, 4, 1])[0]
            public = {
                "occurred_at": occurred.astimezone().isoformat(timespec="seconds"),
                "province_code": firm.province,
                "city_code": county[:4] + "00",
                "county_code": county,
                "enterprise": f"{rng.choice(BRAND)}{rng.choice(MINES)}",
                "site": f"-{rng.randrange(50, 900)}m水平{rng.randrange(1, 20)}号采场",
                "deaths": deaths,
                "serious_injuries": rng.randrange(0, 4),
                "direct_loss_yuan": rng.randrange(50_000, 20_000_000),
                "cause_direct": "顶板浮石未及时处理，冒落伤人",
                "cause_indirect": "安全检查不到位，作业人员培训不足",
                "categories": sorted(rng.sample(range(1, 21), rng.choice((1, 1, 2)))),
                "responsible_party": rng.choice(["contractor", "issuing_unit", "no_liability"]),
                "contractor_uscc": firm.uscc,
                "project_department_id": None,
                "description": "作业人员在采场出矿时顶板冒落",
            }
            text = _j(public)
            yield firm, f"acc-{n}", "accident", text, text, occurred + timedelta(days=2)

    def reward_penalty_rows() -> Iterator[Any]:
        for n in range(int(PER_SCALE["rewards_penalties"] * scale)):
            firm = rng.choice(firms)
            decided = NOW.date() - timedelta(days=rng.randrange(5 * 365))
            penalty = rng.random() < 0.6
            public = {
                "kind": "penalty" if penalty else "reward",
                "decided_on": decided.isoformat(),
                "issued_by": f"{provinces_name(firm.province)}应急管理厅",
                "document_no": f"应急{'罚' if penalty else '奖'}〔{decided.year}〕{n % 1000}号",
                "description": "未按规定开展安全检查" if penalty else "安全生产先进单位",
                "contractor_uscc": firm.uscc,
            }
            at = datetime(decided.year, decided.month, decided.day, 8, tzinfo=UTC)
            text = _j(public)
            yield firm, f"rp-{n}", "reward_penalty", text, text, at

    for label, rows in [
        ("contractors and licences", contractor_rows),
        ("project departments", department_rows),
        ("accidents", accident_rows),
        ("rewards and penalties", reward_penalty_rows),
    ]:
        log(f"loading {label}")
        before = writer.records
        batch: list[Any] = []
        for row in rows():
            batch.append(row)
            if len(batch) >= 20_000:
                writer.rows(iter(batch))
                conn.commit()
                batch = []
        if batch:
            writer.rows(iter(batch))
            conn.commit()
        log(f"  {writer.records - before:,} records")
    loaded_s = time.monotonic() - started
    log("rebuilding hub_public_contractor")
    rebuilt = conn.execute("SELECT hub_public_contractor_rebuild()").fetchone()
    conn.commit()
    log("ANALYZE")
    conn.execute("ANALYZE hub_record")
    conn.execute("ANALYZE hub_publication")
    conn.execute("ANALYZE hub_public_contractor")
    conn.commit()
    return {
        "scale": scale,
        "records": writer.records,
        "contractors": rebuilt[0] if rebuilt else None,
        "load_s": round(loaded_s, 1),
        "total_s": round(time.monotonic() - started, 1),
    }


@functools.cache
def provinces_name(code: str) -> str:
    return next(p.name for p in provinces() if p.code == code)


@functools.cache
def provinces_short(code: str) -> str:
    name = provinces_name(code)
    for cut in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
        name = name.removesuffix(cut)
    return name


def load(
    database_url: str, scale: float, seed: int, envelopes_in_log: bool, log: Callable[[str], None]
) -> dict[str, Any]:
    """Fill the (migrated, empty) hub database at ``database_url``; returns a summary."""
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        if conn.execute("SELECT count(*) FROM hub_record").fetchone() != (0,):
            raise SystemExit("hub_record is not empty: load into a fresh, migrated hub database")
        # Triggers aside (the search table is rebuilt once at the end; the
        # append-only guard of hub_publication has nothing to guard in a load).
        conn.execute("SET session_replication_role = replica")
        return generate(conn, scale, seed, envelopes_in_log, log)


def main(argv: list[str] | None = None) -> int:
    from bench.common import log

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a migrated, empty hub database")
    parser.add_argument(
        "--scale", type=float, default=1, help="1 national, 10 ten times (0.01 for a smoke test)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-envelopes",
        action="store_true",
        help="leave envelopes out of hub_publication (hashes only) to save disk",
    )
    args = parser.parse_args(argv)
    summary = load(args.database_url, args.scale, args.seed, not args.no_envelopes, log)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
