"""Test session set-up: one real PostgreSQL server, one database per xdist worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import postgres

_embedded: Any = None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    global _embedded
    if _is_worker(config):
        os.environ[postgres.ENV_URL] = config.workerinput["pg_server_url"]  # type: ignore[attr-defined]
        return
    if postgres.server_url() is None:
        _embedded, url = postgres.start_embedded()
        os.environ[postgres.ENV_URL] = url
        config._minefed_started_pg = True  # type: ignore[attr-defined]


def pytest_configure_node(node: Any) -> None:
    """xdist: hand the controller's server to every worker."""
    node.workerinput["pg_server_url"] = os.environ[postgres.ENV_URL]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the embedded server and fail the run if any of its processes survive."""
    global _embedded
    if _embedded is None or _is_worker(session.config):
        return
    data_dir = _embedded.data_dir
    _embedded.destroy()
    _embedded = None
    os.environ.pop(postgres.ENV_URL, None)
    left = postgres.processes_using(data_dir)
    if left:
        session.config.get_terminal_writer().line(
            f"embedded PostgreSQL left running after the tests: pids {left}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = postgres.server_url()
    assert url, "no PostgreSQL server for the tests"
    return url


@pytest.fixture(scope="session")
def worker_id_suffix(request: pytest.FixtureRequest) -> str:
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return f"{worker}_{os.getpid()}"


@pytest.fixture(scope="session")
def node_db_url(pg_server_url: str, worker_id_suffix: str) -> Iterator[str]:
    """A migrated node database for this worker, dropped at the end."""
    from node.migrate import upgrade

    name = f"minefed_test_node_{worker_id_suffix}"
    url = postgres.recreate_database(pg_server_url, name)
    upgrade(url)
    yield url
    postgres.drop_database(pg_server_url, name)


@pytest.fixture(scope="session")
def hub_db_url(pg_server_url: str, worker_id_suffix: str) -> Iterator[str]:
    """A migrated hub database for this worker, dropped at the end."""
    from central.migrate import upgrade

    name = f"minefed_test_hub_{worker_id_suffix}"
    url = postgres.recreate_database(pg_server_url, name)
    upgrade(url)
    yield url
    postgres.drop_database(pg_server_url, name)
