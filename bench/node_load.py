"""Load benchmark of a provincial node: 100 simulated users over HTTP against a
province of 100,000 project departments; prints requests/s and latency
percentiles per operation.

    uv run python -m bench.node_load [--departments 100000] [--users 100]
        [--duration 60] [--workers 2] [--reuse DIR] [--keep]

What runs, all on this machine: an embedded PostgreSQL (fsync on, durable commits:
not the tests' fast_unsafe mode), a node database migrated to head and filled by
``bench.datagen``, the node as a real server (``uvicorn node.asgi:app --workers N``,
production settings), and this process as the load client (one asyncio loop,
httpx). The client shares the CPU with the server, so the figures are
pessimistic. Every process started here is stopped at the end, on Ctrl-C too.

The simulated users: 70 % contractors, each repeating "create a project-department
draft, edit it, submit it, list own filings"; 30 % county regulators, each
repeating "fetch the review queue, open one filing's review detail, approve it
(85 %) or return it". With ``--search`` (and where the node has ``GET
/api/v1/records``) a tenth of the regulators are provincial staff searching the
province instead. Each user waits 0-50 ms between requests (``--think-ms``).
Every user logs in once; those logins (argon2) are reported apart. See
bench/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import datagen
from bench.common import (
    RESULTS,
    cores_used,
    cpu_seconds,
    enable_statement_stats,
    log,
    machine,
    percentile,
    pg_settings,
    postmaster_pid,
    query,
    render_statements,
    stop_on_signals,
    tidy,
    top_statements,
)
from minefed.embedded_pg import EmbeddedPostgres, free_port
from node.principal import CHINA_TZ

REPO = Path(__file__).resolve().parent.parent
DATABASE = "minefed_bench_node"
REGULATOR_SHARE = 0.3
SEARCHER_SHARE_OF_REGULATORS = 0.1
APPROVE_SHARE = 0.85
TARGET_P99_MS = 250.0
# Operations the target (p99 < 250 ms) applies to: filing and review.
TARGETED = (
    "filing.create",
    "filing.edit",
    "filing.submit",
    "filing.list_own",
    "review.queue",
    "review.detail",
    "review.approve",
    "review.return",
)


# --------------------------------------------------------------------- measuring


@dataclass
class Recorder:
    """Latencies of the requests that started inside [start, end)."""

    start: float = 0.0
    end: float = float("inf")
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, op: str, started: float, elapsed_s: float, error: str | None) -> None:
        if not self.start <= started < self.end:
            return
        if error is None:
            self.latencies_ms.setdefault(op, []).append(elapsed_s * 1000)
        else:
            self.errors[op] += 1
            samples = self.error_samples.setdefault(op, [])
            if len(samples) < 5:
                samples.append(error)

    def table(self, seconds: float) -> list[dict[str, Any]]:
        ops = sorted(set(self.latencies_ms) | set(self.errors))
        rows = []
        for op in ops:
            ms = sorted(self.latencies_ms.get(op, []))
            count = len(ms) + self.errors[op]
            rows.append(
                {
                    "operation": op,
                    "count": count,
                    "errors": self.errors[op],
                    "rps": count / seconds if seconds else float("nan"),
                    "p50_ms": percentile(ms, 50),
                    "p95_ms": percentile(ms, 95),
                    "p99_ms": percentile(ms, 99),
                    "max_ms": ms[-1] if ms else float("nan"),
                }
            )
        return rows


TIMEOUT = httpx.Timeout(60.0)


def user_client(base_url: str) -> httpx.AsyncClient:
    """A user's own HTTP client and keep-alive connection, as a browser would have.
    (One client shared by 100 users costs far more CPU: httpcore's pool scans every
    connection on every request.)"""
    # uvicorn closes a connection idle for 5 s; a client that reuses one idle that
    # long races the close and gets "server disconnected". Browsers retry such a
    # request; httpx does not, so it lets an idle connection go after 4 s.
    limits = httpx.Limits(max_connections=1, keepalive_expiry=4.0)
    return httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT, limits=limits)


@dataclass
class Api:
    client: httpx.AsyncClient
    recorder: Recorder
    token: str | None = None

    async def call(self, op: str, method: str, url: str, expect: int = 200, **kw: Any) -> Any:
        """One timed request; the parsed JSON body, or None if it failed."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, headers=headers, **kw)
        except httpx.HTTPError as exc:
            self.recorder.add(op, started, time.perf_counter() - started, repr(exc))
            return None
        elapsed = time.perf_counter() - started
        if response.status_code != expect:
            self.recorder.add(op, started, elapsed, f"{response.status_code} {response.text[:300]}")
            return None
        self.recorder.add(op, started, elapsed, None)
        return response.json() if response.content else {}


# --------------------------------------------------------------------- simulated users


@dataclass(frozen=True)
class SimUser:
    username: str
    role: str  # contractor | reviewer | searcher
    division_code: str
    token: str = ""


@dataclass
class Scenario:
    base_url: str
    recorder: Recorder
    stop_at: float
    counties: list[datagen.County]
    pool: list[dict[str, Any]]
    think_s: tuple[float, float]

    async def think(self, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(*self.think_s))

    async def contractor(self, api: Api, rng: random.Random) -> None:
        seq = 0
        while time.perf_counter() < self.stop_at:
            seq += 1
            today = datetime.now(CHINA_TZ).date()
            data = datagen.project_department(rng, rng.choice(self.counties), today, self.pool, seq)
            later = {k: data.pop(k) for k in ("technical_staff", "inspections")}
            created = await api.call(
                "filing.create",
                "POST",
                "/api/v1/filings/project-departments",
                expect=201,
                json=data,
            )
            await self.think(rng)
            if created is None:
                continue
            path = f"/api/v1/filings/{created['id']}"
            edited = await api.call("filing.edit", "PATCH", path, json=later)
            await self.think(rng)
            if edited is None:
                continue
            await api.call("filing.submit", "POST", f"{path}/submit")
            await self.think(rng)
            await api.call("filing.list_own", "GET", "/api/v1/filings", params={"page_size": 20})
            await self.think(rng)

    async def reviewer(self, api: Api, rng: random.Random) -> None:
        while time.perf_counter() < self.stop_at:
            page = await api.call(
                "review.queue", "GET", "/api/v1/review/queue", params={"page_size": 20}
            )
            items = page["items"] if page else []
            if not items:
                await asyncio.sleep(0.2)
                continue
            item = rng.choice(items)
            await self.think(rng)
            path = f"/api/v1/review/{item['id']}"
            detail = await api.call("review.detail", "GET", path)
            await self.think(rng)
            if detail is None:
                continue
            version = {"version_no": item["latest_version_no"]}
            if rng.random() < APPROVE_SHARE:
                await api.call("review.approve", "POST", f"{path}/approve", json=version)
            else:
                reason = rng.choice(datagen.RETURN_REASONS)
                await api.call(
                    "review.return",
                    "POST",
                    f"{path}/return",
                    json={**version, "reason": reason},
                )
            await self.think(rng)

    async def searcher(self, api: Api, rng: random.Random) -> None:
        """A provincial regulator: substring searches and flag lists over the province."""
        cities = sorted({c.city_code for c in self.counties})
        while time.perf_counter() < self.stop_at:
            word = rng.choice(datagen.MINERALS + datagen.MINE_PLACES)
            await api.call(
                "query.search",
                "GET",
                "/api/v1/records",
                params={"kind": "project_department", "q": word, "page_size": 20},
            )
            await self.think(rng)
            await api.call(
                "query.flagged",
                "GET",
                "/api/v1/records",
                params={
                    "kind": "project_department",
                    "division": rng.choice(cities),
                    "flag": "inspection_overdue",
                    "page_size": 20,
                },
            )
            await self.think(rng)

    async def run(self, user: SimUser, seed: int) -> None:
        act: Callable[[Api, random.Random], Awaitable[None]] = getattr(self, user.role)
        async with user_client(self.base_url) as client:
            await act(Api(client, self.recorder, user.token), random.Random(seed))


def mint_tokens(conninfo: str, users: list[SimUser], ttl_s: int = 8 * 3600) -> list[SimUser]:
    """Tokens written straight into ``api_token`` (what a login would leave), for the
    users beyond ``--logins``: argon2 is measured on a few logins, not paid 100 times."""
    from node.auth.tokens import new_token, token_digest

    now = datetime.now(UTC)
    minted = []
    with psycopg.connect(conninfo) as conn:
        for user in users:
            token = new_token()
            conn.execute(
                "INSERT INTO api_token (token_hash, user_id, created_at, expires_at) "
                "SELECT %s, id, %s, %s FROM user_account WHERE username = %s",
                (token_digest(token), now, now + timedelta(seconds=ttl_s), user.username),
            )
            minted.append(SimUser(user.username, user.role, user.division_code, token))
    return minted


async def log_in(
    base_url: str, recorder: Recorder, users: list[SimUser], password: str, parallel: int
) -> list[SimUser]:
    """A token for each user by ``POST /api/v1/auth/token``, timed as its own operation."""
    gate = asyncio.Semaphore(parallel)

    async def one(user: SimUser) -> SimUser:
        async with gate, user_client(base_url) as client:
            body = await Api(client, recorder).call(
                "auth.login",
                "POST",
                "/api/v1/auth/token",
                data={"username": user.username, "password": password},
            )
        if body is None:
            raise RuntimeError(f"login of {user.username} failed: {recorder.error_samples}")
        return SimUser(user.username, user.role, user.division_code, body["access_token"])

    return list(await asyncio.gather(*(one(u) for u in users)))


async def drive(
    base_url: str,
    users: list[SimUser],
    password: str,
    *,
    logins: int,
    conninfo: str,
    duration_s: float,
    warmup_s: float,
    think_ms: tuple[float, float],
    counties: list[datagen.County],
    seed: int,
    cpu_probe: Callable[[], dict[str, float]],
    on_window_start: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    login_recorder = Recorder()
    login_started = time.perf_counter()
    logged_in = await log_in(base_url, login_recorder, users[:logins], password, parallel=2)
    login_s = time.perf_counter() - login_started
    users = logged_in + mint_tokens(conninfo, users[logins:])
    log(f"{logins} users logged in in {login_s:.1f} s; {len(users) - logins} given tokens")

    recorder = Recorder()
    rng = random.Random(seed)
    pool = datagen.staff_pool(rng, counties, 2_000)
    recorder.start = time.perf_counter() + warmup_s
    recorder.end = recorder.start + duration_s
    think_s = (think_ms[0] / 1000, think_ms[1] / 1000)
    scenario = Scenario(base_url, recorder, recorder.end, counties, pool, think_s)
    tasks = [asyncio.create_task(scenario.run(u, seed * 1000 + i)) for i, u in enumerate(users)]
    log(f"warming up for {warmup_s:.0f} s, then measuring for {duration_s:.0f} s")
    await asyncio.sleep(warmup_s)
    on_window_start()
    cpu_before = cpu_probe()
    await asyncio.sleep(max(0.0, recorder.end - time.perf_counter()))
    cpu_after = cpu_probe()
    log("window closed; waiting for requests in flight")
    await asyncio.gather(*tasks)
    return {
        "recorder": recorder,
        "logins": login_recorder,
        "login_s": login_s,
        "cpu_before": cpu_before,
        "cpu_after": cpu_after,
    }


# --------------------------------------------------------------------- the server side


def database_facts(conninfo: str) -> dict[str, Any]:
    counts = {}
    for table in (
        "contractor",
        "user_account",
        "record",
        "record_version",
        "audit_event",
        "api_token",
    ):
        counts[table] = query(conninfo, f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608
    by_state = dict(
        query(
            conninfo,
            "SELECT state, count(*) FROM record WHERE kind = 'project_department' GROUP BY state",
        )
    )
    size = query(conninfo, "SELECT pg_database_size(current_database())")[0][0]
    settings = pg_settings(conninfo)
    return {
        "size_mib": round(size / 1024 / 1024, 1),
        "rows": counts,
        "project_departments_by_state": by_state,
        "settings": settings,
    }


def simulated_users(conninfo: str, users: int, search: bool) -> list[SimUser]:
    """70 % contractor accounts, 30 % county regulators of the counties with the
    most filings waiting (and, with ``search``, a tenth of those provincial searchers)."""
    regulators = round(users * REGULATOR_SHARE)
    searchers = round(regulators * SEARCHER_SHARE_OF_REGULATORS) if search else 0
    reviewers = regulators - searchers
    contractors = users - regulators
    found = query(
        conninfo,
        "SELECT u.username FROM user_account u JOIN contractor c ON c.id = u.contractor_id "
        "WHERE u.role = 'contractor' AND NOT c.central_soe ORDER BY u.username LIMIT %s",
        (contractors,),
    )
    counties = query(
        conninfo,
        "SELECT u.username, u.division_code FROM user_account u LEFT JOIN record_version v "
        "ON v.review_division = u.division_code AND v.state = 'submitted' "
        "WHERE u.role = 'county_regulator' GROUP BY u.username, u.division_code "
        "ORDER BY count(v.id) DESC, u.username LIMIT %s",
        (reviewers,),
    )
    province = query(
        conninfo, "SELECT username FROM user_account WHERE role = 'provincial_regulator' LIMIT 1"
    )
    if len(found) < contractors or len(counties) < reviewers or (searchers and not province):
        raise SystemExit(
            f"the database has {len(found)} contractor and {len(counties)} county accounts; "
            f"{contractors} and {reviewers} are needed: load more (--contractor-accounts)"
        )
    return (
        [SimUser(name, "contractor", "150000") for (name,) in found]
        + [SimUser(name, "reviewer", code) for name, code in counties]
        + [SimUser(province[0][0], "searcher", "150000") for _ in range(searchers)]
    )


class NodeServer:
    """``uvicorn node.asgi:app`` in a process group of its own."""

    def __init__(
        self, database_url: str, data_dir: Path, workers: int, pool: int, source: Path = REPO
    ) -> None:
        self.source = source
        self.port = free_port()
        self.log_path = data_dir / "uvicorn.log"
        self.env = {
            **os.environ,
            "MINEFED_NODE_ENVIRONMENT": "production",
            "MINEFED_NODE_SECRET_KEY": secrets.token_urlsafe(48),
            "MINEFED_NODE_DATABASE_URL": database_url,
            "MINEFED_NODE_STORAGE_DIR": str(data_dir / "attachments"),
            "MINEFED_NODE_DB_POOL_SIZE": str(pool),
            "MINEFED_NODE_DB_MAX_OVERFLOW": str(pool),
        }
        self.command = [
            sys.executable,
            "-m",
            "uvicorn",
            "node.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.source,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the node did not become ready; its log ends:\n{tail}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------- report


def render(result: dict[str, Any]) -> str:
    rows = result["operations"]
    head = f"{'operation':<16}{'count':>8}{'errors':>8}{'req/s':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['operation']:<16}{r['count']:>8}{r['errors']:>8}{r['rps']:>9.1f}"
            f"{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}"
        )
    lines.append("-" * len(head))
    o = result["overall"]
    lines.append(
        f"{'all':<16}{o['count']:>8}{o['errors']:>8}{o['rps']:>9.1f}"
        f"{o['p50_ms']:>9.1f}{o['p95_ms']:>9.1f}{o['p99_ms']:>9.1f}{o['max_ms']:>9.1f}"
    )
    lines.append("(latencies in ms, measured at the client)")
    lg = result["login"]
    lines.append(
        f"login (argon2, before the window, 2 at a time): {lg['count']} in {lg['seconds']:.1f} s, "
        f"p50 {lg['p50_ms']:.0f} ms, max {lg['max_ms']:.0f} ms"
    )
    m, db, cfg = result["machine"], result["database"], result["config"]
    cpu = result["cpu_cores_used"]
    lines += [
        "",
        f"machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, Linux {m['kernel']}, "
        f"Python {m['python']}; the load client runs on the same machine (pessimistic figures)",
        f"CPU cores used in the window: node {cpu['node']:.2f}, PostgreSQL {cpu['postgresql']:.2f}, "
        f"client {cpu['client']:.2f}, anything else {cpu['other']:.2f}; machine busy "
        f"{cpu['machine']:.2f} of {m['nproc']}",
        f"config: {cfg['users']} users ({cfg['roles']}), {cfg['duration_s']:.0f} s after "
        f"{cfg['warmup_s']:.0f} s warm-up, think {cfg['think_ms'][0]:.0f}-{cfg['think_ms'][1]:.0f} ms, uvicorn "
        f"{cfg['workers']} workers, pool {cfg['db_pool']}+{cfg['db_pool']} per worker",
        f"PostgreSQL {db['settings'].get('server_version')}: fsync={db['settings'].get('fsync')}, "
        f"synchronous_commit={db['settings'].get('synchronous_commit')}, shared_buffers="
        f"{int(db['settings'].get('shared_buffers', 0)) * 8 // 1024} MiB; database "
        f"{db['size_mib']} MiB after the run",
        "rows: " + ", ".join(f"{k} {v:,}" for k, v in db["rows"].items()),
        "project departments by state: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(db["project_departments_by_state"].items())),
    ]
    if result.get("load_s") is not None:
        lines.append(f"data load: {result['load_s']:.1f} s for {cfg['departments']:,} departments")
    target = [r for r in rows if r["operation"] in TARGETED]
    worst = max((r["p99_ms"] for r in target), default=float("nan"))
    verdict = "met" if worst < TARGET_P99_MS else "MISSED"
    lines.append(
        f"target p99 < {TARGET_P99_MS:.0f} ms for filing and review: {verdict} "
        f"(worst p99 {worst:.1f} ms)"
    )
    if result.get("top_statements"):
        lines.append("\ncostliest statements in the window (pg_stat_statements):")
        lines += render_statements(result["top_statements"])
    for op, samples in result["error_samples"].items():
        lines.append(f"errors of {op}: {samples[:2]}")
    return "\n".join(lines)


def summarise(recorder: Recorder, seconds: float) -> dict[str, Any]:
    everything = sorted(ms for v in recorder.latencies_ms.values() for ms in v)
    count = len(everything) + sum(recorder.errors.values())
    return {
        "count": count,
        "errors": sum(recorder.errors.values()),
        "rps": count / seconds,
        "p50_ms": percentile(everything, 50),
        "p95_ms": percentile(everything, 95),
        "p99_ms": percentile(everything, 99),
        "max_ms": everything[-1] if everything else float("nan"),
    }


# --------------------------------------------------------------------- main


def think_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    bounds = (float(low), float(high)) if high else (0.0, float(low))
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError("think time is MIN-MAX in ms, 0 <= MIN <= MAX")
    return bounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.node_load", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--departments", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=100, help="concurrent simulated users")
    parser.add_argument("--duration", type=float, default=60, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5, help="unmeasured seconds first")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--db-pool", type=int, default=20, help="pool size (and overflow) per worker"
    )
    parser.add_argument(
        "--think-ms",
        type=think_range,
        default=(0.0, 50.0),
        help="think time between a user's requests, uniform in MIN-MAX ms (default 0-50)",
    )
    parser.add_argument("--contractor-accounts", type=int, default=100)
    parser.add_argument(
        "--logins",
        type=int,
        help="users that log in over HTTP (argon2, timed apart); the rest get tokens "
        "written to the database (default: every user)",
    )
    parser.add_argument(
        "--pg-stats",
        action="store_true",
        help="load pg_stat_statements and print the costliest queries of the window",
    )
    parser.add_argument(
        "--search",
        action="store_true",
        help="make a tenth of the regulators provincial staff searching the province "
        "(GET /api/v1/records), where the node has it",
    )
    parser.add_argument("--seed", type=int, default=datagen.SEED)
    parser.add_argument(
        "--node-source",
        type=Path,
        default=REPO,
        help="run the node from this copy of the tree (to compare a change); default this one",
    )
    parser.add_argument(
        "--reuse", type=Path, help="data dir of an earlier --keep run (or a new one to keep)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the data dir for --reuse")
    parser.add_argument(
        "--label", help="appended to the results file name: node_load-<date>-<label>.json"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="JSON results file (default bench/results/node_load-<date>.json)",
    )
    args = parser.parse_args(argv)
    if args.workers * args.db_pool * 2 > 280:
        parser.error("workers x 2 x db-pool must stay under PostgreSQL's max_connections (300)")

    # Ctrl-C and kill both end in the finally below, which stops what was started.
    stop_on_signals()
    keep = args.keep or args.reuse is not None
    data_dir = (args.reuse or Path(tempfile.mkdtemp(prefix="minefed-bench-"))).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(data_dir / "pg")  # fsync on: commits are durable, as in production
    server: NodeServer | None = None
    try:
        log(f"data dir {data_dir}; starting PostgreSQL (fsync on)")
        pg.start()
        pg.create_database(DATABASE)
        url = pg.url(DATABASE)
        conninfo = pg.conninfo(DATABASE)
        from node.migrate import upgrade

        upgrade(url)
        if args.pg_stats:
            enable_statement_stats(pg, [conninfo])
        load_s = None
        if query(conninfo, "SELECT count(*) FROM contractor")[0][0] == 0:
            log(f"loading {args.departments:,} project departments")
            summary = datagen.generate_and_load(
                url,
                args.departments,
                contractor_accounts=args.contractor_accounts,
                seed=args.seed,
                log=log,
            )
            load_s = summary.seconds
        else:
            log("reusing the loaded database (earlier runs' filings and decisions included)")

        server = NodeServer(url, data_dir, args.workers, args.db_pool, args.node_source.resolve())
        log(f"starting {' '.join(server.command[2:])} in {server.source}")
        server.start()
        openapi = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
        search = args.search and "/api/v1/records" in openapi.get("paths", {})
        users = simulated_users(conninfo, args.users, search)
        roles = Counter(u.role for u in users)
        review_counties = {u.division_code for u in users if u.role == "reviewer"}
        counties = [c for c in datagen.counties() if c.code in review_counties]
        postmaster = postmaster_pid(pg)

        def reset_statement_stats() -> None:
            query(conninfo, "SELECT pg_stat_statements_reset()")

        assert server.proc is not None
        server_pgid = server.proc.pid

        outcome = asyncio.run(
            drive(
                server.url,
                users,
                datagen.BENCH_PASSWORD,
                logins=len(users) if args.logins is None else min(args.logins, len(users)),
                conninfo=conninfo,
                duration_s=args.duration,
                warmup_s=args.warmup,
                think_ms=args.think_ms,
                counties=counties,
                seed=args.seed,
                cpu_probe=lambda: cpu_seconds({"node": server_pgid}, postmaster),
                on_window_start=reset_statement_stats if args.pg_stats else lambda: None,
            )
        )
        recorder: Recorder = outcome["recorder"]
        logins: Recorder = outcome["logins"]
        login_ms = sorted(logins.latencies_ms.get("auth.login", []))
        facts = database_facts(conninfo)
        result = {
            "benchmark": "node_load",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "client_on_same_machine": True,
            "config": {
                "departments": args.departments,
                "users": len(users),
                "roles": ", ".join(f"{n} {r}s" for r, n in sorted(roles.items())),
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "think_ms": args.think_ms,
                "workers": args.workers,
                "db_pool": args.db_pool,
                "reused_database": load_s is None,
            },
            "load_s": load_s,
            "operations": recorder.table(args.duration),
            "overall": summarise(recorder, args.duration),
            "login": {
                "count": len(login_ms),
                "seconds": outcome["login_s"],
                "p50_ms": percentile(login_ms, 50),
                "max_ms": login_ms[-1] if login_ms else float("nan"),
            },
            "cpu_cores_used": cores_used(
                outcome["cpu_before"], outcome["cpu_after"], args.duration
            ),
            "database": facts,
            "error_samples": recorder.error_samples,
        }
        if args.pg_stats:
            result["top_statements"] = top_statements(conninfo)
        print()
        print(render(result))
        label = f"-{args.label}" if args.label else ""
        output = args.output or RESULTS / f"node_load-{datetime.now(UTC):%Y-%m-%d}{label}.json"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(tidy(result), ensure_ascii=False, indent=2) + "\n")
        print(f"\nresults written to {output}")
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if server is not None:
            server.stop()
        pg.stop()
        if keep:
            log(f"data dir kept: {data_dir} (rerun with --reuse {data_dir})")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
