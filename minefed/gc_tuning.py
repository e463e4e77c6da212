"""Garbage-collector settings for the servers and workers (one policy for both apps).

CPython's cycle collector runs a young collection every 700 container
allocations, and a full one (every object of the process) whenever enough
survivors piled up. A sync push of 500 messages allocates some 150,000
containers that live until the request ends, in a process holding a million
objects built at start-up (FastAPI, SQLAlchemy, pydantic, the forms): the
collector then spent more time walking the heap than the hub spent parsing
the body (measured: ``orjson.loads`` of a push body 0.081 ms a message with
the defaults, 0.013 with the settings below; bench/README.md, "Sync").

:func:`tune` moves everything alive at the end of start-up out of the
collector's sight (``gc.freeze``: modules, classes, schemas are never
garbage) and makes young collections rarer. Cycles are still collected;
memory held by short-lived cycles grows by at most a few thousand objects.
"""

from __future__ import annotations

import gc

#: Young-generation threshold (CPython's default: 700), then the two older ones.
THRESHOLDS = (20_000, 50, 100)


def tune() -> None:
    """Freeze what start-up built and collect young objects less often.

    Call once, when the process has imported and built what it serves (the
    ASGI module, a Celery worker process).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def tune_celery() -> None:
    """:func:`tune` in every Celery worker process, once its tasks are imported."""
    from celery.signals import worker_process_init, worker_ready

    def on_start(**_: object) -> None:
        tune()

    # The pool's children (prefork), and the main process (solo, threads pools).
    worker_process_init.connect(on_start, weak=False)
    worker_ready.connect(on_start, weak=False)
