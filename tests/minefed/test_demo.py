"""``minefed demo`` end to end: real processes (hub, provinces, workers), a real
embedded PostgreSQL, real HTTP, and nothing left running after Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from minefed.embedded_pg import free_port
from tests.support.postgres import processes_using

pytestmark = pytest.mark.slow

PROVINCES = "150000,140000"


def _wait_ready(info_path: Path, proc: subprocess.Popen[bytes], timeout_s: float = 150) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "demo exited"
        if info_path.exists():
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
            PROVINCES,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )


def _stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # a terminal's Ctrl-C often arrives twice
    return proc.communicate(timeout=90)[0].decode()


def _hub_records(info: dict) -> dict[str, int]:
    db = info["database"]
    with psycopg.connect(host=db["host"], port=db["port"], user="postgres", dbname="hub") as conn:
        rows = conn.execute("SELECT owner, count(*) FROM hub_record GROUP BY owner").fetchall()
    return dict(rows)


def test_demo_runs_a_federation_stops_cleanly_and_reuses_its_data(server_dir):
    data_dir = server_dir / "demo"
    port = free_port()
    proc = _run(data_dir, port)
    try:
        info = _wait_ready(data_dir / "demo.json", proc)
        assert [n["province_code"] for n in info["nodes"]] == ["150000", "140000"]
        node = info["nodes"][0]["url"]
        reviewer = next(
            a
            for a in info["accounts"]
            if a["role"] == "county_regulator" and a["province_code"] == "150000"
        )
        token = httpx.post(
            f"{node}/api/v1/auth/token",
            data={"username": reviewer["username"], "password": info["password"]},
        ).json()["access_token"]
        queue = httpx.get(
            f"{node}/api/v1/review/queue", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert queue["total"] >= 1
        # The workers deliver what each province approved to the hub, by themselves.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_hub_records(info)) < 2:
            time.sleep(1)
        counts = _hub_records(info)
        assert set(counts) == {"node:150000", "node:140000"} and min(counts.values()) > 0
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
    assert "演示环境已就绪" in out
    assert processes_using(data_dir) == []

    again = _run(data_dir, port)
    try:
        info2 = _wait_ready(data_dir / "demo.json", again)
        assert info2["accounts"] == info["accounts"]
    finally:
        out2 = _stop(again)
    assert "reusing the existing demo data" in out2
    assert processes_using(data_dir) == []
