"""``minefed central stats-refresh [--rebuild]`` and the ``statistics.refresh`` task,
against a database of their own (they commit)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from central.config import get_settings
from central.db import make_engine
from minefed.cli import main
from tests.support import postgres


@pytest.fixture(scope="module")
def stats_db_url(pg_server_url: str, worker_id_suffix: str) -> Iterator[str]:
    from central.migrate import upgrade

    name = f"minefed_test_hub_stats_{worker_id_suffix}"
    url = postgres.recreate_database(pg_server_url, name)
    upgrade(url)
    yield url
    postgres.drop_database(pg_server_url, name)


@pytest.fixture
def env(stats_db_url, tmp_path, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("MINEFED_CENTRAL_ENVIRONMENT", "test")
    monkeypatch.setenv("MINEFED_CENTRAL_DATABASE_URL", stats_db_url)
    get_settings.cache_clear()
    yield stats_db_url
    get_settings.cache_clear()


def _sql(url: str, sql: str) -> list[tuple]:
    engine = make_engine(url, 1, 0)
    try:
        with engine.begin() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _publish_row(url: str, record_id: str) -> None:
    _sql(
        url,
        "INSERT INTO hub_record (record_id, kind, owner, version_no, province_code, envelope, "  # noqa: S608
        "disclosures, public_data, received_at) VALUES "
        f"('{record_id}', 'basic_info', 'node:150000', 1, '150000', '{{}}', '[]', "
        '\'{"name": "x"}\', now()) RETURNING record_id',
    )


def test_refresh_applies_the_queue_and_rebuild_recomputes(env):
    url = env
    _publish_row(url, "basic-1")
    assert _sql(url, "SELECT count(*) FROM hub_stat_pending") == [(1,)]  # the trigger queued it
    out = CliRunner().invoke(main, ["central", "stats-refresh"], catch_exceptions=False)
    assert out.exit_code == 0 and "refreshed: 1 changed records" in out.output
    assert _sql(url, "SELECT measure, n FROM hub_stat_cell") == [("contractors", 1)]
    _sql(url, "UPDATE hub_stat_cell SET n = 99 RETURNING n")  # a damaged counter
    out = CliRunner().invoke(
        main, ["central", "stats-refresh", "--rebuild"], catch_exceptions=False
    )
    assert out.exit_code == 0 and "rebuilt from 1 records" in out.output
    assert _sql(url, "SELECT measure, n FROM hub_stat_cell") == [("contractors", 1)]


def test_the_celery_task_refreshes(env):
    from central.statistics.tasks import refresh

    url = env
    _publish_row(url, "basic-2")
    assert refresh.run() == {"records": 1, "batches": 1, "rebuilt": False}
    assert refresh.run(rebuild=True)["rebuilt"] is True
    assert _sql(url, "SELECT sum(n) FROM hub_stat_cell WHERE measure = 'contractors'") == [(2,)]
