"""minefed.observability: JSON log lines, the log format setting, and request metrics
summed over uvicorn's worker processes (a real ``minefed node serve --workers 2``)."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from minefed.embedded_pg import free_port
from minefed.localfed import wait_until
from minefed.observability import (
    ACCESS_LOGGER,
    JsonFormatter,
    ObservabilityMiddleware,
    log_config,
    log_format,
)


def test_the_log_format_defaults_to_json_in_production_only(monkeypatch):
    monkeypatch.delenv("MINEFED_LOG_FORMAT", raising=False)
    assert log_format("production") == "json"
    assert log_format("development") == "plain" and log_format("test") == "plain"
    monkeypatch.setenv("MINEFED_LOG_FORMAT", "JSON")
    assert log_format("development") == "json"
    monkeypatch.setenv("MINEFED_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="json 或 plain"):
        log_format("production")
    # uvicorn's access logger is silenced: the middleware writes the access line.
    assert log_config("json")["loggers"]["uvicorn.access"]["propagate"] is False


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every log record of the process, as the JSON formatter writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_lines_inside_a_request_carry_its_id_and_errors_their_exception(json_lines):
    app = FastAPI()

    @app.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        logging.getLogger("minefed.test").warning("looking at a thing")
        if thing_id == 0:
            raise RuntimeError("boom")
        return {"id": thing_id}

    app.add_middleware(ObservabilityMiddleware, app_name="test")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/things/1", headers={"X-Request-ID": "r-1"}).status_code == 200
        assert client.get("/things/0", headers={"X-Request-ID": "r-2"}).status_code == 500
    lines = [json.loads(raw) for raw in json_lines.getvalue().splitlines()]
    ours = [line for line in lines if line["logger"] in {"minefed.test", ACCESS_LOGGER}]
    assert [(x["logger"], x["request_id"], x["level"]) for x in ours] == [
        ("minefed.test", "r-1", "WARNING"),
        (ACCESS_LOGGER, "r-1", "INFO"),
        ("minefed.test", "r-2", "WARNING"),
        (ACCESS_LOGGER, "r-2", "ERROR"),
    ]
    failed = ours[-1]
    assert (failed["route"], failed["status"]) == ("/things/{thing_id}", 500)
    assert "RuntimeError: boom" in failed["exception"]


def _requests_total(url: str) -> float:
    scraped = httpx.get(f"{url}/metrics", timeout=10)
    assert scraped.status_code == 200, scraped.text
    return sum(
        s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
        if s.name == "minefed_http_requests_total" and s.labels.get("route") == "/healthz"
    )


@pytest.mark.slow
def test_two_workers_count_together_and_log_json(node_db_url, server_dir):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINEFED_")}
    env |= {
        "PYTHONUNBUFFERED": "1",
        "MINEFED_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(server_dir / "metrics"),
        "MINEFED_NODE_DATABASE_URL": node_db_url,
        "MINEFED_NODE_STORAGE_DIR": str(server_dir / "files"),
        "MINEFED_NODE_KEY_FILE": str(server_dir / "absent-key.pem"),
    }
    (server_dir / "metrics").mkdir()
    (server_dir / "metrics" / "counter_999999.db").write_bytes(b"")  # a previous run's
    log_path = server_dir / "serve.log"
    with log_path.open("wb") as log:
        serve = ["node", "serve", "--port", str(port), "--workers", "2"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "minefed.cli", *serve],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: httpx.get(f"{url}/healthz").status_code == 200, 90, "the node")
        before = _requests_total(url)
        for n in range(20):
            # A new connection each time, so both workers get some.
            response = httpx.get(f"{url}/healthz", headers={"X-Request-ID": f"probe-{n}"})
            assert response.headers["X-Request-ID"] == f"probe-{n}"
        # Whichever worker answers the scrape reports every worker's requests.
        assert _requests_total(url) - before == 20
        assert _requests_total(url) - before == 20
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert not (server_dir / "metrics" / "counter_999999.db").exists()
    lines = [json.loads(raw) for raw in log_path.read_text("utf-8").splitlines() if raw.strip()]
    assert {"uvicorn.error", ACCESS_LOGGER} <= {line["logger"] for line in lines}
    probes = [line for line in lines if str(line.get("request_id", "")).startswith("probe-")]
    assert len(probes) == 20
    assert {(p["method"], p["route"], p["status"]) for p in probes} == {("GET", "/healthz", 200)}


def test_celery_processes_log_json_once_celery_sets_up_logging(server_dir):
    """What a worker or beat does at start (Celery's ``setup_logging`` signal), in a
    process of its own: the node's Celery app takes over the logging setup."""
    script = (
        "import logging\n"
        "from celery.signals import setup_logging\n"
        "import node.worker\n"
        "setup_logging.send(sender=None, loglevel=logging.INFO, logfile=None,"
        " format='', colorize=False)\n"
        "logging.getLogger('celery.worker').info('worker ready')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINEFED_")}
    env |= {
        "MINEFED_NODE_ENVIRONMENT": "production",
        "MINEFED_NODE_SECRET_KEY": "x" * 40,
        "MINEFED_NODE_STORAGE_DIR": str(server_dir),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    (line,) = [json.loads(raw) for raw in done.stderr.splitlines() if raw.strip()]
    assert (line["logger"], line["level"], line["message"]) == (
        "celery.worker",
        "INFO",
        "worker ready",
    )
