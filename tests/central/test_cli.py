"""``minefed central …`` against a database of its own (the commands commit)."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from central.config import CentralSettings, get_settings
from minefed.cli import main
from sync.keys import SigningKey
from sync.request_auth import sign_request
from tests.central.support import NodeSim
from tests.node import factories
from tests.support import postgres

# What tests/federation/harness.py reads from `enroll-node`.
TOKEN_LINE = re.compile(r"token[^:]*:\s*(\S+)", re.IGNORECASE)


@pytest.fixture(scope="module")
def cli_db_url(pg_server_url: str, worker_id_suffix: str) -> Iterator[str]:
    from central.migrate import upgrade

    name = f"minefed_test_hub_cli_{worker_id_suffix}"
    url = postgres.recreate_database(pg_server_url, name)
    upgrade(url)
    yield url
    postgres.drop_database(pg_server_url, name)


@pytest.fixture
def env(cli_db_url, tmp_path, monkeypatch) -> dict[str, str]:
    values = {
        "MINEFED_CENTRAL_ENVIRONMENT": "test",
        "MINEFED_CENTRAL_DATABASE_URL": cli_db_url,
        "MINEFED_CENTRAL_KEY_FILE": str(tmp_path / "keys" / "hub.pem"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


def run(*args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result.output


def test_keygen_writes_a_private_key_file_and_refuses_to_overwrite(env, tmp_path):
    out = run("central", "keygen")
    key_file = tmp_path / "keys" / "hub.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = SigningKey.from_pem(key_file.read_bytes())
    assert f"hub key fingerprint: {key.public().fingerprint}" in out
    assert "exists" in run("central", "keygen", ok=False)
    assert SigningKey.from_pem(key_file.read_bytes()).key_id == key.key_id
    run("central", "keygen", "--force")
    assert SigningKey.from_pem(key_file.read_bytes()).key_id != key.key_id


def test_enroll_node_then_status_revoke_and_quarantine(env, tmp_path):
    run("central", "migrate")
    assert "keygen" in run(
        "central", "enroll-node", "--node-id", "node:150000", "--jurisdiction", "150000", ok=False
    )
    run("central", "keygen")
    out = run("central", "enroll-node", "--node-id", "node:150000", "--jurisdiction", "150000")
    token = TOKEN_LINE.search(out)
    assert token, out
    hub_key = SigningKey.from_pem((tmp_path / "keys" / "hub.pem").read_bytes())
    assert f"hub key fingerprint: {hub_key.public().fingerprint}" in out
    assert "内蒙古自治区" in out

    # The printed token enrolls the node over HTTP, exactly once.
    from central.app import create_app

    app = create_app(CentralSettings())
    node_key = SigningKey.generate()
    with TestClient(app) as client:
        body = {
            "node_id": "node:150000",
            "token": token.group(1),
            "public_key": node_key.public().to_b64(),
        }
        assert client.post("/sync/v1/enroll", json=body).status_code == 200
        assert client.post("/sync/v1/enroll", json=body).status_code == 410
        from sync.clock import SystemClock

        headers = sign_request(
            "GET", "/sync/v1/inbox?after=0", b"", "node:150000", node_key, SystemClock().now()
        )
        assert client.get("/sync/v1/inbox?after=0", headers=headers).status_code == 200
        # A refused publication, for the quarantine commands below.
        node = NodeSim("node:150000", node_key, SystemClock())
        bad = factories.project_department("150102", expected_end_month="2020-01")
        answer = node.push(client, [node.publish("bad-cli", bad)]).json()
        assert answer["quarantined"][0]["code"] == "schema_invalid"
    app.state.engine.dispose()

    listed = json.loads(run("central", "quarantine", "list", "--json"))
    [item] = listed
    assert (item["record_id"], item["reason_code"]) == ("bad-cli", "schema_invalid")
    assert "bad-cli" in run("central", "quarantine", "list")
    still = run("central", "quarantine", "retry", str(item["id"]), ok=False)
    assert "pending" in still and "schema_invalid" in still
    assert "skipped" in run("central", "quarantine", "skip", str(item["id"]))
    assert "already" in run("central", "quarantine", "skip", str(item["id"]), ok=False)
    done = json.loads(run("central", "quarantine", "list", "--status", "skipped", "--json"))
    assert [(i["id"], i["resolved_by"][:4]) for i in done] == [(item["id"], "cli:")]

    table = run("central", "sync-status")
    assert "node:150000" in table and "active" in table
    status = json.loads(run("central", "sync-status", "--json"))
    [node] = status["nodes"]
    assert node["live_key_ids"] == [node_key.key_id]
    assert node["outbox"]["queued_seq"] == 1

    again = run(
        "central", "enroll-node", "--node-id", "node:150000", "--jurisdiction", "150000", ok=False
    )
    assert "node:150000" in again and "rotate" in again
    assert "jurisdiction" in run(
        "central", "enroll-node", "--node-id", "node:150000", "--jurisdiction", "150100", ok=False
    )

    out = run("central", "revoke-key", node_key.key_id, "--at", "2026-06-15T02:00:00Z")
    assert f"revoked {node_key.key_id} (node:150000) from 2026-06-15T02:00:00Z" in out
    assert json.loads(run("central", "sync-status", "--json"))["nodes"][0]["live_key_ids"] == []
    assert "no key" in run("central", "revoke-key", "ed25519:0000000000000000", ok=False)
    assert "UTC offset" in run(
        "central", "revoke-key", node_key.key_id, "--at", "2026-06-15T02:00:00", ok=False
    )

    assert "no pending quarantined messages" in run("central", "quarantine", "list")
    assert "no quarantined message 42" in run("central", "quarantine", "retry", "42", ok=False)
    assert "no quarantined message 42" in run("central", "quarantine", "skip", "42", ok=False)


def test_create_admin_bootstraps_the_first_national_administrator(env):
    run("central", "migrate")
    weak = run(
        "central",
        "create-admin",
        "--username",
        "bureau",
        "--name",
        "国家局",
        "--password",
        "x",
        ok=False,
    )
    assert "密码不符合要求" in weak
    out = run(
        "central",
        "create-admin",
        "--username",
        "bureau",
        "--name",
        "应急管理部管理员",
        "--password",
        "Initial-Pass-2026",
    )
    assert "created national administrator bureau" in out
    assert "已存在" in run(
        "central",
        "create-admin",
        "--username",
        "bureau",
        "--name",
        "x",
        "--password",
        "Initial-Pass-2026",
        ok=False,
    )
    from central.app import create_app

    app = create_app(CentralSettings())
    with TestClient(app) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": "bureau", "password": "Initial-Pass-2026"}
        ).json()
        assert token["must_change_password"] is True
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        blocked = client.get("/api/v1/accounts", headers=headers)
        assert blocked.json()["error"] == "password_change_required"
        changed = client.post(
            "/api/v1/auth/password",
            headers=headers,
            json={"old_password": "Initial-Pass-2026", "new_password": "Capital-Secret-2026"},
        )
        assert changed.status_code == 204
        assert client.get("/api/v1/accounts", headers=headers).status_code == 200
        me = client.get("/api/v1/auth/me", headers=headers).json()
        assert (me["username"], me["role"]) == ("bureau", "national_admin")
    app.state.engine.dispose()
