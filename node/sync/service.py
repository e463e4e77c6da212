"""Delivery between this node and the hub: push the outbox, pull the inbox, and the
operators' view of both.

Rules kept here:

- **no transaction is open during HTTP**: a batch is read in one short
  transaction, sent, and its answer recorded in another;
- delivery state lives in PostgreSQL (``sync_peer``, ``sync_cursor``), never in
  memory, so a killed worker loses nothing and any worker can carry on;
- "hub down" (``sync.backoff.counts_as_peer_down``) backs the destination off
  exponentially with full jitter; any other refusal is recorded for operators
  and the queue is tried again at the next sweep, without backoff;
- concurrent pushes (a kick and the sweep at once) are harmless: the hub ignores
  what it already applied and answers its last applied seq either way.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

from node.config import NodeSettings
from node.db import SessionFactory, transaction
from node.models import NodeFederation, Record
from node.sync.client import HubClient, HubError
from node.sync.inbox import (
    InboxMalformed,
    apply_inbox,
    inbox_stream,
    make_applier,
    verification_keyring,
)
from node.sync.publish import Publisher, bind_publisher
from schemas.enums import ReviewState
from sync.clock import Clock
from sync.ingest import retry_quarantined, skip_quarantined, stream_name
from sync.keys import SigningKey
from sync.outbox import due_peers, lock_peer, pending_json, record_ack, record_failure
from sync.tables import OutboxMessage, PeerState, QuarantinedMessage, StreamCursor

__all__ = [
    "PeerPush",
    "PullReport",
    "hub_client",
    "hub_url_of",
    "pull",
    "push",
    "quarantine_counts",
    "retry",
    "review_queue_sizes",
    "skip",
    "status",
]

log = logging.getLogger("minefed.node.sync")

# Enough batches for any real backlog in one run, few enough that a bug cannot spin forever.
_MAX_ROUNDS = 10_000
# Resends after an answer overtaken by another (requests in flight), per push.
_MAX_RESENDS = 3


def hub_url_of(settings: NodeSettings, federation: NodeFederation) -> str:
    """Where the hub is: the configured URL, else the one enrollment used."""
    return settings.hub_url or federation.hub_url


def hub_client(
    http: httpx.Client,
    settings: NodeSettings,
    federation: NodeFederation,
    key: SigningKey | None,
    clock: Clock,
) -> HubClient:
    """This node's client of the hub (at :func:`hub_url_of`), signing with ``key``."""
    return HubClient(
        http,
        hub_url_of(settings, federation),
        federation.node_id,
        key,
        clock,
        settings.sync_http_timeout_s,
    )


def _federation(session_factory: SessionFactory) -> NodeFederation | None:
    with transaction(session_factory) as session:
        return session.get(NodeFederation, 1)


# ---------------------------------------------------------------- push


@dataclass
class PeerPush:
    """What one push did for one destination."""

    peer: str
    sent: int = 0
    acked: int | None = None
    error: str | None = None
    backed_off: bool = False


def push(
    session_factory: SessionFactory,
    http: httpx.Client,
    settings: NodeSettings,
    key: SigningKey,
    clock: Clock,
    *,
    rng: random.Random | None = None,
    in_flight: int = 1,
) -> list[PeerPush]:
    """Deliver every due destination's pending messages through the hub.

    Every destination (the hub itself, and other nodes for relays) is reached
    with ``POST {hub}/sync/v1/messages``; each keeps its own seq, acknowledgement
    and backoff. Returns what happened per destination; does nothing before
    enrollment. ``in_flight`` requests may be outstanding per destination: with
    2, the hub checks the next batch while it applies the last (a backlog goes
    about twice as fast on a hub with two processes).
    """
    federation = _federation(session_factory)
    if federation is None:
        return []
    client = hub_client(http, settings, federation, key, clock)
    with transaction(session_factory) as session:
        peers = due_peers(session, clock.now())
    return [
        _push_peer(session_factory, client, settings, clock, peer, rng, in_flight) for peer in peers
    ]


def _push_peer(
    session_factory: SessionFactory,
    client: HubClient,
    settings: NodeSettings,
    clock: Clock,
    peer: str,
    rng: random.Random | None,
    in_flight: int = 1,
) -> PeerPush:
    """Send the peer's pending messages in batches, up to ``in_flight`` requests at once.

    Answers are handled in the order the requests were sent. With more than one
    in flight, a later request can reach the hub first and find a gap (the hub
    then applies nothing of it and answers its cursor): such an answer is older
    than one already recorded, so it is not taken for a hub restore; the rest
    is sent again from the acknowledged seq.
    """
    result = PeerPush(peer)
    stream = stream_name(client.node_id, peer)
    size = settings.sync_batch_size
    depth = max(1, in_flight)
    rewound = False
    resends = 0
    # (answer, last seq sent, messages sent, acknowledged seq when sent)
    waiting: deque[tuple[Future[dict[str, Any]], int, int, int]] = deque()
    after: int | None = None  # None: from the acknowledged seq
    exhausted = False
    with ThreadPoolExecutor(depth, thread_name_prefix="sync-push") as pool:
        for _ in range(_MAX_ROUNDS):
            while not exhausted and len(waiting) < depth:
                with transaction(session_factory) as session:
                    state = session.get(PeerState, peer)
                    acked = state.acked_seq if state else 0
                    # As stored, JSON text: the worker only forwards them.
                    batch = pending_json(session, peer, after=after, limit=size)
                exhausted = len(batch) < size
                if not batch:
                    break
                messages = [message for _, message in batch]
                # Each on a connection of its own when several are in flight: the
                # hub's processes take connections as they come, and two kept-alive
                # ones held by the same process would share its one core.
                send = partial(client.post_json_messages, new_connection=depth > 1)
                waiting.append(
                    (
                        pool.submit(send, messages),
                        batch[-1][0],
                        len(batch),
                        acked,
                    )
                )
                after = batch[-1][0]
            if not waiting:
                break
            answer_of, sent_up_to, count, acked_when_sent = waiting.popleft()
            try:
                answer = answer_of.result()
            except HubError as exc:
                _record_error(session_factory, settings, clock, peer, exc, rng, result)
                break
            for item in answer.get("quarantined") or []:
                log.warning("hub quarantined %s", item)
            last = (answer.get("streams") or {}).get(stream)
            if isinstance(last, bool) or not isinstance(last, int) or last < 0:
                error = HubError(f"answer has no last seq for {stream}")
                _record_error(session_factory, settings, clock, peer, error, rng, result)
                break
            result.sent += count
            if result.acked is not None and acked_when_sent <= last < result.acked:
                # Overtaken by an answer already recorded: not a restore. Send the rest again.
                resends += 1
                if resends > _MAX_RESENDS:
                    break
                _settle(waiting)
                after, exhausted = None, False
                continue
            with transaction(session_factory) as session:
                moved_back = _acknowledge(session, peer, last, clock.now(), result)
            result.acked = last
            if result.error is not None:
                break
            if moved_back and not rewound:
                rewound = True  # resend once from the hub's cursor
                _settle(waiting)
                after, exhausted = None, False
                continue
            if last < sent_up_to:
                break
        _settle(waiting)
    return result


def _settle(waiting: deque[tuple[Future[dict[str, Any]], int, int, int]]) -> None:
    """Let the requests still in flight finish; their answers are not needed: the
    next answer says where the hub is, and it ignores what it has already."""
    while waiting:
        with contextlib.suppress(HubError):
            waiting.popleft()[0].result()


def _acknowledge(session: Session, peer: str, last: int, now: datetime, result: PeerPush) -> bool:
    """Record the hub's answer; returns whether the acknowledged seq moved back.

    It moves back only when the hub has lost what it had acknowledged (restored
    from a backup): resending from its cursor is then the only way to fill the
    gap, and it is harmless otherwise (the hub ignores what it has).
    """
    state = lock_peer(session, peer)
    if last > state.next_seq - 1:
        # The hub has more of this stream than we ever numbered: our database
        # went back in time. New messages would reuse seqs the hub ignores.
        error = (
            f"hub has seq {last} of {peer} but this node numbered only up to "
            f"{state.next_seq - 1}: node database restored? see docs/node-operations.md"
        )
        log.error(error)
        state.last_error = error[:1000]
        state.last_attempt_at = now
        session.add(state)
        result.error = error
        return False
    if last < state.acked_seq:
        log.warning(
            "hub acknowledges %s only up to %s (had %s): resending from there",
            peer,
            last,
            state.acked_seq,
        )
        state.acked_seq = last
        session.add(state)
        record_ack(session, peer, last, now)
        return True
    record_ack(session, peer, last, now)
    return False


def _record_error(
    session_factory: SessionFactory,
    settings: NodeSettings,
    clock: Clock,
    peer: str,
    error: HubError,
    rng: random.Random | None,
    result: PeerPush,
) -> None:
    now = clock.now()
    result.error = error.message
    with transaction(session_factory) as session:
        if error.peer_down:
            state = record_failure(
                session,
                peer,
                error.message,
                now,
                rng=rng,
                base_s=settings.sync_backoff_base_s,
                cap_s=settings.sync_backoff_cap_s,
            )
            result.backed_off = True
            log.warning(
                "push to %s failed (%s); retry after %s", peer, error.message, state.backoff_until
            )
        else:
            # The hub refused the request: keep trying at each sweep, tell operators why.
            state = lock_peer(session, peer)
            state.last_error = error.message[:1000]
            state.last_attempt_at = now
            session.add(state)
            log.error("hub refused messages to %s: %s", peer, error.message)


# ---------------------------------------------------------------- pull


@dataclass
class PullReport:
    pages: int = 0
    applied: int = 0
    duplicates: int = 0
    quarantined: list[tuple[str, int, str]] = field(default_factory=list)
    last_delivery_seq: int = 0
    error: str | None = None


def pull(
    session_factory: SessionFactory,
    http: httpx.Client,
    settings: NodeSettings,
    key: SigningKey,
    clock: Clock,
    *,
    publisher: Publisher | None = None,
) -> PullReport:
    """Fetch and apply the node's inbox at the hub, page by page, until it is empty.

    ``publisher`` signs what applying queues in turn (an ``account.report``
    answering an account directive); without one, that waits for the backlog.

    Each page is applied in one transaction together with the cursor, so a
    page is applied entirely or not at all, and asking again with ``after`` is
    always safe.
    """
    report = PullReport()
    federation = _federation(session_factory)
    if federation is None:
        return report
    client = hub_client(http, settings, federation, key, clock)
    limit = settings.sync_batch_size
    for _ in range(_MAX_ROUNDS):
        with transaction(session_factory) as session:
            cursor = session.get(StreamCursor, inbox_stream(federation.node_id))
            after = cursor.last_seq if cursor else 0
        try:
            answer = client.inbox(after, limit)
            messages = answer.get("messages")
            if not isinstance(messages, list):
                raise HubError("inbox answer has no message list")
            with transaction(session_factory) as session:
                bind_publisher(session, publisher)
                federation = session.get(NodeFederation, 1) or federation
                outcome = apply_inbox(session, messages, federation=federation, now=clock.now())
        except (HubError, InboxMalformed) as exc:
            report.error = str(exc)
            log.warning("pull failed: %s", exc)
            break
        report.pages += 1
        report.applied += outcome.applied
        report.duplicates += outcome.duplicates
        report.quarantined.extend(outcome.quarantined)
        report.last_delivery_seq = outcome.last_delivery_seq
        if outcome.last_delivery_seq <= after:
            break
        more = answer.get("more")
        if more is False or (more is None and len(messages) < limit):
            break
    with transaction(session_factory) as session:
        row = session.get(NodeFederation, 1)
        if row is not None:
            row.last_pull_at = clock.now()
            row.last_pull_error = None if report.error is None else report.error[:1000]
            session.add(row)
    return report


# ---------------------------------------------------------------- quarantine


def retry(session: Session, quarantine_id: int, operator: str, now: datetime) -> QuarantinedMessage:
    """Verify and apply a quarantined message again, with today's keyring."""
    federation = session.get(NodeFederation, 1)
    if federation is None:
        raise LookupError("not_enrolled")
    return retry_quarantined(
        session,
        quarantine_id,
        keyring=verification_keyring(session, federation),
        apply=make_applier(federation.node_id, now),
        operator=operator,
        now=now,
    )


def skip(session: Session, quarantine_id: int, operator: str, now: datetime) -> QuarantinedMessage:
    return skip_quarantined(session, quarantine_id, operator=operator, now=now)


def quarantine_counts(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(QuarantinedMessage.status, func.count()).group_by(col(QuarantinedMessage.status))
    ).all()
    counts = {"pending": 0, "applied": 0, "skipped": 0}
    counts.update({str(status): int(n) for status, n in rows})
    return counts


# ---------------------------------------------------------------- status


def _peer_backlogs(session: Session, now: datetime) -> list[dict[str, Any]]:
    backlog = (
        select(
            col(OutboxMessage.recipient),
            func.count(),
            func.min(col(OutboxMessage.created_at)),
        )
        .join(PeerState, col(PeerState.peer) == col(OutboxMessage.recipient))
        .where(col(OutboxMessage.seq) > col(PeerState.acked_seq))
        .group_by(col(OutboxMessage.recipient))
    )
    waiting = {str(r): (int(n), oldest) for r, n, oldest in session.exec(backlog).all()}
    peers = []
    for state in session.exec(select(PeerState).order_by(col(PeerState.peer))).all():
        count, oldest = waiting.get(state.peer, (0, None))
        peers.append(
            {
                "peer": state.peer,
                "last_sent_seq": state.next_seq - 1,
                "last_acked_seq": state.acked_seq,
                "backlog": count,
                "oldest_unsent_at": oldest,
                "oldest_unsent_age_s": (
                    None if oldest is None else max(0, int((now - oldest).total_seconds()))
                ),
                "failures": state.failures,
                "last_error": state.last_error,
                "backoff_until": state.backoff_until,
                "last_attempt_at": state.last_attempt_at,
                "last_success_at": state.last_success_at,
            }
        )
    return peers


def status(session: Session, settings: NodeSettings, now: datetime) -> dict[str, Any]:
    """Everything an operator needs to see whether sync is healthy (see schemas.SyncStatus)."""
    from node.witness.service import summary as witness_summary
    from sync.keys import VerifyKey

    federation = session.get(NodeFederation, 1)
    enrollment: dict[str, Any] = {"enrolled": federation is not None, "node_id": settings.node_id}
    inbox: dict[str, Any] = {"cursor": 0, "updated_at": None, "last_pull_at": None}
    if federation is not None:
        enrollment.update(
            node_id=federation.node_id,
            key_id=federation.key_id,
            hub_url=hub_url_of(settings, federation),
            hub_key_id=federation.hub_key_id,
            hub_key_fingerprint=VerifyKey.from_b64(federation.hub_public_key).fingerprint,
            enrolled_at=federation.enrolled_at,
            key_rotated_at=federation.key_rotated_at,
            keyring_version=federation.keyring_version,
        )
        cursor = session.get(StreamCursor, inbox_stream(federation.node_id))
        inbox.update(
            cursor=cursor.last_seq if cursor else 0,
            updated_at=cursor.updated_at if cursor else None,
            last_pull_at=federation.last_pull_at,
            last_pull_error=federation.last_pull_error,
        )
    return {
        "now": now,
        "enrollment": enrollment,
        "peers": _peer_backlogs(session, now),
        "inbox": inbox,
        "quarantine": quarantine_counts(session),
        "witness": witness_summary(session),
    }


def review_queue_sizes(session: Session) -> dict[str, int]:
    """Records waiting for review, by kind (for /metrics)."""
    rows = session.exec(
        select(Record.kind, func.count())
        .where(Record.state == ReviewState.SUBMITTED)
        .group_by(col(Record.kind))
    ).all()
    return {str(kind): int(n) for kind, n in rows}
