"""Celery tasks of the sync domain: ``sync.push``, ``sync.pull``, ``sync.sweep``.

Tasks take no arguments and reload everything from the database: the outbox,
cursors and backoff state are the truth, so any number of kicks collapse into
"deliver what is due". Each worker process builds its engine and HTTP client
once, lazily (after the prefork, never shared with the parent).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from celery import shared_task

from node.config import NodeSettings, get_settings
from node.db import SessionFactory, make_engine, session_factory
from node.sync.keystore import KeyFile
from node.sync.publish import Publisher
from node.sync.service import pull, push
from sync.clock import Clock, SystemClock

__all__ = ["SyncRuntime", "run_pull", "run_push", "run_sweep", "runtime"]

log = logging.getLogger("minefed.node.sync")

#: Push requests in flight per destination: the hub checks the next batch while it
#: applies the last (see ``node.sync.service.push``).
PUSH_IN_FLIGHT = 2


@dataclass
class SyncRuntime:
    """What a worker process needs to sync: settings, database, HTTP, key and clock."""

    settings: NodeSettings
    session_factory: SessionFactory
    http: httpx.Client
    key_file: KeyFile
    clock: Clock

    @classmethod
    def from_settings(cls, settings: NodeSettings) -> SyncRuntime:
        engine = make_engine(settings.database_url, pool_size=2, max_overflow=2)
        return cls(
            settings=settings,
            session_factory=session_factory(engine),
            http=httpx.Client(timeout=settings.sync_http_timeout_s),
            key_file=KeyFile(settings.key_file),
            clock=SystemClock(),
        )


_runtime: SyncRuntime | None = None
_runtime_lock = threading.Lock()


def runtime() -> SyncRuntime:
    """This process's runtime, built at first use."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = SyncRuntime.from_settings(get_settings())
        return _runtime


def run_push(rt: SyncRuntime) -> dict[str, Any]:
    key = rt.key_file.load()
    if key is None:
        return {"skipped": "no key file: node not enrolled"}
    results = push(
        rt.session_factory, rt.http, rt.settings, key, rt.clock, in_flight=PUSH_IN_FLIGHT
    )
    return {
        "peers": [
            {"peer": r.peer, "sent": r.sent, "acked": r.acked, "error": r.error} for r in results
        ]
    }


def run_pull(rt: SyncRuntime) -> dict[str, Any]:
    """Pull and apply the inbox; push at once what applying queued (account reports)."""
    key = rt.key_file.load()
    if key is None:
        return {"skipped": "no key file: node not enrolled"}
    queued: list[bool] = []
    publisher = Publisher(rt.key_file, lambda: queued.append(True))
    report = pull(rt.session_factory, rt.http, rt.settings, key, rt.clock, publisher=publisher)
    result: dict[str, Any] = {
        "applied": report.applied,
        "duplicates": report.duplicates,
        "quarantined": len(report.quarantined),
        "last_delivery_seq": report.last_delivery_seq,
        "error": report.error,
    }
    if queued:
        # The hub learns promptly that its directive was applied ("who applied").
        result["push"] = run_push(rt)
    return result


def run_sweep(rt: SyncRuntime) -> dict[str, Any]:
    """Push whatever is due, then pull the inbox."""
    return {"push": run_push(rt), "pull": run_pull(rt)}


@shared_task(name="sync.push", ignore_result=True)  # type: ignore[untyped-decorator]
def push_task() -> dict[str, Any]:
    """Deliver the outbox's due destinations (kicked after each commit that queues)."""
    return run_push(runtime())


@shared_task(name="sync.pull", ignore_result=True)  # type: ignore[untyped-decorator]
def pull_task() -> dict[str, Any]:
    """Fetch and apply the inbox at the hub."""
    return run_pull(runtime())


@shared_task(name="sync.sweep", ignore_result=True)  # type: ignore[untyped-decorator]
def sweep_task() -> dict[str, Any]:
    """What beat runs every ``sync_sweep_interval_s``: push due + pull."""
    return run_sweep(runtime())
