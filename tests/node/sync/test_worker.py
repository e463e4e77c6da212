"""The Celery app: task names, beat schedule, delivery guarantees; the tasks' bodies."""

from __future__ import annotations

from node.config import NodeSettings
from node.sync.broker import CeleryKick, make_celery
from node.sync.keystore import KeyFile
from node.sync.tasks import SyncRuntime, run_push, run_sweep
from node.worker import celery_app
from sync.outbox import enqueue
from tests.node.factories import NOW
from tests.node.sync.conftest import NODE


def test_the_worker_app_has_the_sync_tasks_and_the_sweep_schedule():
    assert {"sync.push", "sync.pull", "sync.sweep", "log.witness"} <= set(celery_app.tasks)
    schedule = celery_app.conf.beat_schedule
    tasks = {name: entry["task"] for name, entry in schedule.items()}
    # retention.daily: tests/node/retention/test_tasks.py
    assert tasks == {
        "sync-sweep": "sync.sweep",
        "log-witness": "log.witness",
        "retention-daily": "retention.daily",
    }
    assert schedule["sync-sweep"]["schedule"] == NodeSettings().sync_sweep_interval_s
    assert schedule["log-witness"]["schedule"] == NodeSettings().witness_interval_s


def test_delivery_settings(settings):
    app = make_celery(settings.model_copy(update={"sync_sweep_interval_s": 2.5}))
    conf = app.conf
    assert conf.task_acks_late is True and conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert (
        conf.broker_transport_options == {}
    )  # the SQLAlchemy transport hands them to create_engine
    assert conf.beat_schedule["sync-sweep"]["schedule"] == 2.5


def test_broker_defaults_to_the_database_through_kombu_sqlalchemy(settings):
    assert make_celery(settings).conf.broker_url == "sqla+" + settings.database_url
    rabbit = settings.model_copy(update={"broker_url": "amqp://minefed@rabbitmq:5672/minefed"})
    assert make_celery(rabbit).conf.broker_url == "amqp://minefed@rabbitmq:5672/minefed"


def test_a_worker_on_the_database_polls_it_five_times_a_second(settings, monkeypatch):
    from kombu.transport import sqlalchemy as kombu_sqla

    from node.sync.broker import SQLA_POLLING_INTERVAL_S

    monkeypatch.setattr(kombu_sqla.Transport, "polling_interval", 1.0)  # kombu's default
    rabbit = settings.model_copy(update={"broker_url": "amqp://minefed@rabbitmq:5672/minefed"})
    make_celery(rabbit)
    assert kombu_sqla.Transport.polling_interval == 1.0
    app = make_celery(settings)
    assert kombu_sqla.Transport.polling_interval == SQLA_POLLING_INTERVAL_S == 0.2
    assert app.connection_for_read().transport.polling_interval == 0.2


def test_the_kick_sends_sync_push_by_name(settings, monkeypatch):
    sent = []
    kick = CeleryKick(settings)
    app = kick.app()
    assert kick.app() is app and app.conf.broker_url == settings.effective_broker_url
    # Intercepted: sending for real would create kombu's tables in the test database.
    monkeypatch.setattr(app, "send_task", lambda name, **kw: sent.append((name, kw)))
    kick()
    assert sent == [("sync.push", {"retry": False})]


def test_the_tasks_run_push_and_pull_from_the_database(
    factory, session, federation, node_key, hub, http, sync_settings, clock, key_path
):
    enqueue(
        session,
        kind="record.publish",
        sender=NODE,
        recipient="hub",
        payload={"record_id": "r1", "version_no": 1},
        key=node_key,
        now=NOW,
    )
    session.flush()
    runtime = SyncRuntime(sync_settings, factory, http, KeyFile(key_path), clock)
    assert run_push(runtime) == {"peers": [{"peer": "hub", "sent": 1, "acked": 1, "error": None}]}
    swept = run_sweep(runtime)
    assert swept["push"] == {"peers": []}
    assert swept["pull"]["error"] is None and swept["pull"]["applied"] == 0


def test_the_tasks_wait_for_enrollment(factory, sync_settings, http, clock, tmp_path):
    runtime = SyncRuntime(sync_settings, factory, http, KeyFile(tmp_path / "none.pem"), clock)
    assert run_sweep(runtime) == {
        "push": {"skipped": "no key file: node not enrolled"},
        "pull": {"skipped": "no key file: node not enrolled"},
    }
