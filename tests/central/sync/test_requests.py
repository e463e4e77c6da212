"""Signed requests: who may push and pull, replays, clocks, revoked keys, suspension."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from central.models import HubNode, NodeStatus
from sync.keys import SigningKey
from sync.tables import SeenNonce
from tests.central.support import NodeSim, ok


def refused(response, status: int = 401) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["detail"]
    return str(body["error"])


def test_a_replayed_request_is_refused(client, session, inner):
    first = inner.push(client, [inner.publish("r1")], nonce="AAAAAAAAAAAAAAAAAAAAAA")
    assert first.status_code == 200
    replay = inner.push(client, [inner.publish("r2")], nonce="AAAAAAAAAAAAAAAAAAAAAA")
    assert refused(replay) == "replayed_nonce"
    # Exactly the same bytes again are refused too.
    body = json.dumps({"messages": []}).encode()
    headers = inner.headers("POST", "/sync/v1/messages", body)
    assert client.post("/sync/v1/messages", content=body, headers=headers).status_code == 200
    again = client.post("/sync/v1/messages", content=body, headers=headers)
    assert refused(again) == "replayed_nonce"


@pytest.mark.parametrize("minutes", [6, -6])
def test_a_request_six_minutes_off_the_hubs_clock_is_refused(client, inner, minutes):
    at = inner.clock.now() + timedelta(minutes=minutes)
    assert refused(inner.push(client, [], at=at)) == "stale_request"
    assert refused(inner.pull(client, at=at)) == "stale_request"


def test_within_the_window_is_accepted(client, inner):
    ok(inner.push(client, [], at=inner.clock.now() - timedelta(minutes=4, seconds=59)))


def test_a_bad_request_signature_or_body_is_refused(client, inner, shanxi):
    body = json.dumps({"messages": []}).encode()
    headers = inner.headers("POST", "/sync/v1/messages", body)
    other = client.post(
        "/sync/v1/messages", content=json.dumps({"messages": [1]}).encode(), headers=headers
    )
    assert refused(other) == "body_digest_mismatch"
    # Signed for another path (the inbox) and replayed at /messages.
    inbox_headers = inner.headers("GET", "/sync/v1/inbox?after=0")
    assert refused(client.get("/sync/v1/inbox?after=5", headers=inbox_headers)) == "bad_signature"
    # Signed by Shanxi's key while claiming to be Inner Mongolia.
    forged = inner.headers("POST", "/sync/v1/messages", body, key=shanxi.key)
    assert refused(client.post("/sync/v1/messages", content=body, headers=forged)) == (
        "key_owner_mismatch"
    )
    assert refused(client.post("/sync/v1/messages", content=body)) == "request_malformed"


def test_a_node_that_is_not_enrolled_is_refused(client, clock):
    stranger = NodeSim("node:610000", SigningKey.generate(), clock)
    assert refused(stranger.push(client, [])) == "unknown_key"
    assert refused(stranger.pull(client)) == "unknown_key"


def test_a_revoked_key_signs_nothing_after_revocation(client, session, inner, clock, hub_key):
    from central.audit.service import Actor
    from central.keys.service import revoke_key

    before = inner.publish("before-revocation")  # issued before the revocation
    revoke_key(
        session,
        inner.key.key_id,
        clock.now(),
        actor=Actor("cli:test"),
        now=clock.now(),
        hub_id="hub",
        hub_key=hub_key,
    )
    session.commit()
    assert refused(inner.push(client, [before])) == "key_revoked"
    assert refused(inner.pull(client)) == "key_revoked"


def test_nonces_are_stored_then_pruned(client, session, inner, clock):
    ok(inner.push(client, []))
    session.expire_all()
    assert len(session.exec(select(SeenNonce)).all()) == 1
    clock.advance(301)
    ok(inner.pull(client))  # a pull prunes what can no longer be replayed
    session.expire_all()
    assert len(session.exec(select(SeenNonce)).all()) == 1  # only the pull's own


def test_a_suspended_node_is_refused_and_its_contact_time_kept(client, session, inner, clock):
    ok(inner.pull(client))
    node = session.get(HubNode, inner.node_id)
    assert node.last_contact_at == clock.now()
    node.status = NodeStatus.SUSPENDED
    session.add(node)
    session.commit()
    assert refused(inner.push(client, []), 403) == "node_suspended"


def test_without_a_hub_key_the_sync_api_is_unavailable(client, app, inner):
    app.state.signing_key = None
    assert refused(inner.push(client, []), 503) == "hub_key_missing"
