from __future__ import annotations

import psycopg

from minefed.embedded_pg import EmbeddedPostgres


def test_start_query_stop_restart_and_destroy(server_dir):
    pg = EmbeddedPostgres(server_dir / "pg", fast_unsafe=True)
    with pg:
        assert pg.running()
        pg.create_database("app")
        pg.create_database("app")  # idempotent
        with psycopg.connect(pg.conninfo("app")) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (1)")
        assert pg.start() is pg  # already running: no second server
    assert not pg.running()
    with pg, psycopg.connect(pg.conninfo("app")) as conn:
        assert conn.execute("SELECT x FROM t").fetchone() == (1,)
    pg.destroy()
    assert not (server_dir / "pg").exists()
