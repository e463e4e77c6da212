"""central.db.in_thread_with_connection: database work in threads, never more at once
than the pool holds, so a burst does not open (and close) overflow connections."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import anyio
from sqlalchemy import text

from central.db import in_thread_with_connection, make_engine


def test_a_burst_waits_for_the_pool_instead_of_overflowing(hub_db_url):
    engine = make_engine(hub_db_url, pool_size=3, max_overflow=10)
    state = SimpleNamespace(engine=engine)
    lock = threading.Lock()
    running = {"now": 0, "most": 0, "overflow": 0}

    def work(n: int) -> int:
        with engine.connect() as conn:
            with lock:
                running["now"] += 1
                running["most"] = max(running["most"], running["now"])
                running["overflow"] = max(running["overflow"], engine.pool.overflow())
            time.sleep(0.05)
            value = conn.execute(text("SELECT :n"), {"n": n}).scalar_one()
            with lock:
                running["now"] -= 1
        return value

    async def burst() -> list[int]:
        results: list[int] = [0] * 12

        async def one(i: int) -> None:
            results[i] = await in_thread_with_connection(state, work, i)

        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(one, i)
        return results

    try:
        assert anyio.run(burst) == list(range(12))
    finally:
        engine.dispose()
    assert running["most"] == 3  # all the pool, and no more
    assert running["overflow"] <= 0  # SQLAlchemy counts a pool not yet full as negative


def test_a_connection_lost_while_idle_is_replaced_before_use(hub_db_url, monkeypatch):
    """PostgreSQL restarted or failed over: a pooled connection is dead. The pool tests
    a connection that sat idle before handing it out, and replaces a dead one."""
    import central.db

    monkeypatch.setattr(central.db, "PING_AFTER_IDLE_S", 0.2)
    engine = make_engine(hub_db_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as other:  # a busy pool hands the same one back untested
            assert other.execute(text("SELECT pg_backend_pid()")).scalar_one() == first
        admin = make_engine(hub_db_url, pool_size=1, max_overflow=0)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})
        admin.dispose()
        time.sleep(0.3)
        with engine.connect() as conn:  # no error: the dead one was replaced
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        engine.dispose()
