"""``/api/v1/sync`` for operators (status, quarantine, notices) and ``/metrics``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from node.models import AuditEvent, RelayNotice
from node.sync.service import pull
from schemas.enums import Role
from sync.envelope import seal
from sync.keys import SigningKey
from sync.outbox import record_failure
from sync.tables import QuarantinedMessage
from tests.node.factories import NOW, make_user, token_for
from tests.node.sync.conftest import NODE, OTHER, outbox

STATUS = "/api/v1/sync/status"


@pytest.fixture
def admin(session):
    return token_for(session, make_user(session, Role.PROVINCIAL_ADMIN, "150000"))


@pytest.fixture
def provincial(session):
    return token_for(session, make_user(session, Role.PROVINCIAL_REGULATOR, "150000"))


@pytest.fixture
def county(session):
    return token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))


def test_status_before_enrollment(client, admin):
    body = client.get(STATUS, headers=admin).json()
    assert body["enrollment"] == {
        "enrolled": False,
        "node_id": NODE,
        "key_id": None,
        "hub_url": None,
        "hub_key_id": None,
        "hub_key_fingerprint": None,
        "enrolled_at": None,
        "key_rotated_at": None,
        "keyring_version": None,
    }
    assert body["peers"] == [] and body["inbox"]["cursor"] == 0
    assert body["quarantine"] == {"pending": 0, "applied": 0, "skipped": 0}


def test_status_shows_backlog_backoff_inbox_and_enrollment(
    client, session, enrolled, enrolled_app, province, clock, node_key, hub_key, admin, provincial
):
    for _ in range(2):
        province.approve(session, province.submitted_department().id)
    record_failure(session, "hub", "HTTP 503", NOW, base_s=10, cap_s=10)
    session.flush()
    clock.advance(90)
    response = client.get(STATUS, headers=provincial)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["enrollment"]["enrolled"] is True
    assert body["enrollment"]["key_id"] == node_key.key_id
    assert body["enrollment"]["hub_key_fingerprint"] == hub_key.public().fingerprint
    (peer,) = body["peers"]
    assert peer["peer"] == "hub"
    assert (peer["last_sent_seq"], peer["last_acked_seq"], peer["backlog"]) == (2, 0, 2)
    assert peer["oldest_unsent_age_s"] == 90
    assert peer["failures"] == 1 and peer["last_error"] == "HTTP 503"
    assert peer["backoff_until"] is not None
    assert body["inbox"]["cursor"] == 0 and body["inbox"]["last_pull_at"] is None


@pytest.mark.parametrize("who", ["county", "contractor", "anonymous"])
def test_status_is_for_the_province_only(client, session, province, county, who):
    headers = {
        "county": county,
        "contractor": province.headers(province.contractor_user),
        "anonymous": {},
    }[who]
    response = client.get(STATUS, headers=headers)
    assert response.status_code == (401 if who == "anonymous" else 403)
    assert client.get("/api/v1/sync/quarantine", headers=headers).status_code in (401, 403)


@pytest.fixture
def bad_relay(factory, session, other_node, node_key, other_key, hub, http, sync_settings, clock):
    """A relay from another node whose text the hub altered: quarantined."""
    envelope = seal("relay.notice", OTHER, 1, NODE, {"text": "请核查"}, other_key, NOW).to_dict()
    envelope["payload"]["text"] = "无需核查"
    hub.deliver(envelope)
    pull(factory, http, sync_settings, node_key, clock)
    return session.exec(select(QuarantinedMessage)).one()


def test_quarantine_list_retry_and_skip_are_audited(client, session, admin, provincial, bad_relay):
    listed = client.get("/api/v1/sync/quarantine?status=pending", headers=provincial).json()
    assert listed["total"] == 1
    (item,) = listed["items"]
    assert (item["id"], item["reason_code"], item["kind"]) == (
        bad_relay.id,
        "bad_signature",
        "relay.notice",
    )
    assert item["envelope"]["payload"] == {"text": "无需核查"}

    # Only the provincial administrator resolves.
    refused = client.post(f"/api/v1/sync/quarantine/{bad_relay.id}/retry", headers=provincial)
    assert refused.status_code == 403

    retried = client.post(f"/api/v1/sync/quarantine/{bad_relay.id}/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending"  # still does not verify
    assert session.exec(select(RelayNotice)).all() == []

    skipped = client.post(f"/api/v1/sync/quarantine/{bad_relay.id}/skip", headers=admin)
    assert skipped.status_code == 200
    assert skipped.json()["status"] == "skipped" and skipped.json()["resolved_by"]
    again = client.post(f"/api/v1/sync/quarantine/{bad_relay.id}/skip", headers=admin)
    assert (again.status_code, again.json()["error"]) == (409, "quarantine_resolved")
    missing = client.post("/api/v1/sync/quarantine/999999/retry", headers=admin)
    assert (missing.status_code, missing.json()["error"]) == (404, "quarantine_not_found")

    events = session.exec(
        select(AuditEvent.action, AuditEvent.actor_role, AuditEvent.detail)
        .where(AuditEvent.entity_id == str(bad_relay.id))
        .order_by(AuditEvent.id)
    ).all()
    assert [(a, r) for a, r, _ in events] == [
        ("sync.quarantine_retried", "provincial_admin"),
        ("sync.quarantine_skipped", "provincial_admin"),
    ]
    assert events[0][2]["reason_code"] == "bad_signature"
    assert client.get(STATUS, headers=admin).json()["quarantine"] == {
        "pending": 0,
        "applied": 0,
        "skipped": 1,
    }


def test_a_retry_that_succeeds_applies_the_message(
    client, session, admin, factory, federation, node_key, hub, http, sync_settings, clock
):
    stranger = SigningKey.generate()
    hub.deliver(seal("relay.notice", OTHER, 1, NODE, {"text": "新节点"}, stranger, NOW).to_dict())
    pull(factory, http, sync_settings, node_key, clock)
    row = session.exec(select(QuarantinedMessage)).one()
    assert row.reason_code == "unknown_key"
    hub.directive(
        NODE,
        "keyring",
        {
            "version": 1,
            "keys": [
                {
                    "owner": OTHER,
                    "key_id": stranger.key_id,
                    "public_key": stranger.public().to_b64(),
                    "valid_from": "2026-01-01T00:00:00Z",
                    "valid_to": None,
                    "revoked_at": None,
                }
            ],
        },
    )
    pull(factory, http, sync_settings, node_key, clock)
    body = client.post(f"/api/v1/sync/quarantine/{row.id}/retry", headers=admin).json()
    assert body["status"] == "applied"
    assert [n.payload["text"] for n in session.exec(select(RelayNotice))] == ["新节点"]


def test_an_admin_sends_a_notice_to_another_province(
    client, session, enrolled_app, other_node, admin, provincial, kicks
):
    response = client.post(
        "/api/v1/sync/notices",
        headers=admin,
        json={"to_node": OTHER, "text": "我省某承包单位资质已被吊销"},
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"to_node": OTHER, "kind": "relay.notice", "seq": 1}
    (message,) = outbox(session, OTHER)
    assert message.envelope["sender"] == NODE and message.envelope["recipient"] == OTHER
    assert message.envelope["payload"] == {"text": "我省某承包单位资质已被吊销"}
    assert kicks == ["sync.push"]
    assert (
        client.post(
            "/api/v1/sync/notices", headers=provincial, json={"to_node": OTHER, "text": "x"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"to_node": NODE, "text": "给自己"}, 422, "bad_recipient"),
        ({"to_node": "node:990000", "text": "无此节点"}, 422, "unknown_node"),
        ({"to_node": "hub", "text": "x"}, 422, "invalid_input"),
        ({"to_node": OTHER, "text": ""}, 422, "invalid_input"),
    ],
)
def test_a_bad_notice_is_refused_and_nothing_is_queued(
    client, session, enrolled_app, other_node, admin, body, status, error
):
    response = client.post("/api/v1/sync/notices", headers=admin, json=body)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert outbox(session) == []


def test_no_notice_before_enrollment(client, session, admin):
    response = client.post(
        "/api/v1/sync/notices", headers=admin, json={"to_node": OTHER, "text": "x"}
    )
    assert (response.status_code, response.json()["error"]) == (409, "not_enrolled")


def test_received_notices_are_listed_and_marked_read(client, session, provincial, county):
    session.add(
        RelayNotice(
            sender=OTHER,
            seq=1,
            kind="relay.notice",
            payload={"text": "贵省承包单位在我省发生事故"},
            received_at=NOW,
        )
    )
    session.add(
        RelayNotice(
            sender=OTHER,
            seq=2,
            kind="relay.notice",
            payload={"text": "第二条"},
            received_at=NOW + timedelta(minutes=1),
        )
    )
    session.flush()
    listed = client.get("/api/v1/sync/notices", headers=provincial).json()
    assert [n["text"] for n in listed["items"]] == ["第二条", "贵省承包单位在我省发生事故"]
    first = listed["items"][1]["id"]
    read = client.post(f"/api/v1/sync/notices/{first}/read", headers=provincial).json()
    assert read["read_at"] is not None and read["read_by"].startswith("provincial_regulator")
    unread = client.get("/api/v1/sync/notices?unread=true", headers=provincial).json()
    assert [n["seq"] for n in unread["items"]] == [2]
    assert client.get("/api/v1/sync/notices", headers=county).status_code == 403


def test_metrics(client, session, enrolled, enrolled_app, province, clock):
    province.approve(session, province.submitted_department().id)
    province.submitted_department()  # one waiting for review
    clock.advance(30)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'minefed_node_outbox_backlog{peer="hub"} 1.0' in text
    assert 'minefed_node_outbox_oldest_unsent_age_seconds{peer="hub"} 30.0' in text
    assert 'minefed_node_sync_quarantine{status="pending"} 0.0' in text
    assert 'minefed_node_review_queue{kind="project_department"} 1.0' in text
    assert 'minefed_node_review_queue{kind="accident"} 0.0' in text
