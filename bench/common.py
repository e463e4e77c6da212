"""What the benchmarks share: logging, percentiles, the machine, CPU accounting by
process group, PostgreSQL helpers, JSON tidying, tables, stopping on Ctrl-C, and a
lean keep-alive HTTP client for load."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import signal
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from minefed.embedded_pg import EmbeddedPostgres

RESULTS = Path(__file__).resolve().parent / "results"


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def stop_on_signals() -> None:
    """Make SIGTERM and SIGINT raise KeyboardInterrupt, so the caller's ``finally``
    stops what it started (a shell's background job would otherwise ignore SIGINT)."""

    def terminate(signum: int, frame: Any) -> None:
        # Once is enough: a second signal must not interrupt the clean-up.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)


# --------------------------------------------------------------------- measuring


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n * q / 100)
    return sorted_values[int(rank) - 1]


def _stat_fields(pid: str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on


def cpu_seconds(groups: Mapping[str, int | None], postmaster: int | None) -> dict[str, float]:
    """CPU seconds used so far by each named process group (its processes and their
    exited children), PostgreSQL (postmaster, its live children, and its exited
    children), this process (``client``), and the whole machine (``machine``, busy
    time from /proc/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    by_group = {pgid: name for name, pgid in groups.items() if pgid is not None}
    used = dict.fromkeys(groups, 0.0)
    pg = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        f = _stat_fields(pid)
        if f is None:
            continue
        ppid, pgrp = int(f[1]), int(f[2])
        own = int(f[11]) + int(f[12])
        children = int(f[13]) + int(f[14])
        if pgrp in by_group:
            used[by_group[pgrp]] += own + children
        if postmaster is not None and int(pid) == postmaster:
            pg += own + children
        elif postmaster is not None and ppid == postmaster:
            pg += own
    me = os.times()
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    return {
        **{k: v / tick for k, v in used.items()},
        "postgresql": pg / tick,
        "client": me.user + me.system,
        "machine": busy / tick,
    }


def cores_used(
    before: Mapping[str, float], after: Mapping[str, float], seconds: float
) -> dict[str, float]:
    """CPU cores used per part between two :func:`cpu_seconds`, plus ``other``:
    the rest of the machine's busy time (other people's work shows up there)."""
    cores = {k: (after[k] - before[k]) / seconds for k in after}
    cores["other"] = max(0.0, cores["machine"] - sum(v for k, v in cores.items() if k != "machine"))
    return cores


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(
        next(line for line in meminfo.splitlines() if line.startswith("MemTotal")).split()[1]
    )
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


# --------------------------------------------------------------------- PostgreSQL


def query(conninfo: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo) as conn:
        return list(conn.execute(sql.encode(), params).fetchall())


def postmaster_pid(pg: EmbeddedPostgres) -> int | None:
    try:
        return int((pg.pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def pg_settings(conninfo: str) -> dict[str, str]:
    return dict(
        query(
            conninfo,
            "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', "
            "'shared_buffers', 'max_connections', 'server_version')",
        )
    )


def enable_statement_stats(pg: EmbeddedPostgres, conninfos: Sequence[str]) -> None:
    """Load pg_stat_statements (a restart) so a run can name its costliest queries."""
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    pg.stop()
    pg.start()
    for conninfo in conninfos:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def top_statements(conninfo: str, limit: int = 12) -> list[dict[str, Any]]:
    """The costliest statements of ``conninfo``'s database since the last reset."""
    rows = query(
        conninfo,
        "SELECT calls, total_exec_time, mean_exec_time, rows, "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 400) FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "ORDER BY total_exec_time DESC LIMIT %s",
        (limit,),
    )
    return [
        {"calls": c, "total_ms": round(t, 1), "mean_ms": round(m, 3), "rows": r, "query": q}
        for c, t, m, r, q in rows
    ]


def render_statements(statements: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = [f"{'calls':>7}{'total ms':>11}{'mean ms':>9}  query"]
    for st in statements:
        lines.append(
            f"{st['calls']:>7}{st['total_ms']:>11.0f}{st['mean_ms']:>9.2f}  {st['query'][:150]}"
        )
    return lines


# --------------------------------------------------------------------- reporting


def tidy(value: Any) -> Any:
    """Floats to 0.1 (0.01 below 10), NaN to null: a small file that is valid JSON."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return round(value, 2 if abs(value) < 10 else 1)
    if isinstance(value, dict):
        return {k: tidy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [tidy(v) for v in value]
    return value


def table(head: Sequence[str], rows: Sequence[Sequence[Any]], first_width: int = 16) -> list[str]:
    """A plain text table: the first column left-aligned, the others right-aligned
    (floats to one decimal)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "-" if math.isnan(value) else f"{value:.1f}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(head[i]), *(len(r[i]) for r in cells)]) + 2 for i in range(len(head))]
    widths[0] = max(first_width, widths[0])

    def line(values: Sequence[str]) -> str:
        return values[0].ljust(widths[0]) + "".join(
            v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True)
        )

    out = [line(head), "-" * sum(widths)]
    out += [line(r) for r in cells]
    return out


class KeepAliveClient:
    """A minimal HTTP/1.1 GET client on one keep-alive connection (asyncio streams).

    The load generator shares the two cores with the server it measures; httpx
    costs ~1.5 ms of CPU per request, this ~0.1 ms, so the server's figures are
    not dragged down by the client. GET only, ``Content-Length`` or chunked bodies.
    """

    def __init__(
        self, host: str, port: int, timeout_s: float = 30, headers: dict[str, str] | None = None
    ) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        """(status, body) of ``GET path``; reconnects once if the server closed the connection."""
        for attempt in (1, 2):
            try:
                return await asyncio.wait_for(self._get(path), self.timeout_s)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _get(self, path: str) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self._extra}\r\n".encode(
                "latin-1"
            )
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self._reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = bytearray(await self._reader.readexactly(int(headers.get("content-length", 0))))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, bytes(body)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None
