"""Ed25519 keys, the key registry, and key rotation.

Modelled on Synapse's keyring: a signature is only as good as the answer to
"was this key, owned by this sender, valid at the time the message claims?".
:meth:`Keyring.key_for` answers exactly that and says *why* when the answer
is no.

Key ids are ``"ed25519:" + first 16 hex digits of SHA-256(raw public key)``.
They are derived from the key, so a key record whose id does not match its
key is refused. 64 bits do not resist a deliberate birthday collision, which
is why the registry never lets a second record take an existing id
(:class:`~sync.errors.KeyConflict`) and always verifies with the full public
key it stored, never with a key found by id elsewhere.

Validity semantics (all instants are the message's claimed ``issued_at``):

* ``valid_from`` is inclusive; ``valid_to`` (set by :meth:`Keyring.retire`)
  is exclusive, so a retired key still verifies what it signed before
  retirement -- records signed years ago stay verifiable;
* ``revoked_at`` is exclusive too: a revoked key verifies nothing claimed
  at/after revocation.

A holder of a stolen key can backdate ``issued_at``; time-based validity
cannot prevent that. Revoke with ``at`` no later than the start of the
suspected compromise, and let receivers bound how old a *newly received*
message may claim to be (sequence numbers and request freshness do).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from sync.b64 import b64url_decode, b64url_encode
from sync.canonical import canonical_json
from sync.clock import format_rfc3339, parse_rfc3339, require_aware
from sync.errors import (
    BadSignature,
    KeyConflict,
    KeyExpired,
    KeyMalformed,
    KeyNotYetValid,
    KeyOwnerMismatch,
    KeyRevoked,
    RotationInvalid,
    UnknownKey,
)

__all__ = [
    "KEY_ID_PATTERN",
    "OWNER_PATTERN",
    "ROTATION_TYPE",
    "KeyRecord",
    "Keyring",
    "SigningKey",
    "VerifyKey",
    "make_rotation_statement",
    "verify_rotation_statement",
]

#: Key id spelling; anything else is refused before any look-up.
KEY_ID_PATTERN = re.compile(r"\Aed25519:[0-9a-f]{16}\Z")

#: Party names: ``hub``, ``node:150000`` (a node by its province division code).
#: Kept generic (``<word>[:<id>]``) so test federations can use short ids.
OWNER_PATTERN = re.compile(r"\A[a-z][a-z0-9_-]{0,31}(?::[A-Za-z0-9_-]{1,64})?\Z")

#: ``type`` of a rotation statement; a field no envelope has, so a rotation
#: signature can never be mistaken for an envelope signature or vice versa.
ROTATION_TYPE = "minefed.key_rotation.v1"

_ED25519_SIG_LEN = 64
_ED25519_PUB_LEN = 32


class VerifyKey:
    """An Ed25519 public key: verifies signatures, names itself by fingerprint."""

    __slots__ = ("_key", "_raw")

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key
        self._raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @classmethod
    def from_bytes(cls, raw: bytes) -> VerifyKey:
        """Load a raw 32-byte public key; :class:`KeyMalformed` otherwise."""
        if not isinstance(raw, bytes) or len(raw) != _ED25519_PUB_LEN:
            raise KeyMalformed("an Ed25519 public key is 32 raw bytes")
        try:
            return cls(Ed25519PublicKey.from_public_bytes(raw))
        except ValueError as exc:  # pragma: no cover - every 32-byte string loads today
            raise KeyMalformed(str(exc)) from exc

    @classmethod
    def from_b64(cls, text: str) -> VerifyKey:
        """Load a key from unpadded base64url of its 32 raw bytes."""
        try:
            raw = b64url_decode(text)
        except ValueError as exc:
            raise KeyMalformed("public key is not unpadded base64url") from exc
        return cls.from_bytes(raw)

    @property
    def raw(self) -> bytes:
        """The 32 raw public key bytes."""
        return self._raw

    def to_b64(self) -> str:
        """Unpadded base64url of the raw key (the form in key records)."""
        return b64url_encode(self._raw)

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the raw key; what operators pin (e.g. the hub's key)."""
        return hashlib.sha256(self._raw).hexdigest()

    @property
    def key_id(self) -> str:
        """``"ed25519:" + fingerprint[:16]``; derived, so it cannot be chosen freely."""
        return "ed25519:" + self.fingerprint[:16]

    def verify(self, sig: bytes, data: bytes) -> None:
        """Verify ``sig`` over ``data``; raise :class:`BadSignature` if it does not hold.

        Raises instead of returning a bool so that a forgotten check fails
        closed.
        """
        if not isinstance(sig, bytes) or len(sig) != _ED25519_SIG_LEN:
            raise BadSignature("an Ed25519 signature is 64 bytes")
        try:
            self._key.verify(sig, data)
        except InvalidSignature as exc:
            raise BadSignature(f"signature does not verify under {self.key_id}") from exc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"VerifyKey({self.key_id})"


class SigningKey:
    """An Ed25519 private key. Never serialised except as (optionally encrypted) PKCS#8."""

    __slots__ = ("_key", "_public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._public = VerifyKey(key.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the OS CSPRNG (a node makes its own; only the public half leaves)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes, password: bytes | None = None) -> SigningKey:
        """Load a PKCS#8 PEM Ed25519 private key; :class:`KeyMalformed` if not one."""
        try:
            key = serialization.load_pem_private_key(pem, password=password)
        except (ValueError, TypeError) as exc:
            raise KeyMalformed(f"cannot load private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyMalformed("private key is not Ed25519")
        return cls(key)

    def to_pem(self, password: bytes | None = None) -> bytes:
        """PKCS#8 PEM; encrypted with the best available scheme when ``password`` is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def public(self) -> VerifyKey:
        """The public half."""
        return self._public

    @property
    def key_id(self) -> str:
        """Key id of the public half."""
        return self._public.key_id

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature (64 bytes) over ``data``."""
        return self._key.sign(data)

    def __repr__(self) -> str:
        # Never show key material, even in tracebacks.
        return f"SigningKey({self.key_id})"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One registered key of one party, with its validity.

    Instants are aware datetimes, normalised to whole seconds in UTC (the
    wire precision), rounding towards shorter validity. Construction refuses
    a ``key_id`` that is not the key's own id, an unknown owner spelling and
    naive datetimes, so an invalid record cannot exist.
    """

    owner: str
    key_id: str
    public_key: VerifyKey
    valid_from: datetime
    valid_to: datetime | None = None
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.owner, str) or not OWNER_PATTERN.match(self.owner):
            raise KeyMalformed(f"bad owner: {self.owner!r}")
        if not isinstance(self.public_key, VerifyKey):
            raise KeyMalformed("public_key must be a VerifyKey")
        if self.key_id != self.public_key.key_id:
            raise KeyMalformed(f"key id {self.key_id!r} is not the id of its public key")
        try:
            # Whole seconds in UTC, like every instant on the wire, so a record
            # survives to_dict/from_dict unchanged. Rounding always narrows
            # validity: valid_from up, valid_to and revoked_at down.
            object.__setattr__(self, "valid_from", _whole_second(self.valid_from, up=True))
            if self.valid_to is not None:
                object.__setattr__(self, "valid_to", _whole_second(self.valid_to, up=False))
            if self.revoked_at is not None:
                object.__setattr__(self, "revoked_at", _whole_second(self.revoked_at, up=False))
        except (ValueError, AttributeError, TypeError) as exc:
            raise KeyMalformed(str(exc)) from exc
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise KeyMalformed("valid_to is before valid_from")

    def check_valid_at(self, at: datetime) -> None:
        """Raise the precise :class:`~sync.errors.KeyProblem` if not valid at ``at``.

        Revocation is checked first: when both apply it is the one an
        operator must hear about.
        """
        require_aware(at)
        if self.revoked_at is not None and at >= self.revoked_at:
            raise KeyRevoked(f"{self.key_id} revoked at {format_rfc3339(self.revoked_at)}")
        if at < self.valid_from:
            raise KeyNotYetValid(f"{self.key_id} valid from {format_rfc3339(self.valid_from)}")
        if self.valid_to is not None and at >= self.valid_to:
            raise KeyExpired(f"{self.key_id} valid until {format_rfc3339(self.valid_to)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as stored and published at ``/api/v1/public/keys``."""
        return {
            "owner": self.owner,
            "key_id": self.key_id,
            "public_key": self.public_key.to_b64(),
            "valid_from": format_rfc3339(self.valid_from),
            "valid_to": None if self.valid_to is None else format_rfc3339(self.valid_to),
            "revoked_at": None if self.revoked_at is None else format_rfc3339(self.revoked_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyRecord:
        """Strict inverse of :meth:`to_dict`: unknown or missing fields are refused."""
        fields = {"owner", "key_id", "public_key", "valid_from", "valid_to", "revoked_at"}
        if not isinstance(data, Mapping) or set(data) != fields:
            raise KeyMalformed(f"key record must have exactly the fields {sorted(fields)}")
        try:
            return cls(
                owner=data["owner"],
                key_id=data["key_id"],
                public_key=VerifyKey.from_b64(data["public_key"]),
                valid_from=parse_rfc3339(data["valid_from"]),
                valid_to=_opt_time(data["valid_to"]),
                revoked_at=_opt_time(data["revoked_at"]),
            )
        except ValueError as exc:
            raise KeyMalformed(str(exc)) from exc


def _whole_second(dt: datetime, *, up: bool) -> datetime:
    utc = require_aware(dt).astimezone(UTC)
    floor = utc.replace(microsecond=0)
    return floor + timedelta(seconds=1) if up and floor != utc else floor


def _opt_time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise KeyMalformed("time must be a string or null")
    return parse_rfc3339(value)


class Keyring:
    """The registry of known keys: who owns which key, and when it is valid.

    In memory; the node and hub load it from their database and publish it.
    Records are immutable; :meth:`revoke` and :meth:`retire` replace them and
    can only ever narrow validity (an earlier revocation is never moved later).
    """

    def __init__(self, records: Iterable[KeyRecord] = ()) -> None:
        self._records: dict[str, KeyRecord] = {}
        for record in records:
            self.add(record)

    def add(self, record: KeyRecord) -> None:
        """Register ``record``. Re-adding an identical record is a no-op.

        A different record under an existing id raises :class:`KeyConflict`:
        silently replacing it could re-validate a revoked key.
        """
        existing = self._records.get(record.key_id)
        if existing is not None and existing != record:
            raise KeyConflict(f"{record.key_id} already registered")
        self._records[record.key_id] = record

    def get(self, key_id: str) -> KeyRecord | None:
        """The record for ``key_id``, or ``None``."""
        return self._records.get(key_id)

    def revoke(self, key_id: str, at: datetime) -> KeyRecord:
        """Revoke ``key_id`` from ``at`` on; returns the updated record."""
        record = self._require(key_id)
        require_aware(at)
        if record.revoked_at is None or at < record.revoked_at:
            record = replace(record, revoked_at=at)
            self._records[key_id] = record
        return record

    def retire(self, key_id: str, at: datetime) -> KeyRecord:
        """End ``key_id``'s validity at ``at`` (after a rotation); returns the updated record.

        Messages issued before ``at`` keep verifying.
        """
        record = self._require(key_id)
        require_aware(at)
        if at < record.valid_from:
            raise KeyMalformed("cannot retire a key before it became valid")
        if record.valid_to is None or at < record.valid_to:
            record = replace(record, valid_to=at)
            self._records[key_id] = record
        return record

    def key_for(self, owner: str, key_id: str, at: datetime) -> VerifyKey:
        """The key to verify a message from ``owner``, signed with ``key_id``, issued ``at``.

        Raises :class:`UnknownKey`, :class:`KeyOwnerMismatch`,
        :class:`KeyRevoked`, :class:`KeyNotYetValid` or :class:`KeyExpired`.
        The owner check is what stops node A signing as node B with its own
        (valid) key.
        """
        record = self._records.get(key_id)
        if record is None:
            raise UnknownKey(f"no key {key_id!r}")
        if record.owner != owner:
            raise KeyOwnerMismatch(f"{key_id} belongs to {record.owner}, not {owner}")
        record.check_valid_at(at)
        return record.public_key

    def records_for(self, owner: str) -> list[KeyRecord]:
        """All records of ``owner``, oldest ``valid_from`` first."""
        return sorted(
            (r for r in self._records.values() if r.owner == owner),
            key=lambda r: (r.valid_from, r.key_id),
        )

    def to_list(self) -> list[dict[str, Any]]:
        """JSON-able list of every record, in a stable order (owner, valid_from, id)."""
        ordered = sorted(self._records.values(), key=lambda r: (r.owner, r.valid_from, r.key_id))
        return [r.to_dict() for r in ordered]

    @classmethod
    def from_list(cls, items: Iterable[Mapping[str, Any]]) -> Keyring:
        """Inverse of :meth:`to_list`."""
        return cls(KeyRecord.from_dict(item) for item in items)

    def __iter__(self) -> Iterator[KeyRecord]:
        return iter(list(self._records.values()))

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._records

    def _require(self, key_id: str) -> KeyRecord:
        record = self._records.get(key_id)
        if record is None:
            raise UnknownKey(f"no key {key_id!r}")
        return record


_ROTATION_FIELDS = frozenset(
    {"type", "owner", "old_key_id", "new_key_id", "new_public_key", "valid_from", "sig"}
)


def make_rotation_statement(
    old: SigningKey, new_public: VerifyKey, owner: str, at: datetime
) -> dict[str, str]:
    """Announce ``new_public`` as ``owner``'s key from ``at``, signed by the old key.

    The statement is signed over the canonical JSON of every field but
    ``sig`` (as envelopes are); its ``type`` field makes it impossible to
    confuse with any other signed structure. The new key's private half
    never leaves the node.
    """
    body = {
        "type": ROTATION_TYPE,
        "owner": owner,
        "old_key_id": old.key_id,
        "new_key_id": new_public.key_id,
        "new_public_key": new_public.to_b64(),
        "valid_from": format_rfc3339(at),
    }
    return {**body, "sig": b64url_encode(old.sign(canonical_json(body)))}


def verify_rotation_statement(
    stmt: Mapping[str, Any],
    keyring: Keyring,
    *,
    now: datetime | None = None,
    max_skew_s: int = 300,
) -> KeyRecord:
    """Check a rotation statement and return the new key's record (not yet added).

    The old key must belong to ``owner`` and be valid at the statement's
    ``valid_from`` (so a revoked or retired key cannot appoint a successor),
    and its signature must hold. If ``now`` is given, ``valid_from`` must be
    within ``max_skew_s`` of it, which stops a stolen, since-revoked key from
    backdating a rotation; the hub should always pass it.

    The caller adds the returned record and, after an overlap, retires the old
    key (rotation in steps, as X-Road does), so messages already in flight
    under the old key still verify.
    """
    if not isinstance(stmt, Mapping) or set(stmt) != _ROTATION_FIELDS:
        raise RotationInvalid(f"statement must have exactly the fields {sorted(_ROTATION_FIELDS)}")
    if not all(isinstance(stmt[f], str) for f in _ROTATION_FIELDS):
        raise RotationInvalid("every statement field is a string")
    if stmt["type"] != ROTATION_TYPE:
        raise RotationInvalid(f"unknown statement type {stmt['type']!r}")
    try:
        at = parse_rfc3339(stmt["valid_from"])
        sig = b64url_decode(stmt["sig"])
    except ValueError as exc:
        raise RotationInvalid(str(exc)) from exc
    new_key = VerifyKey.from_b64(stmt["new_public_key"])
    if new_key.key_id != stmt["new_key_id"]:
        raise RotationInvalid("new_key_id is not the id of new_public_key")
    if new_key.key_id == stmt["old_key_id"]:
        raise RotationInvalid("a key cannot succeed itself")
    if now is not None and abs((require_aware(now) - at).total_seconds()) > max_skew_s:
        raise RotationInvalid("valid_from too far from the current time")
    old_key = keyring.key_for(stmt["owner"], stmt["old_key_id"], at)
    body = {k: v for k, v in stmt.items() if k != "sig"}
    old_key.verify(sig, canonical_json(body))
    return KeyRecord(owner=stmt["owner"], key_id=new_key.key_id, public_key=new_key, valid_from=at)
