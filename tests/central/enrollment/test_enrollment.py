"""Enrollment with a one-time token: the good path and every refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from central.audit.service import Actor
from central.enrollment.service import issue_token, token_digest
from central.errors import Conflict, InvalidInput
from central.keys.service import revoke_key
from central.models import HubAuditEvent, HubEnrollmentToken, HubNode, HubNodeKey
from sync.clock import format_rfc3339
from sync.keys import SigningKey
from tests.central.support import NodeSim, ok


@pytest.fixture
def node(clock) -> NodeSim:
    return NodeSim("node:150000", SigningKey.generate(), clock)


def enroll(client, node: NodeSim, token: str, node_id: str | None = None, key: str | None = None):
    return client.post(
        "/sync/v1/enroll",
        json={
            "node_id": node_id or node.node_id,
            "token": token,
            "public_key": key or node.key.public().to_b64(),
        },
    )


def nothing_stored(session) -> bool:
    session.expire_all()
    return (
        session.exec(select(HubNode)).all() == [] and session.exec(select(HubNodeKey)).all() == []
    )


def test_enrollment_registers_the_key_and_answers_the_hub_key(
    client, session, node, clock, hub_key
):
    token = node.token(session)
    stored = session.exec(select(HubEnrollmentToken)).one()
    assert stored.token_sha256 == token_digest(token) and token not in stored.token_sha256
    assert stored.expires_at == clock.now() + timedelta(hours=24)

    answer = ok(enroll(client, node, token))
    assert answer["hub_public_key"] == hub_key.public().to_b64()
    assert answer["hub_key_id"] == hub_key.key_id
    assert answer["hub_key_fingerprint"] == hub_key.public().fingerprint
    [record] = answer["keyring"]
    assert (record["owner"], record["key_id"]) == (node.node_id, node.key.key_id)
    # Valid from a window before now: a node whose clock is behind is not refused.
    assert record["valid_from"] == format_rfc3339(clock.now() - timedelta(minutes=5))

    session.expire_all()
    registered = session.get(HubNode, node.node_id)
    assert (registered.jurisdiction, registered.display_name, registered.status) == (
        "150000",
        "内蒙古自治区",
        "active",
    )
    assert session.get(HubEnrollmentToken, token_digest(token)).used_at == clock.now()
    actions = [e.action for e in session.exec(select(HubAuditEvent))]
    assert actions == ["node.enrollment_token_issued", "node.enrolled"]
    ok(node.pull(client))  # and it can sign requests straight away


def test_a_used_token_is_gone(client, session, node):
    token = node.token(session)
    ok(enroll(client, node, token))
    again = enroll(client, NodeSim(node.node_id, SigningKey.generate(), node.clock), token)
    assert (again.status_code, again.json()["error"]) == (410, "enrollment_token_used")


def test_an_expired_token_is_gone(client, session, node, clock):
    token = node.token(session, ttl_s=3600)
    clock.advance(3600)
    response = enroll(client, node, token)
    assert (response.status_code, response.json()["error"]) == (410, "enrollment_token_expired")
    assert nothing_stored(session)


def test_a_wrong_token_or_another_nodes_token_is_refused(client, session, node, clock):
    token = node.token(session)
    response = enroll(client, node, token + "x")
    assert (response.status_code, response.json()["error"]) == (401, "enrollment_token_invalid")
    shanxi = NodeSim("node:140000", SigningKey.generate(), clock)
    response = enroll(client, shanxi, token)  # Inner Mongolia's token presented for Shanxi
    assert (response.status_code, response.json()["error"]) == (401, "enrollment_token_invalid")
    assert nothing_stored(session)
    ok(enroll(client, node, token))  # refusals did not spend it


def test_a_malformed_public_key_is_refused(client, session, node):
    token = node.token(session)
    response = enroll(client, node, token, key="not-a-key")
    body = response.json()
    assert (response.status_code, body["error"], body["field"]) == (
        422,
        "invalid_public_key",
        "public_key",
    )
    assert nothing_stored(session)


def test_a_node_with_a_live_key_is_not_enrolled_again(client, session, node, clock, hub_key):
    ok(enroll(client, node, node.token(session)))
    with pytest.raises(Conflict) as refused:
        node.token(session)
    assert refused.value.code == "node_already_enrolled"
    # After the bureau revokes the lost key, the node can be enrolled afresh.
    revoke_key(
        session,
        node.key.key_id,
        clock.now(),
        actor=Actor("cli:ops"),
        now=clock.now(),
        hub_id="hub",
        hub_key=hub_key,
    )
    session.commit()
    fresh = NodeSim(node.node_id, SigningKey.generate(), clock)
    answer = ok(enroll(client, fresh, fresh.token(session)))
    assert {k["key_id"] for k in answer["keyring"]} == {node.key.key_id, fresh.key.key_id}
    ok(fresh.pull(client))


def test_a_new_token_replaces_an_unused_one(session, node):
    first = node.token(session)
    second = node.token(session)
    session.expire_all()
    assert session.get(HubEnrollmentToken, token_digest(first)) is None
    assert session.get(HubEnrollmentToken, token_digest(second)) is not None


@pytest.mark.parametrize(
    ("node_id", "jurisdiction", "code"),
    [
        ("node:150000", "150100", "invalid_jurisdiction"),  # a city, not a province
        ("node:150000", "140000", "node_id_mismatch"),
        ("inner-mongolia", "150000", "invalid_node_id"),
        ("node:990000", "990000", "invalid_jurisdiction"),
    ],
)
def test_a_token_is_issued_only_for_a_province_node(session, clock, node_id, jurisdiction, code):
    with pytest.raises(InvalidInput) as refused:
        issue_token(
            session,
            node_id=node_id,
            jurisdiction=jurisdiction,
            display_name=None,
            actor=Actor("cli:test"),
            now=clock.now(),
            ttl_s=60,
        )
    assert refused.value.code == code


def test_the_enroll_body_is_validated(client):
    response = client.post("/sync/v1/enroll", json={"node_id": "node:150000"})
    assert response.status_code == 422 and response.json()["error"] == "invalid_input"
