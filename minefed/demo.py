"""``minefed demo``: the whole federation on this machine, on an embedded PostgreSQL.

The hub listens on port P, the provinces on P+1, P+2 …, each with its own
database on one embedded PostgreSQL server, its own Celery worker and beat
(broker: kombu's SQLAlchemy transport over the node's database, so no broker
server is needed), enrolled at the hub with a one-time token exactly as an
operator would. Demo data is seeded once; a second run reuses everything in
the data directory. Ctrl-C stops every process and the database.
"""

from __future__ import annotations

import functools
import json
import secrets
import shutil
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from minefed.embedded_pg import EmbeddedPostgres
from minefed.localfed import PYTHON, Proc, run_cli, wait_until

DEFAULT_PROVINCES = ("150000", "140000", "530000")  # 内蒙古, 山西, 云南


def _seed_if_empty(database_url: str, province: str) -> list[dict[str, Any]] | None:
    """Seed an empty node; None if it already has accounts.

    Seeding happens before enrollment, so each approval notes that it is left
    unpublished; enrollment then publishes them all. Those notes are not news here.
    """
    import logging

    from sqlmodel import select

    from minefed.demo_data import seed_node
    from node.db import make_engine, session_factory, transaction
    from node.models import User

    engine = make_engine(database_url, 1, 0)
    quiet = logging.getLogger("minefed.node")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with transaction(session_factory(engine)) as session:
            if session.exec(select(User.id)).first() is not None:
                return None
            return [a.__dict__ for a in seed_node(session, province, datetime.now(UTC))]
    finally:
        quiet.setLevel(level)
        engine.dispose()


BUREAU = {
    "role": "national_admin",
    "username": "bureau",
    "display_name": "应急管理部（国家局）管理员",
}


def _hub_admin_if_missing(database_url: str) -> bool:
    """The national administrator of the demo hub (创建一次)."""
    from sqlmodel import select

    from central.audit.service import Actor
    from central.auth.service import create_user
    from central.db import make_engine, session_factory, transaction
    from central.models import HubUser
    from minefed.demo_data import DEMO_PASSWORD

    engine = make_engine(database_url, 1, 0)
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


def _secret(root: Path) -> str:
    """The demo's own random secret, kept in the data directory (never a default)."""
    path = root / "secret.txt"
    if not path.exists():
        path.write_text(secrets.token_hex(24), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _uvicorn(app: str, port: int) -> list[str]:
    return [
        PYTHON,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def _celery(role: str, name: str, root: Path) -> list[str]:
    args = [PYTHON, "-m", "celery", "-A", "node.worker", role, "--loglevel", "WARNING"]
    if role == "worker":
        return [
            *args,
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}@%h",
        ]
    return [*args, "--schedule", str(root / f"{name}.db")]


def _ready(url: str) -> bool:
    import httpx

    return httpx.get(f"{url}/readyz", timeout=2).status_code == 200


class Demo:
    def __init__(self, root: Path, port: int, provinces: tuple[str, ...]) -> None:
        self.root = root
        self.port = port
        self.provinces = provinces
        self.pg = EmbeddedPostgres(root / "postgres")
        self.procs: list[Proc] = []
        self.logs = root / "logs"

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, args, env, self.logs).start()
        self.procs.append(proc)
        return proc

    def _env(self) -> dict[str, str]:
        import os

        env = {k: v for k, v in os.environ.items() if not k.startswith("MINEFED_")}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def run(self) -> dict[str, Any]:
        from central.migrate import upgrade as upgrade_hub
        from node.migrate import upgrade as upgrade_node
        from sync.keys import SigningKey

        self.logs.mkdir(parents=True, exist_ok=True)
        secret = _secret(self.root)
        self.pg.start()

        self.pg.create_database("hub")
        hub_db = self.pg.url("hub")
        upgrade_hub(hub_db)
        hub_url = f"http://127.0.0.1:{self.port}"
        hub_env = self._env() | {
            "MINEFED_CENTRAL_ENVIRONMENT": "development",
            "MINEFED_CENTRAL_DATABASE_URL": hub_db,
            "MINEFED_CENTRAL_KEY_FILE": str(self.root / "hub.pem"),
            "MINEFED_CENTRAL_SECRET_KEY": secret,
        }
        if not (self.root / "hub.pem").exists():
            run_cli(["central", "keygen"], hub_env)
        fingerprint = SigningKey.from_pem((self.root / "hub.pem").read_bytes()).public().fingerprint
        self._start("hub", _uvicorn("central.asgi:app", self.port), hub_env)
        wait_until(lambda: _ready(hub_url), 60, "the hub")

        bureau = _hub_admin_if_missing(hub_db)
        info: dict[str, Any] = self._previous_info()
        accounts: dict[str, list[dict[str, Any]]] = info.get("accounts_by_province", {})
        nodes = []
        for offset, province in enumerate(self.provinces, start=1):
            name = f"node_{province}"
            self.pg.create_database(name)
            url = self.pg.url(name)
            upgrade_node(url)
            seeded = _seed_if_empty(url, province)
            if seeded is not None:
                accounts[province] = seeded
            node_port = self.port + offset
            key_file = self.root / f"node-{province}.pem"
            env = self._env() | {
                "MINEFED_NODE_ENVIRONMENT": "development",
                "MINEFED_NODE_NODE_ID": f"node:{province}",
                "MINEFED_NODE_PROVINCE_CODE": province,
                "MINEFED_NODE_DATABASE_URL": url,
                "MINEFED_NODE_SECRET_KEY": secret,
                "MINEFED_NODE_STORAGE_DIR": str(self.root / f"files-{province}"),
                "MINEFED_NODE_KEY_FILE": str(key_file),
                "MINEFED_NODE_HUB_URL": hub_url,
                "MINEFED_NODE_HUB_KEY_FINGERPRINT": fingerprint,
                "MINEFED_NODE_SYNC_SWEEP_INTERVAL_S": "5",
            }
            if not key_file.exists():
                out = run_cli(
                    [
                        "central",
                        "enroll-node",
                        "--node-id",
                        f"node:{province}",
                        "--jurisdiction",
                        province,
                    ],
                    hub_env,
                )
                token = next(
                    line.split(":", 1)[1].strip()
                    for line in out.splitlines()
                    if "token" in line.lower()
                )
                run_cli(["node", "enroll", "--token", token], env)
            self._start(f"node-{province}", _uvicorn("node.asgi:app", node_port), env)
            self._start(f"worker-{province}", _celery("worker", f"demo-{province}", self.root), env)
            self._start(f"beat-{province}", _celery("beat", f"beat-{province}", self.root), env)
            nodes.append(
                {
                    "province_code": province,
                    "url": f"http://127.0.0.1:{node_port}",
                    "docs": f"http://127.0.0.1:{node_port}/docs",
                }
            )
        for node in nodes:
            wait_until(
                functools.partial(_ready, str(node["url"])), 60, f"node {node['province_code']}"
            )
        # The hub's Celery worker with beat: the transparency log's sequencer (log.sequence),
        # started last so that it does not slow the servers' start.
        hub_worker = [PYTHON, "-m", "celery", "-A", "central.worker", "worker", "--beat"]
        hub_worker += ["--schedule", str(self.root / "hub-beat.db"), "--loglevel", "WARNING"]
        hub_worker += ["--concurrency", "1", "--without-gossip", "--without-mingle"]
        self._start(
            "hub-worker", [*hub_worker, "--without-heartbeat", "-n", "demo-hub@%h"], hub_env
        )

        from minefed.demo_data import DEMO_PASSWORD

        return {
            "hub": {
                "url": hub_url,
                "docs": f"{hub_url}/docs",
                "public_keys": f"{hub_url}/api/v1/public/keys",
                "key_fingerprint": fingerprint,
            },
            "nodes": nodes,
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
        }

    def _previous_info(self) -> dict[str, Any]:
        path = self.root / "demo.json"
        if path.exists():
            return dict(json.loads(path.read_text(encoding="utf-8")))
        return {}

    def watch(self) -> None:
        """Until Ctrl-C; leaves if a process dies, saying which."""
        while True:
            for proc in self.procs:
                if not proc.running:
                    click.echo(f"{proc.name} stopped unexpectedly; see {proc.log_path}", err=True)
                    return
            time.sleep(1)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.pg.stop()


def run_demo(
    data_dir: str, port: int, reset: bool, provinces: tuple[str, ...] = DEFAULT_PROVINCES
) -> int:
    root = Path(data_dir).resolve()
    if reset and root.exists():
        EmbeddedPostgres(root / "postgres").stop()
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    reused = (root / "demo.json").exists()
    demo = Demo(root, port, provinces)
    started = time.monotonic()
    if reused:
        click.echo("reusing the existing demo data (use --reset to start afresh)")
    click.echo(f"starting the federation (embedded PostgreSQL in {demo.pg.data_dir}) …")
    try:
        info = demo.run()
        info_path = root / "demo.json"
        info_path.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        _print_ready(info, info_path, time.monotonic() - started)
        demo.watch()
    except KeyboardInterrupt:
        pass
    finally:
        # A terminal's Ctrl-C reaches us more than once (uv forwards it too):
        # nothing may interrupt the shutdown itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        click.echo("stopping every process and PostgreSQL …")
        demo.stop()
    return 0


def _print_ready(info: dict[str, Any], path: Path, elapsed_s: float) -> None:
    click.echo("")
    click.echo(f"minefed demo is ready / 演示环境已就绪 ({elapsed_s:.0f} s)")
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
