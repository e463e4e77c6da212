"""After a restore: delete again what was deleted after the backup was taken.

A backup older than a deletion holds the deleted records. The public never sees
them again in any case -- the hub keeps every tombstone and ignores later
publishes of a tombstoned record -- but the node itself must not show them to
its users or relay them. ``minefed node restore-reconcile`` (docs/retention.md):

1. runs retention as of today: retention is a function of the date a record
   was first entered, so whatever it had deleted since the backup is due again
   and goes again (its tombstones are queued again; the hub and the copies
   already hold them, so they change nothing there);
2. pulls the inbox from the hub: the node's inbox cursor is as old as the
   backup, and the hub keeps the node's queue, so every relay since -- owners'
   tombstones of copies held here included -- is applied again, in order.

Run it with the node's workers stopped; start them once it reports no problem.
"""

from __future__ import annotations

from typing import Any

import httpx

from node.attachments.storage import FilesystemStorage
from node.config import NodeSettings
from node.db import SessionFactory
from node.retention.service import china_date, run
from node.sync.keystore import KeyFile
from node.sync.publish import Publisher
from node.sync.service import pull
from sync.clock import Clock, SystemClock

__all__ = ["reconcile"]


def reconcile(
    settings: NodeSettings,
    factory: SessionFactory,
    clock: Clock | None = None,
    http: httpx.Client | None = None,
) -> dict[str, Any]:
    """Retention as of today, then the inbox pulled again; ``problems`` lists what
    keeps the node from starting its workers."""
    clock = clock or SystemClock()
    now = clock.now()
    key_file = KeyFile(settings.key_file)
    # No kick: the workers are stopped; they deliver the outbox when started.
    publisher = Publisher(key_file, None)
    report = run(
        factory,
        as_of=china_date(now),
        now=now,
        own_node=settings.node_id,
        publisher=publisher,
        storage=FilesystemStorage(settings.storage_dir),
    )
    result: dict[str, Any] = {"retention": report.to_dict(), "problems": []}
    summary = [
        f"retention as of {report.as_of}: deleted again {report.project_departments} project "
        f"departments, {report.accidents} accidents, {report.attachments} attachments, "
        f"{report.contractors} contractors"
    ]
    key = key_file.load()
    if key is None:
        summary.append("not enrolled: nothing to pull from the hub")
    else:
        if http is None:
            with httpx.Client(timeout=settings.sync_http_timeout_s) as client:
                pulled = pull(factory, client, settings, key, clock, publisher=publisher)
        else:
            pulled = pull(factory, http, settings, key, clock, publisher=publisher)
        result["pull"] = {
            "applied": pulled.applied,
            "duplicates": pulled.duplicates,
            "quarantined": len(pulled.quarantined),
            "last_delivery_seq": pulled.last_delivery_seq,
            "error": pulled.error,
        }
        if pulled.error:
            result["problems"].append(f"inbox pull failed: {pulled.error}")
            summary.append(
                f"PROBLEM: the hub's inbox could not be pulled ({pulled.error}); "
                "run this again before starting the workers"
            )
        else:
            summary.append(
                f"inbox pulled again: {pulled.applied} relays and directives applied since the "
                f"backup (deletions by other provinces' nodes included)"
            )
    if not result["problems"]:
        summary.append("reconciled: the workers may be started")
    result["summary"] = summary
    return result
