"""The hub's Celery application (minimal; ``celery -A central.worker worker`` / ``beat``).

Configured from :class:`~central.config.CentralSettings`. Today it runs the
statistics refresh (``statistics.refresh``) on a beat schedule; the broker only
wakes the worker: the refresh queue is a table, so a lost task message delays
the statistics and never loses a change.
"""

from __future__ import annotations

from celery import Celery

from central.config import get_settings

__all__ = ["celery_app"]

STATS_SCHEDULE_NAME = "statistics-refresh"


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery("minefed-hub", set_as_current=False)
    app.conf.update(
        broker_url=settings.broker_url,
        broker_transport_options={},
        broker_connection_retry_on_startup=True,
        task_default_queue="minefed.hub",
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        timezone="UTC",
        enable_utc=True,
        beat_schedule={
            STATS_SCHEDULE_NAME: {
                "task": "statistics.refresh",
                "schedule": settings.stats_refresh_interval_s,
                "options": {"expires": settings.stats_refresh_interval_s},
            }
        },
    )
    return app


celery_app = make_celery()

import central.statistics.tasks  # noqa: E402, F401 - registers statistics.refresh
