"""Celery task ``log.witness``: witness the hub's log, on beat every ``witness_interval_s``."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from node.sync.tasks import SyncRuntime, runtime
from node.witness.service import witness

__all__ = ["run_witness"]

#: Beat entry name.
WITNESS_SCHEDULE_NAME = "log-witness"


def run_witness(rt: SyncRuntime) -> dict[str, Any]:
    key = rt.key_file.load()
    if key is None:
        return {"skipped": "no key file: node not enrolled"}
    return witness(rt.session_factory, rt.http, rt.settings, key, rt.clock).to_dict()


def beat_entry(interval_s: float) -> dict[str, Any]:
    """The beat schedule entry; a run not started within one interval is dropped."""
    return {"task": "log.witness", "schedule": interval_s, "options": {"expires": interval_s}}


@shared_task(name="log.witness", ignore_result=True)  # type: ignore[untyped-decorator]
def witness_task() -> dict[str, Any]:
    """Fetch the hub's checkpoint, check it extends the last one seen, cosign or alarm."""
    return run_witness(runtime())
