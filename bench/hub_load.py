"""Load benchmark of the hub's public disclosure site: 100 concurrent clients over
HTTP against a national-scale replica; prints p50/p95/p99 and requests/s per URL
pattern and overall.

    uv run python -m bench.hub_load [--scale 1|10] [--clients 100] [--duration 60]
        [--workers 2] [--path NAME=PATTERN ...] [--reuse DIR] [--keep]

What runs, all on this machine: an embedded PostgreSQL (fsync on), a hub
database migrated to head and filled by ``bench.hub_datagen`` (unless reused),
the hub as a real server (``uvicorn central.asgi:app --workers N``, production
settings, the public rate limit off: the clients all come from 127.0.0.1), and
this process as the clients (one asyncio loop, a lean HTTP/1.1 client, one keep-alive connection
per client). The clients share the CPU with the server, so the figures are
pessimistic. Every process started here is stopped at the end, on Ctrl-C too.

By default the clients search (``GET /api/v1/public/contractors`` with the mix
of queries in :data:`SEARCH_MIX`, and the search page); ``--mix stats`` asks the
national statistics instead (:data:`STATS_MIX`: the public JSON and page, the
bureau's page and API filtered by province and year, an XLSX export; a national
staff account's token is made for it). ``--path`` replaces the
mix with your own patterns (repeatable; ``NAME=PATTERN`` or just ``PATTERN``),
e.g. ``--path 'stats=/api/v1/public/stats' --path '/contractors/{uscc}'``.
Placeholders, filled per request from a sample of the loaded contractors:
``{q}`` (a two-character brand such as 鑫源), ``{q_long}`` (brand and trade,
鑫源矿业工程), ``{name}`` (a full name), ``{uscc}``, ``{province}``, ``{page}``
(1-5), ``{grade}``, ``{status}``, ``{years}``, ``{year}`` (one of the last five).
``--think-ms MIN-MAX`` adds a pause between a client's requests (default none: a
closed loop). ``--bureau`` makes a national staff account (国家局工作人员) and sends
its bearer token, for the bureau's pages, e.g.
``--path '/national/stats?province={province}&year={year}'``.

A loaded hub has no statistics (the load sets the triggers aside): unless
``--no-stats``, ``minefed central stats-refresh --rebuild`` builds them before
the clients start (its time is in the results, ``statistics_rebuild_s``).
``--touch-stats-every S`` rewrites the statistics state every S seconds, as
refreshes do while records arrive, so every view the hub keeps per snapshot is
made again (the cost of a hub that is being fed).
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from bench import hub_datagen
from bench.common import (
    RESULTS,
    KeepAliveClient,
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

REPO = Path(__file__).resolve().parent.parent
DATABASE = "minefed_bench_hub"
#: Issue 5's targets at ten times national scale: search p99, statistics p95.
TARGET_P99_MS = 300.0
TARGET_STATS_P95_MS = 1000.0
NOW_YEAR = hub_datagen.NOW.year

#: (name, weight, pattern) of the default search load.
SEARCH_MIX: list[tuple[str, int, str]] = [
    ("search.brand", 25, "/api/v1/public/contractors?q={q}"),
    ("search.brand_trade", 20, "/api/v1/public/contractors?q={q_long}"),
    ("search.brand_province", 15, "/api/v1/public/contractors?q={q}&province={province}"),
    ("search.full_name", 10, "/api/v1/public/contractors?q={name}"),
    ("search.uscc", 10, "/api/v1/public/contractors?q={uscc}"),
    ("search.browse_province", 10, "/api/v1/public/contractors?province={province}&page={page}"),
    (
        "search.filters",
        5,
        "/api/v1/public/contractors?province={province}&grade={grade}"
        "&licence_status={status}&incidents_within_years={years}",
    ),
    ("page.search", 5, "/?q={q_long}"),
]

#: ``--mix stats``: the national statistics, public and the bureau's (``--bureau`` implied).
STATS_MIX: list[tuple[str, int, str]] = [
    ("stats.api", 30, "/api/v1/public/stats"),
    ("stats.page", 30, "/stats"),
    ("bureau.page", 10, "/national/stats"),
    ("bureau.page_province_year", 15, "/national/stats?province={province}&year={year}"),
    ("bureau.api_province", 10, "/api/v1/national/stats?province={province}"),
    ("bureau.xlsx_year", 5, "/api/v1/national/stats?year={year}&format=xlsx"),
]
MIXES = {"search": SEARCH_MIX, "stats": STATS_MIX}


def sample_values(conninfo: str, n: int = 3000) -> list[dict[str, str]]:
    rows = query(
        conninfo,
        "SELECT uscc, name, province_code FROM hub_public_contractor "
        "TABLESAMPLE SYSTEM (5) LIMIT %s",
        (n,),
    )
    values = []
    for uscc, name, province in rows:
        core = name.removeprefix(hub_datagen.provinces_short(province))
        for suffix in sorted(hub_datagen.SUFFIX, key=len, reverse=True):
            if core.endswith(suffix):
                core = core.removesuffix(suffix)
                break
        values.append(
            {"uscc": uscc, "name": name, "province": province, "q": core[:2], "q_long": core}
        )
    return values


def fill(pattern: str, rng: random.Random, values: list[dict[str, str]]) -> str:
    v = rng.choice(values)
    params = {
        **{k: quote(s) for k, s in v.items()},
        "page": str(rng.randint(1, 5)),
        "grade": rng.choice(hub_datagen.GRADES),
        "status": rng.choice(["valid", "expiring", "expired"]),
        "years": str(rng.choice([1, 3, 5])),
        "year": str(rng.randint(NOW_YEAR - 4, NOW_YEAR)),
    }
    return pattern.format(**params)


class HubServer:
    """``uvicorn central.asgi:app`` in a process group of its own."""

    def __init__(self, database_url: str, data_dir: Path, workers: int, pool: int) -> None:
        from central.keys.hub_key import write_key_file
        from sync.keys import SigningKey

        key_file = data_dir / "hub.pem"
        if not key_file.exists():
            write_key_file(key_file, SigningKey.generate())
        self.port = free_port()
        self.log_path = data_dir / "uvicorn.log"
        self.env = {
            **os.environ,
            "MINEFED_CENTRAL_ENVIRONMENT": "production",
            "MINEFED_CENTRAL_SECRET_KEY": secrets.token_urlsafe(48),
            "MINEFED_CENTRAL_PERSON_INDEX_KEY": secrets.token_urlsafe(48),
            "MINEFED_CENTRAL_DATABASE_URL": database_url,
            "MINEFED_CENTRAL_KEY_FILE": str(key_file),
            "MINEFED_CENTRAL_DB_POOL_SIZE": str(pool),
            "MINEFED_CENTRAL_DB_MAX_OVERFLOW": str(pool),
            "MINEFED_CENTRAL_PUBLIC_RATE_PER_MINUTE": "0",
            "MINEFED_CENTRAL_PUBLIC_EXPORT_PER_HOUR": "0",
        }
        self.command = [
            sys.executable,
            "-m",
            "uvicorn",
            "central.asgi:app",
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

    def cli(self, *args: str) -> str:
        """Run ``minefed ARGS`` against this hub's database (its settings); its output."""
        minefed = Path(sys.executable).with_name("minefed")
        done = subprocess.run(
            [str(minefed), *args], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"minefed {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout.strip()

    def start(self, timeout_s: float = 60) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=REPO,
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
        raise RuntimeError(f"the hub did not become ready; its log ends:\n{tail}")

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


async def drive(
    base_url: str,
    mix: list[tuple[str, int, str]],
    values: list[dict[str, str]],
    clients: int,
    warmup_s: float,
    duration_s: float,
    think_ms: tuple[float, float],
    seed: int,
    headers: dict[str, str] | None = None,
) -> tuple[dict[str, list[float]], Counter[str], dict[str, list[str]], float, float]:
    latencies: dict[str, list[float]] = {}
    errors: Counter[str] = Counter()
    samples: dict[str, list[str]] = {}
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup_s
    end = start + duration_s
    names = [m[0] for m in mix]
    weights = [m[1] for m in mix]
    patterns = {m[0]: m[2] for m in mix}

    split = urlsplit(base_url)
    host, port = split.hostname or "127.0.0.1", split.port or 80

    async def client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        http = KeepAliveClient(host, port, headers=headers)
        try:
            while loop.time() < end:
                op = rng.choices(names, weights)[0]
                url = fill(patterns[op], rng, values)
                began = loop.time()
                error = None
                try:
                    status, body = await http.get(url)
                    if status != 200:
                        error = f"{status} {url} {body[:200].decode(errors='replace')}"
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                    error = f"{type(exc).__name__} {url}"
                elapsed = loop.time() - began
                if start <= began < end:
                    if error is None:
                        latencies.setdefault(op, []).append(elapsed * 1000)
                    else:
                        errors[op] += 1
                        if len(samples.setdefault(op, [])) < 3:
                            samples[op].append(error)
                if think_ms[1] > 0:
                    await asyncio.sleep(rng.uniform(*think_ms) / 1000)
        finally:
            await http.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, errors, samples, start, end


def summarise(
    latencies: dict[str, list[float]], errors: Counter[str], seconds: float
) -> list[dict[str, Any]]:
    rows = []
    everything: list[float] = []
    for op in sorted(set(latencies) | set(errors)):
        ms = sorted(latencies.get(op, []))
        everything += ms
        rows.append(_row(op, ms, errors[op], seconds))
    rows.append(_row("all", sorted(everything), sum(errors.values()), seconds))
    return rows


def _row(op: str, ms: list[float], errors: int, seconds: float) -> dict[str, Any]:
    return {
        "operation": op,
        "requests": len(ms) + errors,
        "errors": errors,
        "req_s": (len(ms) + errors) / seconds,
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": ms[-1] if ms else float("nan"),
    }


def render(result: dict[str, Any]) -> str:
    lines = [
        f"hub public load: scale {result['config']['scale']} "
        f"({result['database']['contractors']:,} contractors, "
        f"{result['database']['records']:,} records), {result['config']['clients']} clients, "
        f"{result['config']['duration_s']:.0f} s, uvicorn --workers {result['config']['workers']}",
        f"{'operation':<24}{'requests':>9}{'errors':>7}{'req/s':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}",
    ]
    for r in result["operations"]:
        lines.append(
            f"{r['operation']:<24}{r['requests']:>9}{r['errors']:>7}{r['req_s']:>8.1f}"
            f"{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}{r['p99_ms']:>8.1f}{r['max_ms']:>8.1f}"
        )
    cores = result["cores"]
    lines.append(
        "cores used: "
        + ", ".join(f"{k} {v:.2f}" for k, v in cores.items() if k != "machine")
        + f" (machine {cores['machine']:.2f})"
    )
    overall = result["operations"][-1]
    if result["config"].get("mix_name") == "stats":
        label, figure, target = "p95", overall["p95_ms"], TARGET_STATS_P95_MS
    else:
        label, figure, target = "p99", overall["p99_ms"], TARGET_P99_MS
    verdict = "meets" if figure < target else "misses"
    lines.append(f"{label} {figure:.1f} ms: {verdict} the target (< {target:.0f} ms)")
    return "\n".join(lines)


def parse_paths(paths: list[str]) -> list[tuple[str, int, str]]:
    mix = []
    for n, item in enumerate(paths):
        name, sep, pattern = item.partition("=")
        if not sep or name.startswith("/"):
            name, pattern = f"path{n + 1}", item
        mix.append((name, 1, pattern))
    return mix


def think_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def build_statistics(server: HubServer, conninfo: str) -> float | None:
    """``minefed central stats-refresh --rebuild`` unless a snapshot is stored; its seconds.

    A loaded hub has no statistics (the load sets the triggers aside)."""
    if query(conninfo, "SELECT count(*) FROM hub_stat_state WHERE snapshot IS NOT NULL")[0][0]:
        return None
    began = time.monotonic()
    log(server.cli("central", "stats-refresh", "--rebuild"))
    return time.monotonic() - began


async def touch_statistics(conninfo: str, every_s: float) -> None:
    """Rewrite the statistics state row every ``every_s`` (as a refresh does when records
    arrive): a new snapshot version, so every view a process kept is made again."""
    while True:
        await asyncio.sleep(every_s)
        await asyncio.to_thread(
            query,
            conninfo,
            "UPDATE hub_stat_state SET refreshed_at = refreshed_at "
            "WHERE name = 'national' RETURNING name",
        )


def bureau_headers(database_url: str, server: HubServer) -> dict[str, str]:
    """A national staff account (国家局工作人员) made for this run, and its bearer token."""
    from central.audit.service import Actor
    from central.auth.service import create_user
    from central.db import make_engine, session_factory, transaction
    from central.models import HubUserRole

    username, password = f"bench-{secrets.token_hex(4)}", secrets.token_urlsafe(18) + "Aa1!"
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with transaction(session_factory(engine)) as session:
            create_user(
                session,
                Actor("bench.hub_load"),
                username=username,
                display_name="负载测试 / load test",
                role=HubUserRole.NATIONAL_STAFF,
                password=password,
                now=datetime.now(UTC),
                must_change_password=False,
            )
    finally:
        engine.dispose()
    answer = httpx.post(
        f"{server.url}/api/v1/auth/token",
        data={"username": username, "password": password},
        timeout=30,
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1, help="1 national, 10 ten times (0.01 for a smoke test)"
    )
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60, help="measured window, s")
    parser.add_argument("--warmup", type=float, default=5, help="warm-up before the window, s")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--db-pool", type=int, default=20, help="pool per worker (plus overflow)")
    parser.add_argument("--think-ms", type=think_range, default=(0.0, 0.0), help="MIN-MAX")
    parser.add_argument(
        "--path",
        action="append",
        default=[],
        help="NAME=PATTERN or PATTERN to request instead of the search mix (repeatable)",
    )
    parser.add_argument(
        "--mix",
        choices=sorted(MIXES),
        default="search",
        help="the built-in load: the public search (default) or the statistics pages",
    )
    parser.add_argument(
        "--bureau",
        action="store_true",
        help="send a national staff account's bearer token (for /national/… paths)",
    )
    parser.add_argument(
        "--touch-stats-every",
        type=float,
        default=0,
        metavar="S",
        help="rewrite the statistics state every S s, as refreshes do while records arrive "
        "(each process then makes its kept views again)",
    )
    parser.add_argument(
        "--no-stats",
        action="store_true",
        help="do not build the statistics when the hub has none (a search-only run)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", type=Path, help="a data dir kept by --keep (data loaded)")
    parser.add_argument("--keep", action="store_true", help="leave the data dir for --reuse")
    parser.add_argument(
        "--no-envelopes", action="store_true", help="hub_datagen --no-envelopes (saves disk)"
    )
    parser.add_argument(
        "--shared-buffers",
        default="128MB",
        help="PostgreSQL shared_buffers (default 128MB, its own default; e.g. 2GB)",
    )
    parser.add_argument(
        "--pg-stats",
        action="store_true",
        help="load pg_stat_statements and print the costliest statements of the window",
    )
    parser.add_argument("--label", help="appended to the results file name")
    args = parser.parse_args(argv)

    stop_on_signals()
    keep = args.keep or args.reuse is not None
    data_dir = (args.reuse or Path(tempfile.mkdtemp(prefix="minefed-hubbench-"))).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(data_dir / "pg", shared_buffers=args.shared_buffers)
    server: HubServer | None = None
    try:
        log(f"data dir {data_dir}; starting PostgreSQL (fsync on)")
        pg.start()
        pg.create_database(DATABASE)
        url = pg.url(DATABASE)
        conninfo = pg.conninfo(DATABASE)
        from central.migrate import upgrade

        upgrade(url)
        if args.pg_stats:
            enable_statement_stats(pg, [conninfo])
        load = None
        if query(conninfo, "SELECT count(*) FROM hub_record")[0][0] == 0:
            log(f"loading scale {args.scale}")
            load = hub_datagen.load(url, args.scale, args.seed, not args.no_envelopes, log)
            log(f"loaded: {load}")
        else:
            log("reusing the loaded database")
        database = {
            "records": query(conninfo, "SELECT count(*) FROM hub_record")[0][0],
            "contractors": query(conninfo, "SELECT count(*) FROM hub_public_contractor")[0][0],
            "size": query(conninfo, "SELECT pg_size_pretty(pg_database_size(current_database()))")[
                0
            ][0],
            "load": load,
        }
        values = sample_values(conninfo)
        mix = parse_paths(args.path) if args.path else MIXES[args.mix]
        server = HubServer(url, data_dir, args.workers, args.db_pool)
        if not args.no_stats:
            log("building the statistics (minefed central stats-refresh --rebuild)")
            database["statistics_rebuild_s"] = build_statistics(server, conninfo)
            database["statistics_cells"] = query(conninfo, "SELECT count(*) FROM hub_stat_cell")[0][
                0
            ]
        log(f"starting {' '.join(server.command[2:])}")
        server.start()
        assert server.proc is not None
        bureau = args.bureau or (args.mix == "stats" and not args.path)
        headers = bureau_headers(url, server) if bureau else None
        groups = {"hub": server.proc.pid}
        postmaster = postmaster_pid(pg)
        log(f"{args.clients} clients, {args.warmup:.0f} s warm-up, {args.duration:.0f} s measured")

        async def run() -> Any:
            task = asyncio.create_task(
                drive(
                    server.url,
                    mix,
                    values,
                    args.clients,
                    args.warmup,
                    args.duration,
                    args.think_ms,
                    args.seed,
                    headers,
                )
            )
            touching = (
                asyncio.create_task(touch_statistics(conninfo, args.touch_stats_every))
                if args.touch_stats_every
                else None
            )
            await asyncio.sleep(args.warmup)
            if args.pg_stats:
                query(conninfo, "SELECT pg_stat_statements_reset()")
            before = cpu_seconds(groups, postmaster)
            await asyncio.sleep(args.duration)
            after = cpu_seconds(groups, postmaster)
            answer = await task
            if touching is not None:
                touching.cancel()
            return answer, cores_used(before, after, args.duration)

        (latencies, errors, samples, _start, _end), cores = asyncio.run(run())
        result = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "postgresql": pg_settings(conninfo),
            "config": {
                # What the database holds (a reused one may differ from --scale).
                "scale": round(database["contractors"] / hub_datagen.PER_SCALE["contractors"], 2),
                "clients": args.clients,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "workers": args.workers,
                "db_pool": args.db_pool,
                "think_ms": list(args.think_ms),
                "touch_stats_every_s": args.touch_stats_every,
                "mix_name": "paths" if args.path else args.mix,
                "mix": [list(m) for m in mix],
            },
            "database": database,
            "operations": summarise(latencies, errors, args.duration),
            "error_samples": samples,
            "cores": cores,
        }
        if args.pg_stats:
            result["top_statements"] = top_statements(conninfo)
        print(render(result))
        if args.pg_stats:
            print("\n".join(render_statements(result["top_statements"])))
        RESULTS.mkdir(exist_ok=True)
        name = f"hub_load-{datetime.now(UTC):%Y-%m-%d}-scale{result['config']['scale']:g}"
        if args.label:
            name += f"-{args.label}"
        path = RESULTS / f"{name}.json"
        path.write_text(json.dumps(tidy(result), ensure_ascii=False, indent=1) + "\n")
        log(f"results in {path}")
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if server is not None:
            server.stop()
        pg.stop()
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            log(f"kept {data_dir} (--reuse it)")


if __name__ == "__main__":
    raise SystemExit(main())
