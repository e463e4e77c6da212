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


def queue_name(node_id: str) -> str:
    """``node:150000`` → ``minefed.node-150000``."""
    return "minefed." + node_id.replace(":", "-")


def make_celery(settings: NodeSettings, *, set_as_current: bool = False) -> Celery:
    """A Celery app for ``settings``; the tasks are registered by ``node.sync.tasks``."""
    app = Celery("minefed-node", set_as_current=set_as_current)
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
