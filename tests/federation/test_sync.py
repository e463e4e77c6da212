"""The federation's promise, with real processes: a hub and provincial nodes as
separate servers, real Celery workers, real PostgreSQL. Nothing lost, nothing
applied twice, nothing forged."""

from __future__ import annotations

import os
import signal
import time

import httpx
import psycopg
import pytest

from tests.federation.harness import Federation, json_of, seed_province, wait_until
from tests.support.postgres import conninfo

pytestmark = pytest.mark.slow

# "The hub is stopped for a minute": the outage the promise is tested against.
OUTAGE_S = float(os.environ.get("MINEFED_TEST_OUTAGE_S", "60"))


def hub_sql(fed: Federation, sql: str, *args: object) -> list[tuple]:
    assert fed.hub is not None
    with psycopg.connect(conninfo(fed.hub.database_url)) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def node_sql(fed: Federation, province: str, sql: str, *args: object) -> list[tuple]:
    with psycopg.connect(conninfo(fed.nodes[province].database_url)) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def published(fed: Federation) -> list[tuple[str, int]]:
    """(record_id, envelope seq) of every record.publish the hub accepted, in arrival order."""
    rows = hub_sql(
        fed,
        "SELECT record_id::text, (envelope->>'seq')::int FROM hub_publication "
        "WHERE kind = 'record.publish' ORDER BY id",
    )
    return [(r[0], r[1]) for r in rows]


def test_hub_down_for_a_minute_then_every_record_arrives_once_in_order(fed: Federation):
    fed.start_hub()
    node = fed.start_node("150000")
    province = seed_province(node, "150000")
    with httpx.Client(timeout=30) as client:
        ids = [province.file_department(client) for _ in range(12)]
        for record_id in ids[:4]:
            province.approve(client, record_id)
        wait_until(lambda: len(published(fed)) == 4, 60, "the first four at the hub")

        assert fed.hub is not None
        fed.hub.proc.stop()
        for record_id in ids[4:]:
            province.approve(client, record_id)  # the province keeps working
        time.sleep(OUTAGE_S)
        status = json_of(client.get(f"{node.url}/api/v1/sync/status", headers=province.admin))
        assert "hub" in str(status)

        fed.hub.proc.start()
        fed.hub.wait_ready()
        wait_until(lambda: len(published(fed)) >= 12, 90, "every record at the hub")
        time.sleep(2)  # anything applied twice would show up now

    rows = published(fed)
    assert [r[0] for r in rows] == ids, "each record exactly once, in approval order"
    assert [r[1] for r in rows] == list(range(1, 13)), "sequence numbers without gaps or repeats"
    projected = hub_sql(fed, "SELECT count(*) FROM hub_record WHERE deleted_at IS NULL")
    assert projected == [(12,)]
    assert node_sql(fed, "150000", "SELECT count(*) FROM sync_quarantine") == [(0,)]
    assert hub_sql(fed, "SELECT count(*) FROM sync_quarantine") == [(0,)]


def test_a_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(fed: Federation):
    fed.start_hub()
    node = fed.start_node("150000", workers=False)
    node.env["MINEFED_NODE_SYNC_BATCH_SIZE"] = "10"
    province = seed_province(node, "150000")
    total = 120
    with httpx.Client(timeout=30) as client:
        ids = [province.file_department(client) for _ in range(total)]
        for record_id in ids:
            province.approve(client, record_id)
    assert node_sql(fed, "150000", "SELECT count(*) FROM sync_outbox") == [(total,)]

    worker = fed.worker_proc("150000").start()
    # The sweep kicks a push; kill the worker once some, not all, have arrived.
    beat = fed.beat_proc("150000").start()
    wait_until(
        lambda: 0 < len(published(fed)) < total, 60, "a partly delivered backlog", interval_s=0.02
    )
    worker.signal(signal.SIGKILL)
    worker.popen.wait(10)  # type: ignore[union-attr]
    partial = len(published(fed))

    fed.worker_proc("150000", "worker2").start()
    wait_until(lambda: len(published(fed)) >= total, 120, "the whole backlog at the hub")
    time.sleep(2)
    beat.stop()
    rows = published(fed)
    assert [r[0] for r in rows] == ids
    assert [r[1] for r in rows] == list(range(1, total + 1))
    assert 0 < partial < total


def test_relays_cross_provinces_and_a_hub_that_alters_one_is_caught(fed: Federation):
    fed.start_hub()
    inner_mongolia = fed.start_node("150000")
    shanxi = fed.start_node("140000")
    sender = seed_province(inner_mongolia, "150000")
    receiver = seed_province(shanxi, "140000")
    wait_until(
        lambda: (
            node_sql(
                fed, "150000", "SELECT count(*) FROM node_keyring WHERE owner = 'node:140000'"
            )[0][0]
            == 1
        ),
        60,
        "Inner Mongolia to learn Shanxi's key from the hub",
    )
    with httpx.Client(timeout=30) as client:
        sent = client.post(
            f"{inner_mongolia.url}/api/v1/sync/notices",
            headers=sender.admin,
            json={"to_node": "node:140000", "text": "贵省承包单位在我区发生一般事故"},
        )
        assert sent.status_code in (200, 201, 202), sent.text

        def received() -> list:
            page = json_of(client.get(f"{shanxi.url}/api/v1/sync/notices", headers=receiver.admin))
            return page["items"] if isinstance(page, dict) else page

        wait_until(lambda: len(received()) == 1, 60, "the notice in Shanxi")
        assert "一般事故" in str(received()[0])

        # Stop Shanxi's workers, let a second notice reach the hub, alter it there.
        for proc in shanxi.workers:
            proc.stop()
        client.post(
            f"{inner_mongolia.url}/api/v1/sync/notices",
            headers=sender.admin,
            json={"to_node": "node:140000", "text": "原文"},
        )
        wait_until(
            lambda: (
                hub_sql(
                    fed,
                    "SELECT count(*) FROM sync_outbox WHERE recipient = "
                    "'node:140000' AND kind LIKE 'relay.%%'",
                )[0][0]
                == 2
            ),
            60,
            "the second notice queued at the hub",
        )
        hub_sql(
            fed,
            "UPDATE sync_outbox SET envelope = jsonb_set(envelope, '{payload,text}', "
            "'\"篡改\"') WHERE recipient = 'node:140000' AND kind LIKE 'relay.%%' "
            "AND envelope->'payload'->>'text' = '原文' RETURNING id",
        )
        fed.start_workers("140000")
        wait_until(
            lambda: node_sql(fed, "140000", "SELECT count(*) FROM sync_quarantine")[0][0] == 1,
            60,
            "the altered relay quarantined in Shanxi",
        )
        assert len(received()) == 1, "the altered notice must not be applied"
        code = node_sql(fed, "140000", "SELECT reason_code FROM sync_quarantine")[0][0]
        assert code == "bad_signature"
        status = json_of(client.get(f"{shanxi.url}/api/v1/sync/status", headers=receiver.admin))
        assert "bad_signature" in str(status) or "quarantin" in str(status)


def test_a_key_rotated_while_records_flow_loses_nothing(fed: Federation):
    fed.start_hub()
    node = fed.start_node("150000")
    province = seed_province(node, "150000")
    from tests.federation.harness import run_cli

    with httpx.Client(timeout=30) as client:
        ids = [province.file_department(client) for _ in range(16)]
        for record_id in ids[:8]:
            province.approve(client, record_id)
        run_cli(["node", "rotate-key"], node.env)
        for record_id in ids[8:]:
            province.approve(client, record_id)
        wait_until(lambda: len(published(fed)) >= 16, 90, "every record at the hub")
    rows = published(fed)
    assert [r[0] for r in rows] == ids
    keys = {r[0] for r in hub_sql(fed, "SELECT envelope->>'key_id' FROM hub_publication")}
    assert len(keys) == 2, "records before and after the rotation, each under its key"
    assert hub_sql(fed, "SELECT count(*) FROM sync_quarantine") == [(0,)]
    registry = hub_sql(
        fed,
        "SELECT key_id, valid_to IS NOT NULL FROM hub_node_key "
        "WHERE owner = 'node:150000' ORDER BY valid_from",
    )
    assert [retired for _, retired in registry] == [True, False]
