"""Sync benchmark: a node's backlog of 100,000 approved records pushed to the hub
(records/s), then single approvals timed from approval to the hub's query tables.

    uv run python -m bench.sync_load [--backlog 100000] [--latency-records 200]
        [--latency-rate 5] [--broker amqp://…] [--keep] [--reuse DIR]

What runs, all on this machine: an embedded PostgreSQL (fsync on, durable commits)
holding a hub database and a node database; the hub under uvicorn (2 workers,
production settings) with its key from ``minefed central keygen``; the node under
uvicorn, enrolled with a one-time token (``minefed central enroll-node`` +
``minefed node enroll``), exactly as ``minefed.localfed`` starts a federation for
the tests; one node Celery worker and beat (the sweep).

1. **Backlog**: ``bench.datagen`` fills the node with a province (COPY), then the
   first N approved project-department versions are signed into the outbox with
   the node's own ``record_payload`` and ``sync.envelope.seal_batch`` (what
   ``publish_backlog`` queues: concealed personal data, one batch signature per 500
   messages), prepared in a few processes and written with COPY (timed apart).
   Then the worker is started and kicked; the hub's ``hub_record`` is counted
   every 0.2 s from the first record to the last. At the end the hub must hold
   exactly N records and nothing may be quarantined.
2. **Latency**: with the worker and beat running and nothing backlogged, a
   contractor files and submits records over HTTP, and the county regulator
   approves them one at a time at ``--latency-rate`` per second. Per record:
   from the approval (the node's ``record_version.decided_at``, and the moment
   the approval's response arrived) to the hub (``hub_record.received_at``, and
   the moment a 20 ms poll of the hub's database first sees it).

Every process started here is stopped at the end, on Ctrl-C too. See
bench/README.md ("Sync") for what the figures mean.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import datagen
from bench.common import (
    RESULTS,
    cores_used,
    cpu_seconds,
    log,
    machine,
    percentile,
    pg_settings,
    postmaster_pid,
    query,
    render_statements,
    stop_on_signals,
    table,
    tidy,
    top_statements,
)
from minefed import localfed
from minefed.embedded_pg import EmbeddedPostgres
from schemas.clock import CHINA_TZ

PROVINCE = datagen.PROVINCE
NODE_ID = f"node:{PROVINCE}"
SOURCE_DB = "sync_bench_source"  # the generated province, kept for --reuse
# Share of generated departments that end approved (datagen: 86 % + 4 %), with margin.
APPROVED_SHARE = 0.85
TARGET_RPS = 5_000.0
# Messages per batch signature, as publish_backlog queues them (its default limit).
SIGN_BATCH = 500
TARGET_P95_S = 2.0
DATA_TABLES = ("contractor", "user_account", "record", "record_version")


# --------------------------------------------------------------------- the backlog


def copy_tables(source: str, target: str, tables: Sequence[str]) -> None:
    """Stream ``tables`` from one database to another (binary COPY), then analyse."""
    with psycopg.connect(source) as src, psycopg.connect(target) as dst:
        for name in tables:
            with (
                src.cursor().copy(f"COPY {name} TO STDOUT (FORMAT BINARY)".encode()) as out,
                dst.cursor().copy(f"COPY {name} FROM STDIN (FORMAT BINARY)".encode()) as into,
            ):
                for data in out:
                    into.write(data)
        dst.commit()
    with psycopg.connect(target, autocommit=True) as conn:
        for name in tables:
            conn.execute(f"VACUUM ANALYZE {name}".encode())


def approved_versions(conninfo: str, count: int) -> list[tuple[str, int]]:
    """The first ``count`` approved project-department versions, oldest decision first
    (the order ``publish_backlog`` would take)."""
    rows = query(
        conninfo,
        "SELECT v.record_id::text, v.version_no FROM record_version v "
        "JOIN record r ON r.id = v.record_id "
        "WHERE r.kind = 'project_department' AND v.state = 'approved' "
        "ORDER BY v.decided_at, v.record_id, v.version_no LIMIT %s",
        (count,),
    )
    return [(r[0], r[1]) for r in rows]


def _prepare_chunk(
    database_url: str,
    key_file: str,
    node_id: str,
    items: list[tuple[str, int, int]],
    single_sig: bool = False,
) -> tuple[int, float]:
    """In a worker process: sign ``items`` (record id, version no, outbox seq) as
    ``record.publish`` messages with the node's own code, and COPY them into
    ``sync_outbox`` and ``node_publication`` (the rows ``publish_record`` adds)."""
    from sqlalchemy import tuple_
    from sqlmodel import col, select

    from node.db import make_engine, session_factory
    from node.models import Record, RecordVersion
    from node.sync.keystore import KeyFile
    from node.sync.publish import HUB, record_payload
    from sync.envelope import BatchItem, Envelope, seal, seal_batch

    started = time.perf_counter()
    key = KeyFile(Path(key_file)).load()
    assert key is not None, "the node has no key file: not enrolled?"
    engine = make_engine(database_url, 1, 0)
    outbox: list[tuple[Any, ...]] = []
    published: list[tuple[Any, ...]] = []
    try:
        with session_factory(engine)() as session:
            for first in range(0, len(items), 1000):
                part = items[first : first + 1000]
                ids = [uuid.UUID(r) for r, _, _ in part]
                records = {
                    r.id: r for r in session.exec(select(Record).where(col(Record.id).in_(ids)))
                }
                keys = [(uuid.UUID(r), v) for r, v, _ in part]
                versions = {
                    (v.record_id, v.version_no): v
                    for v in session.exec(
                        select(RecordVersion).where(
                            tuple_(col(RecordVersion.record_id), col(RecordVersion.version_no)).in_(
                                keys
                            )
                        )
                    )
                }
                now = datetime.now(UTC)
                signed: list[tuple[dict[str, Any], list[Any], int, int, Any]] = []
                for (record_id, version_no), (_, _, seq) in zip(keys, part, strict=True):
                    record = records[record_id]
                    version = versions[(record_id, version_no)]
                    payload, disclosures = record_payload(session, record, version, node_id)
                    signed.append((payload, disclosures, seq, version_no, record))
                # As publish_backlog queues them: runs of consecutive seqs under one
                # batch signature (sync.outbox.enqueue_batch), or one each (--single-sig).
                envelopes: list[Envelope] = []
                for start in range(0, len(signed), SIGN_BATCH):
                    run = signed[start : start + SIGN_BATCH]
                    if single_sig:
                        envelopes += [
                            seal("record.publish", node_id, seq, HUB, payload, key, now)
                            for payload, _, seq, _, _ in run
                        ]
                    else:
                        envelopes += seal_batch(
                            [BatchItem("record.publish", seq, HUB, p) for p, _, seq, _, _ in run],
                            node_id,
                            key,
                            now,
                        )
                for envelope, (_, disclosures, seq, version_no, record) in zip(
                    envelopes, signed, strict=True
                ):
                    record_id = record.id
                    outbox.append(
                        (
                            HUB,
                            seq,
                            "record.publish",
                            json.dumps(envelope.to_dict(), ensure_ascii=False),
                            json.dumps([d.to_dict() for d in disclosures], ensure_ascii=False),
                            now,
                        )
                    )
                    published.append((record_id, version_no, record.kind, seq, now))
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cur:  # type: ignore[attr-defined]
                with cur.copy(
                    "COPY sync_outbox (recipient, seq, kind, envelope, disclosures, created_at) "
                    "FROM STDIN"
                ) as copy:
                    for row in outbox:
                        copy.write_row(row)
                with cur.copy(
                    "COPY node_publication (record_id, version_no, kind, outbox_seq, "
                    "published_at) FROM STDIN"
                ) as copy:
                    for row in published:
                        copy.write_row(row)
            raw.commit()
    finally:
        engine.dispose()
    return len(items), time.perf_counter() - started


def enqueue_backlog(
    database_url: str,
    key_file: Path,
    versions: list[tuple[str, int]],
    processes: int,
    single_sig: bool = False,
) -> dict[str, Any]:
    """Queue every version of ``versions`` for the hub, in that order, as
    ``publish_record`` would, in ``processes`` parallel processes."""
    conninfo = datagen.conninfo(database_url)
    rows = query(conninfo, "SELECT next_seq FROM sync_peer WHERE peer = 'hub'")
    first_seq = rows[0][0] if rows else 1
    items = [(r, v, first_seq + i) for i, (r, v) in enumerate(versions)]
    size = math.ceil(len(items) / max(1, processes * 4))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    started = time.perf_counter()
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        done = list(
            pool.map(
                _prepare_chunk,
                [database_url] * len(chunks),
                [str(key_file)] * len(chunks),
                [NODE_ID] * len(chunks),
                chunks,
                [single_sig] * len(chunks),
            )
        )
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "INSERT INTO sync_peer (peer, next_seq, acked_seq, failures) VALUES ('hub', %s, 0, 0) "
            "ON CONFLICT (peer) DO UPDATE SET next_seq = EXCLUDED.next_seq",
            (first_seq + len(items),),
        )
        conn.execute("ANALYZE sync_outbox")
        conn.execute("ANALYZE node_publication")
    seconds = time.perf_counter() - started
    return {
        "messages": sum(n for n, _ in done),
        "processes": processes,
        "seconds": seconds,
        "per_message_cpu_ms": sum(s for _, s in done) / max(1, len(items)) * 1000,
        "first_seq": first_seq,
        "signatures": "one per message" if single_sig else f"one per {SIGN_BATCH} messages",
    }


@dataclass
class Curve:
    """``hub_record`` counted every ``interval_s`` until it reaches ``target``."""

    target: int
    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def first(self) -> tuple[float, int] | None:
        return next((s for s in self.samples if s[1] > 0), None)

    @property
    def last(self) -> tuple[float, int] | None:
        return next((s for s in self.samples if s[1] >= self.target), None)

    def rate(self) -> float:
        first, last = self.first, self.last
        if first is None or last is None or last[0] <= first[0]:
            return float("nan")
        return (last[1] - first[1]) / (last[0] - first[0])

    def per_second(self) -> list[tuple[int, int, float]]:
        """(second since the first record, count at its end, records/s within it)."""
        first = self.first
        if first is None:
            return []
        out: list[tuple[int, int, float]] = []
        t0, previous = first[0], first[1]
        second = 1
        for t, count in self.samples:
            if t < t0:
                continue
            while t >= t0 + second:
                out.append((second, count, float(count - previous)))
                previous = count
                second += 1
            if count >= self.target:
                if count > previous:
                    out.append(
                        (second, count, (count - previous) / max(t - (t0 + second - 1), 1e-3))
                    )
                break
        return out


_APPLIED = "SELECT coalesce(sum(last_seq), 0)::bigint FROM sync_cursor WHERE stream LIKE %s"


def watch_drain(hub_conninfo: str, target: int, *, interval_s: float, stall_s: float) -> Curve:
    """Follow ``hub_record`` until it holds ``target`` rows (or nothing moves for ``stall_s``).

    Counted once at the start; then every message the hub applies from the node
    (its stream cursor, committed with the records) adds one: each is the
    publication of a new record. Counting ``hub_record`` itself every 0.2 s
    cost the hub's PostgreSQL a sixth of its time during the drain."""
    curve = Curve(target)
    last_change = time.monotonic()
    last_count = -1
    pattern = f"{NODE_ID}>%"
    with psycopg.connect(hub_conninfo, autocommit=True) as conn:
        (base,) = conn.execute("SELECT count(*) FROM hub_record").fetchone() or (0,)
        (base_seq,) = conn.execute(_APPLIED, (pattern,)).fetchone() or (0,)
        while True:
            t = time.monotonic()
            (seq,) = conn.execute(_APPLIED, (pattern,)).fetchone() or (0,)
            count = base + seq - base_seq
            curve.samples.append((t, count))
            if count != last_count:
                last_count, last_change = count, t
            if count >= target:
                return curve
            if t - last_change > stall_s:
                log(f"no progress for {stall_s:.0f} s at {count:,} records: giving up")
                return curve
            time.sleep(max(0.0, interval_s - (time.monotonic() - t)))


# --------------------------------------------------------------------- latency


@dataclass
class Approval:
    record_id: str
    sent: float  # wall clock (time.time()) when the approval request was sent
    answered: float  # ... and when its response arrived
    seen: float | None = None  # when a poll of hub_record first saw it


def login(client: httpx.Client, username: str) -> dict[str, str]:
    answer = client.post(
        "/api/v1/auth/token", data={"username": username, "password": datagen.BENCH_PASSWORD}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def file_records(
    client: httpx.Client, contractor: dict[str, str], county: datagen.County, count: int, seed: int
) -> list[str]:
    """``count`` project departments filed and submitted by the contractor."""
    rng = random.Random(seed)
    pool = datagen.staff_pool(rng, [county], 200)
    today = datetime.now(CHINA_TZ).date()
    ids = []
    for seq in range(count):
        data = datagen.project_department(rng, county, today, pool, 900_000 + seq)
        created = client.post("/api/v1/filings/project-departments", json=data, headers=contractor)
        if created.status_code != 201:
            raise RuntimeError(f"filing refused: {created.status_code} {created.text[:500]}")
        record_id = created.json()["id"]
        submitted = client.post(f"/api/v1/filings/{record_id}/submit", headers=contractor)
        submitted.raise_for_status()
        ids.append(record_id)
    return ids


def poll_hub(
    hub_conninfo: str, approvals: dict[str, Approval], stop: threading.Event, every_s: float
) -> None:
    """Note when each approved record first shows up in ``hub_record``."""
    with psycopg.connect(hub_conninfo, autocommit=True) as conn:
        while not stop.is_set():
            waiting = [a.record_id for a in list(approvals.values()) if a.seen is None]
            if waiting:
                rows = conn.execute(
                    "SELECT record_id FROM hub_record WHERE record_id = ANY(%s)", (waiting,)
                ).fetchall()
                now = time.time()
                for (record_id,) in rows:
                    approvals[record_id].seen = now
            stop.wait(every_s)


def measure_latency(
    node_url: str,
    node_conninfo: str,
    hub_conninfo: str,
    *,
    records: int,
    rate: float,
    seed: int,
    timeout_s: float = 120,
) -> dict[str, Any]:
    """File ``records`` departments, approve them one at a time at ``rate`` per
    second, and time each from its approval to the hub."""
    county_code, regulator = query(
        node_conninfo,
        "SELECT division_code, username FROM user_account WHERE role = 'county_regulator' "
        "ORDER BY username LIMIT 1",
    )[0]
    county = next(c for c in datagen.counties() if c.code == county_code)
    (contractor_name,) = query(
        node_conninfo,
        "SELECT u.username FROM user_account u JOIN contractor c ON c.id = u.contractor_id "
        "WHERE u.role = 'contractor' AND NOT c.central_soe ORDER BY u.username LIMIT 1",
    )[0]
    with httpx.Client(base_url=node_url, timeout=30) as client:
        contractor = login(client, contractor_name)
        reviewer = login(client, regulator)
        started = time.perf_counter()
        ids = file_records(client, contractor, county, records, seed)
        log(f"{records} departments filed and submitted in {time.perf_counter() - started:.1f} s")

        approvals: dict[str, Approval] = {}
        stop = threading.Event()
        poller = threading.Thread(
            target=poll_hub, args=(hub_conninfo, approvals, stop, 0.02), daemon=True
        )
        poller.start()
        try:
            pace = 1.0 / rate
            next_at = time.perf_counter()
            approve_ms = []
            for record_id in ids:
                time.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += pace
                sent = time.time()
                answer = client.post(
                    f"/api/v1/review/{record_id}/approve", json={"version_no": 1}, headers=reviewer
                )
                answered = time.time()
                answer.raise_for_status()
                approve_ms.append((answered - sent) * 1000)
                approvals[record_id] = Approval(record_id, sent, answered)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and any(a.seen is None for a in approvals.values()):
                time.sleep(0.05)
        finally:
            stop.set()
            poller.join(5)

    decided = dict(
        query(
            node_conninfo,
            "SELECT record_id::text, decided_at FROM record_version "
            "WHERE record_id = ANY(%s::uuid[]) AND version_no = 1",
            (ids,),
        )
    )
    received = dict(
        query(
            hub_conninfo,
            "SELECT record_id, received_at FROM hub_record WHERE record_id = ANY(%s)",
            (ids,),
        )
    )
    server_ms = [
        (received[r] - decided[r]).total_seconds() * 1000
        for r in ids
        if r in received and r in decided
    ]
    seen_ms = [(a.seen - a.answered) * 1000 for a in approvals.values() if a.seen is not None]
    missing = [r for r in ids if r not in received]

    def stats(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "count": len(ordered),
            "p50_ms": percentile(ordered, 50),
            "p95_ms": percentile(ordered, 95),
            "max_ms": ordered[-1] if ordered else float("nan"),
        }

    return {
        "records": records,
        "rate_per_s": rate,
        "approve_response": stats(approve_ms),
        "decided_to_received": stats(server_ms),
        "answered_to_visible": stats(seen_ms),
        "missing": len(missing),
    }


# --------------------------------------------------------------------- the run


def celery_call(server: localfed.Server, task: str) -> None:
    """``celery -A node.worker call TASK`` with the node's settings (a kick)."""
    subprocess.run(
        [localfed.PYTHON, "-m", "celery", "-A", "node.worker", "call", task],
        env=server.env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def render(result: dict[str, Any]) -> str:
    lines: list[str] = []
    m, cfg = result["machine"], result["config"]
    backlog = result.get("backlog")
    if backlog:
        prep = backlog["preparation"]
        lines += [
            f"backlog: {cfg['backlog']:,} approved project-department versions "
            f"(province of {cfg['departments']:,} departments loaded in "
            f"{result['load_s']:.1f} s)",
            f"  prepared (record_payload + signatures "
            f"{prep.get('signatures', 'one per message')}, COPY) in {prep['seconds']:.1f} s with "
            f"{prep['processes']} processes ({prep['per_message_cpu_ms']:.2f} ms per message "
            "in a process)",
            "",
        ]
        curve = [(f"{s} s", f"{n:,}", rate) for s, n, rate in backlog["curve"]]
        if len(curve) > 14:
            curve = [*curve[:6], ("…", "", float("nan")), *curve[-6:]]
        lines += table(["since first", "hub_record", "records/s"], curve, 12)
        cpu = backlog["cpu_cores_used"]
        lines += [
            "",
            f"drain: {backlog['records']:,} records in {backlog['seconds']:.1f} s = "
            f"{backlog['records_per_s']:,.0f} records/s (first to last record in hub_record); "
            f"hub_record {backlog['hub_records']:,}, hub_publication "
            f"{backlog['hub_publications']:,}, quarantined at the hub "
            f"{backlog['hub_quarantined']}, at the node {backlog['node_quarantined']}",
            "CPU cores used while draining: "
            + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items() if k != "machine")
            + f"; machine busy {cpu['machine']:.2f} of {m['nproc']}",
            "CPU per record: "
            + ", ".join(f"{k} {v:.2f} ms" for k, v in backlog["cpu_ms_per_record"].items())
            + f" = {sum(backlog['cpu_ms_per_record'].values()):.2f} ms: at most "
            f"{m['nproc'] * 1000 / sum(backlog['cpu_ms_per_record'].values()):,.0f} records/s "
            f"on {m['nproc']} otherwise idle cores",
            f"target >= {TARGET_RPS:,.0f} records/s: "
            + ("met" if backlog["records_per_s"] >= TARGET_RPS else "MISSED")
            + (" (count or quarantine check FAILED)" if not backlog["complete"] else ""),
        ]
        if backlog.get("top_statements"):
            lines += ["", "hub's costliest statements while draining (pg_stat_statements):"]
            lines += render_statements(backlog["top_statements"])
    latency = result.get("latency")
    if latency:
        rows = []
        for label, key in (
            ("approval (HTTP)", "approve_response"),
            ("decided→received", "decided_to_received"),
            ("answered→visible", "answered_to_visible"),
        ):
            s = latency[key]
            rows.append((label, s["count"], s["p50_ms"], s["p95_ms"], s["max_ms"]))
        lines += [
            "",
            f"latency: {latency['records']} approvals at {latency['rate_per_s']:g}/s, "
            f"broker {cfg['broker']}, sweep every {cfg['sweep_interval_s']:g} s (ms)",
        ]
        lines += table(["", "count", "p50", "p95", "max"], rows, 18)
        p95 = max(
            latency["answered_to_visible"]["p95_ms"], latency["decided_to_received"]["p95_ms"]
        )
        lines.append(
            f"target p95 < {TARGET_P95_S:g} s from approval to the hub's query tables: "
            + ("met" if p95 < TARGET_P95_S * 1000 else "MISSED")
            + (f" ({latency['missing']} never arrived)" if latency["missing"] else "")
        )
    db = result["database"]
    lines += [
        "",
        f"machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, "
        f"Python {m['python']}; PostgreSQL {db.get('server_version')} fsync={db.get('fsync')}, "
        f"synchronous_commit={db.get('synchronous_commit')}",
        f"config: hub uvicorn {cfg['hub_workers']} workers, 1 node Celery worker + beat, "
        f"sync batch {cfg['batch_size']}, broker {cfg['broker']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sync_load", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--backlog", type=int, default=100_000, help="records queued (0: skip)")
    parser.add_argument("--latency-records", type=int, default=200, help="approvals (0: skip)")
    parser.add_argument("--latency-rate", type=float, default=5.0, help="approvals per second")
    parser.add_argument("--hub-workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--prep-processes", type=int, default=2)
    parser.add_argument(
        "--single-sig",
        action="store_true",
        help="sign the backlog one Ed25519 signature per message (as single approvals "
        "are), not in batches of 500 as publish_backlog does",
    )
    parser.add_argument(
        "--broker", default="", help="node broker URL (default: SQLAlchemy transport, sqla+…)"
    )
    parser.add_argument("--batch-size", type=int, help="MINEFED_NODE_SYNC_BATCH_SIZE")
    parser.add_argument("--sweep-interval", type=float, help="MINEFED_NODE_SYNC_SWEEP_INTERVAL_S")
    parser.add_argument("--pg-stats", action="store_true", help="the hub's costliest statements")
    parser.add_argument("--seed", type=int, default=datagen.SEED)
    parser.add_argument(
        "--reuse", type=Path, help="data dir of an earlier --keep run (or a new one to keep)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the data dir for --reuse")
    parser.add_argument("--label", help="appended to the results file name")
    parser.add_argument("--output", type=Path, help="JSON results file")
    args = parser.parse_args(argv)

    stop_on_signals()
    keep = args.keep or args.reuse is not None
    data_dir = (args.reuse or Path(tempfile.mkdtemp(prefix="minefed-sync-bench-"))).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(data_dir / "pg")  # fsync on: commits are durable, as in production
    run_id = f"{datetime.now():%H%M%S}{secrets.token_hex(2)}"
    fed: localfed.Federation | None = None
    departments = max(3_000, math.ceil(args.backlog / APPROVED_SHARE))
    node_env = {}
    if args.batch_size:
        node_env["MINEFED_NODE_SYNC_BATCH_SIZE"] = str(args.batch_size)
    if args.sweep_interval:
        node_env["MINEFED_NODE_SYNC_SWEEP_INTERVAL_S"] = str(args.sweep_interval)
    try:
        log(f"data dir {data_dir}; starting PostgreSQL (fsync on)")
        pg.start()
        for stale in query(
            pg.conninfo(), "SELECT datname FROM pg_database WHERE datname LIKE 'fed\\_%%'"
        ):
            query(pg.conninfo(), f'DROP DATABASE "{stale[0]}" WITH (FORCE)')
        loaded = query(pg.conninfo(), "SHOW shared_preload_libraries")[0][0]
        if args.pg_stats != ("pg_stat_statements" in loaded):
            # On for --pg-stats, off otherwise (a kept data dir remembers it).
            with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
                if args.pg_stats:
                    conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
                else:
                    conn.execute("ALTER SYSTEM RESET shared_preload_libraries")
            pg.stop()
            pg.start()

        def create_database(name: str) -> str:
            pg.create_database(name)
            return pg.url(name)

        def drop_database(name: str) -> None:
            with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

        fed = localfed.Federation(
            data_dir / f"fed-{run_id}",
            run_id,
            create_database=create_database,
            drop_database=drop_database,
            broker_url=args.broker or None,
            environment="production",
            secret=secrets.token_urlsafe(48),
            node_env=node_env,
        )
        log(f"starting the hub (uvicorn, {args.hub_workers} workers)")
        hub = fed.start_hub(workers=args.hub_workers)
        log("starting and enrolling the node")
        node = fed.start_node(PROVINCE, workers=False)
        hub_ci, node_ci = datagen.conninfo(hub.database_url), datagen.conninfo(node.database_url)
        if args.pg_stats:
            for ci in (hub_ci, node_ci):
                with psycopg.connect(ci, autocommit=True) as conn:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

        # The province, generated once per data dir.
        started = time.perf_counter()
        source_ci = pg.conninfo(SOURCE_DB)
        have_source = bool(
            query(pg.conninfo(), "SELECT 1 FROM pg_database WHERE datname = %s", (SOURCE_DB,))
        )
        if have_source and query(source_ci, "SELECT count(*) FROM record")[0][0] < departments:
            log("the kept province is too small: generating it again")
            drop_database(SOURCE_DB)
            have_source = False
        if not have_source and keep:
            from node.migrate import upgrade

            pg.create_database(SOURCE_DB)
            upgrade(pg.url(SOURCE_DB))
            log(f"generating {departments:,} departments (kept in {SOURCE_DB})")
            datagen.generate_and_load(pg.url(SOURCE_DB), departments, seed=args.seed, log=log)
            have_source = True
        if have_source:
            copy_tables(source_ci, node_ci, DATA_TABLES)
        else:
            log(f"generating {departments:,} departments")
            datagen.generate_and_load(node.database_url, departments, seed=args.seed, log=log)
        load_s = time.perf_counter() - started
        log(f"province in the node database after {load_s:.1f} s")

        result: dict[str, Any] = {
            "benchmark": "sync_load",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "config": {
                "backlog": args.backlog,
                "departments": departments,
                "latency_records": args.latency_records,
                "hub_workers": args.hub_workers,
                "broker": "sqlalchemy" if not args.broker else args.broker.split(":")[0],
                "batch_size": int(node.env.get("MINEFED_NODE_SYNC_BATCH_SIZE", "500")),
                "sweep_interval_s": float(node.env.get("MINEFED_NODE_SYNC_SWEEP_INTERVAL_S", "15")),
            },
            "load_s": load_s,
            "database": pg_settings(hub_ci),
        }

        if args.backlog:
            result["backlog"] = run_backlog(args, pg, fed, hub, node)
        fed.start_workers(PROVINCE)
        if args.latency_records:
            log(
                f"latency: {args.latency_records} approvals at {args.latency_rate:g}/s "
                f"(broker {result['config']['broker']})"
            )
            time.sleep(3)  # the worker connects to the broker
            result["latency"] = measure_latency(
                node.url,
                node_ci,
                hub_ci,
                records=args.latency_records,
                rate=args.latency_rate,
                seed=args.seed,
            )
        print()
        print(render(result))
        label = f"-{args.label}" if args.label else ""
        output = args.output or RESULTS / f"sync_load-{datetime.now(UTC):%Y-%m-%d}{label}.json"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(tidy(result), ensure_ascii=False, indent=2) + "\n")
        print(f"\nresults written to {output}")
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if fed is not None:
            fed.close()
        pg.stop()
        if keep:
            log(f"data dir kept: {data_dir} (rerun with --reuse {data_dir})")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def run_backlog(
    args: argparse.Namespace,
    pg: EmbeddedPostgres,
    fed: localfed.Federation,
    hub: localfed.Server,
    node: localfed.Server,
) -> dict[str, Any]:
    hub_ci, node_ci = datagen.conninfo(hub.database_url), datagen.conninfo(node.database_url)
    versions = approved_versions(node_ci, args.backlog)
    if len(versions) < args.backlog:
        raise SystemExit(f"only {len(versions):,} approved versions; load more departments")
    log(f"signing {len(versions):,} record.publish messages into the outbox")
    preparation = enqueue_backlog(
        node.database_url,
        Path(node.env["MINEFED_NODE_KEY_FILE"]),
        versions,
        args.prep_processes,
        args.single_sig,
    )
    log(
        f"outbox filled in {preparation['seconds']:.1f} s "
        f"({preparation['per_message_cpu_ms']:.2f} ms per message in a process)"
    )
    if args.pg_stats:
        query(hub_ci, "SELECT pg_stat_statements_reset()")

    log("starting one node worker and beat; kicking sync.push")
    fed.start_workers(PROVINCE)
    groups: dict[str, Callable[[], int | None]] = {
        "hub": lambda: hub.proc.pid,
        "node worker": lambda: node.workers[0].pid,
        "node beat": lambda: node.workers[1].pid,
        "node api": lambda: node.proc.pid,
    }
    postmaster = postmaster_pid(pg)

    def probe() -> dict[str, float]:
        return cpu_seconds({k: f() for k, f in groups.items()}, postmaster)

    time.sleep(2)  # the worker connects to the broker
    cpu_before = probe()
    celery_call(node, "sync.push")
    curve = watch_drain(hub_ci, args.backlog, interval_s=0.2, stall_s=120)
    cpu_after = probe()
    first, last = curve.first, curve.last
    seconds = (last[0] - first[0]) if first and last else float("nan")
    counts = {
        "hub_records": query(hub_ci, "SELECT count(*) FROM hub_record")[0][0],
        "hub_publications": query(hub_ci, "SELECT count(*) FROM hub_publication")[0][0],
        "hub_quarantined": query(hub_ci, "SELECT count(*) FROM sync_quarantine")[0][0],
        "node_quarantined": query(node_ci, "SELECT count(*) FROM sync_quarantine")[0][0],
    }
    complete = (
        counts["hub_records"] == args.backlog
        and counts["hub_publications"] == args.backlog
        and counts["hub_quarantined"] == 0
        and counts["node_quarantined"] == 0
    )
    window = cpu_after["machine"] - cpu_before["machine"]
    elapsed = curve.samples[-1][0] - curve.samples[0][0] if curve.samples else 0
    cores = cores_used(cpu_before, cpu_after, elapsed) if elapsed else {}
    drained = counts["hub_records"] or 1
    per_record = {
        k: cores[k] * elapsed * 1000 / drained
        for k in ("hub", "node worker", "postgresql")
        if k in cores
    }
    outcome: dict[str, Any] = {
        "preparation": preparation,
        "records": (last[1] - first[1]) if first and last else 0,
        "seconds": seconds,
        "records_per_s": curve.rate(),
        "curve": curve.per_second(),
        "cpu_cores_used": cores,
        "cpu_ms_per_record": per_record,
        "cpu_machine_seconds": window,
        **counts,
        "complete": complete,
    }
    if args.pg_stats:
        outcome["top_statements"] = top_statements(hub_ci)
    log(
        f"drained: {outcome['records_per_s']:,.0f} records/s; hub_record {counts['hub_records']:,}"
        f", quarantined {counts['hub_quarantined']}"
    )
    return outcome


if __name__ == "__main__":
    raise SystemExit(main())
