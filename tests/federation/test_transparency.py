"""The transparency log with real processes: a hub with its Celery sequencer, a node
whose Celery beat witnesses the log, a hub that forks its log, and ``minefed verify``
against a record altered after publication."""

from __future__ import annotations

import os
import subprocess

import httpx
import psycopg
import pytest

from minefed.localfed import PYTHON
from sync.checkpoint import open_checkpoint
from sync.keys import Keyring, VerifyKey
from tests.federation.harness import (
    Federation,
    Proc,
    json_of,
    run_cli,
    seed_province,
    wait_until,
)
from tests.support.postgres import conninfo

pytestmark = pytest.mark.slow

QUICK = {"MINEFED_CENTRAL_LOG_SEQUENCE_INTERVAL_S": "1"}
WITNESS_QUICKLY = {"MINEFED_NODE_WITNESS_INTERVAL_S": "1"}


def sql(url: str, *statements: str) -> list[tuple]:
    """Run statements in one transaction; the rows of the last."""
    rows: list[tuple] = []
    with psycopg.connect(conninfo(url)) as conn:
        for statement in statements:
            cursor = conn.execute(statement)  # type: ignore[arg-type]
            rows = cursor.fetchall() if cursor.description else []
    return rows


def start_hub_worker(fed: Federation) -> Proc:
    """The hub's Celery worker with beat inside (log.sequence every second)."""
    assert fed.hub is not None
    proc = Proc(
        f"hub-worker-{len(fed.procs)}",
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "central.worker",
            "worker",
            "--beat",
            "--schedule",
            str(fed.root / f"hub-beat-{len(fed.procs)}.db"),
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"hub-{fed.suffix}-{len(fed.procs)}@%h",
        ],
        fed.hub.env,
        fed.root,
    )
    fed.procs.append(proc)
    return proc.start()


def checkpoint_text(fed: Federation) -> str:
    assert fed.hub is not None
    response = httpx.get(f"{fed.hub.url}/api/v1/public/log/checkpoint", timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def test_a_node_witnesses_the_log_and_raises_an_alarm_when_the_hub_forks_it(fed: Federation):
    hub = fed.start_hub(env=QUICK)
    start_hub_worker(fed)
    node = fed.start_node("150000", env=WITNESS_QUICKLY)
    province = seed_province(node, "150000")
    with httpx.Client(timeout=30) as client:
        ids = [province.file_department(client) for _ in range(3)]
        for record_id in ids:
            province.approve(client, record_id)

        # The sequencer logs all three; the node verifies and cosigns that checkpoint.
        def cosigned() -> bool:
            rows = sql(node.database_url, "SELECT cosigned_size FROM node_witness_state")
            return rows == [(3,)] and "\u2014 node:150000 " in checkpoint_text(fed)

        wait_until(cosigned, 90, "the node to cosign the checkpoint of size 3")
        keys = json_of(client.get(f"{hub.url}/api/v1/public/keys"))
        keyring = Keyring.from_list(keys["keys"])
        [node_key] = keyring.records_for("node:150000")
        hub_key = VerifyKey.from_b64(keys["hub"]["public_key"])
        text = checkpoint_text(fed)
        origin = text.split("\n", 1)[0]
        checkpoint, signers = open_checkpoint(
            text, {origin: hub_key, "node:150000": node_key.public_key}, origin=origin
        )
        assert (checkpoint.size, signers) == (3, [origin, "node:150000"])
        good_root = sql(node.database_url, "SELECT root FROM node_witness_state")[0][0]

        # The hub's operator rewrites history: another first leaf, the log rebuilt.
        for proc in fed.procs:
            if proc.name.startswith("hub-worker"):
                proc.stop()
        sql(
            hub.database_url,
            "SET session_replication_role = replica",
            "DELETE FROM hub_checkpoint_cosignature",
            "DELETE FROM hub_checkpoint",
            "DELETE FROM hub_log_node",
            "DELETE FROM hub_log_leaf",
            "UPDATE hub_publication SET leaf_hash = sha256(leaf_hash) "
            "WHERE id = (SELECT min(id) FROM hub_publication)",
        )
        out = run_cli(["central", "log-sequence"], hub.env)
        assert "log size 3" in out and "signed checkpoint of size 3" in out
        wait_until(
            lambda: sql(node.database_url, "SELECT count(*) FROM node_witness_alarm") == [(1,)],
            60,
            "the node's fork alarm",
        )
        [(kind, known, seen)] = sql(
            node.database_url, "SELECT kind, known_size, seen_size FROM node_witness_alarm"
        )
        assert (kind, known, seen) == ("fork", 3, 3)
        assert sql(node.database_url, "SELECT root FROM node_witness_state")[0][0] == good_root
        status = json_of(client.get(f"{node.url}/api/v1/sync/status", headers=province.admin))
        assert status["witness"]["fork_alarms"] == 1
        assert "minefed_node_log_fork_alarms 1.0" in client.get(f"{node.url}/metrics").text
        # The node vouches for nothing on the forked log.
        assert "\u2014 node:150000 " not in checkpoint_text(fed)
        logs = "".join(p.log() for p in fed.procs if p.name.startswith("worker-150000"))
        assert "LOG FORK ALARM" in logs


def verify_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "minefed.cli", "verify", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_minefed_verify_holds_for_a_record_and_fails_once_the_hub_alters_it(fed: Federation):
    hub = fed.start_hub()
    node = fed.start_node("150000")
    province = seed_province(node, "150000")
    with httpx.Client(timeout=30) as client:
        ids = [province.file_department(client) for _ in range(2)]
        for record_id in ids:
            province.approve(client, record_id)
    wait_until(
        lambda: sql(hub.database_url, "SELECT count(*) FROM hub_publication") == [(2,)],
        60,
        "both records at the hub",
    )
    run_cli(["central", "log-sequence"], hub.env)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINEFED_")}
    pin = ["--hub-key-fingerprint", fed.hub_fingerprint()]
    done = verify_cli(env, ids[0], "--hub", hub.url, *pin)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RESULT: verified" in done.stdout and "included in the log" in done.stdout

    sql(
        hub.database_url,
        "SET session_replication_role = replica",
        "UPDATE hub_publication SET envelope = jsonb_set(envelope, "
        "'{payload,data,project_name}', '\"篡改后的项目\"') "
        "WHERE id = (SELECT min(id) FROM hub_publication)",  # ids[0], approved first
    )
    done = verify_cli(env, ids[0], "--hub", hub.url, *pin)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "node signature does not verify" in done.stdout
    assert "RESULT: NOT verified" in done.stdout
    # The other record is untouched and still verifies.
    assert verify_cli(env, ids[1], "--hub", hub.url, *pin).returncode == 0
