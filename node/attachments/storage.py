"""Where attachment bytes live: a small key → bytes interface, and its filesystem form.

Keys are content-addressed (:func:`content_key`: ``ab/cd/<sha256>``), so two
uploads of the same file share one stored object. The interface is shaped so that
an S3-compatible object store fits it one-to-one (``put`` → PutObject, ``open`` →
GetObject streamed in chunks, ``delete`` → DeleteObject, ``exists`` →
HeadObject); keys use only characters every object store accepts.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_BYTES = 64 * 1024

# Segments of letters, digits, "-", "_" and "." that never start with "." (so no
# "..", no hidden files, and no clash with the temporary files of FilesystemStorage).
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}(?:/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127})*")
MAX_KEY_LENGTH = 255  # attachment.storage_key is VARCHAR(255)


class InvalidStorageKey(ValueError):
    """A key that is malformed or would point outside the storage root."""


class StoredObjectNotFound(LookupError):
    """No object is stored under the key."""


class AttachmentStorage(Protocol):
    """Bytes by key. Implementations must make ``put`` atomic: a reader sees the
    whole object or none of it, never a partial write."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        ...

    def open(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; raises :class:`StoredObjectNotFound` at once
        (not on first iteration) when there is none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...

    def exists(self, key: str) -> bool: ...


def content_key(sha256_hex: str) -> str:
    """The content-addressed key of a file with this SHA-256 (``ab/cd/abcd…``)."""
    digest = sha256_hex.lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise InvalidStorageKey(f"not a SHA-256 hex digest: {sha256_hex!r}")
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


def check_key(key: str) -> str:
    """``key`` if it is a well-formed relative key, else :class:`InvalidStorageKey`."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidStorageKey(f"invalid storage key: {key!r}")
    return key


class FilesystemStorage:
    """Objects as files under ``root``; written to a temporary file in the target
    directory, flushed to disk, then renamed into place (atomic on POSIX)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        # The pattern already rules out "..", absolute paths and backslashes; resolving
        # also catches a symlink inside the root that points elsewhere.
        if not path.resolve().is_relative_to(self.root):
            raise InvalidStorageKey(f"storage key escapes the storage root: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_directory(path.parent)

    def open(self, key: str) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise StoredObjectNotFound(key) from None
        return _chunks(handle)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
