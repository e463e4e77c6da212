"""Pulling the inbox: hub directives verified with the pinned key, relays with the
sender's key, everything applied once and in order, failures quarantined."""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlmodel import select

from node.models import NodeFederation, NodeKeyring, RelayNotice
from node.sync.service import pull, retry
from sync.envelope import seal
from sync.keys import KeyRecord, SigningKey
from sync.tables import QuarantinedMessage, StreamCursor
from tests.node.factories import NOW
from tests.node.sync.conftest import NODE, OTHER


def run(factory, http, sync_settings, node_key, clock):
    return pull(factory, http, sync_settings, node_key, clock)


def key_dict(owner: str, key: SigningKey) -> dict:
    return KeyRecord(owner, key.key_id, key.public(), NOW - timedelta(days=1)).to_dict()


def keyring_rows(session) -> dict[str, str]:
    session.expire_all()
    return {r.key_id: r.owner for r in session.exec(select(NodeKeyring))}


def quarantined(session) -> list[tuple[str, str, str]]:
    session.expire_all()
    return [
        (q.stream, q.kind, q.reason_code)
        for q in session.exec(select(QuarantinedMessage).order_by(QuarantinedMessage.id))
    ]


def relay(sender_key: SigningKey, seq: int, text: str, sender: str = OTHER) -> dict:
    return seal("relay.notice", sender, seq, NODE, {"text": text}, sender_key, NOW).to_dict()


def test_a_keyring_directive_is_applied_once(
    factory, session, federation, node_key, other_key, hub, http, sync_settings, clock
):
    item = hub.directive(
        NODE,
        "keyring",
        {"version": 3, "keys": [key_dict(NODE, node_key), key_dict(OTHER, other_key)]},
    )
    report = run(factory, http, sync_settings, node_key, clock)
    assert (report.applied, report.error, report.last_delivery_seq) == (1, None, 1)
    assert keyring_rows(session) == {node_key.key_id: NODE, other_key.key_id: OTHER}
    session.refresh(federation)
    assert federation.keyring_version == 3 and federation.last_pull_at == NOW

    # The hub delivers the same envelope again (say, after restoring its queue): ignored.
    hub.deliver(copy.deepcopy(item["envelope"]))
    report = run(factory, http, sync_settings, node_key, clock)
    assert (report.applied, report.duplicates) == (0, 1)
    assert quarantined(session) == []

    # An older version signed later does not roll the keyring back.
    hub.directive(NODE, "keyring", {"version": 2, "keys": []})
    report = run(factory, http, sync_settings, node_key, clock)
    assert report.applied == 1
    assert len(keyring_rows(session)) == 2

    # Asking again with the cursor fetches nothing new.
    requests = len(hub.requests)
    assert run(factory, http, sync_settings, node_key, clock).applied == 0
    assert hub.requests[requests].url.params["after"] == "3"
    cursor = session.get(StreamCursor, f"hub>{NODE}#inbox")
    assert cursor.last_seq == 3


def test_a_directive_not_signed_by_the_pinned_hub_key_is_quarantined(
    factory, session, federation, node_key, hub, http, sync_settings, clock
):
    impostor = SigningKey.generate()
    hub.directive(NODE, "keyring", {"version": 5, "keys": []}, key=impostor)
    # Claiming the pinned key's id does not help: the signature does not verify.
    hub.directive(
        NODE, "keyring", {"version": 6, "keys": []}, key=impostor, key_id=federation.hub_key_id
    )
    report = run(factory, http, sync_settings, node_key, clock)
    assert report.applied == 0
    assert quarantined(session) == [
        ("hub>node:150000", "directive.keyring", "unknown_key"),
        ("hub>node:150000", "directive.keyring", "bad_signature"),
    ]
    session.refresh(federation)
    assert federation.keyring_version == 0
    # The inbox moved on: the rejected directives do not block what follows.
    hub.directive(NODE, "keyring", {"version": 7, "keys": []})
    assert run(factory, http, sync_settings, node_key, clock).applied == 1


def test_a_relay_signed_by_a_known_node_is_applied(
    factory, session, other_node, node_key, other_key, hub, http, sync_settings, clock
):
    hub.deliver(relay(other_key, 1, "贵省承包单位在我省发生一般事故"))
    report = run(factory, http, sync_settings, node_key, clock)
    assert report.applied == 1
    (notice,) = session.exec(select(RelayNotice)).all()
    assert (notice.sender, notice.seq, notice.kind) == (OTHER, 1, "relay.notice")
    assert notice.payload == {"text": "贵省承包单位在我省发生一般事故"}
    assert notice.received_at == NOW and notice.read_at is None


def test_a_relay_the_hub_altered_is_quarantined_not_applied(
    factory, session, other_node, node_key, other_key, hub, http, sync_settings, clock
):
    envelope = relay(other_key, 1, "请核查")
    envelope["payload"]["text"] = "无需核查"  # the hub changes the text in transit
    hub.deliver(envelope)
    report = run(factory, http, sync_settings, node_key, clock)
    assert report.applied == 0
    assert quarantined(session) == [(f"{OTHER}>{NODE}", "relay.notice", "bad_signature")]
    assert session.exec(select(RelayNotice)).all() == []
    # The stream moved past it: the sender's next relay is applied.
    hub.deliver(relay(other_key, 2, "第二条"))
    assert run(factory, http, sync_settings, node_key, clock).applied == 1


def test_who_may_send_what(
    factory, session, other_node, node_key, other_key, hub, http, sync_settings, clock
):
    hub.directive(NODE, "notice", {"text": "x"})  # a kind the node has no applier for
    hub.deliver(seal("relay.notice", "hub", 2, NODE, {"text": "x"}, hub.key, NOW).to_dict())
    hub.deliver(
        seal(
            "directive.keyring", OTHER, 1, NODE, {"version": 9, "keys": []}, other_key, NOW
        ).to_dict()
    )
    hub.deliver(relay(other_key, 2, "not for us") | {"recipient": "node:130000"})
    hub.deliver({"v": 1, "kind": "relay.notice"})
    report = run(factory, http, sync_settings, node_key, clock)
    assert report.applied == 0
    assert [code for *_, code in quarantined(session)] == [
        "unknown_kind",
        "kind_not_allowed",
        "kind_not_allowed",
        "wrong_recipient",
        "envelope_malformed",
    ]
    session.refresh(federation := session.get(NodeFederation, 1))
    assert federation.keyring_version == 0


def test_a_gap_is_quarantined_and_reported(
    factory, session, other_node, node_key, other_key, hub, http, sync_settings, clock
):
    hub.deliver(relay(other_key, 1, "一"))
    hub.deliver(relay(other_key, 3, "三"))
    report = run(factory, http, sync_settings, node_key, clock)
    assert report.applied == 1
    assert quarantined(session) == [(f"{OTHER}>{NODE}", "relay.notice", "sequence_gap")]
    (row,) = session.exec(select(QuarantinedMessage)).all()
    assert "expected seq 2, got 3" in row.reason


def test_an_unknown_sender_key_can_be_retried_once_the_keyring_knows_it(
    factory, session, federation, node_key, other_key, hub, http, sync_settings, clock
):
    hub.deliver(relay(other_key, 1, "新节点的通知"))
    run(factory, http, sync_settings, node_key, clock)
    (row,) = session.exec(select(QuarantinedMessage)).all()
    assert row.reason_code == "unknown_key"
    assert retry(session, row.id, "admin", NOW).status == "pending"

    hub.directive(NODE, "keyring", {"version": 1, "keys": [key_dict(OTHER, other_key)]})
    run(factory, http, sync_settings, node_key, clock)
    row = retry(session, row.id, "admin", NOW)
    assert (row.status, row.resolved_by) == ("applied", "admin")
    assert len(session.exec(select(RelayNotice)).all()) == 1


def test_paging_until_the_inbox_is_empty(
    factory, session, other_node, node_key, other_key, hub, http, sync_settings, clock
):
    settings = sync_settings.model_copy(update={"sync_batch_size": 2})
    for seq in range(1, 6):
        hub.deliver(relay(other_key, seq, f"第{seq}条"))
    report = run(factory, http, settings, node_key, clock)
    assert (report.pages, report.applied, report.last_delivery_seq) == (3, 5, 5)


def test_a_failed_pull_is_recorded_for_operators(
    factory, session, federation, node_key, hub, http, sync_settings, clock
):
    hub.failures.append(503)
    report = run(factory, http, sync_settings, node_key, clock)
    assert report.error and "503" in report.error
    session.refresh(federation)
    assert "503" in federation.last_pull_error and federation.last_pull_at == NOW
