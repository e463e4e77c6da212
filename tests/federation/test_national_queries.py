"""A provincial regulator's national query goes through its node to a real hub, which
answers with what that regulator may see and audits it under the node and the user."""

from __future__ import annotations

import csv
import io

import httpx
import psycopg
import pytest

from schemas.identifiers import mask_resident_id
from tests.federation.harness import Federation, json_of, run_cli, seed_province, wait_until
from tests.node import factories
from tests.support.postgres import conninfo

pytestmark = pytest.mark.slow

IM, SX = "150000", "140000"


def hub_sql(fed: Federation, sql: str, *args: object) -> list[tuple]:
    assert fed.hub is not None
    with psycopg.connect(conninfo(fed.hub.database_url)) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def test_a_regulator_asks_through_its_node_and_the_hub_audits_it(fed: Federation):
    fed.start_hub()
    im = seed_province(fed.start_node(IM), IM)
    sx = seed_province(fed.start_node(SX), SX)
    head = factories.person(7)
    alone = {"head": head, "safety_managers": [], "technical_staff": []}
    with httpx.Client(timeout=30) as client:
        im.approve(client, im.file_department(client, **alone))
        sx.approve(client, sx.file_department(client, start_month="2026-06", **alone))
        wait_until(
            lambda: hub_sql(fed, "SELECT count(*) FROM hub_record")[0][0] == 2,
            120,
            "both departments at the hub",
        )
        assert fed.hub is not None
        out = run_cli(["central", "stats-refresh"], fed.hub.env)
        assert "refreshed: 2 changed records" in out

        url = f"{im.server.url}/api/v1/national/concurrent-roles"
        answer = json_of(client.get(url, headers=im.regulator))
        (pair,) = answer["rows"]
        assert (pair["a"]["province_code"], pair["b"]["province_code"]) == (IM, SX)
        assert pair["a"]["resident_id"] == head["resident_id"]  # its own province: in full
        assert pair["b"]["resident_id"] == mask_resident_id(head["resident_id"])

        exported = client.get(url + "?format=csv", headers=im.regulator)
        assert exported.status_code == 200
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert len(rows) == 2 and rows[1][1] == head["name"]

        refused = client.get(url, headers=im.contractor)
        assert refused.status_code == 403

    audited = hub_sql(
        fed,
        "SELECT actor, detail->>'via_node', detail->>'format' FROM hub_audit_event "
        "WHERE action = 'national.query' ORDER BY id",
    )
    assert audited == [
        ("node:150000/county", "node:150000", "json"),
        ("node:150000/county", "node:150000", "csv"),
    ]
    stats = json_of(httpx.get(f"{fed.hub.url}/api/v1/public/stats", timeout=30))
    assert stats["totals"]["departments"] == 2
    assert {p["code"] for p in stats["provinces"]} == {IM, SX}
