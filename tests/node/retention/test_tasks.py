"""``retention.daily``: on beat once a day, as of the worker's (injected) clock."""

from __future__ import annotations

from datetime import timedelta

import httpx

from node.models import Record
from node.retention.tasks import run_retention
from node.sync.keystore import KeyFile
from node.sync.tasks import SyncRuntime
from node.worker import celery_app
from sync.clock import FixedClock
from tests.node.factories import NOW


def test_the_daily_task_is_scheduled_once_a_day():
    assert "retention.daily" in celery_app.tasks
    entry = celery_app.conf.beat_schedule["retention-daily"]
    assert entry["task"] == "retention.daily"
    assert entry["schedule"].hour == {18} and entry["schedule"].minute == {30}  # 02:30 in China


def test_the_task_judges_as_of_its_clock(session, factory, province, settings, tmp_path):
    record = province.submitted_department()
    session.commit()
    record_id = record.id
    clock = FixedClock(NOW + timedelta(days=5 * 365))  # 2031-06-14: one day short
    with httpx.Client() as http:
        runtime = SyncRuntime(settings, factory, http, KeyFile(tmp_path / "none.pem"), clock)
        assert run_retention(runtime)["project_departments"] == 0
        clock.advance(24 * 3600)
        assert run_retention(runtime)["project_departments"] == 1
    session.expire_all()
    assert session.get(Record, record_id) is None
