"""minefed.gc_tuning: the servers and workers freeze their start-up heap and collect
young objects less often (the policy is per process, so it is checked in fresh ones)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from minefed import gc_tuning

PROBE = """
import gc, json, sys
import {module}
{before}print(json.dumps({{"frozen": gc.get_freeze_count(), "threshold": list(gc.get_threshold())}}))
"""


def _probe(code: str, tmp_path) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MINEFED_ENVIRONMENT": "development"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["central.asgi", "node.asgi"])
def test_the_asgi_entry_points_tune_the_collector(module, tmp_path):
    state = _probe(PROBE.format(module=module, before=""), tmp_path)
    assert state["threshold"] == list(gc_tuning.THRESHOLDS)
    assert state["frozen"] > 10_000  # the modules, classes and schemas built at start-up


@pytest.mark.parametrize("module", ["central.worker", "node.worker"])
def test_a_celery_worker_process_is_tuned_when_it_starts(module, tmp_path):
    started = "from celery.signals import worker_process_init\n"
    started += "worker_process_init.send(sender=None)\n"
    untouched = _probe(PROBE.format(module=module, before=""), tmp_path)
    assert untouched["frozen"] == 0  # importing the app alone changes nothing
    state = _probe(PROBE.format(module=module, before=started), tmp_path)
    assert state["threshold"] == list(gc_tuning.THRESHOLDS) and state["frozen"] > 10_000
