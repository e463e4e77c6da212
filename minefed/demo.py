"""``minefed demo``: the whole federation on this machine, on an embedded PostgreSQL.

The hub listens on port P, the provinces on P+1, P+2 …, each with its own
database on one embedded PostgreSQL server and its own Celery worker with
embedded beat (broker: kombu's SQLAlchemy transport over the node's database,
so no broker server is needed), enrolled at the hub with a one-time token
through the same functions as ``minefed central enroll-node`` and ``minefed
node enroll``. Demo data is seeded once (``minefed.demo_data``); a second run
reuses everything in the data directory.

Start-up does the demo process's own work (migrations, seeding, enrollment,
the cross-province filings and the first delivery of everything to the hub)
while the servers, started as soon as their database is ready, import their
code; the Celery workers start once every server answers (on two cores, each
Python process costs some 5 s of CPU to start). Ctrl-C (or SIGTERM, SIGHUP, or
an error during start-up) stops every process, each in its own process group,
and the database.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from minefed.embedded_pg import EmbeddedPostgres
from minefed.localfed import PYTHON, Proc, stop_all, wait_until

DEFAULT_PROVINCES = ("150000", "140000", "530000")  # 内蒙古, 山西, 云南

BUREAU = {
    "role": "national_admin",
    "username": "bureau",
    "display_name": "应急管理部（国家局）管理员",
}


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Seeding happens before enrollment, so each approval notes that it is left
    unpublished; enrollment then publishes them all. Those notes are not news here."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _secret(root: Path) -> str:
    """The demo's own random secret, kept in the data directory (never a default)."""
    path = root / "secret.txt"
    if not path.exists():
        path.write_text(secrets.token_hex(24), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _uvicorn(app: str, port: int) -> list[str]:
    args = [PYTHON, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    return [*args, "--no-access-log", "--log-level", "warning"]


def _celery_with_beat(app: str, name: str, schedule: Path) -> list[str]:
    """A Celery worker with embedded beat; ``--schedule`` names the data directory,
    so every process of the demo can be found by its command line."""
    return [
        *(PYTHON, "-m", "celery", "-A", app, "worker", "--beat", "--schedule", str(schedule)),
        *("--loglevel", "WARNING", "--concurrency", "1"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h"),
    ]


def _ready(url: str) -> bool:
    import httpx

    return httpx.get(f"{url}/readyz", timeout=2).status_code == 200


def _settings(cls: Any, prefix: str, env: dict[str, str]) -> Any:
    """Settings built from the very environment the demo gives its processes."""
    return cls(**{k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)})


@dataclass
class _Province:
    code: str
    port: int
    database_url: str
    key_file: Path
    env: dict[str, str]
    seeded: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def node_id(self) -> str:
        return f"node:{self.code}"

    def settings(self) -> Any:
        from node.config import NodeSettings

        return _settings(NodeSettings, "MINEFED_NODE_", self.env)

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A transaction on the node's database, publishing like the node does."""
        from node.db import make_engine, session_factory, transaction
        from node.sync.keystore import KeyFile
        from node.sync.publish import Publisher, bind_publisher

        engine = make_engine(self.database_url, 1, 0)
        try:
            with transaction(session_factory(engine)) as session:
                bind_publisher(session, Publisher(KeyFile(self.key_file), None))
                yield session
        finally:
            engine.dispose()


class Demo:
    def __init__(self, root: Path, port: int, provinces: tuple[str, ...]) -> None:
        self.root = root
        self.port = port
        self.provinces = provinces
        self.pg = EmbeddedPostgres(root / "postgres")
        self.procs: list[Proc] = []
        self.logs = root / "logs"
        self.started = time.monotonic()
        #: Seconds from the start at which each step ended (written to demo.json).
        self.timings: dict[str, float] = {}
        #: The demo process's own CPU seconds at the same moments (its children's apart).
        self.cpu: dict[str, float] = {}

    def _mark(self, step: str) -> None:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.timings[step] = round(time.monotonic() - self.started, 1)
        self.cpu[step] = round(usage.ru_utime + usage.ru_stime, 1)

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, args, env, self.logs)
        self.procs.append(proc)  # before start: stopped even if start fails half-way
        return proc.start()

    def _env(self) -> dict[str, str]:
        import os

        env = {k: v for k, v in os.environ.items() if not k.startswith("MINEFED_")}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    # ------------------------------------------------------------------ steps

    def _hub_key(self) -> str:
        """The hub's key (as ``minefed central keygen`` makes it); its fingerprint."""
        from central.keys.hub_key import write_key_file
        from sync.keys import SigningKey

        path = self.root / "hub.pem"
        if not path.exists():
            write_key_file(path, SigningKey.generate())
        return SigningKey.from_pem(path.read_bytes()).public().fingerprint

    def _hub_admin_if_missing(self, hub_db: str) -> bool:
        """The national administrator of the demo hub (创建一次)."""
        from sqlmodel import select

        from central.audit.service import Actor
        from central.auth.service import create_user
        from central.db import make_engine, session_factory, transaction
        from central.models import HubUser
        from minefed.demo_data import DEMO_PASSWORD

        engine = make_engine(hub_db, 1, 0)
        try:
            with transaction(session_factory(engine)) as session:
                if session.exec(select(HubUser.id)).first() is not None:
                    return False
                create_user(
                    session,
                    Actor("cli:demo"),
                    username=BUREAU["username"],
                    display_name=BUREAU["display_name"],
                    role=BUREAU["role"],
                    password=DEMO_PASSWORD,
                    now=datetime.now(UTC),
                    must_change_password=False,
                )
                return True
        finally:
            engine.dispose()

    def _seed_if_empty(self, province: _Province) -> list[dict[str, Any]] | None:
        """Seed an empty node; None if it already has accounts."""
        from sqlmodel import select

        from minefed.demo_data import seed_node
        from node.models import User

        with _quiet("minefed.node"), province.session() as session:
            if session.exec(select(User.id)).first() is not None:
                return None
            accounts = seed_node(session, province.code, datetime.now(UTC))
            return [a.__dict__ for a in accounts]

    def _enroll(self, province: _Province, hub_env: dict[str, str], fingerprint: str) -> None:
        """What ``minefed central enroll-node`` and ``minefed node enroll`` do, in-process:
        a one-time token at the hub, spent by the node (which then publishes its backlog)."""
        import httpx

        from central.config import CentralSettings
        from central.db import make_engine, session_factory, transaction
        from central.enrollment.service import issue_token
        from minefed.cli import _central_actor
        from node.db import make_engine as node_engine
        from node.db import session_factory as node_sessions
        from node.sync.enrollment import enroll
        from sync.clock import SystemClock

        hub = _settings(CentralSettings, "MINEFED_CENTRAL_", hub_env)
        engine = make_engine(hub.database_url, 1, 0)
        try:
            with transaction(session_factory(engine)) as session:
                issued = issue_token(
                    session,
                    node_id=province.node_id,
                    jurisdiction=province.code,
                    display_name=None,
                    actor=_central_actor(),
                    now=SystemClock().now(),
                    ttl_s=hub.enrollment_token_ttl_s,
                )
        finally:
            engine.dispose()
        engine = node_engine(province.database_url, 1, 0)
        try:
            with httpx.Client() as http, _quiet("minefed.node"):
                enroll(
                    node_sessions(engine),
                    http,
                    province.settings(),
                    SystemClock(),
                    token=issued.token,
                    fingerprint=fingerprint,
                )
        finally:
            engine.dispose()

    def _sync(self, provinces: list[_Province]) -> None:
        """One sweep of each node (push its outbox, pull its inbox), as its worker does."""
        if not provinces:
            return
        import httpx

        from node.db import make_engine, session_factory
        from node.sync.keystore import KeyFile
        from node.sync.tasks import SyncRuntime, run_sweep
        from sync.clock import SystemClock

        for province in provinces:
            settings = province.settings()
            engine = make_engine(province.database_url, 2, 0)
            http = httpx.Client(timeout=settings.sync_http_timeout_s)
            try:
                factory = session_factory(engine)
                run_sweep(
                    SyncRuntime(settings, factory, http, KeyFile(province.key_file), SystemClock())
                )
            finally:
                http.close()
                engine.dispose()

    def _cross_province(self, provinces: list[_Province]) -> None:
        """Each freshly seeded province's contractor 1 files departments in the next
        province; those are relayed, one of each approved there, the decisions and an
        accident notice relayed home: the whole relay flow of docs/cross-province.md."""
        from minefed.demo_data import file_elsewhere, review_relayed

        homes = [(p, provinces[(i + 1) % len(provinces)]) for i, p in enumerate(provinces)]
        homes = [(home, where) for home, where in homes if home.seeded and home is not where]
        if not homes:
            self._sync([p for p in provinces if p.seeded])  # deliver what enrollment published
            return
        self._sync(provinces)  # every node learns the others' keys (directive.keyring)
        now = datetime.now(UTC)
        for home, where in homes:
            with home.session() as session:
                file_elsewhere(session, home.code, where.code, now)
        self._sync([home for home, _ in homes])
        locations = {where.code: where for _, where in homes}
        for where in locations.values():
            self._sync([where])
            sent_from = {home.node_id for home, w in homes if w is where}
            with where.session() as session:
                approved = review_relayed(session, datetime.now(UTC), sent_from)
            if len(approved) != len(sent_from):
                raise RuntimeError(
                    f"the departments filed from {sorted(sent_from)} did not reach "
                    f"{where.node_id}: see its sync status (minefed node sync-status)"
                )
            self._sync([where])
        self._sync([home for home, _ in homes])

    # ------------------------------------------------------------------ run

    def run(self) -> dict[str, Any]:
        from central.migrate import upgrade as upgrade_hub
        from node.migrate import upgrade as upgrade_node

        self.logs.mkdir(parents=True, exist_ok=True)
        secret = _secret(self.root)
        self.pg.start()
        for name in ("hub", *(f"node_{p}" for p in self.provinces)):
            self.pg.create_database(name)
        self._mark("postgres")

        hub_db = self.pg.url("hub")
        hub_url = f"http://127.0.0.1:{self.port}"
        hub_env = self._env() | {
            "MINEFED_CENTRAL_ENVIRONMENT": "development",
            "MINEFED_CENTRAL_DATABASE_URL": hub_db,
            "MINEFED_CENTRAL_KEY_FILE": str(self.root / "hub.pem"),
            "MINEFED_CENTRAL_SECRET_KEY": secret,
        }
        fingerprint = self._hub_key()
        upgrade_hub(hub_db)
        self._start("hub", _uvicorn("central.asgi:app", self.port), hub_env)

        info: dict[str, Any] = self._previous_info()
        accounts: dict[str, list[dict[str, Any]]] = info.get("accounts_by_province", {})
        provinces: list[_Province] = []
        for offset, code in enumerate(self.provinces, start=1):
            url = self.pg.url(f"node_{code}")
            key_file = self.root / f"node-{code}.pem"
            env = self._env() | {
                "MINEFED_NODE_ENVIRONMENT": "development",
                "MINEFED_NODE_NODE_ID": f"node:{code}",
                "MINEFED_NODE_PROVINCE_CODE": code,
                "MINEFED_NODE_DATABASE_URL": url,
                "MINEFED_NODE_SECRET_KEY": secret,
                "MINEFED_NODE_STORAGE_DIR": str(self.root / f"files-{code}"),
                "MINEFED_NODE_KEY_FILE": str(key_file),
                "MINEFED_NODE_HUB_URL": hub_url,
                "MINEFED_NODE_HUB_KEY_FINGERPRINT": fingerprint,
                "MINEFED_NODE_SYNC_SWEEP_INTERVAL_S": "5",
            }
            province = _Province(code, self.port + offset, url, key_file, env)
            provinces.append(province)
            upgrade_node(url)
            seeded = self._seed_if_empty(province)
            if seeded is not None:
                accounts[code] = seeded
                province.seeded = True
            # The node's server imports its code while we seed the next province.
            self._start(f"node-{code}", _uvicorn("node.asgi:app", province.port), env)
        bureau = self._hub_admin_if_missing(hub_db)
        self._mark("migrated_and_seeded")

        self._wait_ready(hub_url, "the hub")
        for province in provinces:
            if not province.key_file.exists():
                self._enroll(province, hub_env, fingerprint)
        self._mark("enrolled")
        self._cross_province(provinces)
        self._mark("cross_province")
        for province in provinces:
            self._wait_ready(province.url, f"node {province.code}")
        self._mark("ready")
        # The demo data are delivered by now (_cross_province synced every node): the
        # workers, each some 5 s of CPU to import, start once the servers answer, so
        # that they do not compete with them for the machine's two cores.
        for province in provinces:
            schedule = self.root / f"beat-{province.code}.db"
            worker = _celery_with_beat("node.worker", f"demo-{province.code}", schedule)
            self._start(f"worker-{province.code}", worker, province.env)
        # The hub's worker with beat: the transparency log's sequencer (log.sequence).
        self._start(
            "hub-worker",
            _celery_with_beat("central.worker", "demo-hub", self.root / "hub-beat.db"),
            hub_env,
        )

        from minefed.demo_data import DEMO_PASSWORD

        return {
            "hub": {
                "url": hub_url,
                "docs": f"{hub_url}/docs",
                "public_keys": f"{hub_url}/api/v1/public/keys",
                "key_fingerprint": fingerprint,
            },
            "nodes": [
                {"province_code": p.code, "url": p.url, "docs": f"{p.url}/docs"} for p in provinces
            ],
            "password": DEMO_PASSWORD,
            "accounts_by_province": accounts,
            "accounts": [
                {**BUREAU, "province_code": "000000"},
                *(a | {"province_code": p} for p, acc in accounts.items() for a in acc),
            ],
            "hub_account_created": bureau,
            "database": {"host": self.pg.host, "port": self.pg.port},
            "data_dir": str(self.root),
            "logs": str(self.logs),
            "seeded": [p.code for p in provinces if p.seeded],
            "startup_s": self.timings,
            "startup_cpu_s": self.cpu,
            # Every process of the demo; each one's command line names the data
            # directory or its port, and none is left once the demo has stopped.
            "processes": {p.name: p.pid for p in self.procs} | {"postgres": self.pg.pid()},
        }

    def _wait_ready(self, url: str, what: str) -> None:
        """Until ``url`` answers /readyz; fails at once if any process has died meanwhile."""

        def ready() -> bool:
            for proc in self.procs:
                if not proc.running:
                    raise RuntimeError(f"{proc.name} stopped; see {proc.log_path}")
            return _ready(url)

        wait_until(ready, 120, what)

    def _previous_info(self) -> dict[str, Any]:
        path = self.root / "demo.json"
        if path.exists():
            return dict(json.loads(path.read_text(encoding="utf-8")))
        return {}

    def watch(self) -> bool:
        """Until Ctrl-C; False if a process dies, saying which."""
        while True:
            for proc in self.procs:
                if not proc.running:
                    click.echo(f"{proc.name} stopped unexpectedly; see {proc.log_path}", err=True)
                    return False
            time.sleep(1)

    def stop(self) -> None:
        """Every process group at once (SIGTERM, then SIGKILL after 10 s), then PostgreSQL.

        10 s is enough for a warm shutdown; a worker killed mid-task loses nothing
        (the outbox and the cursors are in the database), only a worker still
        starting up may need the SIGKILL."""
        try:
            stop_all(self.procs, timeout_s=10)
        finally:
            self.pg.stop()


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_stopping: list[int] = []


def _interrupt(signum: int, frame: object) -> None:
    """The first stop signal interrupts whatever runs; later ones (a terminal's Ctrl-C
    arrives more than once, uv forwards it too) must not interrupt the shutdown."""
    if not _stopping:
        _stopping.append(signum)
        raise KeyboardInterrupt


def run_demo(
    data_dir: str, port: int, reset: bool, provinces: tuple[str, ...] = DEFAULT_PROVINCES
) -> int:
    # Ctrl-C, SIGTERM (kill, systemd, docker stop) and SIGHUP (the terminal closing)
    # all end in the same shutdown, even when SIGINT was ignored by whoever started us.
    _stopping.clear()
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    root = Path(data_dir).resolve()
    if (root / "secret.txt").exists() and not (root / "demo.json").exists():
        # demo.json is written when a run got ready: without it, that run stopped half-way.
        click.echo(f"{root} holds an unfinished demo: starting afresh")
        reset = True
    if reset and root.exists():
        EmbeddedPostgres(root / "postgres").stop()
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    reused = (root / "demo.json").exists()
    demo = Demo(root, port, provinces)
    if reused:
        click.echo("reusing the existing demo data (use --reset to start afresh)")
    click.echo(f"starting the federation (embedded PostgreSQL in {demo.pg.data_dir}) …")
    code = 0
    try:
        info = demo.run()
        info_path = root / "demo.json"
        info_path.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        _print_ready(info, info_path, demo.timings["ready"], reused)
        code = 0 if demo.watch() else 1
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        click.echo(f"the demo failed to start: {exc!r}; process logs in {demo.logs}", err=True)
        code = 1
    finally:
        _stopping.append(0)  # from here on, stop signals are ignored (see _interrupt)
        click.echo("stopping every process and PostgreSQL …")
        demo.stop()
        click.echo("stopped / 已停止")
    return code


def _print_ready(info: dict[str, Any], path: Path, elapsed_s: float, reused: bool) -> None:
    click.echo("")
    how = "reusing its data / 复用已有数据" if reused else "with fresh demo data / 新生成演示数据"
    click.echo(f"minefed demo is ready / 演示环境已就绪 in {elapsed_s:.1f} s ({how})")
    hub = info["hub"]
    click.echo(f"  national hub:   {hub['url']}  (API docs: {hub['docs']})")
    for n in info["nodes"]:
        click.echo(f"  province {n['province_code']}: {n['url']}  (API docs: {n['docs']})")
    click.echo(f"  accounts (password for all: {info['password']}):")
    for a in info["accounts"]:
        click.echo(
            f"    {a['province_code']} {a['role']:<22} {a['username']:<22} {a['display_name']}"
        )
    click.echo(f"  written to {path}; process logs in {info['logs']}")
    click.echo("  press Ctrl-C to stop everything / 按 Ctrl-C 停止")
