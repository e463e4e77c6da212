"""The node's Celery application: ``celery -A node.worker worker`` and ``… beat``
(or ``minefed node worker`` / ``minefed node beat``).

Configured from the environment (:class:`~node.config.NodeSettings`). The
broker only wakes workers up: the outbox table is the source of truth, so a
lost or duplicated task message delays delivery or repeats an idempotent push,
never loses a record. Production uses RabbitMQ; development and the embedded
demo use kombu's SQLAlchemy transport over the node's own database (``sqla+…``).
"""

from __future__ import annotations

from minefed.gc_tuning import tune_celery
from minefed.observability import use_for_celery
from node.config import get_settings
from node.sync.broker import make_celery

__all__ = ["celery_app"]

celery_app = make_celery(get_settings(), set_as_current=True)
use_for_celery(get_settings().environment)  # MINEFED_LOG_FORMAT (docs/deployment.md)
tune_celery()  # minefed/gc_tuning.py

import node.sync.tasks  # noqa: E402, F401 - registers sync.push, sync.pull, sync.sweep

# Registers retention.daily; beat runs it once a day.
from node.retention.tasks import RETENTION_SCHEDULE_NAME, retention_schedule  # noqa: E402

celery_app.conf.beat_schedule[RETENTION_SCHEDULE_NAME] = retention_schedule()

from node.witness.tasks import WITNESS_SCHEDULE_NAME, beat_entry  # noqa: E402 - log.witness

celery_app.conf.beat_schedule[WITNESS_SCHEDULE_NAME] = beat_entry(get_settings().witness_interval_s)
