"""``statistics.refresh``: drain the refresh queue (or, with ``rebuild``, rebuild)."""

from __future__ import annotations

from typing import Any

from central.worker import celery_app


@celery_app.task(name="statistics.refresh")  # type: ignore[untyped-decorator]
def refresh(rebuild: bool = False) -> dict[str, Any]:
    """One transaction per batch, opened here (the task owns them)."""
    from central.config import get_settings
    from central.db import make_engine, session_factory
    from central.statistics import service
    from sync.clock import SystemClock

    settings = get_settings()
    engine = make_engine(settings.database_url, 1, 0)
    try:
        factory = session_factory(engine)
        key = settings.person_index_key.encode()
        if rebuild:
            result = service.rebuild_now(factory, key, SystemClock())
        else:
            result = service.refresh(factory, key, SystemClock())
    finally:
        engine.dispose()
    return {"records": result.records, "batches": result.batches, "rebuilt": result.rebuilt}
