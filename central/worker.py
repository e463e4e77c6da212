"""The hub's Celery application: ``celery -A central.worker worker`` and ``… beat``
(or ``minefed central worker`` / ``minefed central beat``).

Configured from the environment (:class:`~central.config.CentralSettings`).
The database is the source of truth for every task; the broker only wakes
workers up. Production uses RabbitMQ (``MINEFED_CENTRAL_BROKER_URL``);
development uses kombu's SQLAlchemy transport over the hub's own database.

Other domains add their tasks by importing their ``tasks`` module below and
their periodic entries to :func:`beat_schedule`.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from central.config import CentralSettings, get_settings
from minefed.gc_tuning import tune_celery
from minefed.observability import use_for_celery

__all__ = ["HUB_QUEUE", "beat_schedule", "celery_app", "make_celery"]

#: The hub's queue (nodes sharing a broker use ``minefed.node-…`` queues).
HUB_QUEUE = "minefed.hub"


def beat_schedule(settings: CentralSettings) -> dict[str, Any]:
    """The hub's periodic tasks; a run not started within one interval is dropped."""
    return {
        "log-sequence": {
            "task": "log.sequence",
            "schedule": settings.log_sequence_interval_s,
            "options": {"expires": settings.log_sequence_interval_s},
        },
        "statistics-refresh": {
            "task": "statistics.refresh",
            "schedule": settings.stats_refresh_interval_s,
            "options": {"expires": settings.stats_refresh_interval_s},
        },
    }


def make_celery(settings: CentralSettings, *, set_as_current: bool = False) -> Celery:
    app = Celery("minefed-hub", set_as_current=set_as_current)
    if settings.effective_broker_url.startswith("sqla+"):
        from kombu.transport import sqlalchemy as kombu_sqla

        # Its transport options go to create_engine, so the interval is set on the class.
        kombu_sqla.Transport.polling_interval = 0.5
    app.conf.update(
        broker_url=settings.effective_broker_url,
        broker_transport_options={},
        broker_connection_retry_on_startup=True,
        task_default_queue=HUB_QUEUE,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_reject_on_worker_lost=True,
        timezone="UTC",
        enable_utc=True,
        beat_schedule=beat_schedule(settings),
    )
    return app


celery_app = make_celery(get_settings(), set_as_current=True)
use_for_celery(get_settings().environment)  # MINEFED_LOG_FORMAT (docs/deployment.md)
tune_celery()  # minefed/gc_tuning.py

import central.statistics.tasks  # noqa: E402 - registers statistics.refresh
import central.transparency.tasks  # noqa: E402, F401 - registers log.sequence
