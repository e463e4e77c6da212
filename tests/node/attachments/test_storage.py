"""FilesystemStorage: atomic writes, content-addressed keys, no way out of its root."""

from __future__ import annotations

import hashlib

import pytest

from node.attachments.storage import (
    AttachmentStorage,
    FilesystemStorage,
    InvalidStorageKey,
    StoredObjectNotFound,
    check_key,
    content_key,
)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def storage(root) -> AttachmentStorage:
    return FilesystemStorage(root)


def files_under(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


def test_put_open_exists_delete(storage, root):
    data = b"%PDF-1.4 scan" * 10_000  # several read chunks
    key = content_key(hashlib.sha256(data).hexdigest())
    assert not storage.exists(key)
    storage.put(key, data)
    assert storage.exists(key)
    assert b"".join(storage.open(key)) == data
    # Only the object itself: the temporary file was renamed, not left behind.
    assert files_under(root) == [key]
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting twice is fine
    with pytest.raises(StoredObjectNotFound):
        storage.open(key)


def test_put_replaces_whole_objects(storage, root):
    storage.put("ab/cd/object", b"first version")
    storage.put("ab/cd/object", b"second")
    assert b"".join(storage.open("ab/cd/object")) == b"second"
    assert files_under(root) == ["ab/cd/object"]


def test_a_failed_write_leaves_nothing(storage, root, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("node.attachments.storage.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        storage.put("ab/cd/object", b"data")
    assert files_under(root) == []


def test_open_fails_at_once_for_a_missing_object(storage):
    with pytest.raises(StoredObjectNotFound):
        storage.open("ab/cd/missing")  # raised on the call, not on first iteration
    storage.put("ab/cd/ef", b"x")
    with pytest.raises(StoredObjectNotFound):
        storage.open("ab/cd")  # a directory is not an object


def test_content_keys():
    digest = hashlib.sha256(b"x").hexdigest()
    assert content_key(digest) == f"{digest[:2]}/{digest[2:4]}/{digest}"
    assert content_key(digest.upper()) == content_key(digest)
    for bad in ("", "../" + digest[3:], digest[:63], digest[:63] + "g"):
        with pytest.raises(InvalidStorageKey):
            content_key(bad)


@pytest.mark.parametrize(
    "key",
    [
        "../outside",
        "ab/../../outside",
        "..",
        "/etc/passwd",
        "ab//cd",
        "ab/cd/",
        "ab\\..\\outside",
        "ab/./cd",
        ".hidden",
        "ab/.part",
        "",
        "ab/cd\x00",
        "ab/c d",
        "证书/扫描件",
        "a" * 256,
    ],
)
def test_keys_that_could_escape_the_root_are_refused(storage, root, tmp_path, key):
    for operation in (
        lambda: storage.put(key, b"data"),
        lambda: storage.open(key),
        lambda: storage.exists(key),
        lambda: storage.delete(key),
    ):
        with pytest.raises(InvalidStorageKey):
            operation()
    assert not (tmp_path / "outside").exists()
    assert not root.exists() or files_under(root) == []


def test_a_symlink_out_of_the_root_is_refused(storage, root, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    root.mkdir()
    (root / "ab").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidStorageKey):
        storage.put("ab/cd/object", b"data")
    assert list(outside.iterdir()) == []


class MemoryStorage:
    """What an object-store implementation looks like to the node: four methods."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self.objects[check_key(key)] = data

    def open(self, key: str):
        if key not in self.objects:
            raise StoredObjectNotFound(key)
        return iter([self.objects[key]])

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.objects


def test_the_app_uses_an_injected_storage(settings, node_engine, connection, clock, owner):
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from node.app import create_app
    from tests.node.attachments.conftest import uploaded
    from tests.node.attachments.samples import pdf_bytes

    memory = MemoryStorage()
    app = create_app(settings, engine=node_engine, clock=clock, storage=memory)
    app.state.session_factory = lambda: Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    with TestClient(app, base_url="http://node.test") as client:
        ref = uploaded(client, owner, pdf_bytes("memory"))
        assert list(memory.objects) == [content_key(ref["sha256"])]
        content = client.get(f"/api/v1/attachments/{ref['id']}/content", headers=owner)
        assert content.content == pdf_bytes("memory")
    assert not settings.storage_dir.exists()
