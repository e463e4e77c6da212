"""Signed log checkpoints: C2SP ``tlog-checkpoint`` inside a C2SP ``signed-note``.

A checkpoint commits the hub to one tree size and root. It is published as a
signed note so that standard tooling (and witnesses) can check it::

    minefed.example/log            <- origin (identifies the log)
    1234                           <- tree size, decimal
    <base64 root hash>
                                   <- blank line ends the body
    — hub.minefed AbCd...==        <- one line per signature

Each signature line is ``"— " name " " base64(key_hash ‖ signature)``, where
``key_hash`` is the first 4 bytes of ``SHA-256(name ‖ "\\n" ‖ 0x01 ‖ raw
public key)`` (0x01 = Ed25519) and the signature is Ed25519 over the body
bytes, final newline included.

Witness cosignatures here are plain Ed25519 note signatures, not C2SP
``tlog-cosignature`` (which signs a timestamped variant with algorithm 0x04):
simpler, and enough for our own witnesses. A witness must verify the
checkpoint and its consistency with the last one it signed before calling
:func:`add_cosignature`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sync.b64 import b64std_decode, b64std_encode
from sync.errors import BadSignature, CheckpointError
from sync.keys import SigningKey, VerifyKey
from sync.merkle import HASH_SIZE

__all__ = [
    "MAX_SIGNATURES",
    "Checkpoint",
    "add_cosignature",
    "key_hash",
    "open_checkpoint",
    "parse_vkey",
    "sign_checkpoint",
    "vkey_string",
]

#: Signature lines beyond this make the note invalid (as golang.org/x/mod/sumdb/note).
MAX_SIGNATURES = 100

_ALG_ED25519 = b"\x01"
_SIG_PREFIX = "\u2014 "  # em dash, space
_NAME = re.compile(r"\A[^\s+\u2014]+\Z")
_SIZE = re.compile(r"\A(?:0|[1-9][0-9]{0,19})\Z")
_VKEY = re.compile(r"\A([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)\Z")


def _check_name(name: str) -> None:
    # Names appear on "— name sig" lines and in "name+hash+key"; spaces or
    # "+" would make both ambiguous.
    if not isinstance(name, str) or not _NAME.match(name):
        raise CheckpointError(f"bad signer name {name!r}")


def _check_text(text: str) -> None:
    for ch in text:
        if (ord(ch) < 0x20 and ch != "\n") or ch == "\x7f":
            raise CheckpointError("note contains control characters")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The log state a checkpoint commits to.

    ``extensions`` are the optional extra body lines of tlog-checkpoint; we
    write none, and keep those we read so the signed body round-trips.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise CheckpointError("origin must be one non-empty line")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise CheckpointError("size must be a non-negative integer")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError(f"root must be {HASH_SIZE} bytes")
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointError("extension lines are non-empty single lines")
        _check_text(self.origin + "".join(self.extensions))

    def body(self) -> str:
        """The note body: ``origin\\nsize\\nbase64(root)\\n`` plus extension lines."""
        lines = [self.origin, str(self.size), b64std_encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_body(cls, body: str) -> Checkpoint:
        """Parse a checkpoint body; :class:`CheckpointError` if malformed."""
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint body must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint body needs origin, size and root lines")
        origin, size_text, root_text, *extensions = lines
        if not _SIZE.match(size_text):
            raise CheckpointError("tree size is not a canonical decimal")
        try:
            root_hash = b64std_decode(root_text)
        except ValueError as exc:
            raise CheckpointError("root is not base64") from exc
        return cls(origin, int(size_text), root_hash, tuple(extensions))


def key_hash(name: str, key: VerifyKey) -> bytes:
    """C2SP signed-note key hash: first 4 bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ key)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _ALG_ED25519 + key.raw).digest()[:4]


def vkey_string(name: str, key: VerifyKey) -> str:
    """Note verifier key: ``<name>+<hex key hash>+<base64(0x01 ‖ public key)>``.

    The form operators paste into configuration to pin a log or witness key.
    """
    _check_name(name)
    return f"{name}+{key_hash(name, key).hex()}+{b64std_encode(_ALG_ED25519 + key.raw)}"


def parse_vkey(text: str) -> tuple[str, VerifyKey]:
    """Inverse of :func:`vkey_string`, checking the embedded key hash."""
    match = _VKEY.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise CheckpointError("not a note verifier key")
    name, hash_hex, key_b64 = match.groups()
    try:
        blob = b64std_decode(key_b64)
    except ValueError as exc:
        raise CheckpointError("verifier key is not base64") from exc
    if len(blob) != 33 or blob[:1] != _ALG_ED25519:
        raise CheckpointError("verifier key is not Ed25519")
    key = VerifyKey.from_bytes(blob[1:])
    if key_hash(name, key).hex() != hash_hex:
        raise CheckpointError("verifier key hash does not match")
    return name, key


def _signature_line(body: str, name: str, key: SigningKey) -> str:
    _check_name(name)
    sig = key.sign(body.encode("utf-8"))
    return f"{_SIG_PREFIX}{name} {b64std_encode(key_hash(name, key.public()) + sig)}\n"


def sign_checkpoint(cp: Checkpoint, name: str, key: SigningKey) -> str:
    """The signed note text for ``cp``, signed by ``name`` with ``key``."""
    body = cp.body()
    return body + "\n" + _signature_line(body, name, key)


def _split_note(text: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """Body and ``(name, key hash, signature)`` per signature line."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise CheckpointError("note must end with a newline")
    _check_text(text)
    split = text.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no signature block")
    body, sig_block = text[: split + 1], text[split + 2 :]
    lines = sig_block[:-1].split("\n")
    if not sig_block or len(lines) > MAX_SIGNATURES:
        raise CheckpointError("note needs 1 to 100 signature lines")
    sigs = []
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise CheckpointError("malformed signature line")
        parts = line[len(_SIG_PREFIX) :].split(" ")
        if len(parts) != 2:
            raise CheckpointError("malformed signature line")
        name, blob_b64 = parts
        _check_name(name)
        try:
            blob = b64std_decode(blob_b64)
        except ValueError as exc:
            raise CheckpointError("signature is not base64") from exc
        if len(blob) < 5:
            raise CheckpointError("signature too short")
        sigs.append((name, blob[:4], blob[4:]))
    return body, sigs


def add_cosignature(note_text: str, name: str, key: SigningKey) -> str:
    """Append ``name``'s signature (e.g. a witness) to a signed note.

    Does not verify the existing signatures: the witness must have opened the
    checkpoint with :func:`open_checkpoint` and checked consistency first.
    Refuses a second signature by the same key.
    """
    body, sigs = _split_note(note_text)
    own_hash = key_hash(name, key.public())
    if any(n == name and h == own_hash for n, h, _ in sigs):
        raise CheckpointError(f"{name} has already signed this note")
    if len(sigs) >= MAX_SIGNATURES:
        raise CheckpointError("too many signatures")
    return note_text + _signature_line(body, name, key)


def open_checkpoint(
    text: str,
    verifiers: Mapping[str, VerifyKey],
    *,
    required: Iterable[str] | None = None,
    origin: str | None = None,
) -> tuple[Checkpoint, list[str]]:
    """Verify a signed checkpoint note and parse it.

    Returns the checkpoint and the names (in note order) whose signatures
    verified. Signatures by names or key hashes not in ``verifiers`` are
    ignored (unknown witnesses are harmless), but a known key whose signature
    does *not* verify is an error: it means tampering, not ignorance.
    At least one of ``verifiers`` must have signed, and every name in
    ``required`` (e.g. the hub plus a witness quorum chosen by the caller);
    ``origin``, if given, must match -- pass it, or a
    checkpoint of another log signed by the same key would be accepted.
    """
    body, sigs = _split_note(text)
    checkpoint = Checkpoint.from_body(body)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint of {checkpoint.origin!r}, expected {origin!r}")
    body_bytes = body.encode("utf-8")
    signers: list[str] = []
    for name, sig_hash, sig in sigs:
        key = verifiers.get(name)
        if key is None or not hmac.compare_digest(sig_hash, key_hash(name, key)):
            continue
        try:
            key.verify(sig, body_bytes)
        except BadSignature as exc:
            raise CheckpointError(f"invalid signature by {name}") from exc
        if name not in signers:
            signers.append(name)
    if not signers:
        raise CheckpointError("no valid signature from a known key")
    missing = set(required or ()) - set(signers)
    if missing:
        raise CheckpointError(f"missing signatures from {sorted(missing)}")
    return checkpoint, signers
