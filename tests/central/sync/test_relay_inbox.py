"""Relays between provinces, the inbox (after, limit, ack) and keyring directives."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from sync.envelope import Envelope, verify_envelope
from sync.keys import KeyRecord, Keyring
from sync.tables import PeerState, QuarantinedMessage
from tests.central.support import ok

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def hub_keyring(hub_key) -> Keyring:
    public = hub_key.public()
    return Keyring(
        [KeyRecord(owner="hub", key_id=public.key_id, public_key=public, valid_from=_EPOCH)]
    )


def test_enrollment_sends_every_node_the_keyring(client, session, inner, shanxi, hub_key):
    inbox = ok(inner.pull(client))
    kinds = [m["envelope"]["kind"] for m in inbox["messages"]]
    assert kinds == ["directive.keyring", "directive.keyring"]  # its own, then Shanxi's
    latest = Envelope.from_dict(inbox["messages"][-1]["envelope"])
    verify_envelope(latest, hub_keyring(hub_key), recipient=inner.node_id)
    keyring = Keyring.from_list(latest.payload["keys"])
    assert {r.owner for r in keyring} == {inner.node_id, shanxi.node_id}
    first = inbox["messages"][0]["envelope"]["payload"]
    assert latest.payload["version"] > first["version"]
    shanxi_inbox = ok(shanxi.pull(client))
    assert [m["delivery_seq"] for m in shanxi_inbox["messages"]] == [1]


def test_a_relay_is_queued_unchanged_and_pulled_by_its_recipient(client, session, inner, shanxi):
    relay = inner.message(
        "relay.project_department.review",
        {"record_id": "dept-9", "decision": "approved"},
        recipient=shanxi.node_id,
        disclosures=[{"path": "x", "salt": "AAAAAAAAAAAAAAAAAAAAAA", "value": "v"}],
    )
    answer = ok(inner.push(client, [relay]))
    assert answer["streams"] == {"node:150000>node:140000": 1} and answer["applied"] == 1

    inbox = ok(shanxi.pull(client, after=1))  # after its keyring directive
    assert inbox["last_delivery_seq"] == 2 and inbox["more"] is False
    [delivered] = inbox["messages"]
    assert delivered["delivery_seq"] == 2
    assert delivered["envelope"] == relay["envelope"]  # byte for byte what Inner Mongolia signed
    assert delivered["disclosures"] == relay["disclosures"]
    # The recipient verifies it with the sender's key from the keyring it was sent.
    keyring = Keyring.from_list(ok(client.get("/api/v1/public/keys"))["keys"])
    verify_envelope(Envelope.from_dict(delivered["envelope"]), keyring, recipient=shanxi.node_id)
    # And Inner Mongolia's own inbox has no trace of it.
    assert all(
        m["envelope"]["kind"] == "directive.keyring" for m in ok(inner.pull(client))["messages"]
    )


def test_a_relay_to_a_node_that_is_not_enrolled_is_quarantined(client, session, inner):
    relay = inner.message("relay.notice", {"n": 1}, recipient="node:610000")
    to_hub = inner.message("relay.notice", {"n": 2}, recipient="hub")
    answer = ok(inner.push(client, [relay, to_hub]))
    assert [q["code"] for q in answer["quarantined"]] == ["wrong_recipient", "wrong_recipient"]
    reasons = [r.reason for r in session.exec(select(QuarantinedMessage))]
    assert any("node:610000 is not an enrolled node" in r for r in reasons)


def test_inbox_after_acknowledges_and_limit_pages(client, session, inner, shanxi):
    for n in range(3):
        ok(shanxi.push(client, [shanxi.message("relay.notice", {"n": n}, recipient=inner.node_id)]))
    # Inner Mongolia's queue: 2 keyring directives, then 3 relays.
    page = ok(inner.pull(client, after=0, limit=2))
    assert [m["delivery_seq"] for m in page["messages"]] == [1, 2]
    assert (page["last_delivery_seq"], page["more"]) == (2, True)
    page = ok(inner.pull(client, after=2, limit=2))
    assert [m["delivery_seq"] for m in page["messages"]] == [3, 4]
    session.expire_all()
    assert session.get(PeerState, inner.node_id).acked_seq == 2  # what the node said it applied
    page = ok(inner.pull(client, after=4))
    assert [m["envelope"]["payload"]["n"] for m in page["messages"]] == [2]
    assert (page["last_delivery_seq"], page["more"]) == (5, False)
    empty = ok(inner.pull(client, after=5))
    assert (empty["messages"], empty["last_delivery_seq"], empty["more"]) == ([], 5, False)
    session.expire_all()
    assert session.get(PeerState, inner.node_id).acked_seq == 5
    # An old "after" arriving late never moves the acknowledgement back.
    ok(inner.pull(client, after=1))
    session.expire_all()
    assert session.get(PeerState, inner.node_id).acked_seq == 5


def test_an_inbox_cursor_ahead_of_the_hub_is_a_conflict(client, inner):
    response = inner.pull(client, after=99)
    assert response.status_code == 409 and response.json()["error"] == "inbox_cursor_ahead"


def test_limit_is_clamped_to_max_batch(client, session, inner, shanxi):
    for n in range(25):
        ok(shanxi.push(client, [shanxi.message("relay.notice", {"n": n}, recipient=inner.node_id)]))
    page = ok(inner.pull(client, limit=1000))
    assert len(page["messages"]) == 20 and page["more"] is True  # max_batch = 20 in the tests
