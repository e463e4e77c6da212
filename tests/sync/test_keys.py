"""Keys, the keyring's validity rules, and rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync.errors import (
    BadSignature,
    KeyConflict,
    KeyExpired,
    KeyMalformed,
    KeyNotYetValid,
    KeyOwnerMismatch,
    KeyProblem,
    KeyRevoked,
    RotationInvalid,
    SyncError,
    UnknownKey,
)
from sync.keys import (
    KeyRecord,
    Keyring,
    SigningKey,
    VerifyKey,
    make_rotation_statement,
    verify_rotation_statement,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def record(owner: str, key: SigningKey, valid_from: datetime = T0) -> KeyRecord:
    return KeyRecord(owner=owner, key_id=key.key_id, public_key=key.public(), valid_from=valid_from)


def test_sign_verify_round_trip() -> None:
    key = SigningKey.generate()
    sig = key.sign(b"hello")
    key.public().verify(sig, b"hello")
    with pytest.raises(BadSignature):
        key.public().verify(sig, b"hellp")
    with pytest.raises(BadSignature):
        SigningKey.generate().public().verify(sig, b"hello")
    with pytest.raises(BadSignature):
        key.public().verify(sig[:-1], b"hello")


def test_key_id_and_fingerprint() -> None:
    vk = SigningKey.generate().public()
    assert len(vk.fingerprint) == 64
    assert vk.key_id == "ed25519:" + vk.fingerprint[:16]
    assert VerifyKey.from_b64(vk.to_b64()) == vk
    assert VerifyKey.from_bytes(vk.raw) == vk
    assert hash(VerifyKey.from_bytes(vk.raw)) == hash(vk)
    with pytest.raises(KeyMalformed):
        VerifyKey.from_bytes(b"\x00" * 31)
    with pytest.raises(KeyMalformed):
        VerifyKey.from_b64(vk.to_b64() + "=")


def test_pem_round_trip_plain_and_encrypted() -> None:
    key = SigningKey.generate()
    assert SigningKey.from_pem(key.to_pem()).key_id == key.key_id
    pem = key.to_pem(password=b"s3cret")
    assert b"ENCRYPTED" in pem
    assert SigningKey.from_pem(pem, password=b"s3cret").key_id == key.key_id
    with pytest.raises(KeyMalformed):
        SigningKey.from_pem(pem, password=b"wrong")
    with pytest.raises(KeyMalformed):
        SigningKey.from_pem(b"not a pem")


def test_repr_hides_private_key() -> None:
    key = SigningKey.generate()
    assert repr(key) == f"SigningKey({key.key_id})"


def test_record_refuses_wrong_key_id_and_naive_time() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    with pytest.raises(KeyMalformed):
        KeyRecord("node:150000", other.key_id, key.public(), T0)
    with pytest.raises(KeyMalformed):
        KeyRecord("node:150000", key.key_id, key.public(), datetime(2025, 1, 1))
    with pytest.raises(KeyMalformed):
        KeyRecord("Node 15", key.key_id, key.public(), T0)


def test_key_for_errors_are_distinct() -> None:
    node_key, hub_key = SigningKey.generate(), SigningKey.generate()
    ring = Keyring([record("node:150000", node_key), record("hub", hub_key)])
    at = T0 + timedelta(days=1)
    assert ring.key_for("node:150000", node_key.key_id, at) == node_key.public()
    with pytest.raises(UnknownKey):
        ring.key_for("node:150000", SigningKey.generate().key_id, at)
    with pytest.raises(KeyOwnerMismatch):
        ring.key_for("node:150000", hub_key.key_id, at)
    with pytest.raises(KeyNotYetValid):
        ring.key_for("node:150000", node_key.key_id, T0 - timedelta(seconds=1))
    for cls in (UnknownKey, KeyOwnerMismatch, KeyNotYetValid, KeyExpired, KeyRevoked):
        assert issubclass(cls, KeyProblem) and issubclass(cls, SyncError)


def test_retired_key_verifies_only_before_valid_to() -> None:
    key = SigningKey.generate()
    ring = Keyring([record("node:150000", key)])
    retire_at = T0 + timedelta(days=30)
    ring.retire(key.key_id, retire_at)
    ring.key_for("node:150000", key.key_id, retire_at - timedelta(seconds=1))
    with pytest.raises(KeyExpired):
        ring.key_for("node:150000", key.key_id, retire_at)
    # Retiring later never extends validity.
    ring.retire(key.key_id, retire_at + timedelta(days=1))
    assert ring.get(key.key_id) is not None
    assert ring.get(key.key_id).valid_to == retire_at  # type: ignore[union-attr]


def test_revoked_key_verifies_nothing_at_or_after_revocation() -> None:
    key = SigningKey.generate()
    ring = Keyring([record("node:150000", key)])
    revoke_at = T0 + timedelta(days=10)
    ring.revoke(key.key_id, revoke_at)
    ring.key_for("node:150000", key.key_id, revoke_at - timedelta(seconds=1))
    with pytest.raises(KeyRevoked):
        ring.key_for("node:150000", key.key_id, revoke_at)
    # An earlier revocation wins; a later one is ignored.
    ring.revoke(key.key_id, revoke_at - timedelta(days=5))
    ring.revoke(key.key_id, revoke_at + timedelta(days=5))
    with pytest.raises(KeyRevoked):
        ring.key_for("node:150000", key.key_id, revoke_at - timedelta(days=1))
    # Revocation is reported before expiry.
    ring.retire(key.key_id, T0 + timedelta(days=2))
    with pytest.raises(KeyRevoked):
        ring.key_for("node:150000", key.key_id, T0 + timedelta(days=8))


def test_add_conflict_and_idempotence() -> None:
    key = SigningKey.generate()
    ring = Keyring()
    ring.add(record("node:150000", key))
    ring.add(record("node:150000", key))
    assert len(ring) == 1 and key.key_id in ring
    with pytest.raises(KeyConflict):
        ring.add(record("node:110000", key))
    with pytest.raises(UnknownKey):
        ring.revoke("ed25519:0000000000000000", T0)


def test_keyring_serialisation_round_trip() -> None:
    a, b = SigningKey.generate(), SigningKey.generate()
    ring = Keyring([record("node:150000", a), record("hub", b)])
    ring.retire(a.key_id, T0 + timedelta(days=3))
    ring.revoke(b.key_id, T0 + timedelta(days=4))
    data = ring.to_list()
    assert data[0]["owner"] == "hub" and data[0]["revoked_at"] == "2025-01-05T00:00:00Z"
    again = Keyring.from_list(data)
    assert again.to_list() == data
    assert again.get(a.key_id) == ring.get(a.key_id)
    with pytest.raises(KeyMalformed):
        KeyRecord.from_dict({**data[0], "extra": 1})
    with pytest.raises(KeyMalformed):
        KeyRecord.from_dict({**data[0], "valid_from": "2025-01-01 00:00:00"})


def test_rotation_statement() -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    ring = Keyring([record("node:150000", old)])
    at = T0 + timedelta(days=100)
    stmt = make_rotation_statement(old, new.public(), "node:150000", at)
    rec = verify_rotation_statement(stmt, ring, now=at + timedelta(seconds=10))
    assert rec.public_key == new.public() and rec.valid_from == at and rec.owner == "node:150000"
    ring.add(rec)
    ring.retire(old.key_id, at + timedelta(days=1))
    ring.key_for("node:150000", new.key_id, at + timedelta(days=2))


def test_rotation_rejections() -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    ring = Keyring([record("node:150000", old)])
    at = T0 + timedelta(days=100)
    stmt = make_rotation_statement(old, new.public(), "node:150000", at)

    with pytest.raises(BadSignature):  # swapped-in key
        evil = SigningKey.generate().public()
        verify_rotation_statement(
            {**stmt, "new_public_key": evil.to_b64(), "new_key_id": evil.key_id}, ring
        )
    with pytest.raises(RotationInvalid):  # id does not match key
        verify_rotation_statement({**stmt, "new_key_id": old.key_id}, ring)
    with pytest.raises(RotationInvalid):
        verify_rotation_statement({**stmt, "extra": "x"}, ring)
    with pytest.raises(RotationInvalid):  # backdated beyond the skew
        verify_rotation_statement(stmt, ring, now=at + timedelta(hours=1))
    with pytest.raises(KeyOwnerMismatch):
        verify_rotation_statement(
            make_rotation_statement(old, new.public(), "node:110000", at), ring
        )
    # Signed by a key other than the one it names as old.
    forged = make_rotation_statement(new, SigningKey.generate().public(), "node:150000", at)
    with pytest.raises(BadSignature):
        verify_rotation_statement({**forged, "old_key_id": old.key_id}, ring)
    # A revoked key cannot appoint a successor.
    ring.revoke(old.key_id, at - timedelta(days=1))
    with pytest.raises(KeyRevoked):
        verify_rotation_statement(stmt, ring)


def test_record_times_normalised_towards_shorter_validity() -> None:
    key = SigningKey.generate()
    half = timedelta(microseconds=500_000)
    rec = KeyRecord(
        "hub",
        key.key_id,
        key.public(),
        valid_from=T0 + half,
        valid_to=T0 + timedelta(days=1) + half,
        revoked_at=T0 + timedelta(days=2) + half,
    )
    assert rec.valid_from == T0 + timedelta(seconds=1)
    assert rec.valid_to == T0 + timedelta(days=1)
    assert rec.revoked_at == T0 + timedelta(days=2)
    assert KeyRecord.from_dict(rec.to_dict()) == rec
