"""The hub's own Ed25519 key, kept in a PEM file (never in the database)."""

from __future__ import annotations

import os
from pathlib import Path

from sync.keys import SigningKey


def load_signing_key(path: Path) -> SigningKey:
    """Load the hub key; ``FileNotFoundError`` if absent, ``KeyMalformed`` if not a key."""
    return SigningKey.from_pem(path.read_bytes())


def write_key_file(path: Path, key: SigningKey, *, force: bool = False) -> None:
    """Write ``key`` as PKCS#8 PEM readable by the owner only (0600).

    Refuses to replace an existing file unless ``force``: the hub key is what
    every node pins, so replacing it by accident cuts the federation off.
    The file is created with mode 0600 from the start (never world-readable,
    even for an instant) and swapped in by rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; use --force to replace the hub key")
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key.to_pem())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
