"""The Celery configuration of a node, and the kick that wakes a delivery worker.

Kept apart from ``node.worker`` (which builds the worker's app from the
environment at import) so the API can kick with the settings it was given.
"""

from __future__ import annotations

import threading

from celery import Celery

from node.config import NodeSettings

__all__ = ["SWEEP_SCHEDULE_NAME", "CeleryKick", "make_celery", "queue_name"]

SWEEP_SCHEDULE_NAME = "sync-sweep"

#: How often a worker on kombu's SQLAlchemy transport (the default broker: the
#: node's own database) looks for a task. kombu polls every second, so a kick
#: after an approval waited half a second on average, up to a second; at 0.2 s an
#: idle worker costs its database five small queries a second. RabbitMQ pushes
#: tasks to the worker and needs no polling.
SQLA_POLLING_INTERVAL_S = 0.2


def queue_name(node_id: str) -> str:
    """``node:150000`` → ``minefed.node-150000``."""
    return "minefed." + node_id.replace(":", "-")


def make_celery(settings: NodeSettings, *, set_as_current: bool = False) -> Celery:
    """A Celery app for ``settings``; the tasks are registered by ``node.sync.tasks``."""
    app = Celery("minefed-node", set_as_current=set_as_current)
    if settings.effective_broker_url.startswith("sqla+"):
        _poll_sqla_every(SQLA_POLLING_INTERVAL_S)
    app.conf.update(
        broker_url=settings.effective_broker_url,
        # The SQLAlchemy transport passes these to create_engine: no polling options here.
        broker_transport_options={},
        broker_connection_retry_on_startup=True,
        # One queue per node, so nodes sharing a broker never take each other's tasks.
        task_default_queue=settings.broker_queue or queue_name(settings.node_id),
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # Acknowledged when done, so a worker killed mid-task leaves the task for
        # another; one at a time per process, so a slow push holds up nothing else.
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_reject_on_worker_lost=True,
        timezone="UTC",
        enable_utc=True,
        beat_schedule={
            SWEEP_SCHEDULE_NAME: {
                "task": "sync.sweep",
                "schedule": settings.sync_sweep_interval_s,
                # A sweep not started within one interval is superseded by the next.
                "options": {"expires": settings.sync_sweep_interval_s},
            }
        },
    )
    return app


def _poll_sqla_every(seconds: float) -> None:
    """Set the SQLAlchemy transport's polling interval. Its transport options go to
    ``create_engine`` (which refuses ``polling_interval``), so the interval can
    only be set on the transport class, for this process."""
    from kombu.transport import sqlalchemy as kombu_sqla

    kombu_sqla.Transport.polling_interval = seconds


class CeleryKick:
    """Sends ``sync.push`` to the node's broker after a commit that queued messages.

    The app is made at the first kick, so an API process that never publishes
    never connects to the broker. One try, no publish retries: a broker outage
    must not hold up the request (the sweep delivers anyway).
    """

    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self._app: Celery | None = None
        self._lock = threading.Lock()

    def app(self) -> Celery:
        with self._lock:
            if self._app is None:
                self._app = make_celery(self.settings)
            return self._app

    def __call__(self) -> None:
        self.app().send_task("sync.push", retry=False)
