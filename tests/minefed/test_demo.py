"""``minefed demo`` end to end: a real process, a real embedded PostgreSQL, real HTTP,
and nothing left running after Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from minefed.embedded_pg import free_port
from tests.support.postgres import processes_using

pytestmark = pytest.mark.slow


def _postgres_processes(data_dir: Path) -> list[int]:
    return processes_using(data_dir)


def _wait_ready(info_path: Path, proc: subprocess.Popen[bytes], timeout_s: float = 90) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "demo exited"
        if info_path.exists():
            info = json.loads(info_path.read_text(encoding="utf-8"))
            try:
                if httpx.get(info["nodes"][0]["url"] + "/readyz", timeout=2).status_code == 200:
                    return info
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
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
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )


def test_demo_serves_seeded_data_stops_cleanly_and_reuses_it(tmp_path):
    data_dir = tmp_path / "demo"
    port = free_port()
    proc = _run(data_dir, port)
    try:
        info = _wait_ready(data_dir / "demo.json", proc)
        node = info["nodes"][0]["url"]
        reviewer = next(a for a in info["accounts"] if a["role"] == "county_regulator")
        token = httpx.post(
            f"{node}/api/v1/auth/token",
            data={"username": reviewer["username"], "password": info["password"]},
        ).json()["access_token"]
        queue = httpx.get(
            f"{node}/api/v1/review/queue", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert queue["total"] >= 1
        assert _postgres_processes(data_dir)
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, out
    assert "演示环境已就绪" in out
    assert _postgres_processes(data_dir) == []

    again = _run(data_dir, port)
    try:
        info2 = _wait_ready(data_dir / "demo.json", again)
        assert info2["accounts"] == info["accounts"]
    finally:
        again.send_signal(signal.SIGINT)
        out2 = again.communicate(timeout=60)[0].decode()
    assert "reusing the existing demo data" in out2
    assert _postgres_processes(data_dir) == []
