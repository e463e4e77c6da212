"""The node's private key on disk: a PKCS#8 PEM file, mode 0600, never in the database.

Written once at enrollment and replaced atomically at rotation. Every process
of the node (API workers, Celery workers, the CLI) reads it from the same path;
:class:`KeyFile` notices when another process has rotated it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sync.keys import SigningKey

__all__ = ["KeyFile", "stage_key_file", "switch_key_file", "write_new_key_file"]

_MODE = 0o600


def _write(path: Path, key: SigningKey, *, exclusive: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_EXCL if exclusive else 0)
    fd = os.open(path, flags, _MODE)
    try:
        os.fchmod(fd, _MODE)  # the umask may only have narrowed it, but be explicit
        os.write(fd, key.to_pem())
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new_key_file(path: Path, key: SigningKey) -> None:
    """Write ``key`` to ``path`` (mode 0600); refuses to overwrite an existing file.

    A node's key is its identity at the hub: silently replacing one would cut
    the node off, so an existing file is an error, never clobbered.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, key, exclusive=True)


def stage_key_file(path: Path, key: SigningKey, suffix: str) -> Path:
    """Write ``key`` beside ``path`` (``path + suffix``, mode 0600) before it is needed.

    A rotation stages the new key before asking the hub to register it, so
    the private half of a key the hub may already know is never only in memory.
    """
    staged = path.with_name(path.name + suffix)
    _write(staged, key, exclusive=True)
    return staged


def switch_key_file(path: Path, staged: Path, retired_suffix: str) -> Path:
    """Make ``staged`` the key file atomically, keeping the old one as ``path + suffix``.

    The rename is atomic, so a reader sees the old key or the new one, never
    a partial file. Returns the path of the retired key.
    """
    retired = path.with_name(path.name + retired_suffix)
    if not retired.exists():
        os.link(path, retired)  # a second name for the old key; nothing is copied
    os.replace(staged, path)
    _fsync_dir(path.parent)
    return retired


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class KeyFile:
    """Loads the signing key from ``path`` and reloads it when the file changes.

    Checked with one ``stat`` per use, so a key rotated by ``minefed node
    rotate-key`` in another process is picked up without a restart.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._key: SigningKey | None = None

    def load(self) -> SigningKey | None:
        """The current key, or ``None`` when the file does not exist (not enrolled)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp or self._key is None:
                self._key = SigningKey.from_pem(self.path.read_bytes())
                self._stamp = stamp
            return self._key
