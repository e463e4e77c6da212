"""Project departments across provinces, with real processes: a hub and three
provincial nodes as separate servers, real Celery workers, real sync.

One contractor of Inner Mongolia (150000) works in Shanxi (140000) and Hebei
(130000). Its filings are relayed to the location nodes, reviewed there, the
decisions come back; the location nodes publish; an accident in Shanxi reaches
home as a notice; five years on (the injected date of ``--as-of``) the location
nodes delete, while the hub is down, and when the last department anywhere is
gone the contractor's own information goes at home."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest

from tests.federation.harness import (
    Federation,
    Province,
    Server,
    json_of,
    run_cli,
    seed_province,
    wait_until,
)
from tests.node.entry.conftest import accident_form
from tests.node.factories import basic_info, project_department
from tests.support.postgres import conninfo

pytestmark = pytest.mark.slow

CHINA = timedelta(hours=8)
HOME, SHANXI, HEBEI = "150000", "140000", "130000"


def sql(server: Server | None, query: str, *args: object) -> list[tuple[Any, ...]]:
    assert server is not None
    with psycopg.connect(conninfo(server.database_url)) as conn:
        return conn.execute(query, args).fetchall()  # type: ignore[arg-type]


def one(server: Server | None, query: str, *args: object) -> Any:
    rows = sql(server, query, *args)
    return rows[0][0] if rows else None


def knows_every_node(fed: Federation, province: str, others: list[str]) -> bool:
    owners = {
        r[0]
        for r in sql(fed.nodes[province], "SELECT owner FROM node_keyring WHERE owner <> 'hub'")
    }
    return all(f"node:{o}" in owners for o in others)


def record_of(client: httpx.Client, province: Province, record_id: str) -> dict[str, Any]:
    return json_of(  # type: ignore[no-any-return]
        client.get(f"{province.server.url}/api/v1/filings/{record_id}", headers=province.contractor)
    )


def queue(client: httpx.Client, province: Province) -> list[dict[str, Any]]:
    page = json_of(
        client.get(f"{province.server.url}/api/v1/review/queue", headers=province.regulator)
    )
    return page["items"]  # type: ignore[no-any-return]


def file_elsewhere(client: httpx.Client, home: Province, county: str) -> str:
    created = json_of(
        client.post(
            f"{home.server.url}/api/v1/filings/project-departments",
            headers=home.contractor,
            json=project_department(county, project_name=f"{county}某矿井下采矿工程项目部"),
        )
    )
    submit(client, home, created["id"])
    return str(created["id"])


def submit(client: httpx.Client, home: Province, record_id: str) -> None:
    json_of(
        client.post(f"{home.server.url}/api/v1/filings/{record_id}/submit", headers=home.contractor)
    )


def decide(
    client: httpx.Client, province: Province, record_id: str, action: str, **body: Any
) -> dict[str, Any]:
    return json_of(  # type: ignore[no-any-return]
        client.post(
            f"{province.server.url}/api/v1/review/{record_id}/{action}",
            headers=province.regulator,
            json=body,
        )
    )


def test_a_department_elsewhere_from_filing_to_publication_to_retention(fed: Federation):
    fed.start_hub()
    nodes = {p: fed.start_node(p) for p in (HOME, SHANXI, HEBEI)}
    home, shanxi, hebei = (seed_province(nodes[p], p) for p in (HOME, SHANXI, HEBEI))
    for p in nodes:
        wait_until(
            lambda p=p: knows_every_node(fed, p, [o for o in nodes if o != p]),
            60,
            f"{p} to learn the other nodes' keys",
        )
    uscc = one(nodes[HOME], "SELECT uscc FROM contractor")
    with httpx.Client(timeout=30) as client:
        # ---- filed at home, reviewed in Shanxi, returned with a reason
        dept = file_elsewhere(client, home, shanxi.county)
        assert record_of(client, home, dept)["owner_node"] == f"node:{SHANXI}"
        wait_until(lambda: len(queue(client, shanxi)) == 1, 60, "the filing in Shanxi's queue")
        item = queue(client, shanxi)[0]
        assert (item["id"], item["review_division"]) == (dept, shanxi.county)
        assert queue(client, home) == [], "the home province does not review it"
        reason = "项目部负责人身份证号与书面报告不一致，请核对"
        decide(client, shanxi, dept, "return", version_no=1, reason=reason)
        wait_until(
            lambda: record_of(client, home, dept)["state"] == "returned", 60, "returned at home"
        )
        assert record_of(client, home, dept)["latest"]["return_reason"] == reason

        # ---- edited and submitted again at home, approved and published in Shanxi
        json_of(
            client.patch(
                f"{home.server.url}/api/v1/filings/{dept}",
                headers=home.contractor,
                json={"work_content": "井下采矿、掘进及支护（已核对负责人信息）"},
            )
        )
        submit(client, home, dept)
        wait_until(lambda: len(queue(client, shanxi)) == 1, 60, "version 2 in Shanxi's queue")
        decide(client, shanxi, dept, "approve", version_no=2)
        wait_until(
            lambda: record_of(client, home, dept)["state"] == "approved", 60, "approved at home"
        )
        at_home = record_of(client, home, dept)
        assert at_home["current_version_no"] == 2
        assert at_home["current"]["data"]["work_content"].endswith("（已核对负责人信息）")
        assert (
            at_home["current"]["data"]["head"]["resident_id"]
            == (project_department(shanxi.county)["head"]["resident_id"])
        ), "the decided data come back revealed to the contractor"
        wait_until(
            lambda: (
                one(fed.hub, "SELECT owner FROM hub_record WHERE record_id = %s", dept)
                == f"node:{SHANXI}"
            ),
            60,
            "published by Shanxi at the hub",
        )
        assert one(nodes[HOME], "SELECT count(*) FROM node_publication") == 0

        # ---- the home province's regulators see it, read-only
        seen = json_of(
            client.get(f"{home.server.url}/api/v1/filings/{dept}", headers=home.regulator)
        )
        assert seen["owner_node"] == f"node:{SHANXI}"
        refused = client.post(
            f"{home.server.url}/api/v1/review/{dept}/approve",
            headers=home.admin,
            json={"version_no": 2},
        )
        assert refused.status_code == 403 and refused.json()["error"] == "owned_elsewhere"

        # ---- Hebei: withdrawn before review, submitted again, approved
        dept2 = file_elsewhere(client, home, hebei.county)
        wait_until(lambda: len(queue(client, hebei)) == 1, 60, "the filing in Hebei's queue")
        json_of(
            client.post(
                f"{home.server.url}/api/v1/filings/{dept2}/withdraw", headers=home.contractor
            )
        )
        wait_until(
            lambda: one(nodes[HEBEI], "SELECT count(*) FROM record") == 0,
            60,
            "the withdrawn filing gone from Hebei",
        )
        assert record_of(client, home, dept2)["owner_node"] is None
        submit(client, home, dept2)
        wait_until(lambda: len(queue(client, hebei)) == 1, 60, "resubmitted to Hebei")
        decide(client, hebei, dept2, "approve", version_no=1)
        wait_until(
            lambda: record_of(client, home, dept2)["state"] == "approved", 60, "Hebei's approval"
        )

        # ---- the contractor's basic info, published by its home node
        contractor = SimpleNamespace(
            uscc=uscc,
            name=f"测试矿山工程有限公司{HOME}",
            central_soe=False,
            home_province_code=HOME,
        )
        info = json_of(
            client.post(
                f"{home.server.url}/api/v1/filings/basic-info",
                headers=home.contractor,
                json=basic_info(contractor),  # type: ignore[arg-type]
            )
        )["id"]
        submit(client, home, info)
        json_of(
            client.post(
                f"{home.server.url}/api/v1/review/{info}/approve",
                headers=home.admin,
                json={"version_no": 1},
            )
        )

        # ---- an accident in Shanxi against the Inner Mongolian contractor
        occurred = (datetime.now(UTC) + CHINA - timedelta(days=2)).strftime(
            "%Y-%m-%dT09:30:00+08:00"
        )
        accident = json_of(
            client.post(
                f"{shanxi.server.url}/api/v1/accidents",
                headers=shanxi.regulator,
                json=accident_form(
                    contractor,  # type: ignore[arg-type]
                    shanxi.county,
                    occurred_at=occurred,
                    project_department_id=dept,
                ),
            )
        )["id"]
        wait_until(
            lambda: (
                one(nodes[HOME], "SELECT owner_node FROM record WHERE id = %s", accident)
                == f"node:{SHANXI}"
            ),
            60,
            "the accident notice at home",
        )
        assert one(nodes[HOME], "SELECT count(*) FROM relay_notice") == 0, (
            "a notice is kept as a read-only accident record, not as free text"
        )
        wait_until(
            lambda: (
                sql(fed.hub, "SELECT count(*) FROM hub_record WHERE deleted_at IS NULL")[0][0] == 4
            ),
            60,
            "two departments, the basic info and the accident at the hub",
        )

    # ---- five years on: the owners delete, while the hub is down
    today = (datetime.now(UTC) + CHINA).date()
    due = today.replace(year=today.year + 5)
    # (The day before, nothing is due: tests/node/retention checks the boundary.)
    dry = json.loads(
        run_cli(
            ["node", "retention", "--dry-run", "--as-of", due.isoformat(), "--json"],
            shanxi.server.env,
        )
    )
    assert dry["counts"] == {
        "project_departments": 1,
        "accidents": 1,
        "attachments": 0,
        "contractors": 0,  # not Shanxi's contractor: its home decides
    }
    assert [d["record_id"] for d in dry["project_departments"]] == [dept]

    assert fed.hub is not None
    fed.hub.proc.stop()
    done = run_cli(["node", "retention", "--as-of", due.isoformat()], shanxi.server.env)
    assert "deleted 1 project departments, 1 accidents" in done
    assert one(nodes[SHANXI], "SELECT count(*) FROM record") == 0
    assert one(nodes[SHANXI], "SELECT count(*) FROM contractor WHERE uscc = %s", uscc) == 0, (
        "the other province's contractor is forgotten once nothing refers to it"
    )
    queued = sql(
        nodes[SHANXI],
        "SELECT recipient, kind FROM sync_outbox WHERE kind LIKE '%%tombstone' ORDER BY id",
    )
    assert sorted(queued) == sorted(
        [("hub", "record.tombstone")] * 2 + [(f"node:{HOME}", "relay.record.tombstone")] * 2
    ), "to the hub and to the province holding a copy, waiting while the hub is down"

    fed.hub.proc.start()
    fed.hub.wait_ready()
    wait_until(
        lambda: (
            one(nodes[HOME], "SELECT count(*) FROM record WHERE id IN (%s, %s)", dept, accident)
            == 0
        ),
        90,
        "the copies at home deleted by Shanxi's tombstones",
    )
    assert one(nodes[HOME], "SELECT deleted_at FROM contractor") is None, "Hebei's remains"
    assert one(nodes[HOME], "SELECT count(*) FROM record") == 2

    done = run_cli(["node", "retention", "--as-of", due.isoformat()], hebei.server.env)
    assert "deleted 1 project departments" in done
    wait_until(
        lambda: one(nodes[HOME], "SELECT deleted_at IS NOT NULL FROM contractor") is True,
        90,
        "the contractor deleted at home once its last department anywhere was gone",
    )
    assert one(nodes[HOME], "SELECT count(*) FROM record") == 0
    assert one(nodes[HOME], "SELECT count(*) FROM user_account WHERE role = 'contractor'") == 1, (
        "the account stays until the bureau deletes it"
    )
    wait_until(
        lambda: one(fed.hub, "SELECT count(*) FROM hub_record WHERE deleted_at IS NULL") == 0,
        60,
        "every tombstone at the hub",
    )
    leftover = sql(
        fed.hub,
        "SELECT count(*) FROM hub_record WHERE public_data IS NOT NULL "
        "OR disclosures <> '[]'::jsonb OR contractor_uscc IS NOT NULL",
    )
    assert leftover == [(0,)], "content and disclosures deleted at the hub"
    hashes = sql(
        fed.hub,
        "SELECT count(*), count(envelope), count(leaf_hash) FROM hub_publication "
        "WHERE kind = 'record.publish'",
    )
    assert hashes == [(4, 0, 4)], "the log keeps its leaf hashes, not the content"
    facts = sql(
        nodes[HOME],
        "SELECT action, detail::text FROM audit_event WHERE action LIKE 'retention.%%'",
    )
    assert {a for a, _ in facts} >= {"retention.record_deleted", "retention.contractor_deleted"}
    assert not any("某矿井下采矿工程项目部" in d or "张" in d for _, d in facts), (
        "the audit keeps the fact of each deletion, never the deleted data"
    )
    for p in nodes:
        assert one(nodes[p], "SELECT count(*) FROM sync_quarantine") == 0, p
    assert one(fed.hub, "SELECT count(*) FROM sync_quarantine") == 0
