"""Signed checkpoints (C2SP signed-note + tlog-checkpoint)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from sync.checkpoint import (
    Checkpoint,
    add_cosignature,
    key_hash,
    open_checkpoint,
    parse_vkey,
    sign_checkpoint,
    vkey_string,
)
from sync.errors import CheckpointError
from sync.keys import SigningKey
from sync.merkle import MemoryTree

ORIGIN = "minefed.example/log"


def checkpoint() -> Checkpoint:
    tree = MemoryTree()
    for i in range(7):
        tree.append(f"leaf {i}".encode())
    return Checkpoint(ORIGIN, tree.size, tree.root())


def test_body_format() -> None:
    cp = checkpoint()
    assert cp.body() == f"{ORIGIN}\n7\n{base64.b64encode(cp.root).decode()}\n"
    assert Checkpoint.from_body(cp.body()) == cp


def test_sign_and_open() -> None:
    hub = SigningKey.generate()
    text = sign_checkpoint(checkpoint(), "hub.minefed", hub)
    body, sig_line = text.split("\n\n")
    assert sig_line.startswith("\u2014 hub.minefed ")
    blob = base64.b64decode(sig_line.split(" ")[2])
    assert blob[:4] == key_hash("hub.minefed", hub.public()) and len(blob) == 68
    expected_hash = hashlib.sha256(b"hub.minefed\n\x01" + hub.public().raw).digest()[:4]
    assert blob[:4] == expected_hash
    hub.public().verify(blob[4:], (body + "\n").encode())
    cp, signers = open_checkpoint(text, {"hub.minefed": hub.public()}, origin=ORIGIN)
    assert cp == checkpoint() and signers == ["hub.minefed"]


def test_cosignature() -> None:
    hub, witness = SigningKey.generate(), SigningKey.generate()
    text = sign_checkpoint(checkpoint(), "hub.minefed", hub)
    cosigned = add_cosignature(text, "witness.example", witness)
    verifiers = {"hub.minefed": hub.public(), "witness.example": witness.public()}
    _, signers = open_checkpoint(cosigned, verifiers, required=["hub.minefed", "witness.example"])
    assert signers == ["hub.minefed", "witness.example"]
    with pytest.raises(CheckpointError, match="missing"):
        open_checkpoint(text, verifiers, required=["hub.minefed", "witness.example"])
    with pytest.raises(CheckpointError):
        add_cosignature(cosigned, "witness.example", witness)


def test_modified_body_rejected() -> None:
    hub = SigningKey.generate()
    text = sign_checkpoint(checkpoint(), "hub.minefed", hub)
    tampered = text.replace("\n7\n", "\n8\n", 1)
    with pytest.raises(CheckpointError, match="invalid signature"):
        open_checkpoint(tampered, {"hub.minefed": hub.public()})


def test_unknown_or_wrong_keys() -> None:
    hub, other = SigningKey.generate(), SigningKey.generate()
    text = sign_checkpoint(checkpoint(), "hub.minefed", hub)
    with pytest.raises(CheckpointError, match="no valid signature"):
        open_checkpoint(text, {"hub.minefed": other.public()})  # key hash differs: unknown
    with pytest.raises(CheckpointError, match="no valid signature"):
        open_checkpoint(text, {"someone.else": hub.public()})
    with pytest.raises(CheckpointError, match="expected"):
        open_checkpoint(text, {"hub.minefed": hub.public()}, origin="other.log")
    # An unknown extra signer is ignored.
    extra = add_cosignature(text, "stranger", other)
    _, signers = open_checkpoint(extra, {"hub.minefed": hub.public()})
    assert signers == ["hub.minefed"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "minefed.example/log\n7\nAAAA\n",  # no signature block
        "minefed.example/log\n07\n{root}\n\n{sig}",  # non-canonical size
        "minefed.example/log\n7\n{root}\n\n- hub.minefed AAAAAAAA\n",  # hyphen, not em dash
        "minefed.example/log\n7\n{root}\n\n{sig}<strip>",  # no final newline
        "minefed.example/log\n7\n\n{sig}",  # missing root line
        "minefed.example/log\r\n7\n{root}\n\n{sig}",  # control character
    ],
)
def test_malformed_notes_rejected(text: str) -> None:
    hub = SigningKey.generate()
    good = sign_checkpoint(checkpoint(), "hub.minefed", hub)
    sig = good.split("\n\n")[1]
    root = base64.b64encode(checkpoint().root).decode()
    with pytest.raises(CheckpointError):
        note = text.format(root=root, sig=sig)
        if note.endswith("<strip>"):
            note = note.removesuffix("\n<strip>")
        open_checkpoint(note, {"hub.minefed": hub.public()})


def test_vkey_round_trip() -> None:
    key = SigningKey.generate().public()
    text = vkey_string("hub.minefed", key)
    name, hash_hex, key_b64 = text.split("+", 2)
    assert name == "hub.minefed" and len(hash_hex) == 8
    assert base64.b64decode(key_b64) == b"\x01" + key.raw
    assert parse_vkey(text) == ("hub.minefed", key)
    with pytest.raises(CheckpointError):
        parse_vkey(text.replace(hash_hex, "00000000"))
    with pytest.raises(CheckpointError):
        vkey_string("bad name", key)


def test_extensions_round_trip() -> None:
    cp = Checkpoint(ORIGIN, 3, checkpoint().root, ("ext line",))
    hub = SigningKey.generate()
    opened, _ = open_checkpoint(sign_checkpoint(cp, "hub", hub), {"hub": hub.public()})
    assert opened == cp


def test_empty_required_still_needs_a_signature() -> None:
    hub, other = SigningKey.generate(), SigningKey.generate()
    text = sign_checkpoint(checkpoint(), "hub.minefed", hub)
    with pytest.raises(CheckpointError, match="no valid signature"):
        open_checkpoint(text, {"hub.minefed": other.public()}, required=[])
