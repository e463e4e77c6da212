"""Operator APIs: hub accounts (staff read, administrators act), sync status, the
quarantine, metrics."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from central.models import HubAuditEvent, HubPublication, HubRecord
from sync.keys import SigningKey, make_rotation_statement
from tests.central.support import ADMIN, NodeSim, hub_token_for, make_hub_user, ok
from tests.node import factories

OPERATOR_PATHS = [
    ("GET", "/api/v1/sync/status"),
    ("GET", "/api/v1/sync/quarantine"),
    ("POST", "/api/v1/sync/quarantine/1/retry"),
    ("POST", "/api/v1/sync/quarantine/1/skip"),
]


@pytest.mark.parametrize(("method", "path"), OPERATOR_PATHS)
def test_the_operator_apis_need_a_hub_account(client, session, method, path, staff_headers):
    missing = client.request(method, path)
    assert (missing.status_code, missing.json()["error"]) == (401, "not_authenticated")
    wrong = client.request(method, path, headers={"Authorization": "Bearer " + "y" * 43})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_token")
    as_staff = client.request(method, path, headers=staff_headers)
    if method == "GET":
        assert as_staff.status_code == 200, as_staff.text
    else:  # staff read; only administrators act
        assert (as_staff.status_code, as_staff.json()["error"]) == (403, "role_not_allowed")
    fresh = make_hub_user(session, "national_admin", must_change_password=True)
    pending = client.request(method, path, headers=hub_token_for(session, fresh))
    assert (pending.status_code, pending.json()["error"]) == (403, "password_change_required")


def quarantine_one(client, node, record_id: str = "bad-1") -> dict:
    """A publication refused because its form is invalid: a realistic quarantine entry."""
    data = factories.project_department("150102", expected_end_month="2020-01")
    answer = ok(node.push(client, [node.publish(record_id, data)]))
    assert answer["quarantined"][0]["code"] == "schema_invalid"
    return answer


def test_status_shows_each_node_its_streams_queue_and_quarantine(
    client, session, inner, shanxi, clock, admin_headers
):
    ok(inner.push(client, [inner.publish("r1"), inner.publish("r2")]))
    quarantine_one(client, inner, "bad-1")
    ok(inner.push(client, [inner.message("relay.notice", {"n": 1}, recipient=shanxi.node_id)]))
    clock.advance(90)
    ok(shanxi.pull(client, after=1))  # applied its first directive

    status = ok(client.get("/api/v1/sync/status", headers=admin_headers))
    assert status["at"].startswith("2026-06-15T02:01:30")
    nodes = {n["node_id"]: n for n in status["nodes"]}
    im, sx = nodes["node:150000"], nodes["node:140000"]
    assert im["jurisdiction"] == "150000" and im["display_name"] == "内蒙古自治区"
    assert im["incoming"] == {"node:150000>hub": 3, "node:150000>node:140000": 1}
    assert im["quarantine"] == {"pending": 1, "applied": 0, "skipped": 0}
    assert im["live_key_ids"] == [inner.key.key_id]
    assert im["last_contact_at"].startswith("2026-06-15T02:00:00")
    # Inner Mongolia never pulled: both keyring directives wait, 90 s old.
    assert im["outbox"] == {
        "queued_seq": 2,
        "acked_seq": 0,
        "backlog": 2,
        "oldest_unacked_at": im["outbox"]["oldest_unacked_at"],
        "oldest_unacked_age_s": 90,
    }
    # Shanxi: its keyring directive (1, applied) and the relay (2, not yet applied).
    assert (sx["outbox"]["queued_seq"], sx["outbox"]["acked_seq"], sx["outbox"]["backlog"]) == (
        2,
        1,
        1,
    )
    assert sx["last_contact_at"].startswith("2026-06-15T02:01:30")


def test_quarantine_is_listed_retried_and_skipped_with_audit(client, session, inner, admin_headers):
    quarantine_one(client, inner, "bad-1")
    quarantine_one(client, inner, "bad-2")
    listed = ok(client.get("/api/v1/sync/quarantine", headers=admin_headers))["items"]
    assert [(i["record_id"], i["reason_code"], i["status"]) for i in listed] == [
        ("bad-1", "schema_invalid", "pending"),
        ("bad-2", "schema_invalid", "pending"),
    ]
    assert "disclosures" not in str(listed) and "resident_id" not in str(listed)
    first, second = listed[0]["id"], listed[1]["id"]

    # Retrying without fixing the cause: still pending, audited.
    retried = ok(client.post(f"/api/v1/sync/quarantine/{first}/retry", headers=admin_headers))
    assert (retried["status"], retried["reason_code"]) == ("pending", "schema_invalid")
    skipped = ok(client.post(f"/api/v1/sync/quarantine/{second}/skip", headers=admin_headers))
    assert (skipped["status"], skipped["resolved_by"]) == ("skipped", ADMIN)
    again = client.post(f"/api/v1/sync/quarantine/{second}/skip", headers=admin_headers)
    assert (again.status_code, again.json()["error"]) == (409, "quarantine_resolved")
    missing = client.post("/api/v1/sync/quarantine/999999/retry", headers=admin_headers)
    assert missing.status_code == 404

    pending = ok(client.get("/api/v1/sync/quarantine?status=pending", headers=admin_headers))
    assert [i["id"] for i in pending["items"]] == [first]
    done = ok(client.get("/api/v1/sync/quarantine?status=skipped", headers=admin_headers))
    assert [i["id"] for i in done["items"]] == [second]
    bad = client.get("/api/v1/sync/quarantine?status=nope", headers=admin_headers)
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_status")

    session.expire_all()
    events = session.exec(select(HubAuditEvent).where(HubAuditEvent.entity_kind == "quarantine"))
    assert [(e.action, e.actor, e.client_address, e.detail["status"]) for e in events] == [
        ("sync.quarantine.retried", ADMIN, "10.9.8.7", "pending"),
        ("sync.quarantine.skipped", ADMIN, "10.9.8.7", "skipped"),
    ]


def test_a_retry_applies_once_the_cause_is_fixed(client, session, inner, shanxi, admin_headers):
    # Shanxi relays to a node that is not enrolled yet: quarantined (wrong_recipient).
    relay = shanxi.message("relay.notice", {"n": 1}, recipient="node:610000")
    assert ok(shanxi.push(client, [relay]))["quarantined"][0]["code"] == "wrong_recipient"
    [item] = ok(client.get("/api/v1/sync/quarantine", headers=admin_headers))["items"]
    # Shaanxi enrolls; the operator retries; the relay is delivered.
    shaanxi = NodeSim("node:610000", SigningKey.generate(), inner.clock)
    shaanxi.enroll(client, session)
    retried = ok(client.post(f"/api/v1/sync/quarantine/{item['id']}/retry", headers=admin_headers))
    assert (retried["status"], retried["resolved_by"]) == ("applied", ADMIN)
    delivered = ok(shaanxi.pull(client))["messages"]
    assert delivered[-1]["envelope"] == relay["envelope"]


def test_a_retried_old_version_is_logged_but_does_not_regress_the_projection(
    client, session, inner, admin_headers
):
    # Version 1 arrives signed with a key the hub does not know yet (the node switched
    # before its rotation was registered): quarantined. Version 2, with the old key, applies.
    successor = SigningKey.generate()
    v1 = inner.publish("dept-v", version_no=1, key=successor)
    assert ok(inner.push(client, [v1]))["quarantined"][0]["code"] == "unknown_key"
    ok(inner.push(client, [inner.publish("dept-v", version_no=2)]))
    # The rotation is registered; the operator retries version 1.
    statement = make_rotation_statement(
        inner.key, successor.public(), inner.node_id, inner.clock.now()
    )
    body = json.dumps({"statement": statement}).encode()
    headers = inner.headers("POST", "/sync/v1/keys/rotate", body)
    ok(client.post("/sync/v1/keys/rotate", content=body, headers=headers))
    [item] = ok(client.get("/api/v1/sync/quarantine", headers=admin_headers))["items"]
    retried = ok(client.post(f"/api/v1/sync/quarantine/{item['id']}/retry", headers=admin_headers))
    assert retried["status"] == "applied"
    session.expire_all()
    assert session.get(HubRecord, "dept-v").version_no == 2
    logged = session.exec(
        select(HubPublication.version_no)
        .where(HubPublication.record_id == "dept-v")
        .order_by(col(HubPublication.id))
    ).all()
    assert logged == [2, 1]


def test_metrics_count_from_the_tables(client, session, inner, shanxi, clock):
    ok(inner.push(client, [inner.publish("r1"), inner.publish("r2"), inner.tombstone("r2")]))
    quarantine_one(client, inner, "bad-1")
    ok(inner.push(client, [inner.message("relay.notice", {"n": 1}, recipient=shanxi.node_id)]))
    clock.advance(30)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    expected = [
        'minefed_hub_nodes{status="active"} 2.0',
        'minefed_hub_messages_applied_total{kind="record.publish",node="node:150000"} 2.0',
        'minefed_hub_messages_applied_total{kind="record.tombstone",node="node:150000"} 1.0',
        'minefed_hub_messages_applied_total{kind="relay.notice",node="node:150000"} 1.0',
        'minefed_hub_messages_quarantined_total{kind="record.publish",node="node:150000"} 1.0',
        'minefed_hub_quarantine_pending{node="node:150000"} 1.0',
        'minefed_hub_quarantine_pending{node="node:140000"} 0.0',
        'minefed_hub_outbox_backlog{node="node:140000"} 2.0',
        'minefed_hub_outbox_backlog{node="node:150000"} 2.0',
        'minefed_hub_outbox_oldest_unacked_age_seconds{node="node:150000"} 30.0',
        'minefed_hub_node_last_contact_age_seconds{node="node:150000"} 30.0',
    ]
    missing = [line for line in expected if line not in text]
    assert missing == [], text
