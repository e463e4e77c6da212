"""Envelope sealing, strict parsing and verification."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync.b64 import b64url_decode, b64url_encode
from sync.canonical import canonical_json
from sync.clock import FixedClock
from sync.envelope import BatchItem, Envelope, seal, seal_batch, verify_envelope
from sync.errors import (
    BadSignature,
    EnvelopeMalformed,
    KeyExpired,
    KeyOwnerMismatch,
    KeyRevoked,
    UnknownKey,
    WrongRecipient,
)
from sync.keys import KeyRecord, Keyring, SigningKey

T0 = datetime(2025, 1, 1, tzinfo=UTC)
NODE = "node:150000"


def setup() -> tuple[SigningKey, SigningKey, Keyring, FixedClock]:
    node_key, other_key = SigningKey.generate(), SigningKey.generate()
    ring = Keyring(
        [
            KeyRecord(NODE, node_key.key_id, node_key.public(), T0),
            KeyRecord("node:110000", other_key.key_id, other_key.public(), T0),
        ]
    )
    return node_key, other_key, ring, FixedClock(T0 + timedelta(days=1, microseconds=900))


def payload() -> dict[str, Any]:
    return {"record_type": "contractor", "uscc": "91150000MA0N000000", "version": 3, "ok": True}


def test_seal_verify_round_trip() -> None:
    key, _, ring, clock = setup()
    env = seal("record.publish", NODE, 1, "hub", payload(), key, clock.now())
    assert env.issued_at == "2025-01-02T00:00:00Z"  # microseconds truncated
    assert env.key_id == key.key_id
    verify_envelope(env, ring)
    verify_envelope(env, ring, recipient="hub")
    wire = json.loads(json.dumps(env.to_dict()))
    again = Envelope.from_dict(wire)
    assert again == env
    verify_envelope(again, ring)


def test_signing_bytes_cover_everything_but_sig() -> None:
    key, _, _, clock = setup()
    env = seal("record.publish", NODE, 1, "hub", payload(), key, clock.now())
    unsigned = env.to_dict()
    del unsigned["sig"]
    assert env.signing_bytes() == canonical_json(unsigned)
    key.public().verify(b64url_decode(env.sig), env.signing_bytes())
    assert json.loads(env.canonical_bytes())["sig"] == env.sig


def test_canonical_bytes_are_the_canonical_json_of_the_wire_form() -> None:
    key, _, _, clock = setup()
    single = seal("record.publish", NODE, 7, "hub", {**payload(), "名": "é"}, key, clock.now())
    batch = seal_batch(
        [BatchItem("record.publish", n, "hub", {**payload(), "n": n}) for n in (1, 2, 3)],
        NODE,
        key,
        clock.now(),
    )
    for env in [single, *batch]:
        assert env.canonical_bytes() == canonical_json(env.to_dict())
        parsed = Envelope.from_dict(json.loads(env.canonical_bytes()))
        assert parsed.canonical_bytes() == env.canonical_bytes()
        assert parsed.signing_bytes() == env.signing_bytes()


def test_payload_is_copied() -> None:
    key, _, ring, clock = setup()
    data = payload()
    env = seal("record.publish", NODE, 1, "hub", data, key, clock.now())
    data["version"] = 4
    verify_envelope(env, ring)
    out = env.to_dict()
    out["payload"]["version"] = 5
    verify_envelope(env, ring)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("payload", {**payload(), "version": 4}),
        ("seq", 2),
        ("recipient", "node:110000"),
        ("kind", "record.tombstone"),
        ("issued_at", "2025-01-02T00:00:01Z"),
    ],
)
def test_tampered_field_is_bad_signature(field: str, value: Any) -> None:
    key, _, ring, clock = setup()
    env = seal("record.publish", NODE, 1, "hub", payload(), key, clock.now())
    with pytest.raises(BadSignature):
        verify_envelope(dataclasses.replace(env, **{field: value}), ring)


def test_tampered_signature_is_bad_signature() -> None:
    key, _, ring, clock = setup()
    env = seal("record.publish", NODE, 1, "hub", payload(), key, clock.now())
    sig = bytearray(b64url_decode(env.sig))
    sig[10] ^= 0x01
    with pytest.raises(BadSignature):
        verify_envelope(dataclasses.replace(env, sig=b64url_encode(bytes(sig))), ring)


def test_tampered_sender_is_owner_mismatch() -> None:
    key, _, ring, clock = setup()
    env = seal("record.publish", NODE, 1, "hub", payload(), key, clock.now())
    with pytest.raises(KeyOwnerMismatch):
        verify_envelope(dataclasses.replace(env, sender="node:110000"), ring)


def test_node_cannot_sign_as_another_node() -> None:
    _, other_key, ring, clock = setup()
    env = seal("record.publish", NODE, 1, "hub", payload(), other_key, clock.now())
    with pytest.raises(KeyOwnerMismatch):
        verify_envelope(env, ring)


def test_tampered_key_id() -> None:
    key, other_key, ring, clock = setup()
    env = seal("record.publish", NODE, 1, "hub", payload(), key, clock.now())
    with pytest.raises(UnknownKey):
        verify_envelope(dataclasses.replace(env, key_id="ed25519:0123456789abcdef"), ring)
    with pytest.raises(KeyOwnerMismatch):
        verify_envelope(dataclasses.replace(env, key_id=other_key.key_id), ring)


def test_wrong_recipient() -> None:
    key, _, ring, clock = setup()
    env = seal("relay.project_department", NODE, 1, "node:110000", payload(), key, clock.now())
    verify_envelope(env, ring, recipient="node:110000")
    with pytest.raises(WrongRecipient):
        verify_envelope(env, ring, recipient="node:120000")


def test_revoked_and_retired_keys() -> None:
    key, _, ring, clock = setup()
    old = seal("record.publish", NODE, 1, "hub", payload(), key, clock.now())
    clock.advance(3600)
    ring.retire(key.key_id, clock.now())
    verify_envelope(old, ring)  # issued before retirement: still verifies
    late = seal("record.publish", NODE, 2, "hub", payload(), key, clock.now())
    with pytest.raises(KeyExpired):
        verify_envelope(late, ring)
    ring.revoke(key.key_id, T0)
    with pytest.raises(KeyRevoked):
        verify_envelope(old, ring)


def good_wire() -> dict[str, Any]:
    key, _, _, clock = setup()
    return seal("record.publish", NODE, 1, "hub", payload(), key, clock.now()).to_dict()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("sig"),
        lambda d: d.pop("payload"),
        lambda d: d.update(extra=1),
        lambda d: d.update(v=2),
        lambda d: d.update(v=True),
        lambda d: d.update(seq=0),
        lambda d: d.update(seq="1"),
        lambda d: d.update(seq=True),
        lambda d: d.update(kind="record.delete"),
        lambda d: d.update(kind="relay."),
        lambda d: d.update(kind="account"),
        lambda d: d.update(kind="accounts.report"),
        lambda d: d.update(sender=""),
        lambda d: d.update(recipient="HUB"),
        lambda d: d.update(issued_at="2025-01-02T00:00:00+00:00"),
        lambda d: d.update(issued_at="2025-01-02T00:00:00.5Z"),
        lambda d: d.update(key_id="rsa:0123456789abcdef"),
        lambda d: d.update(payload=[1]),
        lambda d: d.update(payload={"x": 1.5}),
        lambda d: d.update(sig=d["sig"] + "="),
        lambda d: d.update(sig=d["sig"][:-4]),
    ],
)
def test_from_dict_is_strict(mutate: Any) -> None:
    wire = good_wire()
    mutate(wire)
    with pytest.raises(EnvelopeMalformed):
        Envelope.from_dict(wire)


def test_seal_refuses_floats() -> None:
    key, _, _, clock = setup()
    with pytest.raises(EnvelopeMalformed):
        seal("record.publish", NODE, 1, "hub", {"x": 0.1}, key, clock.now())


def test_directive_kinds() -> None:
    key = SigningKey.generate()
    ring = Keyring([KeyRecord("hub", key.key_id, key.public(), T0)])
    env = seal("directive.account.reset_password", "hub", 9, NODE, {"a": 1}, key, T0)
    verify_envelope(env, ring, recipient=NODE)


def test_account_kinds_go_up_from_nodes() -> None:
    key, _, ring, clock = setup()
    env = seal("account.report", NODE, 1, "hub", {"account_id": "x"}, key, clock.now())
    again = Envelope.from_dict(json.loads(json.dumps(env.to_dict())))
    verify_envelope(again, ring, recipient="hub")
    assert again.kind == "account.report"


# --- batch signing ---------------------------------------------------------------


def batch_items(n: int) -> list[BatchItem]:
    return [BatchItem("record.publish", i + 1, "hub", {**payload(), "n": i}) for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 33])
def test_batch_each_envelope_verifies_alone(n: int) -> None:
    key, _, ring, clock = setup()
    envs = seal_batch(batch_items(n), NODE, key, clock.now())
    assert [e.seq for e in envs] == list(range(1, n + 1))
    for env in envs:
        assert env.batch_signed
        again = Envelope.from_dict(json.loads(json.dumps(env.to_dict())))
        verify_envelope(again, ring, recipient="hub")


def test_batch_cache_skips_repeat_signature_checks() -> None:
    key, _, ring, clock = setup()
    envs = seal_batch(batch_items(5), NODE, key, clock.now())
    cache: set[tuple[str, bytes, int]] = set()
    for env in envs:
        verify_envelope(env, ring, batch_cache=cache)
    assert len(cache) == 1
    # A tampered envelope does not reach the cached root.
    with pytest.raises(BadSignature):
        verify_envelope(dataclasses.replace(envs[2], seq=99), ring, batch_cache=cache)


def test_batch_tamper_rejected() -> None:
    key, other_key, ring, clock = setup()
    envs = seal_batch(batch_items(6), NODE, key, clock.now())
    env = envs[3]
    with pytest.raises(BadSignature):
        verify_envelope(dataclasses.replace(env, payload={"x": 1}), ring)
    # Swapping the paths of two envelopes breaks both.
    with pytest.raises(BadSignature):
        verify_envelope(dataclasses.replace(env, sig=envs[4].sig), ring)
    prefix, sig, index, size, *path = env.sig.split(".")
    with pytest.raises(BadSignature):  # claims another position
        verify_envelope(
            dataclasses.replace(env, sig=".".join([prefix, sig, "2", size, *path])), ring
        )
    with pytest.raises(BadSignature):  # drops a path node
        verify_envelope(
            dataclasses.replace(env, sig=".".join([prefix, sig, index, size, *path[:-1]])), ring
        )
    with pytest.raises(EnvelopeMalformed):
        dataclasses.replace(env, sig=".".join([prefix, sig, "6", size, *path]))
    with pytest.raises(EnvelopeMalformed):
        dataclasses.replace(env, sig=".".join([prefix, sig, "03", size, *path]))
    # A batch signed by another node's key, claiming our sender.
    forged = seal_batch(batch_items(2), NODE, other_key, clock.now())[0]
    with pytest.raises(KeyOwnerMismatch):
        verify_envelope(forged, ring)
    with pytest.raises(EnvelopeMalformed):
        seal_batch([], NODE, key, clock.now())
