"""Accounts across the federation, with real processes: a hub and two provincial nodes
as separate servers with their Celery workers.

The bureau allocates, resets and deletes at the hub; the nodes apply signed
directives exactly once and report back; logins stay at the node; one contractor
account per USCC nationally; nobody forges a directive.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import psycopg
import pytest

from minefed.demo_data import DEMO_PASSWORD
from sync.envelope import seal
from sync.keys import SigningKey
from sync.request_auth import sign_request
from tests.federation.harness import (
    Federation,
    Province,
    json_of,
    run_cli,
    seed_province,
    wait_until,
)
from tests.support.postgres import conninfo

pytestmark = pytest.mark.slow

IM, SX = "150000", "140000"  # Inner Mongolia, Shanxi
BUREAU_PASSWORD = "Capital-Watch-2026"
#: Generous: a loaded two-core machine runs three federations at once.
WAIT_S = 120


def hub_sql(fed: Federation, sql: str, *args: object) -> list[tuple]:
    assert fed.hub is not None
    with psycopg.connect(conninfo(fed.hub.database_url)) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def node_sql(fed: Federation, province: str, sql: str, *args: object) -> list[tuple]:
    with psycopg.connect(conninfo(fed.nodes[province].database_url)) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=30
    )


def first_login(url: str, username: str, code: str, new_password: str) -> dict[str, str]:
    """Log in with an initial or one-time password, which may only be replaced."""
    answer = json_of(login(url, username, code))
    assert answer["must_change_password"] is True
    headers = bearer(answer["access_token"])
    changed = httpx.post(
        f"{url}/api/v1/auth/password",
        headers=headers,
        json={"old_password": code, "new_password": new_password},
        timeout=30,
    )
    assert changed.status_code == 204, changed.text
    return headers


def bureau(fed: Federation, *, cli: bool = False) -> dict[str, str]:
    """The first national administrator, logged in at the hub: made by the CLI as an
    operator would (``cli``), or written straight into the hub's database (quicker)."""
    assert fed.hub is not None
    if cli:
        run_cli(
            [
                "central",
                "create-admin",
                "--username",
                "bureau",
                "--name",
                "应急管理部管理员",
                "--password",
                "Initial-Pass-2026",
            ],
            fed.hub.env,
        )
    else:
        from central.audit.service import Actor
        from central.auth.service import create_user
        from central.db import make_engine, session_factory, transaction
        from sync.clock import SystemClock

        engine = make_engine(fed.hub.database_url, 1, 0)
        try:
            with transaction(session_factory(engine)) as session:
                create_user(
                    session,
                    Actor("test"),
                    username="bureau",
                    display_name="应急管理部管理员",
                    role="national_admin",
                    password="Initial-Pass-2026",
                    now=SystemClock().now(),
                )
        finally:
            engine.dispose()
    return first_login(fed.hub.url, "bureau", "Initial-Pass-2026", BUREAU_PASSWORD)


def hub_account(fed: Federation, bureau_headers: dict[str, str], account_id: str) -> Any:
    assert fed.hub is not None
    return json_of(
        httpx.get(f"{fed.hub.url}/api/v1/accounts/{account_id}", headers=bureau_headers, timeout=30)
    )


def quarantined(fed: Federation, province: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in node_sql(
            fed, province, "SELECT kind, reason_code FROM sync_quarantine ORDER BY id"
        )
    ]


def test_the_life_of_a_province_administrator_account(fed: Federation):
    hub = fed.start_hub()
    im = fed.start_node(IM)
    sx = fed.start_node(SX)
    headers = bureau(fed, cli=True)

    # Allocated at the hub: the one-time code is shown once; only its hash goes down.
    allocated = json_of(
        httpx.post(
            f"{hub.url}/api/v1/accounts",
            headers=headers,
            json={"province_code": IM, "username": "nm-admin", "display_name": "内蒙古应急管理厅"},
            timeout=30,
        )
    )
    code, account_id = allocated["one_time_code"], allocated["account"]["id"]
    wait_until(lambda: login(im.url, "nm-admin", code).status_code == 200, WAIT_S, "the allocation")
    assert login(sx.url, "nm-admin", code).status_code == 401, "only in its own province"
    admin = first_login(im.url, "nm-admin", code, "Steppe-Wind-2026")

    # Used: the province's administrator creates regulators inside the province only.
    with httpx.Client(base_url=im.url, headers=admin, timeout=30) as node:
        county = node.post(
            "/api/v1/accounts",
            json={
                "username": "xinchengqu",
                "display_name": "新城区应急管理局",
                "role": "county_regulator",
                "division_code": "150102",
                "password": "Initial-Pass-2026",
            },
        )
        assert county.status_code == 201, county.text
        elsewhere = node.post(
            "/api/v1/accounts",
            json={
                "username": "taiyuan",
                "display_name": "太原",
                "role": "municipal_regulator",
                "division_code": "140100",
                "password": "Initial-Pass-2026",
            },
        )
        assert (elsewhere.status_code, elsewhere.json()["error"]) == (403, "outside_jurisdiction")

    # The hub hears back: who applied, and the account the node created on its own.
    wait_until(
        lambda: (
            hub_account(fed, headers, account_id)["status"] == "active"
            and not hub_account(fed, headers, account_id)["must_change_password"]
        ),
        WAIT_S,
        "the node's reports at the hub",
    )

    def national_search() -> set[str]:
        found = httpx.get(
            f"{hub.url}/api/v1/accounts?province_code={IM}", headers=headers, timeout=30
        )
        return {a["username"] for a in json_of(found)["items"]}

    wait_until(lambda: national_search() == {"nm-admin", "xinchengqu"}, WAIT_S, "national search")
    applied = hub_sql(
        fed,
        "SELECT actor, detail->>'directive' FROM hub_audit_event "
        "WHERE action = 'account.directive_applied' AND entity_id = %s",
        account_id,
    )
    assert applied == [("node:150000", "directive.account_create")]

    # Reset at the hub: the node revokes every token; the new code forces a new password.
    reset = json_of(
        httpx.post(
            f"{hub.url}/api/v1/accounts/{account_id}/password-reset", headers=headers, timeout=30
        )
    )
    wait_until(
        lambda: httpx.get(f"{im.url}/api/v1/auth/me", headers=admin, timeout=10).status_code == 401,
        WAIT_S,
        "the old token to stop working",
    )
    assert login(im.url, "nm-admin", "Steppe-Wind-2026").status_code == 401
    restricted = json_of(login(im.url, "nm-admin", reset["one_time_code"]))
    blocked = httpx.get(
        f"{im.url}/api/v1/accounts", headers=bearer(restricted["access_token"]), timeout=30
    )
    assert blocked.json()["error"] == "password_change_required"
    admin = first_login(im.url, "nm-admin", reset["one_time_code"], "Steppe-Wind-2027")
    audit = node_sql(
        fed,
        IM,
        "SELECT detail->>'requested_by', detail->>'applied_by' FROM audit_event "
        "WHERE action = 'account.password_reset'",
    )
    assert audit == [("hub:bureau", "node:150000")]
    wait_until(
        lambda: hub_account(fed, headers, account_id)["applied_version"] == 2,
        WAIT_S,
        "reset applied",
    )

    # Deleted: its token stops working and it can never log in again.
    json_of(httpx.delete(f"{hub.url}/api/v1/accounts/{account_id}", headers=headers, timeout=30))
    wait_until(
        lambda: httpx.get(f"{im.url}/api/v1/auth/me", headers=admin, timeout=10).status_code == 401,
        WAIT_S,
        "the deletion",
    )
    assert login(im.url, "nm-admin", "Steppe-Wind-2027").status_code == 401
    wait_until(
        lambda: hub_account(fed, headers, account_id)["status"] == "deleted",
        WAIT_S,
        "deleted at hub",
    )
    assert quarantined(fed, IM) == []


def contractor_body(username: str, uscc: str, county: str) -> dict[str, Any]:
    return {
        "username": username,
        "display_name": f"{username} 矿山工程有限公司",
        "role": "contractor",
        "division_code": county,
        "password": "Initial-Pass-2026",
        "contractor": {"uscc": uscc, "name": f"{username} 矿山工程有限公司"},
    }


def test_a_contractor_has_one_account_nationally_within_the_quota(fed: Federation):
    from schemas.identifiers import make_uscc

    hub = fed.start_hub()
    im_node = fed.start_node(IM)
    sx_node = fed.start_node(SX)
    im, sx = seed_province(im_node, IM), seed_province(sx_node, SX)
    headers = bureau(fed)
    # The seeded province already holds one contractor account: allocate two in all.
    json_of(
        httpx.put(
            f"{hub.url}/api/v1/quotas/{IM}",
            headers=headers,
            json={"contractor_accounts": 2},
            timeout=30,
        )
    )

    def quota() -> Any:
        return json_of(httpx.get(f"{im_node.url}/api/v1/accounts/quota", headers=im.admin))

    wait_until(lambda: quota()["contractor_accounts"] == 2, WAIT_S, "the quota at the node")

    uscc = make_uscc(im.county, "88001234")
    created = httpx.post(
        f"{im_node.url}/api/v1/accounts",
        headers=im.regulator,
        json=contractor_body("hengxin", uscc, im.county),
        timeout=30,
    )
    assert created.status_code == 201, created.text
    assert hub_sql(fed, "SELECT node_id FROM hub_uscc_claim WHERE uscc = %s", uscc) == [
        ("node:150000",)
    ]
    # Used: the contractor logs in at its node.
    first_login(im_node.url, "hengxin", "Initial-Pass-2026", "Ore-Body-2026")

    # Shanxi cannot give the same company a second account.
    refused = httpx.post(
        f"{sx_node.url}/api/v1/accounts",
        headers=sx.regulator,
        json=contractor_body("hengxin-sx", uscc, sx.county),
        timeout=30,
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "uscc_claimed")
    assert node_sql(fed, SX, "SELECT count(*) FROM user_account WHERE username = 'hengxin-sx'") == [
        (0,)
    ]

    # The quota is used up: refused with a clear 409.
    over = httpx.post(
        f"{im_node.url}/api/v1/accounts",
        headers=im.regulator,
        json=contractor_body("third", make_uscc(im.county, "88001235"), im.county),
        timeout=30,
    )
    assert (over.status_code, over.json()["error"]) == (409, "quota_exhausted")

    # A county regulator cannot act in another county, nor an administrator in Shanxi.
    other_county = next(c for c in ("150103", "150104", "150105") if c != im.county)
    outside = httpx.post(
        f"{im_node.url}/api/v1/accounts",
        headers=im.regulator,
        json=contractor_body("next-door", make_uscc(other_county, "88001236"), other_county),
        timeout=30,
    )
    assert (outside.status_code, outside.json()["error"]) == (403, "outside_jurisdiction")

    # The hub stops: logins and reads go on at the node; a contractor account waits.
    assert fed.hub is not None
    fed.hub.proc.stop()
    token = login(im_node.url, "county", DEMO_PASSWORD)
    assert token.status_code == 200, token.text
    regulator = bearer(token.json()["access_token"])
    assert httpx.get(f"{im_node.url}/api/v1/accounts", headers=regulator).status_code == 200
    changed = httpx.post(
        f"{im_node.url}/api/v1/auth/password",
        headers=regulator,
        json={"old_password": DEMO_PASSWORD, "new_password": "Offline-Change-2026"},
    )
    assert changed.status_code == 204, changed.text
    waiting = httpx.post(
        f"{sx_node.url}/api/v1/accounts",
        headers=sx.regulator,
        json=contractor_body("offline-firm", make_uscc(sx.county, "88001237"), sx.county),
        timeout=30,
    )
    assert (waiting.status_code, waiting.json()["error"]) == (503, "hub_unreachable")
    assert node_sql(
        fed, SX, "SELECT count(*) FROM user_account WHERE username = 'offline-firm'"
    ) == [(0,)]
    fed.hub.proc.start()
    fed.hub.wait_ready()
    retried = httpx.post(
        f"{sx_node.url}/api/v1/accounts",
        headers=sx.regulator,
        json=contractor_body("offline-firm", make_uscc(sx.county, "88001237"), sx.county),
        timeout=30,
    )
    assert retried.status_code == 201, retried.text


def test_a_reset_waits_for_an_absent_node_and_forged_directives_are_quarantined(
    fed: Federation,
):
    hub = fed.start_hub()
    im_node = fed.start_node(IM)
    sx_node = fed.start_node(SX)
    sx: Province = seed_province(sx_node, SX)
    headers = bureau(fed)

    # A regulator created at the node: the hub learns of it from the node's report.
    created = json_of(
        httpx.post(
            f"{sx_node.url}/api/v1/accounts",
            headers=sx.admin,
            json={
                "username": "yingze",
                "display_name": "迎泽区应急管理局",
                "role": "county_regulator",
                "division_code": sx.county,
                "password": "Initial-Pass-2026",
            },
            timeout=30,
        )
    )
    account_id = created["id"]
    wait_until(
        lambda: (
            hub_sql(fed, "SELECT count(*) FROM hub_account WHERE id = %s", account_id) == [(1,)]
        ),
        WAIT_S,
        "the report at the hub",
    )
    regulator = first_login(sx_node.url, "yingze", "Initial-Pass-2026", "Fen-River-2026")

    # Shanxi's workers stop (the node cannot reach the hub); the bureau resets meanwhile.
    for proc in sx_node.workers:
        proc.stop()
    reset = json_of(
        httpx.post(
            f"{hub.url}/api/v1/accounts/{account_id}/password-reset", headers=headers, timeout=30
        )
    )
    assert hub_account(fed, headers, account_id)["directive_pending"] is True
    time.sleep(2)  # a sweep interval: nothing pulls, nothing changes
    assert httpx.get(f"{sx_node.url}/api/v1/auth/me", headers=regulator).status_code == 200
    fed.start_workers(SX)
    wait_until(
        lambda: httpx.get(f"{sx_node.url}/api/v1/auth/me", headers=regulator).status_code == 401,
        WAIT_S,
        "the reset applied once the node is back",
    )
    first_login(sx_node.url, "yingze", reset["one_time_code"], "Fen-River-2027")
    wait_until(
        lambda: not hub_account(fed, headers, account_id)["directive_pending"],
        WAIT_S,
        "acknowledged",
    )

    # Forged 1: the hub's queue altered (a compromised hub database): the signature fails.
    for proc in sx_node.workers:
        proc.stop()
    json_of(
        httpx.post(f"{hub.url}/api/v1/accounts/{account_id}/disable", headers=headers, timeout=30)
    )
    altered = hub_sql(
        fed,
        "UPDATE sync_outbox SET envelope = jsonb_set(envelope, '{payload,requested_by}', "
        "'\"someone-else\"') WHERE recipient = 'node:140000' AND kind = "
        "'directive.account_disable' RETURNING id",
    )
    assert len(altered) == 1

    # Forged 2: Inner Mongolia signs a directive for Shanxi and pushes it up: refused at the hub.
    im_key = SigningKey.from_pem((fed.root / f"node-{IM}.pem").read_bytes())
    forged_payload = {
        "account_id": account_id,
        "username": "yingze",
        "version": 99,
        "requested_by": "bureau",
    }
    envelope = seal(
        "directive.account_enable",
        "node:150000",
        1,
        "node:140000",
        forged_payload,
        im_key,
        _now(),
    )
    body = json.dumps({"messages": [{"envelope": envelope.to_dict(), "disclosures": []}]}).encode()
    pushed = httpx.post(
        f"{hub.url}/sync/v1/messages",
        content=body,
        headers={
            "Content-Type": "application/json",
            **sign_request("POST", "/sync/v1/messages", body, "node:150000", im_key, _now()),
        },
        timeout=30,
    )
    assert [q["code"] for q in json_of(pushed)["quarantined"]] == ["schema_invalid"]

    # Forged 3: an envelope claiming to be the hub but signed by a node key, slipped
    # straight into the hub's queue for Shanxi.
    seq = hub_sql(fed, "SELECT next_seq FROM sync_peer WHERE peer = 'node:140000'")[0][0]
    # Next in sequence (the hub numbers a node's directives like its deliveries), so
    # only the signature can give it away.
    fake_hub = seal(
        "directive.account_enable", "hub", seq, "node:140000", forged_payload, im_key, _now()
    )
    hub_sql(
        fed,
        "INSERT INTO sync_outbox (recipient, seq, kind, envelope, disclosures, created_at) "
        "VALUES ('node:140000', %s, 'directive.account_enable', %s, '[]', now()) RETURNING id",
        seq,
        json.dumps(fake_hub.to_dict()),
    )
    hub_sql(
        fed, "UPDATE sync_peer SET next_seq = %s WHERE peer = 'node:140000' RETURNING 1", seq + 1
    )

    fed.start_workers(SX)
    wait_until(lambda: len(quarantined(fed, SX)) == 2, WAIT_S, "both forgeries quarantined")
    assert quarantined(fed, SX) == [
        ("directive.account_disable", "bad_signature"),
        ("directive.account_enable", "key_owner_mismatch"),
    ]
    # Neither took effect: the account is still usable.
    assert (
        httpx.get(
            f"{sx_node.url}/api/v1/auth/me",
            headers=bearer(json_of(login(sx_node.url, "yingze", "Fen-River-2027"))["access_token"]),
        ).status_code
        == 200
    )
    assert im_node.ready()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
