"""The hub's Celery app: its tasks, beat schedule and broker."""

from __future__ import annotations

from central.config import CentralSettings
from central.worker import HUB_QUEUE, celery_app, make_celery


def test_the_hub_worker_has_the_sequencer_on_beat():
    assert "log.sequence" in celery_app.tasks
    schedule = celery_app.conf.beat_schedule
    assert schedule["log-sequence"]["task"] == "log.sequence"
    assert schedule["log-sequence"]["schedule"] == CentralSettings().log_sequence_interval_s
    assert celery_app.conf.task_default_queue == HUB_QUEUE
    assert celery_app.conf.task_acks_late is True


def test_the_broker_defaults_to_the_hub_database_and_the_interval_is_set(tmp_path):
    settings = CentralSettings(environment="test", log_sequence_interval_s=1.5)
    app = make_celery(settings)
    assert app.conf.broker_url == "sqla+" + settings.database_url
    assert app.conf.beat_schedule["log-sequence"]["schedule"] == 1.5
    rabbit = settings.model_copy(update={"broker_url": "amqp://minefed@rabbitmq:5672/hub"})
    assert make_celery(rabbit).conf.broker_url == "amqp://minefed@rabbitmq:5672/hub"
