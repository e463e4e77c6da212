"""hub_public_contractor is merged for inserted records and recounted for updated ones
(migration 0007): after any sequence of writes through the ingest's own upsert, the
row of every contractor is what a recount from hub_record gives."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import text

from central.sync.apply import _INSERT_RECORDS, _UPDATE_RECORDS

COLUMNS = (
    "uscc, name, name_grams, province_code, has_basic_info, grades, licence_valid_to, "
    "last_accident_on, last_penalty_on, last_incident_on, licence_count, "
    "project_department_count, accident_count, reward_penalty_count, "
    "basic_name, record_name, basic_province, record_province"
)
USCCS = ["91150000MA0000001A", "91150000MA0000002B", "91140000MA0000003C", "91110000MA0000004D"]
NAMES = ["北方矿业工程有限公司", "北方矿业（集团）有限公司", "Zeta 矿山工程", "阿尔法爆破", "A"]
PROVINCES = ["150000", "140000", "110000", "650000"]
GRADES = ["first", "second", "third", "special"]
KINDS = ["basic_info", "licence", "project_department", "accident", "reward_penalty"]
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _public_data(rng: random.Random, kind: str) -> dict[str, Any]:
    day = date(2020, 1, 1) + timedelta(days=rng.randrange(2500))
    if kind == "basic_info":
        data: dict[str, Any] = {"name": rng.choice(NAMES)}
        if rng.random() < 0.8:
            data["home_province_code"] = rng.choice(PROVINCES)
        return data
    if kind == "licence":
        data = {"valid_to": day.isoformat()}
        if rng.random() < 0.8:
            data["qualification_grade"] = rng.choice(GRADES)
        return data
    if kind == "accident":
        return {"occurred_at": f"{day.isoformat()}T{rng.randrange(24):02d}:30:00+08:00"}
    if kind == "reward_penalty":
        return {"kind": rng.choice(["penalty", "reward"]), "decided_on": day.isoformat()}
    return {"status": "in_progress"}


def _write(session, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` with the ingest's own statements: new records, then new versions."""
    columns = ("record_id", "kind", "owner", "contractor_uscc", "contractor_name")
    columns += ("province_code", "city_code", "county_code", "version_no", "public_data")
    columns += ("envelope", "disclosures", "approved_at", "first_entered_at", "received_at")
    for statement, part in (
        (_INSERT_RECORDS, [r for r in rows if r["version_no"] == 1]),
        (_UPDATE_RECORDS, [r for r in rows if r["version_no"] > 1]),
    ):
        if part:
            session.connection().exec_driver_sql(
                statement, {c: [row[c] for row in part] for c in columns}
            )


def _kept(session) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in session.execute(
            text(f"SELECT {COLUMNS} FROM hub_public_contractor ORDER BY uscc")  # noqa: S608
        )
    ]


def _recounted(session) -> list[tuple[Any, ...]]:
    """What a rebuild gives, without keeping it (the triggers' rows go on)."""
    with session.begin_nested() as savepoint:
        session.execute(text("SELECT hub_public_contractor_rebuild()"))
        rows = _kept(session)
        savepoint.rollback()
    return rows


def _differences(kept: list[tuple[Any, ...]], recounted: list[tuple[Any, ...]]) -> list[str]:
    names = [c.strip() for c in COLUMNS.split(",")]
    by_uscc = {row[0]: row for row in recounted}
    out = [f"{row[0]} not in a recount" for row in kept if row[0] not in by_uscc]
    for row in kept:
        other = by_uscc.get(row[0], row)
        out += [
            f"{row[0]}.{n}: {a!r} != {b!r}"
            for n, a, b in zip(names, row, other, strict=True)
            if a != b
        ]
    return out + [f"{u} missing" for u in by_uscc.keys() - {row[0] for row in kept}]


def test_merges_and_recounts_agree_with_a_rebuild_after_every_write(session):
    rng = random.Random(20261202)
    records: dict[str, dict[str, Any]] = {}  # live ones
    clock = T0
    for step in range(120):
        clock += timedelta(seconds=rng.randrange(1, 120))
        choice = rng.random()
        if choice < 0.15 and records:
            # A tombstone, as apply_tombstone writes it.
            record_id = rng.choice(sorted(records))
            del records[record_id]
            session.execute(
                text(
                    "UPDATE hub_record SET contractor_uscc = NULL, contractor_name = NULL, "
                    "province_code = NULL, public_data = NULL, deleted_at = :at, "
                    "delete_reason = 'withdrawn', received_at = :at WHERE record_id = :id"
                ),
                {"at": clock, "id": record_id},
            )
        else:
            # One statement: some new records, and (sometimes) new versions of others.
            batch: dict[str, dict[str, Any]] = {}
            for _ in range(rng.randrange(1, 7)):
                if records and rng.random() < 0.35:
                    row = dict(records[rng.choice(sorted(records))])
                    row["version_no"] += 1
                else:
                    kind = rng.choice(KINDS)
                    row = {"record_id": f"r{step}-{len(batch)}", "kind": kind, "version_no": 1}
                    row["contractor_uscc"] = rng.choice(USCCS)
                row["public_data"] = orjson.dumps(_public_data(rng, row["kind"])).decode()
                row["contractor_name"] = rng.choice(NAMES)
                row["province_code"] = rng.choice(PROVINCES)
                row["received_at"] = clock
                batch[row["record_id"]] = row
            for row in batch.values():
                row.update(owner="node:150000", city_code=None, county_code=None)
                row.update(envelope="{}", disclosures="[]", approved_at=clock)
                row.update(first_entered_at=clock)
            _write(session, list(batch.values()))
            records.update(batch)
        kept, recounted = _kept(session), _recounted(session)
        assert kept == recounted, f"step {step}: {_differences(kept, recounted)}"
    kept = _kept(session)
    assert {row[0] for row in kept} == {r["contractor_uscc"] for r in records.values()}
    # Every kind of column was exercised (not a test of empty rows).
    assert any(row[5] for row in kept) and any(row[9] for row in kept)
    assert any(row[14] for row in kept) and len(kept) == len(USCCS)


def test_a_contractor_renamed_by_its_basic_information_is_found_under_the_new_name(session):
    base = {"owner": "node:150000", "city_code": None, "county_code": None}
    base |= {"envelope": "{}", "disclosures": "[]", "approved_at": T0, "first_entered_at": T0}
    base |= {"received_at": T0, "contractor_uscc": USCCS[0], "province_code": "150000"}
    department = base | {"record_id": "pd-1", "kind": "project_department", "version_no": 1}
    department |= {"contractor_name": "旧名称矿业有限公司", "public_data": "{}"}
    _write(session, [department])
    basic = base | {"record_id": "bi-1", "kind": "basic_info", "version_no": 1}
    basic |= {"contractor_name": "旧名称矿业有限公司"}
    basic |= {"public_data": orjson.dumps({"name": "新名称矿业有限公司"}).decode()}
    _write(session, [basic])
    name, grams, province = session.execute(
        text("SELECT name, name_grams, province_code FROM hub_public_contractor WHERE uscc = :u"),
        {"u": USCCS[0]},
    ).one()
    assert name == "新名称矿业有限公司" and "新名" in grams and "旧名" not in grams
    assert province == "150000"  # no home province in the basic information: the records'


def test_the_query_grams_agree_with_the_database(session):
    from central.disclosure.repository import query_grams

    for q in ["北方 矿业（集团）有限公司", "矿", "AB", "", "　【测试】工程 工程"]:
        in_db = session.execute(text("SELECT hub_query_grams(:q)"), {"q": q}).scalar()
        assert in_db == query_grams(q), q


def test_common_grams_are_checked_on_the_rows_the_rare_ones_find(session):
    """Once ANALYZE has seen that most names share "有限公司", a search asks the index for
    its other grams only; the answer is the same as asking for all of them."""
    from central.disclosure import repository

    base = {"owner": "node:150000", "city_code": None, "county_code": None, "envelope": "{}"}
    base |= {"disclosures": "[]", "approved_at": T0, "first_entered_at": T0, "received_at": T0}
    base |= {"kind": "project_department", "version_no": 1, "public_data": "{}"}
    trades = ["矿山工程", "井巷工程", "爆破工程", "地质勘查", "矿业开发", "建设安装"]
    rows = []
    for i in range(120):
        uscc = f"91150000MA{i:07d}X"
        name = f"北方{chr(0x4E00 + 7 * i)}{chr(0x4E01 + 11 * i)}{trades[i % 6]}有限公司"
        rows.append(base | {"record_id": f"pd-{i}", "contractor_uscc": uscc})
        rows[-1] |= {"contractor_name": name, "province_code": "150000"}
    _write(session, rows)
    session.execute(text("ANALYZE hub_public_contractor"))
    repository._common = (float("-inf"), frozenset())  # forget what an earlier test saw
    conn = session.connection().connection.driver_connection
    common = repository.common_grams(conn)
    assert {"有限", "公司", "北方", "工程", "井巷"} <= common  # each in a sixth or more
    own = rows[7]["contractor_name"][2:4]  # the two characters only this firm has
    assert own not in common
    today = date(2026, 12, 2)
    name = rows[7]["contractor_name"]
    for q in [name[2:], name, "工程有限", "有限公司"]:
        split = repository._conditions(repository.SearchFilter(q=q), today, common=common)
        whole = repository._conditions(repository.SearchFilter(q=q), today)
        found = []
        for sql in (split, whole):
            statement = f"SELECT uscc FROM hub_public_contractor WHERE {sql.where} ORDER BY uscc"  # noqa: S608
            found.append([r[0] for r in conn.execute(statement, sql.params)])
        assert found[0] == found[1] and found[0], q
    assert (
        "IS TRUE"
        in repository._conditions(
            repository.SearchFilter(q=rows[7]["contractor_name"]), today, common=common
        ).where
    )
