"""Celery task of the retention domain: ``retention.daily`` (beat runs it once a day)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import shared_task

from node.attachments.storage import FilesystemStorage
from node.retention.service import china_date, run
from node.sync.publish import Publisher
from node.sync.tasks import SyncRuntime, runtime

__all__ = ["RETENTION_SCHEDULE_NAME", "retention_schedule", "run_retention"]

log = logging.getLogger("minefed.node.retention")

RETENTION_SCHEDULE_NAME = "retention-daily"


def retention_schedule() -> dict[str, Any]:
    """The beat entry: 02:30 China time (18:30 UTC), when the province sleeps. Missing a
    day (downtime) is harmless: the next run deletes whatever became due meanwhile."""
    from celery.schedules import crontab

    return {
        "task": "retention.daily",
        "schedule": crontab(hour=18, minute=30),
        "options": {"expires": 12 * 3600},
    }


def run_retention(rt: SyncRuntime, as_of: datetime | None = None) -> dict[str, Any]:
    """Delete what is due as of the runtime's clock (or ``as_of``), then kick a push."""
    now = rt.clock.now()
    kicked: list[bool] = []
    publisher = Publisher(rt.key_file, lambda: kicked.append(True))
    report = run(
        rt.session_factory,
        as_of=china_date(as_of or now),
        now=now,
        own_node=rt.settings.node_id,
        publisher=publisher,
        storage=FilesystemStorage(rt.settings.storage_dir),
    )
    result = report.to_dict()
    if kicked:
        from node.sync.tasks import run_push

        result["push"] = run_push(rt)  # tombstones out at once (the sweep would anyway)
    log.info("retention: %s", result)
    return result


@shared_task(name="retention.daily", ignore_result=True)  # type: ignore[untyped-decorator]
def retention_daily_task() -> dict[str, Any]:
    """Five-year retention, as of today (the worker's clock)."""
    return run_retention(runtime())
