"""``minefed node|central backup`` and ``restore``: against real databases of their own.

Each test gets a database of its own on the test server (created, migrated, dropped at
the end) and runs the commands as an operator would, through click with settings in
the environment; pg_dump/pg_restore/psql are the real programs.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from minefed.cli import main
from node.attachments.storage import FilesystemStorage, content_key
from node.db import make_engine, session_factory, transaction
from node.models import Record
from node.retention.service import china_date, run
from tests.node.sync.conftest import Province
from tests.support import postgres

PASSWORD = "pw-never-printed-7f3a"


def _invoke(args: list[str], env: dict[str, str]) -> Result:
    from central.config import get_settings as central_settings
    from node.config import get_settings as node_settings

    node_settings.cache_clear()
    central_settings.cache_clear()
    try:
        return CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    finally:
        node_settings.cache_clear()
        central_settings.cache_clear()


def _db_name(app: str) -> str:
    return f"minefed_test_backup_{app}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


@pytest.fixture
def node_env(pg_server_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    from node.migrate import upgrade

    name = _db_name("node")
    url = postgres.recreate_database(pg_server_url, name)
    upgrade(url)
    # The test server trusts local connections: the password is there to be kept secret.
    url = make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)
    env = {
        "MINEFED_NODE_ENVIRONMENT": "test",
        "MINEFED_NODE_DATABASE_URL": url,
        "MINEFED_NODE_NODE_ID": "node:150000",
        "MINEFED_NODE_PROVINCE_CODE": "150000",
        "MINEFED_NODE_STORAGE_DIR": str(tmp_path / "attachments"),
        "MINEFED_NODE_KEY_FILE": str(tmp_path / "keys" / "node-signing-key.pem"),
    }
    yield env
    postgres.drop_database(pg_server_url, name)


@pytest.fixture
def hub_env(pg_server_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    from central.migrate import upgrade

    name = _db_name("hub")
    url = postgres.recreate_database(pg_server_url, name)
    upgrade(url)
    env = {
        "MINEFED_CENTRAL_ENVIRONMENT": "test",
        "MINEFED_CENTRAL_DATABASE_URL": url,
        "MINEFED_CENTRAL_KEY_FILE": str(tmp_path / "hub-keys" / "hub-signing-key.pem"),
    }
    yield env
    postgres.drop_database(pg_server_url, name)


class Node:
    """The node named by ``node_env``: its database through our services, its files."""

    def __init__(self, env: dict[str, str]) -> None:
        self.url = env["MINEFED_NODE_DATABASE_URL"]
        self.storage = FilesystemStorage(Path(env["MINEFED_NODE_STORAGE_DIR"]))
        self.engine = make_engine(self.url, 1, 1)
        self.factory = session_factory(self.engine)

    def department(self, province: Province | None = None) -> tuple[Province, uuid.UUID]:
        with transaction(self.factory) as session:
            province = province or Province(session)
            province.session = session
            record = province.submitted_department(session)
            return province, record.id

    def age(self, record_id: uuid.UUID, years: int) -> None:
        """As if first entered ``years`` ago (retention judges by that date)."""
        with transaction(self.factory) as session:
            when = datetime.now(UTC) - timedelta(days=365 * years + 10)
            session.execute(
                update(Record).where(col(Record.id) == record_id).values(created_at=when)
            )

    def ids(self) -> set[uuid.UUID]:
        with transaction(self.factory) as session:
            return set(session.exec(select(Record.id)).all())

    def put(self, data: bytes) -> str:
        key = content_key(hashlib.sha256(data).hexdigest())
        self.storage.put(key, data)
        return key

    def retention(self) -> int:
        now = datetime.now(UTC)
        report = run(
            self.factory,
            as_of=china_date(now),
            now=now,
            own_node="node:150000",
            publisher=None,
            storage=self.storage,
        )
        return report.project_departments


@pytest.fixture
def node(node_env: dict[str, str]) -> Iterator[Node]:
    n = Node(node_env)
    yield n
    n.engine.dispose()


def _backup(app: str, env: dict[str, str], to: Path) -> Path:
    result = _invoke([app, "backup", "--to", str(to)], env)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    made = [
        p
        for p in to.iterdir()
        if p.name.startswith(f"minefed-{'hub' if app == 'central' else app}-")
    ]
    assert len(made) == 1, made
    return made[0]


def test_a_node_restore_brings_back_the_backup_and_deletes_again_what_retention_deleted(
    node_env, node, tmp_path
):
    province, old = node.department()
    _, kept = node.department(province)
    node.age(old, 6)  # due for retention, which has not run yet when the backup is taken
    photo = b"\x89PNG scan of the licence " + os.urandom(64)
    photo_key = node.put(photo)

    made = _backup("node", node_env, tmp_path / "backups")
    manifest = json.loads((made / "manifest.json").read_text())
    assert manifest["app"] == "node" and manifest["node_id"] == "node:150000"
    assert manifest["province_code"] == "150000"
    assert manifest["alembic_revision"]
    assert set(manifest["files"]) == {"database.dump", "attachments.tar", "keys.tar"}
    for name, meta in manifest["files"].items():
        data = (made / name).read_bytes()
        assert meta["size"] == len(data) and meta["sha256"] == hashlib.sha256(data).hexdigest()
    for path in made.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    # After the backup: retention deletes the old department, a new one is filed,
    # the attachment goes and another one comes.
    assert node.retention() == 1
    _, later = node.department(province)
    node.storage.delete(photo_key)
    other_key = node.put(b"a later file")
    assert node.ids() == {kept, later}

    result = _invoke(["node", "restore", "--from", str(made), "--yes"], node_env)
    assert result.exit_code == 0, result.output
    assert "deleted again 1 project departments" in result.output
    assert "reconciled: the workers may be started" in result.output
    assert PASSWORD not in result.output
    assert node.ids() == {kept}, "the backup's data, less what retention deleted again"
    assert b"".join(node.storage.open(photo_key)) == photo
    assert not node.storage.exists(other_key)


def test_a_damaged_backup_is_refused_and_nothing_changes(node_env, node, tmp_path):
    province, first = node.department()
    made = _backup("node", node_env, tmp_path / "backups")
    _, later = node.department(province)
    dump = made / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    result = _invoke(["node", "restore", "--from", str(made), "--yes"], node_env)
    assert result.exit_code != 0
    assert "damaged backup" in result.output and "database.dump" in result.output
    assert node.ids() == {first, later}


def test_a_restore_without_yes_says_what_it_would_replace_and_changes_nothing(
    node_env, node, tmp_path
):
    province, first = node.department()
    made = _backup("node", node_env, tmp_path / "backups")
    _, later = node.department(province)
    late_file = node.put(b"after the backup")

    result = _invoke(["node", "restore", "--from", str(made)], node_env)
    assert result.exit_code != 0
    assert "will REPLACE the whole database" in result.output
    assert "nothing changed" in result.output
    assert node.ids() == {first, later}
    assert node.storage.exists(late_file)


def test_a_node_backup_is_not_restored_over_the_hub(node_env, hub_env, tmp_path):
    made = _backup("node", node_env, tmp_path / "backups")
    result = _invoke(["central", "restore", "--from", str(made), "--yes"], hub_env)
    assert result.exit_code != 0
    assert "not of a hub" in result.output


def _checkpoint(url: str, size: int) -> None:
    with psycopg.connect(postgres.conninfo(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO hub_checkpoint (size, root, note, signed_at) VALUES (%s, %s, %s, now())",
            (size, b"\x00" * 32, f"checkpoint of size {size}"),
        )


def _checkpoints(url: str) -> list[int]:
    with psycopg.connect(postgres.conninfo(url)) as conn:
        return [r[0] for r in conn.execute("SELECT size FROM hub_checkpoint ORDER BY size")]


def test_the_hub_refuses_to_roll_its_transparency_log_back_unless_told_to(hub_env, tmp_path):
    url = hub_env["MINEFED_CENTRAL_DATABASE_URL"]
    assert _invoke(["central", "keygen"], hub_env).exit_code == 0
    key_file = Path(hub_env["MINEFED_CENTRAL_KEY_FILE"])
    key = key_file.read_bytes()
    _checkpoint(url, 2)
    made = _backup("central", hub_env, tmp_path / "backups")
    manifest = json.loads((made / "manifest.json").read_text())
    assert manifest["app"] == "hub" and manifest["log"] == {"leaves": 0, "checkpoint": 2}
    _checkpoint(url, 5)  # witnesses have seen a log of 5 since
    key_file.unlink()

    refused = _invoke(["central", "restore", "--from", str(made), "--yes"], hub_env)
    assert refused.exit_code != 0
    assert "--accept-log-rollback" in refused.output and "fork alarm" in refused.output
    assert _checkpoints(url) == [2, 5]
    assert not key_file.exists()

    done = _invoke(
        ["central", "restore", "--from", str(made), "--yes", "--accept-log-rollback"], hub_env
    )
    assert done.exit_code == 0, done.output
    assert _checkpoints(url) == [2]
    assert key_file.read_bytes() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_hub_backup_restores_over_a_log_as_long_without_asking(hub_env, tmp_path):
    url = hub_env["MINEFED_CENTRAL_DATABASE_URL"]
    assert _invoke(["central", "keygen"], hub_env).exit_code == 0
    _checkpoint(url, 3)
    made = _backup("central", hub_env, tmp_path / "backups")
    done = _invoke(["central", "restore", "--from", str(made), "--yes"], hub_env)
    assert done.exit_code == 0, done.output
    assert _checkpoints(url) == [3]


def test_an_unreachable_database_is_a_clear_error(node_env, tmp_path):
    env = dict(node_env)
    env["MINEFED_NODE_DATABASE_URL"] = postgres.with_database(
        env["MINEFED_NODE_DATABASE_URL"], "minefed_no_such_database"
    )
    result = _invoke(["node", "backup", "--to", str(tmp_path / "backups")], env)
    assert result.exit_code == 1
    assert "cannot connect to minefed_no_such_database" in result.output
    assert PASSWORD not in result.output
    assert not list((tmp_path / "backups").iterdir())


def test_a_backup_of_an_older_release_is_migrated_to_head_on_restore(node_env, node, tmp_path):
    from alembic.script import ScriptDirectory

    from node.migrate import alembic_config, downgrade, upgrade

    url = node_env["MINEFED_NODE_DATABASE_URL"]
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    node.engine.dispose()
    downgrade(url, previous)
    made = _backup("node", node_env, tmp_path / "backups")
    assert json.loads((made / "manifest.json").read_text())["alembic_revision"] == previous
    upgrade(url)  # the new release's database, which the restore replaces

    result = _invoke(["node", "restore", "--from", str(made), "--yes"], node_env)
    assert result.exit_code == 0, result.output
    assert f"schema revision {previous}" in result.output
    assert "database migrated to head" in result.output
    with psycopg.connect(postgres.conninfo(url)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (head,)


def test_a_backup_of_another_province_is_refused(node_env, node, tmp_path):
    _, first = node.department()
    made = _backup("node", node_env, tmp_path / "backups")
    _, later = node.department()
    shanxi = {**node_env, "MINEFED_NODE_NODE_ID": "node:140000"}
    shanxi["MINEFED_NODE_PROVINCE_CODE"] = "140000"
    result = _invoke(["node", "restore", "--from", str(made), "--yes"], shanxi)
    assert result.exit_code == 1
    assert "the backup is of another node, refused" in result.output
    assert "node_id: backup node:150000, here node:140000" in result.output
    assert node.ids() == {first, later}
