"""The signed envelope: the unit every node and the hub exchange.

Like Synapse's federation PDUs, an envelope is a small frozen value whose
signature covers the canonical JSON (RFC 8785) of every field except ``sig``
-- routing included (``sender``, ``recipient``, ``seq``, ``kind``), so none
of them can be altered by the hub while relaying.

Wire form::

    {"v": 1, "kind": "record.publish", "sender": "node:150000", "seq": 7,
     "recipient": "hub", "issued_at": "2025-03-01T08:00:00Z",
     "key_id": "ed25519:0123456789abcdef", "payload": {...}, "sig": "<b64url>"}

``sig`` is either a plain Ed25519 signature (base64url) or, for envelopes
made by :func:`seal_batch`, a batch signature with the envelope's Merkle
inclusion path (``mb1.…``).

Construction validates every field, so an ``Envelope`` instance is always
well-formed; :func:`verify_envelope` then decides whether it is authentic.
Authenticity is not authority: the receiver must still check the sender owns
the record (``NotOwner``) and the payload's schema (``SchemaInvalid``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, MutableSet, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

from sync.b64 import b64url_decode, b64url_encode
from sync.canonical import canonical_json, json_copy
from sync.clock import format_rfc3339, parse_rfc3339
from sync.errors import (
    BadSignature,
    CanonicalError,
    EnvelopeMalformed,
    ProofError,
    WrongRecipient,
)
from sync.keys import KEY_ID_PATTERN, OWNER_PATTERN, Keyring, SigningKey
from sync.merkle import (
    HASH_SIZE,
    MemoryTree,
    inclusion_proof,
    leaf_hash,
    root_from_inclusion_proof,
)

__all__ = [
    "BATCH_SIG_PREFIX",
    "BATCH_TYPE",
    "ENVELOPE_VERSION",
    "KIND_PATTERN",
    "MAX_BATCH",
    "BatchItem",
    "Envelope",
    "seal",
    "seal_batch",
    "verify_envelope",
]

#: The only envelope version this code understands.
ENVELOPE_VERSION = 1

#: ``record.publish``, ``record.tombstone``, ``relay.<x>``, ``directive.<x>`` (hub to
#: node) and ``account.<x>`` (node to hub: facts about the node's accounts, never a
#: password hash; docs/accounts.md).
KIND_PATTERN = re.compile(
    r"\A(?:record\.(?:publish|tombstone)|(?:relay|directive|account)\.[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)\Z"
)

#: Prefix of a batch signature; "." is not in the base64url alphabet, so it
#: cannot be confused with a plain signature.
BATCH_SIG_PREFIX = "mb1."

#: ``type`` of the statement a batch signature signs.
BATCH_TYPE = "minefed.envelope_batch.v1"

#: Largest batch; bounds the length of ``sig`` (12 path nodes at most).
MAX_BATCH = 4096

_SIG_LEN = 64
_DECIMAL = re.compile(r"\A(?:0|[1-9][0-9]{0,9})\Z")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A signed protocol message. See the module docstring for the wire form."""

    v: int
    kind: str
    sender: str
    seq: int
    recipient: str
    issued_at: str
    key_id: str
    payload: dict[str, Any]
    sig: str
    # Canonical JSON of every field but sig, made once by __post_init__: the
    # payload is treated as immutable (from_dict and to_dict copy it).
    _signing: bytes = field(default=b"", init=False, repr=False, compare=False)
    # A batch signature's parts (signature, index, size, path), parsed once.
    _batch: tuple[bytes, int, int, list[bytes]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"v", "kind", "sender", "seq", "recipient", "issued_at", "key_id", "payload", "sig"}
    )

    def __post_init__(self) -> None:
        if not _is_int(self.v) or self.v != ENVELOPE_VERSION:
            raise EnvelopeMalformed(f"unsupported envelope version {self.v!r}")
        if not isinstance(self.kind, str) or not KIND_PATTERN.match(self.kind):
            raise EnvelopeMalformed(f"bad kind {self.kind!r}")
        for name in ("sender", "recipient"):
            value = getattr(self, name)
            if not isinstance(value, str) or not OWNER_PATTERN.match(value):
                raise EnvelopeMalformed(f"bad {name} {value!r}")
        if not _is_int(self.seq) or not 1 <= self.seq <= 2**53 - 1:
            raise EnvelopeMalformed("seq must be an integer from 1")
        try:
            parse_rfc3339(self.issued_at)
        except ValueError as exc:
            raise EnvelopeMalformed(f"bad issued_at: {exc}") from exc
        if not isinstance(self.key_id, str) or not KEY_ID_PATTERN.match(self.key_id):
            raise EnvelopeMalformed(f"bad key_id {self.key_id!r}")
        if not isinstance(self.payload, dict):
            raise EnvelopeMalformed("payload must be an object")
        try:
            object.__setattr__(self, "_signing", canonical_json(self.unsigned_dict()))
        except CanonicalError as exc:
            raise EnvelopeMalformed(f"payload not canonicalisable: {exc.detail}") from exc
        if isinstance(self.sig, str) and self.sig.startswith(BATCH_SIG_PREFIX):
            object.__setattr__(self, "_batch", _parse_batch_sig(self.sig))
            return
        try:
            sig = b64url_decode(self.sig)
        except ValueError as exc:
            raise EnvelopeMalformed("sig is not unpadded base64url") from exc
        if len(sig) != _SIG_LEN:
            raise EnvelopeMalformed("sig must encode 64 bytes")

    @property
    def batch_signed(self) -> bool:
        """Whether ``sig`` is a batch signature (see :func:`seal_batch`)."""
        return self.sig.startswith(BATCH_SIG_PREFIX)

    @property
    def issued_at_dt(self) -> datetime:
        """``issued_at`` as an aware UTC datetime."""
        return parse_rfc3339(self.issued_at)

    def unsigned_dict(self) -> dict[str, Any]:
        """Every field except ``sig``: what the signature covers."""
        return {
            "v": self.v,
            "kind": self.kind,
            "sender": self.sender,
            "seq": self.seq,
            "recipient": self.recipient,
            "issued_at": self.issued_at,
            "key_id": self.key_id,
            "payload": self.payload,
        }

    def signing_bytes(self) -> bytes:
        """Canonical JSON of :meth:`unsigned_dict`: exactly the bytes signed.

        Made once, when the envelope is built (the payload must not be changed
        afterwards; nothing the protocol hands out lets it: see :meth:`to_dict`).
        """
        return self._signing

    def to_dict(self) -> dict[str, Any]:
        """Wire form (a fresh deep copy; mutating it cannot affect the envelope)."""
        data = self.unsigned_dict()
        data["payload"] = json_copy(self.payload)
        data["sig"] = self.sig
        return data

    def canonical_bytes(self) -> bytes:
        """Canonical JSON of the whole envelope, ``sig`` included.

        This is what the hub's transparency log stores as leaf data, so the
        log commits to the exact signed message. Keys sort as ``… "seq", "sig",
        "v"``, so it is :meth:`signing_bytes` with ``"sig"`` put before ``"v"``.
        """
        tail = b',"v":%d}' % self.v
        assert self._signing.endswith(tail)
        sig = canonical_json(self.sig)
        return self._signing[: -len(tail)] + b',"sig":' + sig + tail

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, owned: bool = False) -> Envelope:
        """Strict parse of the wire form: unknown, missing or ill-typed fields are refused.

        Strictness is a security property: an ignored extra field would be
        unsigned data a reader might still trust.

        The payload is copied, unless ``owned``: the caller hands the parsed
        JSON over (a request body it just decoded) and must not change it
        afterwards, since the signing bytes are made here, once.
        """
        if not isinstance(data, Mapping):
            raise EnvelopeMalformed("envelope must be an object")
        keys = set(data)
        if keys != cls.FIELDS:
            missing = sorted(cls.FIELDS - keys)
            unknown = sorted(str(k) for k in keys - cls.FIELDS)
            raise EnvelopeMalformed(f"missing fields {missing}, unknown fields {unknown}")
        values = {f.name: data[f.name] for f in fields(cls) if f.init}
        if not owned:
            values["payload"] = json_copy(values["payload"])
        return cls(**values)


def seal(
    kind: str,
    sender: str,
    seq: int,
    recipient: str,
    payload: Mapping[str, Any],
    key: SigningKey,
    issued_at: datetime,
) -> Envelope:
    """Build and sign an envelope with ``key`` (``key_id`` is taken from the key).

    ``issued_at`` is truncated to whole seconds. The payload is deep-copied,
    so later changes to the caller's dict cannot desynchronise it from the
    signature.
    """
    unsigned: dict[str, Any] = {
        "v": ENVELOPE_VERSION,
        "kind": kind,
        "sender": sender,
        "seq": seq,
        "recipient": recipient,
        "issued_at": format_rfc3339(issued_at),
        "key_id": key.key_id,
        "payload": json_copy(dict(payload)),
    }
    try:
        signing_bytes = canonical_json(unsigned)
    except CanonicalError as exc:
        raise EnvelopeMalformed(f"payload not canonicalisable: {exc.detail}") from exc
    return Envelope(**unsigned, sig=b64url_encode(key.sign(signing_bytes)))


def verify_envelope(
    env: Envelope,
    keyring: Keyring,
    *,
    recipient: str | None = None,
    batch_cache: MutableSet[tuple[str, bytes, int]] | None = None,
) -> None:
    """Check that ``env`` is authentic; raise the precise :class:`~sync.errors.SyncError` if not.

    Checks, in order: the recipient (when the caller says who it is -- it
    should, or an envelope meant for one province could be replayed to
    another), that ``key_id`` belongs to ``sender`` and is valid at
    ``issued_at``, and the signature over :meth:`Envelope.signing_bytes`
    (directly, or through the batch root for batch-signed envelopes).

    ``batch_cache`` (a set the caller keeps for one ingest run) remembers
    ``(key_id, root, size)`` of batch signatures already verified, so the
    other envelopes of a batch cost hashes, not Ed25519 checks. Key validity
    is still checked for every envelope.
    """
    if recipient is not None and env.recipient != recipient:
        raise WrongRecipient(f"addressed to {env.recipient}, not {recipient}")
    verify_key = keyring.key_for(env.sender, env.key_id, env.issued_at_dt)
    if not env.batch_signed:
        verify_key.verify(b64url_decode(env.sig), env.signing_bytes())
        return
    assert env._batch is not None  # batch_signed: parsed when the envelope was built
    sig, index, size, path = env._batch
    try:
        batch_root = root_from_inclusion_proof(index, size, leaf_hash(env.signing_bytes()), path)
    except ProofError as exc:
        raise BadSignature(f"batch inclusion path invalid: {exc.detail}") from exc
    cache_key = (env.key_id, batch_root, size)
    if batch_cache is not None and cache_key in batch_cache:
        return
    verify_key.verify(sig, _batch_statement(batch_root, size))
    if batch_cache is not None:
        batch_cache.add(cache_key)


class BatchItem(NamedTuple):
    """One message of a batch, before signing (sender, key and time are shared)."""

    kind: str
    seq: int
    recipient: str
    payload: Mapping[str, Any]


def seal_batch(
    items: Sequence[BatchItem], sender: str, key: SigningKey, issued_at: datetime
) -> list[Envelope]:
    """Sign many envelopes with one Ed25519 signature (DESIGN.md, "Cost").

    The leaves are ``leaf_hash(signing_bytes)`` of each envelope, in order;
    the key signs ``canonical_json({"type": BATCH_TYPE, "root": b64url(root),
    "size": n})`` -- an object no other structure shares, so a batch
    signature can never pass for an envelope or rotation signature. Each
    envelope's ``sig`` is then::

        "mb1." b64url(signature) "." index "." size ("." b64url(path node))*

    so every envelope stays verifiable on its own (:func:`verify_envelope`
    handles both forms), at the cost of one more hash per tree level.
    Verification still costs one Ed25519 check per envelope unless the
    receiver caches verified (key_id, root) pairs; signing costs one.
    """
    if not 1 <= len(items) <= MAX_BATCH:
        raise EnvelopeMalformed(f"a batch has 1 to {MAX_BATCH} envelopes")
    time = format_rfc3339(issued_at)
    unsigned: list[dict[str, Any]] = []
    for item in items:
        unsigned.append(
            {
                "v": ENVELOPE_VERSION,
                "kind": item.kind,
                "sender": sender,
                "seq": item.seq,
                "recipient": item.recipient,
                "issued_at": time,
                "key_id": key.key_id,
                "payload": json_copy(dict(item.payload)),
            }
        )
    try:
        tree = MemoryTree([leaf_hash(canonical_json(u)) for u in unsigned])
    except CanonicalError as exc:
        raise EnvelopeMalformed(f"payload not canonicalisable: {exc.detail}") from exc
    size = tree.size
    sig = b64url_encode(key.sign(_batch_statement(tree.root(), size)))
    envelopes = []
    for index, fields_ in enumerate(unsigned):
        path = "".join("." + b64url_encode(h) for h in inclusion_proof(index, tree))
        envelopes.append(Envelope(**fields_, sig=f"{BATCH_SIG_PREFIX}{sig}.{index}.{size}{path}"))
    return envelopes


def _batch_statement(batch_root: bytes, size: int) -> bytes:
    return canonical_json({"type": BATCH_TYPE, "root": b64url_encode(batch_root), "size": size})


# The signature and the upper path nodes are the same in many envelopes of a batch
# (the signature in all of them): decode each spelling once.
_decode_part = functools.lru_cache(maxsize=8192)(b64url_decode)


def _parse_batch_sig(text: str) -> tuple[bytes, int, int, list[bytes]]:
    parts = text[len(BATCH_SIG_PREFIX) :].split(".")
    if len(parts) < 3 or not all(_DECIMAL.match(p) for p in parts[1:3]):
        raise EnvelopeMalformed("malformed batch signature")
    index, size = int(parts[1]), int(parts[2])
    if not 0 <= index < size <= MAX_BATCH:
        raise EnvelopeMalformed("batch index or size out of range")
    try:
        sig = _decode_part(parts[0])
        path = [_decode_part(p) for p in parts[3:]]
    except ValueError as exc:
        raise EnvelopeMalformed("malformed batch signature") from exc
    if len(sig) != _SIG_LEN or any(len(h) != HASH_SIZE for h in path):
        raise EnvelopeMalformed("malformed batch signature")
    return sig, index, size, path
