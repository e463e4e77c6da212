"""``minefed demo`` end to end: real processes (hub, provinces, workers), a real
embedded PostgreSQL, real HTTP, and nothing left running after Ctrl-C, SIGTERM
or a failed start."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from minefed.embedded_pg import free_port
from schemas.enums import FlagCode

pytestmark = pytest.mark.slow

PROVINCES = ("150000", "140000")
READY = re.compile(r"演示环境已就绪 in (\d+\.\d) s")


def _wait_ready(info_path: Path, proc: subprocess.Popen[bytes], timeout_s: float = 180) -> dict:
    """The demo.json this run writes (not the last run's) once every URL answers."""
    since = time.time()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "demo exited"
        if info_path.exists() and info_path.stat().st_mtime >= since:
            info = json.loads(info_path.read_text(encoding="utf-8"))
            urls = [info["hub"]["url"]] + [n["url"] for n in info["nodes"]]
            try:
                if all(httpx.get(f"{u}/readyz", timeout=2).status_code == 200 for u in urls):
                    return info
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    raise AssertionError("demo did not become ready")


def _run(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "minefed.cli",
            "demo",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--provinces",
            ",".join(PROVINCES),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> str:
    proc.send_signal(sig)
    time.sleep(0.2)
    proc.send_signal(sig)  # a terminal's Ctrl-C often arrives twice
    return proc.communicate(timeout=120)[0].decode()


def _demo_processes(data_dir: Path, port: int) -> dict[int, str]:
    """Every process (but this one) whose command line names the data directory or
    one of the demo's ports, from /proc/*/cmdline."""
    ports = {str(p) for p in range(port, port + len(PROVINCES) + 1)}
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # gone meanwhile
        named_port = any(a == "--port" and b in ports for a, b in itertools.pairwise(args))
        if named_port or any(str(data_dir) in a for a in args):
            found[int(entry.name)] = " ".join(args)
    return found


def _login(url: str, username: str, password: str) -> dict[str, str]:
    answer = httpx.post(
        f"{url}/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _get(url: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    answer = httpx.get(url, headers=headers, params=params, timeout=10)
    assert answer.status_code == 200, f"{url}: {answer.status_code} {answer.text}"
    return answer.json()


def _hub_records(info: dict) -> dict[str, int]:
    db = info["database"]
    with psycopg.connect(host=db["host"], port=db["port"], user="postgres", dbname="hub") as conn:
        rows = conn.execute("SELECT owner, count(*) FROM hub_record GROUP BY owner").fetchall()
    return dict(rows)


def _check_flags_and_cross_province(info: dict) -> None:
    password = info["password"]
    nodes = {n["province_code"]: n["url"] for n in info["nodes"]}
    regulators = {p: _login(url, f"province-{p}", password) for p, url in nodes.items()}
    # Each Order No. 62 flag is raised on some record of every province.
    for province, url in nodes.items():
        counts = _get(f"{url}/api/v1/records/counts", regulators[province], group_by="flag")
        found = {g["key"]: g["count"] for g in counts["groups"]}
        missing = [f.value for f in FlagCode if not found.get(f.value)]
        assert missing == [], f"{province} lacks flags {missing}: {found}"

    # Each home's contractor has a department in the other province, approved there.
    for home, where in zip(PROVINCES, PROVINCES[1:] + PROVINCES[:1], strict=True):
        elsewhere = _get(f"{nodes[home]}/api/v1/crossprov/elsewhere", regulators[home])["items"]
        departments = [i for i in elsewhere if i["kind"] == "project_department"]
        assert {i["owner_node"] for i in departments} == {f"node:{where}"}
        assert {i["state"] for i in departments} == {"approved", "submitted"}
        assert any(i["kind"] == "accident" for i in elsewhere), "the accident notice came home"
        approved = next(i for i in departments if i["state"] == "approved")
        at_location = _get(f"{nodes[where]}/api/v1/filings/{approved['id']}", regulators[where])
        assert at_location["home_node"] == f"node:{home}"
        assert at_location["state"] == "approved"
        waiting = next(i for i in departments if i["state"] == "submitted")
        filed = _get(f"{nodes[home]}/api/v1/filings/{waiting['id']}", regulators[home])
        county = filed["latest"]["data"]["county_code"]
        reviewer = _login(nodes[where], f"county-{county}", password)  # reviewed there
        queue = _get(f"{nodes[where]}/api/v1/review/queue", reviewer)["items"]
        assert waiting["id"] in {i["id"] for i in queue}

        # … and on the hub's public page, published by the location's node.
        uscc = approved["contractor_uscc"]
        public = _get(f"{info['hub']['url']}/api/v1/public/contractors/{uscc}")
        there = [d for d in public["project_departments"] if d["owner"] == f"node:{where}"]
        assert [d["record_id"] for d in there] == [approved["id"]]
        assert public["basic_info"]["owner"] == f"node:{home}"
        page = httpx.get(f"{info['hub']['url']}/contractors/{uscc}", timeout=10)
        assert page.status_code == 200 and there[0]["data"]["project_name"] in page.text


def test_demo_runs_a_federation_stops_cleanly_and_reuses_its_data(server_dir):
    data_dir = server_dir / "demo"
    port = free_port()
    proc = _run(data_dir, port)
    try:
        info = _wait_ready(data_dir / "demo.json", proc)
        assert [n["province_code"] for n in info["nodes"]] == list(PROVINCES)
        # Every process the demo started is found by its command line: the check
        # below, that none is left, can fail.
        running = _demo_processes(data_dir, port)
        assert set(info["processes"].values()) <= set(running), (info["processes"], running)
        assert len(info["processes"]) == 2 + 2 * len(PROVINCES) + 1  # hub, worker, pg
        _check_flags_and_cross_province(info)
        # The workers deliver what each province approved to the hub, by themselves.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_hub_records(info)) < 2:
            time.sleep(1)
        counts = _hub_records(info)
        assert set(counts) == {f"node:{p}" for p in PROVINCES} and min(counts.values()) > 0
        # The hub's worker sequences them into the transparency log and signs a checkpoint.
        deadline = time.monotonic() + 60
        size = 0
        while time.monotonic() < deadline and size == 0:
            answer = httpx.get(f"{info['hub']['url']}/api/v1/public/log/checkpoint", timeout=5)
            size = int(answer.text.split("\n")[1]) if answer.status_code == 200 else 0
            time.sleep(1)
        assert size > 0
    finally:
        out = _stop(proc)
    assert proc.returncode == 0, out
    assert READY.search(out) and "新生成演示数据" in out, out
    assert _demo_processes(data_dir, port) == {}

    # Again, stopped by SIGTERM this time: the same data, nothing left either.
    again = _run(data_dir, port)
    try:
        info2 = _wait_ready(data_dir / "demo.json", again)
        assert info2["accounts"] == info["accounts"]
        assert info2["seeded"] == []
    finally:
        out2 = _stop(again, signal.SIGTERM)
    assert again.returncode == 0, out2
    assert "reusing the existing demo data" in out2 and READY.search(out2), out2
    assert _demo_processes(data_dir, port) == {}

    # A start that fails half-way (a province's port is taken) stops what it started.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port + 2))
        taken.listen()
        failed = _run(data_dir, port)
        out3 = failed.communicate(timeout=240)[0].decode()
        assert failed.returncode == 1, out3
        assert "node-140000 stopped" in out3, out3
        assert _demo_processes(data_dir, port) == {}
