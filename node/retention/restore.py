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
   tombstones of copies held here included -- is applied again, in order;
3. catches up the outbox numbering: the hub may hold more of each of the node's
   streams than the restored database numbered (messages sent after the backup).
   The newest message of each stream is pushed again -- a duplicate the hub
   ignores, but answers with the last seq it applied -- and the stream's
   numbering moves on past it, so new messages are not taken for duplicates.

Run it with the node's workers stopped; start them once it reports no problem.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import col, select

from node.attachments.storage import FilesystemStorage
from node.config import NodeSettings
from node.db import SessionFactory, transaction
from node.models import NodeFederation
from node.retention.service import china_date, run
from node.sync.client import HubError
from node.sync.keystore import KeyFile
from node.sync.publish import Publisher
from node.sync.service import hub_client, pull
from sync.clock import Clock, SystemClock
from sync.ingest import stream_name
from sync.keys import SigningKey
from sync.outbox import lock_peer, pending_json, record_ack
from sync.tables import PeerState

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
        if http is None:
            with httpx.Client(timeout=settings.sync_http_timeout_s) as client:
                moved = catch_up_numbering(factory, client, settings, key, clock)
        else:
            moved = catch_up_numbering(factory, http, settings, key, clock)
        result["numbering"] = moved
        for peer, outcome in moved.items():
            if "error" in outcome:
                result["problems"].append(f"numbering of {peer}: {outcome['error']}")
                summary.append(
                    f"PROBLEM: the hub's last seq of the stream to {peer} could not be read "
                    f"({outcome['error']}); run this again before starting the workers"
                )
            elif outcome["to"] != outcome["from"]:
                summary.append(
                    f"outbox to {peer}: the hub has up to seq {outcome['to']}, this database "
                    f"numbered up to {outcome['from']}: numbering moved on past {outcome['to']}"
                )
    if not result["problems"]:
        summary.append("reconciled: the workers may be started")
    result["summary"] = summary
    return result


def catch_up_numbering(
    factory: SessionFactory,
    http: httpx.Client,
    settings: NodeSettings,
    key: SigningKey,
    clock: Clock,
) -> dict[str, dict[str, Any]]:
    """Per destination: the last seq this database numbered (``from``) and the one it
    numbers from now on (``to``), moved up to the hub's last applied seq of the stream.

    Only forward: a hub that has less (restored itself) is handled by the next push,
    which resends from the hub's cursor. A stream with no message kept here cannot be
    asked about (nothing to push again); it is left as it is.
    """
    with transaction(factory) as session:
        federation = session.get(NodeFederation, 1)
        peers = list(session.exec(select(PeerState.peer).order_by(col(PeerState.peer))).all())
    if federation is None:
        return {}
    client = hub_client(http, settings, federation, key, clock)
    moved: dict[str, dict[str, Any]] = {}
    for peer in peers:
        with transaction(factory) as session:
            state = session.get(PeerState, peer)
            numbered = state.next_seq - 1 if state else 0
            newest = pending_json(session, peer, after=max(numbered - 1, 0), limit=1)
        if not newest:
            continue
        try:
            answer = client.post_json_messages([newest[0][1]])
        except HubError as exc:
            moved[peer] = {"from": numbered, "error": exc.message}
            continue
        last = (answer.get("streams") or {}).get(stream_name(federation.node_id, peer))
        if isinstance(last, bool) or not isinstance(last, int) or last < 0:
            moved[peer] = {"from": numbered, "error": "the hub's answer has no last seq"}
            continue
        with transaction(factory) as session:
            state = lock_peer(session, peer)
            numbered = state.next_seq - 1
            if last > numbered:
                state.next_seq = last + 1
                state.last_error = None
                session.add(state)
                record_ack(session, peer, last, clock.now())
            moved[peer] = {"from": numbered, "to": max(last, numbered)}
    return moved
