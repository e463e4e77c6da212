"""A federation on this machine: the hub and provincial nodes as separate uvicorn
servers, with Celery workers and beat per node, each a real child process.

Used by the federation tests (``tests/federation/harness.py``) and the sync
benchmark (``bench/sync_load.py``); it knows nothing of either. Databases come
from the caller (``create_database(name) -> url``), so the same code runs on the
tests' PostgreSQL or on a benchmark's embedded server. Enrollment goes through
the real commands (``minefed central keygen``, ``minefed central enroll-node``,
``minefed node enroll``), as an operator would run them.

Everything started here is a child process in its own process group, stopped
(and, if need be, killed) by :meth:`Federation.close`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from minefed.embedded_pg import free_port

__all__ = [
    "PYTHON",
    "SECRET",
    "Federation",
    "Proc",
    "Server",
    "run_cli",
    "stop_all",
    "wait_until",
]

PYTHON = sys.executable
#: The secrets of a test federation (long enough for production mode's checks).
SECRET = "x" * 40


class Proc:
    """One child process with its log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self._swept = False

    def start(self) -> Proc:
        self._swept = False
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(  # noqa: S603 - our own commands
                self.args,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int | None:
        return None if self.popen is None else self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.running:
            assert self.popen is not None
            os.killpg(self.popen.pid, sig)

    def _sweep(self) -> None:
        """SIGKILL what is left of the process group once its leader has exited: a
        child that outlived its parent (a Celery pool process, an embedded beat)
        would otherwise go on running. Once per start, right after the leader is
        reaped, so that its pid still names this group and no other."""
        assert self.popen is not None
        if self._swept:
            return
        self._swept = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the leader to exit, then sweep its group;
        False if it is still running."""
        if self.popen is None:
            return True
        try:
            self.popen.wait(max(timeout_s, 0))
        except subprocess.TimeoutExpired:
            return False
        self._sweep()
        return True

    def stop(self, timeout_s: float = 20) -> None:
        stop_all([self], timeout_s)

    def kill(self) -> None:
        if self.popen is None:
            return
        if self.running:
            self.signal(signal.SIGKILL)
        self.popen.wait(10)
        self._sweep()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def stop_all(procs: list[Proc], timeout_s: float = 20) -> None:
    """Stop ``procs`` together: SIGTERM to every process group at once, one shared
    deadline for all to exit, then SIGKILL to the groups still there. Nothing of a
    group remains afterwards, not even children that outlived their leader."""
    for proc in procs:
        proc.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for proc in procs:
        proc.wait(deadline - time.monotonic())
    for proc in procs:
        proc.kill()


def wait_until(
    check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.2
) -> None:
    """Poll ``check`` until it is true; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def run_cli(args: list[str], env: Mapping[str, str]) -> str:
    """``python -m minefed.cli ARGS`` with ``env``; its output, or AssertionError."""
    done = subprocess.run(  # noqa: S603 - our own CLI
        [PYTHON, "-m", "minefed.cli", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise AssertionError(f"minefed {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Server:
    name: str
    url: str
    env: dict[str, str]
    database_url: str
    proc: Proc
    workers: list[Proc] = field(default_factory=list)

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200

    def wait_ready(self, timeout_s: float = 60) -> None:
        wait_until(self.ready, timeout_s, f"{self.name} to be ready")


def _uvicorn(app: str, port: int, workers: int) -> list[str]:
    args = [PYTHON, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        args += ["--workers", str(workers)]
    return [*args, "--no-access-log", "--log-level", "warning"]


class Federation:
    """Builds and runs a hub and nodes; :meth:`close` stops everything.

    ``create_database(name)`` makes an empty database and returns its
    SQLAlchemy URL; ``drop_database(name)``, if given, is called for each at
    :meth:`close`. ``node_env`` adds settings to every node. ``suffix`` keeps
    names (databases, broker queues, Celery node names) apart when several
    federations share a server or a broker.
    """

    def __init__(
        self,
        root: Path,
        suffix: str,
        *,
        create_database: Callable[[str], str],
        drop_database: Callable[[str], None] | None = None,
        broker_url: str | None = None,
        environment: str = "test",
        secret: str = SECRET,
        node_env: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self.suffix = suffix
        self.create_database = create_database
        self.drop_database = drop_database
        self.broker_url = broker_url
        self.environment = environment
        self.secret = secret
        self.node_env = dict(node_env or {})
        self.procs: list[Proc] = []
        self.databases: list[str] = []
        self.hub: Server | None = None
        self.nodes: dict[str, Server] = {}
        root.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------ set-up

    def _database(self, name: str) -> str:
        db = f"fed_{name}_{self.suffix}"
        self.databases.append(db)
        return self.create_database(db)

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MINEFED_")}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _proc(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, args, env, self.root)
        self.procs.append(proc)
        return proc

    def start_hub(self, *, workers: int = 1, env: Mapping[str, str] | None = None) -> Server:
        """A migrated hub database, a hub key (``minefed central keygen``), and
        ``uvicorn central.asgi:app`` with ``workers`` processes; waits until ready."""
        from central.migrate import upgrade

        url = self._database("hub")
        upgrade(url)
        port = free_port()
        hub_env = self._base_env() | {
            "MINEFED_CENTRAL_ENVIRONMENT": self.environment,
            "MINEFED_CENTRAL_DATABASE_URL": url,
            "MINEFED_CENTRAL_KEY_FILE": str(self.root / "hub.pem"),
            "MINEFED_CENTRAL_SECRET_KEY": self.secret,
            "MINEFED_CENTRAL_PERSON_INDEX_KEY": self.secret,
            "MINEFED_CENTRAL_OPERATOR_TOKEN": self.secret,
        }
        hub_env.update(env or {})
        run_cli(["central", "keygen"], hub_env)
        proc = self._proc("hub", _uvicorn("central.asgi:app", port, workers), hub_env)
        self.hub = Server("hub", f"http://127.0.0.1:{port}", hub_env, url, proc.start())
        self.hub.wait_ready()
        return self.hub

    def hub_fingerprint(self) -> str:
        from sync.keys import SigningKey

        key = SigningKey.from_pem((self.root / "hub.pem").read_bytes())
        return key.public().fingerprint

    def start_node(
        self,
        province: str,
        *,
        workers: bool = True,
        server_workers: int = 1,
        env: Mapping[str, str] | None = None,
        before_enroll: Callable[[str], None] | None = None,
    ) -> Server:
        """A migrated node database, enrolled at the hub with a one-time token
        (``minefed central enroll-node`` + ``minefed node enroll``), the node under
        uvicorn, and (``workers``) one Celery worker and beat.

        ``env`` adds to or overrides the node's settings; ``before_enroll(url)``
        may fill the database before enrollment (which publishes what is approved).
        """
        from node.migrate import upgrade

        assert self.hub is not None
        node_id = f"node:{province}"
        url = self._database(f"node_{province}")
        upgrade(url)
        if before_enroll is not None:
            before_enroll(url)
        port = free_port()
        broker = self.broker_url or "sqla+" + url
        node_env = self._base_env() | {
            "MINEFED_NODE_ENVIRONMENT": self.environment,
            "MINEFED_NODE_NODE_ID": node_id,
            "MINEFED_NODE_PROVINCE_CODE": province,
            "MINEFED_NODE_DATABASE_URL": url,
            "MINEFED_NODE_SECRET_KEY": self.secret,
            "MINEFED_NODE_STORAGE_DIR": str(self.root / f"files-{province}"),
            "MINEFED_NODE_KEY_FILE": str(self.root / f"node-{province}.pem"),
            "MINEFED_NODE_HUB_URL": self.hub.url,
            "MINEFED_NODE_HUB_KEY_FINGERPRINT": self.hub_fingerprint(),
            "MINEFED_NODE_BROKER_URL": broker,
            # Federations sharing one RabbitMQ: a queue each.
            "MINEFED_NODE_BROKER_QUEUE": f"minefed.{self.suffix}.{province}",
        }
        node_env.update(self.node_env)
        node_env.update(env or {})
        out = run_cli(
            ["central", "enroll-node", "--node-id", node_id, "--jurisdiction", province],
            self.hub.env,
        )
        token = re.search(r"token[^:]*:\s*(\S+)", out, re.IGNORECASE)
        if token is None:
            raise AssertionError(f"no token in the output of enroll-node:\n{out}")
        run_cli(["node", "enroll", "--token", token.group(1)], node_env)
        proc = self._proc(
            f"node-{province}", _uvicorn("node.asgi:app", port, server_workers), node_env
        )
        server = Server(node_id, f"http://127.0.0.1:{port}", node_env, url, proc.start())
        self.nodes[province] = server
        server.wait_ready()
        if workers:
            self.start_workers(province)
        return server

    def worker_proc(self, province: str, name: str = "worker") -> Proc:
        """A Celery worker of the node (one process), not started."""
        server = self.nodes[province]
        return self._proc(
            f"{name}-{province}-{len(self.procs)}",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "node.worker",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                # Unique per federation: federations may share one RabbitMQ.
                f"{name}-{province}-{self.suffix}-{len(self.procs)}@%h",
            ],
            server.env,
        )

    def beat_proc(self, province: str) -> Proc:
        """Celery beat of the node (the sync sweep), not started."""
        server = self.nodes[province]
        return self._proc(
            f"beat-{province}-{len(self.procs)}",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "node.worker",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.root / f"beat-{province}-{len(self.procs)}.db"),
            ],
            server.env,
        )

    def start_workers(self, province: str) -> None:
        server = self.nodes[province]
        server.workers = [self.worker_proc(province).start(), self.beat_proc(province).start()]

    # ------------------------------------------------------------ tear-down

    def close(self) -> None:
        stop_all(list(reversed(self.procs)))
        if self.drop_database is not None:
            for db in self.databases:
                # Best effort: a test server goes at the end of the session anyway.
                with contextlib.suppress(Exception):
                    self.drop_database(db)

    def logs(self, tail: int = 4000) -> str:
        return "\n".join(f"===== {p.name}\n{p.log()[-tail:]}" for p in self.procs)
