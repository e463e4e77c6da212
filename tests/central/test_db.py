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
