"""The public log API and witness cosignatures, over HTTP, with real pushes."""

from __future__ import annotations

import json

from sqlmodel import Session

from central.transparency import service
from sync.b64 import b64std_decode
from sync.checkpoint import add_cosignature, open_checkpoint
from sync.envelope import Envelope
from sync.keys import SigningKey
from sync.merkle import leaf_hash, verify_consistency, verify_inclusion
from tests.central.support import NOW, ok

ORIGIN = "minefed.hub/log"  # the default origin of hub_id "hub"


def sequence(session: Session, key: SigningKey) -> service.Sequenced:
    done = service.sequence(session, key=key, origin=ORIGIN, now=NOW)
    session.commit()
    return done


def opened(client, hub_key: SigningKey, **verifiers):
    response = client.get("/api/v1/public/log/checkpoint")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return open_checkpoint(response.text, {ORIGIN: hub_key.public(), **verifiers}, origin=ORIGIN)


def test_before_the_first_sequencer_run_the_checkpoint_is_a_503(client):
    response = client.get("/api/v1/public/log/checkpoint")
    assert response.status_code == 503
    assert response.json()["error"] == "log_not_ready"


def test_every_publication_and_tombstone_is_provably_in_the_signed_log(
    client, session, inner, hub_key
):
    ok(inner.push(client, [inner.publish("dept-1"), inner.publish("dept-2")]))
    ok(inner.push(client, [inner.publish("dept-1", version_no=2), inner.tombstone("dept-2")]))
    assert sequence(session, hub_key).size == 4
    checkpoint, signers = opened(client, hub_key)
    assert (checkpoint.size, signers) == (4, [ORIGIN])

    dept1 = ok(client.get("/api/v1/public/log/records/dept-1"))
    assert [(e["log_index"], e["kind"], e["version_no"]) for e in dept1["entries"]] == [
        (0, "record.publish", 1),
        (2, "record.publish", 2),
    ]
    assert dept1["pending"] == 0
    for entry in dept1["entries"]:
        envelope = Envelope.from_dict(entry["envelope"])
        leaf = leaf_hash(envelope.canonical_bytes())
        assert b64std_decode(entry["leaf_hash"]) == leaf
        proof = ok(client.get(f"/api/v1/public/log/inclusion?index={entry['log_index']}&size=4"))
        assert b64std_decode(proof["leaf_hash"]) == leaf
        hashes = [b64std_decode(h) for h in proof["hashes"]]
        verify_inclusion(entry["log_index"], 4, leaf, hashes, checkpoint.root)

    # The tombstone deleted dept-2's content; its hash stays and still proves inclusion.
    dept2 = ok(client.get("/api/v1/public/log/records/dept-2"))
    assert [(e["kind"], e["envelope"] is None) for e in dept2["entries"]] == [
        ("record.publish", True),
        ("record.tombstone", False),
    ]
    first = dept2["entries"][0]
    proof = ok(client.get(f"/api/v1/public/log/inclusion?index={first['log_index']}&size=4"))
    verify_inclusion(
        first["log_index"],
        4,
        b64std_decode(first["leaf_hash"]),
        [b64std_decode(h) for h in proof["hashes"]],
        checkpoint.root,
    )


def test_consistency_between_checkpoints_over_http(client, session, inner, hub_key):
    ok(inner.push(client, [inner.publish(f"dept-{i}") for i in range(3)]))
    sequence(session, hub_key)
    old, _ = opened(client, hub_key)
    ok(inner.push(client, [inner.publish(f"dept-{i}") for i in range(3, 8)]))
    sequence(session, hub_key)
    new, _ = opened(client, hub_key)
    answer = ok(client.get(f"/api/v1/public/log/consistency?first={old.size}&second={new.size}"))
    assert (answer["first"], answer["second"]) == (3, 8)
    verify_consistency(3, 8, [b64std_decode(h) for h in answer["hashes"]], old.root, new.root)


def test_proof_requests_outside_the_log_are_refused_plainly(client, session, inner, hub_key):
    ok(inner.push(client, [inner.publish("dept-1")]))
    sequence(session, hub_key)
    for target in (
        "/api/v1/public/log/inclusion?index=1&size=1",
        "/api/v1/public/log/inclusion?index=0&size=2",
        "/api/v1/public/log/consistency?first=0&second=1",
        "/api/v1/public/log/consistency?first=1&second=2",
    ):
        response = client.get(target)
        assert response.status_code == 400, target
        body = response.json()
        assert body["error"] == "log_range_invalid" and " / " in body["detail"]
    assert client.get("/api/v1/public/log/inclusion?index=-1&size=1").status_code == 422
    missing = client.get("/api/v1/public/log/records/nope")
    assert (missing.status_code, missing.json()["error"]) == (404, "record_not_in_log")


def test_an_accepted_record_not_yet_sequenced_is_shown_as_pending(client, session, inner):
    ok(inner.push(client, [inner.publish("dept-1")]))
    answer = ok(client.get("/api/v1/public/log/records/dept-1"))
    assert (answer["entries"], answer["pending"]) == ([], 1)


def cosign_request(client, node, size: int, line: str, key: SigningKey | None = None):
    body = json.dumps({"size": size, "cosignature": line}).encode()
    headers = node.headers("POST", "/sync/v1/log/cosignatures", body, key=key)
    headers["Content-Type"] = "application/json"
    return client.post("/sync/v1/log/cosignatures", content=body, headers=headers)


def last_line(note: str) -> str:
    return note.rstrip("\n").rsplit("\n", 1)[-1]


def test_a_witness_cosignature_is_verified_and_served_with_the_checkpoint(
    client, session, inner, shanxi, hub_key
):
    ok(inner.push(client, [inner.publish("dept-1")]))
    sequence(session, hub_key)
    note = client.get("/api/v1/public/log/checkpoint").text
    line = last_line(add_cosignature(note, inner.node_id, inner.key))
    answer = ok(cosign_request(client, inner, 1, line))
    assert (answer["size"], answer["witness"]) == (1, inner.node_id)
    assert ok(cosign_request(client, inner, 1, line))["witness"] == inner.node_id  # idempotent

    _, signers = opened(client, hub_key, **{inner.node_id: inner.key.public()})
    assert signers == [ORIGIN, inner.node_id]

    # Shanxi cannot cosign in Inner Mongolia's name, nor with a key not its own.
    response = cosign_request(client, shanxi, 1, line)
    assert (response.status_code, response.json()["error"]) == (422, "cosignature_invalid")
    forged = last_line(add_cosignature(note, shanxi.node_id, SigningKey.generate()))
    response = cosign_request(client, shanxi, 1, forged)
    assert (response.status_code, response.json()["error"]) == (422, "cosignature_invalid")
    # A line over another checkpoint's body does not verify for this one.
    assert cosign_request(client, inner, 7, line).status_code == 404
    unsigned = client.post("/sync/v1/log/cosignatures", json={"size": 1, "cosignature": line})
    assert unsigned.status_code == 401
    malformed = cosign_request(client, inner, 1, "")
    assert malformed.status_code in (400, 422)


def test_a_new_checkpoint_is_served_without_the_old_ones_cosignatures(
    client, session, inner, hub_key
):
    ok(inner.push(client, [inner.publish("dept-1")]))
    sequence(session, hub_key)
    note = client.get("/api/v1/public/log/checkpoint").text
    ok(cosign_request(client, inner, 1, last_line(add_cosignature(note, inner.node_id, inner.key))))
    ok(inner.push(client, [inner.publish("dept-2")]))
    sequence(session, hub_key)
    checkpoint, signers = opened(client, hub_key, **{inner.node_id: inner.key.public()})
    assert (checkpoint.size, signers) == (2, [ORIGIN])


def metric(text: str, name: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.split(" ")[1])


def test_metrics_show_the_log_and_its_merge_backlog(client, session, inner, hub_key, clock):
    ok(inner.push(client, [inner.publish("dept-1"), inner.publish("dept-2")]))
    before = client.get("/metrics").text
    assert metric(before, "minefed_hub_log_size") == 0
    assert metric(before, "minefed_hub_log_unsequenced") == 2
    assert metric(before, "minefed_hub_log_merge_delay_seconds") == 0  # received "now"
    assert not [
        line for line in before.splitlines() if line.startswith("minefed_hub_log_checkpoint_age")
    ]
    sequence(session, hub_key)
    note = client.get("/api/v1/public/log/checkpoint").text
    ok(cosign_request(client, inner, 2, last_line(add_cosignature(note, inner.node_id, inner.key))))
    after = client.get("/metrics").text
    assert metric(after, "minefed_hub_log_size") == 2
    assert metric(after, "minefed_hub_log_unsequenced") == 0
    assert metric(after, "minefed_hub_log_checkpoint_age_seconds") == 0
    assert metric(after, "minefed_hub_log_checkpoint_cosignatures") == 1
