"""Celery task ``log.sequence``: the log sequencer, run by beat every few seconds.

Takes no arguments and reloads everything: the unsequenced publications are
found in the database, so a lost, repeated or concurrent run only delays the
log (the advisory lock makes a concurrent run a no-op).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from celery import shared_task

from central.config import CentralSettings, get_settings
from central.db import SessionFactory, make_engine, session_factory, transaction
from central.keys.hub_key import load_signing_key
from central.transparency.service import SEQUENCE_BATCH, sequence
from sync.clock import Clock, SystemClock
from sync.keys import SigningKey

__all__ = ["LogRuntime", "run_sequence"]

log = logging.getLogger("minefed.central.transparency")


@dataclass
class LogRuntime:
    settings: CentralSettings
    session_factory: SessionFactory
    clock: Clock

    @classmethod
    def from_settings(cls, settings: CentralSettings) -> LogRuntime:
        engine = make_engine(settings.database_url, pool_size=1, max_overflow=1)
        return cls(settings, session_factory(engine), SystemClock())


_runtime: LogRuntime | None = None
_lock = threading.Lock()


def runtime() -> LogRuntime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = LogRuntime.from_settings(get_settings())
        return _runtime


def run_sequence(
    factory: SessionFactory,
    key: SigningKey,
    origin: str,
    clock: Clock,
    batch: int = SEQUENCE_BATCH,
) -> dict[str, Any]:
    """Sequence everything waiting, ``batch`` publications per transaction."""
    appended, checkpoints = 0, []
    while True:
        with transaction(factory) as session:
            done = sequence(session, key=key, origin=origin, now=clock.now(), batch=batch)
        if done.locked:
            return {"skipped": "another sequencer is running", "size": done.size}
        appended += done.appended
        if done.checkpoint_size is not None:
            checkpoints.append(done.checkpoint_size)
        if done.appended < batch:
            return {"appended": appended, "size": done.size, "checkpoints": checkpoints}


@shared_task(name="log.sequence", ignore_result=True)  # type: ignore[untyped-decorator]
def sequence_task() -> dict[str, Any]:
    """Append accepted publications to the log and sign a checkpoint."""
    rt = runtime()
    try:
        key = load_signing_key(rt.settings.key_file)
    except FileNotFoundError:
        log.error("log.sequence: no hub key at %s", rt.settings.key_file)
        return {"skipped": "no hub key"}
    result = run_sequence(rt.session_factory, key, rt.settings.effective_log_origin, rt.clock)
    if result.get("appended"):
        log.info("log.sequence: %s", result)
    return result
