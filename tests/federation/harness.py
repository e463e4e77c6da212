"""A real federation on this machine: the hub and provincial nodes as separate
uvicorn servers, Celery workers and beat per node, on the tests' PostgreSQL.

Everything started here is a child process in its own process group, stopped
(and, if need be, killed) when the federation is closed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from minefed.embedded_pg import free_port
from tests.support import postgres

PYTHON = sys.executable
SECRET = "x" * 40


class Proc:
    """One child process with its log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.running:
            assert self.popen is not None
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout_s: float = 20) -> None:
        if not self.running:
            return
        assert self.popen is not None
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(10)

    def kill(self) -> None:
        if self.running:
            assert self.popen is not None
            self.signal(signal.SIGKILL)
            self.popen.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_until(
    check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def run_cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [PYTHON, "-m", "minefed.cli", *args], env=env, capture_output=True, text=True, timeout=120
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


class Federation:
    """Builds and runs a hub and nodes; use as a context manager."""

    def __init__(
        self, pg_server_url: str, root: Path, suffix: str, broker_url: str | None = None
    ) -> None:
        self.pg = pg_server_url
        self.root = root
        self.suffix = suffix
        self.broker_url = broker_url
        self.procs: list[Proc] = []
        self.databases: list[str] = []
        self.hub: Server | None = None
        self.nodes: dict[str, Server] = {}
        root.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------ set-up

    def _database(self, name: str) -> str:
        db = f"fed_{name}_{self.suffix}"
        self.databases.append(db)
        return postgres.recreate_database(self.pg, db)

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MINEFED_")}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _proc(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, args, env, self.root)
        self.procs.append(proc)
        return proc

    def start_hub(self) -> Server:
        from central.migrate import upgrade

        url = self._database("hub")
        upgrade(url)
        port = free_port()
        env = self._base_env() | {
            "MINEFED_CENTRAL_ENVIRONMENT": "test",
            "MINEFED_CENTRAL_DATABASE_URL": url,
            "MINEFED_CENTRAL_KEY_FILE": str(self.root / "hub.pem"),
            "MINEFED_CENTRAL_SECRET_KEY": SECRET,
            "MINEFED_CENTRAL_OPERATOR_TOKEN": SECRET,
        }
        run_cli(["central", "keygen"], env)
        proc = self._proc(
            "hub",
            [
                PYTHON,
                "-m",
                "uvicorn",
                "central.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env,
        )
        self.hub = Server("hub", f"http://127.0.0.1:{port}", env, url, proc.start())
        self.hub.wait_ready()
        return self.hub

    def hub_fingerprint(self) -> str:
        from sync.keys import SigningKey

        key = SigningKey.from_pem((self.root / "hub.pem").read_bytes())
        return key.public().fingerprint

    def start_node(
        self, province: str, *, workers: bool = True, backoff_cap_s: float = 2.0
    ) -> Server:
        from node.migrate import upgrade

        assert self.hub is not None
        node_id = f"node:{province}"
        url = self._database(f"node_{province}")
        upgrade(url)
        port = free_port()
        broker = self.broker_url or "sqla+" + url
        env = self._base_env() | {
            "MINEFED_NODE_ENVIRONMENT": "test",
            "MINEFED_NODE_NODE_ID": node_id,
            "MINEFED_NODE_PROVINCE_CODE": province,
            "MINEFED_NODE_DATABASE_URL": url,
            "MINEFED_NODE_SECRET_KEY": SECRET,
            "MINEFED_NODE_STORAGE_DIR": str(self.root / f"files-{province}"),
            "MINEFED_NODE_KEY_FILE": str(self.root / f"node-{province}.pem"),
            "MINEFED_NODE_HUB_URL": self.hub.url,
            "MINEFED_NODE_HUB_KEY_FINGERPRINT": self.hub_fingerprint(),
            "MINEFED_NODE_BROKER_URL": broker,
            # Federations of parallel tests may share one RabbitMQ: a queue each.
            "MINEFED_NODE_BROKER_QUEUE": f"minefed.test.{self.suffix}.{province}",
            "MINEFED_NODE_SYNC_BACKOFF_BASE_S": "0.2",
            "MINEFED_NODE_SYNC_BACKOFF_CAP_S": str(backoff_cap_s),
            "MINEFED_NODE_SYNC_SWEEP_INTERVAL_S": "1",
        }
        out = run_cli(
            ["central", "enroll-node", "--node-id", node_id, "--jurisdiction", province],
            self.hub.env,
        )
        token = re.search(r"token[^:]*:\s*(\S+)", out, re.IGNORECASE)
        assert token, out
        run_cli(["node", "enroll", "--token", token.group(1)], env)
        proc = self._proc(
            f"node-{province}",
            [
                PYTHON,
                "-m",
                "uvicorn",
                "node.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env,
        )
        server = Server(node_id, f"http://127.0.0.1:{port}", env, url, proc.start())
        self.nodes[province] = server
        server.wait_ready()
        if workers:
            self.start_workers(province)
        return server

    def worker_proc(self, province: str, name: str = "worker") -> Proc:
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
                # Unique per federation: parallel tests may share one RabbitMQ.
                f"{name}-{province}-{self.suffix}-{len(self.procs)}@%h",
            ],
            server.env,
        )

    def beat_proc(self, province: str) -> Proc:
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
        for proc in reversed(self.procs):
            proc.stop()
        for db in self.databases:
            # Best effort: the test server itself goes at the end of the session.
            with contextlib.suppress(Exception):
                postgres.drop_database(self.pg, db)

    def logs(self) -> str:
        return "\n".join(f"===== {p.name}\n{p.log()[-4000:]}" for p in self.procs)


@contextmanager
def federation(pg_server_url: str, root: Path, suffix: str) -> Iterator[Federation]:
    fed = Federation(pg_server_url, root, suffix, os.environ.get("MINEFED_TEST_BROKER_URL"))
    try:
        yield fed
    except BaseException:
        print(fed.logs())
        raise
    finally:
        fed.close()


def json_of(response: httpx.Response) -> Any:
    assert response.status_code < 400, f"{response.status_code} {response.text}"
    return json.loads(response.text)


# ---------------------------------------------------------------- a province's people


@dataclass
class Province:
    """Accounts at one node, logged in over HTTP."""

    server: Server
    contractor: dict[str, str]
    regulator: dict[str, str]
    admin: dict[str, str]
    county: str

    def file_department(self, client: httpx.Client, **over: Any) -> str:
        from tests.node.factories import project_department

        body = project_department(self.county, **over)
        created = json_of(
            client.post(
                f"{self.server.url}/api/v1/filings/project-departments",
                headers=self.contractor,
                json=body,
            )
        )
        json_of(
            client.post(
                f"{self.server.url}/api/v1/filings/{created['id']}/submit", headers=self.contractor
            )
        )
        return str(created["id"])

    def approve(self, client: httpx.Client, record_id: str, version_no: int = 1) -> None:
        json_of(
            client.post(
                f"{self.server.url}/api/v1/review/{record_id}/approve",
                headers=self.regulator,
                json={"version_no": version_no},
            )
        )


def seed_province(server: Server, province: str) -> Province:
    """Accounts written straight into the node's database, then logged in over HTTP."""
    from minefed.demo_data import DEMO_PASSWORD
    from node.accounts.service import create_user, register_contractor
    from node.db import make_engine, session_factory, transaction
    from schemas.divisions import children
    from schemas.enums import Role
    from schemas.identifiers import make_uscc

    city = next(c for c in children(province) if c.level == "city")
    county = next(k for k in children(city.code) if k.level == "county" and k.name != "市辖区")
    engine = make_engine(server.database_url, 1, 0)
    try:
        with transaction(session_factory(engine)) as session:
            common = {
                "province_code": province,
                "password": DEMO_PASSWORD,
                "must_change_password": False,
            }
            create_user(
                session,
                None,
                username="admin",
                display_name="省管理员",
                role=Role.PROVINCIAL_ADMIN,
                division_code=province,
                **common,
            )
            create_user(
                session,
                None,
                username="county",
                display_name="县审核员",
                role=Role.COUNTY_REGULATOR,
                division_code=county.code,
                **common,
            )
            contractor = register_contractor(
                session,
                None,
                uscc=make_uscc(county.code, f"{int(province) // 10000:02d}000001"),
                name=f"测试矿山工程有限公司{province}",
                home_province_code=province,
                central_soe=False,
            )
            create_user(
                session,
                None,
                username="contractor",
                display_name="承包单位",
                role=Role.CONTRACTOR,
                division_code=county.code,
                contractor=contractor,
                **common,
            )
    finally:
        engine.dispose()

    def login(username: str) -> dict[str, str]:
        token = json_of(
            httpx.post(
                f"{server.url}/api/v1/auth/token",
                data={"username": username, "password": DEMO_PASSWORD},
            )
        )
        return {"Authorization": f"Bearer {token['access_token']}"}

    return Province(server, login("contractor"), login("county"), login("admin"), county.code)
