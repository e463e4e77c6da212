"""Key rotation (signed by the old key), revocation, and the public key list."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import col, select

from central.audit.service import Actor
from central.keys.service import ROTATION_OVERLAP_S, revoke_key
from central.models import HubAuditEvent, HubNodeKey
from sync.clock import format_rfc3339
from sync.keys import SigningKey, make_rotation_statement
from sync.tables import OutboxMessage
from tests.central.support import ok


def rotate(client, node, new: SigningKey, *, statement=None, key=None):
    statement = statement or make_rotation_statement(
        node.key, new.public(), node.node_id, node.clock.now()
    )
    body = json.dumps({"statement": statement}).encode()
    headers = node.headers("POST", "/sync/v1/keys/rotate", body, key=key)
    return client.post("/sync/v1/keys/rotate", content=body, headers=headers)


def test_rotation_overlaps_then_retires_the_old_key(client, session, inner, shanxi, clock):
    old = inner.key
    signed_before_switch = inner.publish("before")  # still in the node's outbox
    new = SigningKey.generate()
    answer = ok(rotate(client, inner, new))
    switch = clock.now()
    assert answer["key"]["key_id"] == new.key_id
    assert answer["key"]["valid_from"] == format_rfc3339(switch)
    assert answer["retired"]["key_id"] == old.key_id
    assert answer["retired"]["valid_to"] == format_rfc3339(
        switch + timedelta(seconds=ROTATION_OVERLAP_S)
    )

    # In flight: the message signed before the switch verifies when it arrives,
    # even pushed by a request signed with the new key.
    inner.key = new
    clock.advance(120)
    assert ok(inner.push(client, [signed_before_switch]))["applied"] == 1
    assert ok(inner.push(client, [inner.publish("after")]))["applied"] == 1

    # Past valid_to, what the old key signs is refused, request and message alike.
    clock.advance(ROTATION_OVERLAP_S)
    late = inner.publish("late", key=old)
    assert ok(inner.push(client, [late]))["quarantined"][0]["code"] == "key_expired"
    refused = inner.push(client, [], key=old)
    assert (refused.status_code, refused.json()["error"]) == (401, "key_expired")
    # …but what it signed before stays verifiable: both keys are still listed.
    keys = {k["key_id"]: k for k in ok(client.get("/api/v1/public/keys"))["keys"]}
    assert keys[old.key_id]["valid_to"] is not None and new.key_id in keys

    # Every node got the new keyring; the rotation is audited.
    session.expire_all()
    directives = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.recipient) == shanxi.node_id)
    ).all()
    latest = directives[-1].envelope["payload"]["keys"]
    assert new.key_id in {k["key_id"] for k in latest}
    event = session.exec(select(HubAuditEvent).where(HubAuditEvent.action == "key.rotated")).one()
    assert (event.actor, event.entity_id) == (inner.node_id, new.key_id)


def test_a_rotation_must_be_signed_by_the_old_key_for_its_owner(client, session, inner, shanxi):
    old_key_id = inner.key.key_id
    new = SigningKey.generate()
    stranger = SigningKey.generate()
    # Statement signed by a key that is not the node's.
    forged = make_rotation_statement(stranger, new.public(), inner.node_id, inner.clock.now())
    forged["old_key_id"] = inner.key.key_id
    response = rotate(client, inner, new, statement=forged)
    assert (response.status_code, response.json()["error"]) == (422, "bad_signature")
    # Shanxi's valid statement about its own key, submitted by Inner Mongolia.
    theirs = make_rotation_statement(shanxi.key, new.public(), shanxi.node_id, inner.clock.now())
    response = rotate(client, inner, new, statement=theirs)
    assert (response.status_code, response.json()["error"]) == (422, "rotation_invalid")
    # A statement dated far from the hub's clock.
    old_news = make_rotation_statement(
        inner.key, new.public(), inner.node_id, inner.clock.now() - timedelta(hours=1)
    )
    response = rotate(client, inner, new, statement=old_news)
    assert (response.status_code, response.json()["error"]) == (422, "rotation_invalid")
    # A new key already registered (Shanxi's).
    response = rotate(client, inner, shanxi.key)
    assert (response.status_code, response.json()["error"]) == (409, "key_conflict")
    # A key already rotated out (inside its overlap) cannot appoint another successor.
    ok(rotate(client, inner, new))
    again = rotate(client, inner, SigningKey.generate())  # still signed with the old key
    assert (again.status_code, again.json()["error"]) == (422, "rotation_invalid")
    inner.key = new
    # A body that is not a statement.
    body = b'{"nope": 1}'
    headers = inner.headers("POST", "/sync/v1/keys/rotate", body)
    response = client.post("/sync/v1/keys/rotate", content=body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_body")
    session.expire_all()
    registered = session.exec(
        select(HubNodeKey.key_id)
        .where(HubNodeKey.owner == inner.node_id)
        .order_by(col(HubNodeKey.registered_at), col(HubNodeKey.valid_from))
    ).all()
    assert registered == [old_key_id, new.key_id]  # none of the refused ones


def test_revocation_refuses_later_messages_keeps_earlier_ones_and_is_audited(
    client, session, inner, shanxi, clock, hub_key
):
    early = inner.publish("early")
    clock.advance(60)
    revoke_key(
        session,
        inner.key.key_id,
        clock.now(),
        actor=Actor("cli:ops"),
        now=clock.now(),
        hub_id="hub",
        hub_key=hub_key,
    )
    session.commit()
    # Requests are refused from now on…
    response = inner.push(client, [early])
    assert (response.status_code, response.json()["error"]) == (401, "key_revoked")
    # …a later revocation "at" never moves it later.
    revoke_key(
        session,
        inner.key.key_id,
        clock.now() + timedelta(days=1),
        actor=Actor("cli:ops"),
        now=clock.now(),
        hub_id="hub",
        hub_key=hub_key,
    )
    session.commit()
    session.expire_all()
    row = session.get(HubNodeKey, inner.key.key_id)
    assert row.revoked_at == clock.now()
    events = session.exec(select(HubAuditEvent).where(HubAuditEvent.action == "key.revoked")).all()
    assert [e.actor for e in events] == ["cli:ops", "cli:ops"]
    # Every node is told.
    keyrings = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.recipient) == shanxi.node_id)
    ).all()
    revoked = [
        k for k in keyrings[-1].envelope["payload"]["keys"] if k["key_id"] == inner.key.key_id
    ]
    assert revoked[0]["revoked_at"] == format_rfc3339(clock.now())
    # The key is still listed, so what it signed before stays verifiable.
    listed = ok(client.get("/api/v1/public/keys"))
    assert inner.key.key_id in {k["key_id"] for k in listed["keys"]}


def test_the_public_key_list_needs_no_authentication(client, inner, shanxi, hub_key):
    listed = ok(client.get("/api/v1/public/keys"))
    assert listed["hub"] == {
        "owner": "hub",
        "key_id": hub_key.key_id,
        "public_key": hub_key.public().to_b64(),
        "fingerprint": hub_key.public().fingerprint,
    }
    owners = {k["owner"]: k for k in listed["keys"]}
    assert set(owners) == {inner.node_id, shanxi.node_id}
    assert owners[inner.node_id]["public_key"] == inner.key.public().to_b64()
    assert set(owners[inner.node_id]) == {
        "owner",
        "key_id",
        "public_key",
        "valid_from",
        "valid_to",
        "revoked_at",
    }
