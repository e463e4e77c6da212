"""Witnessing the hub's log: verify each checkpoint, prove it extends the last one, cosign.

Security: the checkpoint must be signed by the hub key pinned at enrollment
(``node_federation.hub_public_key``), under the origin seen first. The last
good checkpoint moves only to a checkpoint proven consistent with it (RFC
9162 consistency proof, verified here); the same size with another root, or
a proof that fails, is a **fork alarm**: stored with the contradicting
signed note, logged as an error, audited, shown in the sync status and as
the ``minefed_node_log_fork_alarms`` metric. An alarm never replaces the last
good checkpoint, and the node cosigns nothing after one until an operator has
looked (docs/transparency.md). The first checkpoint is trusted on first use
(there is nothing before it to be consistent with; size-0 policy).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import Session, col, func, select

from node.audit.service import record_event
from node.config import NodeSettings
from node.db import SessionFactory, transaction
from node.models import NodeFederation, NodeWitnessAlarm, NodeWitnessState
from node.sync.client import HubError
from node.sync.service import hub_url_of
from node.witness.client import WitnessClient
from sync.b64 import b64std_decode, b64std_encode
from sync.checkpoint import Checkpoint, add_cosignature, open_checkpoint
from sync.clock import Clock
from sync.errors import CheckpointError, ProofError
from sync.keys import SigningKey, VerifyKey
from sync.merkle import verify_consistency

__all__ = ["WitnessRun", "alarm_count", "summary", "witness"]

log = logging.getLogger("minefed.node.witness")


@dataclass(frozen=True)
class WitnessRun:
    """``outcome``: skipped, error, first, unchanged, stale, advanced or alarm."""

    outcome: str
    size: int | None = None
    cosigned: bool = False
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "size": self.size,
            "cosigned": self.cosigned,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class _Known:
    origin: str
    size: int
    root: bytes
    cosigned_size: int | None


def _signed_body(cp: Checkpoint, note: str) -> str:
    """The hub-signed part of a served note (body and the hub's line), for storage."""
    body = cp.body()
    hub_line = note[len(body) + 1 :].split("\n", 1)[0]
    return body + "\n" + hub_line + "\n"


def witness(
    session_factory: SessionFactory,
    http: httpx.Client,
    settings: NodeSettings,
    key: SigningKey,
    clock: Clock,
) -> WitnessRun:
    """One witness run (the ``log.witness`` task)."""
    with transaction(session_factory) as session:
        federation = session.get(NodeFederation, 1)
        if federation is None:
            return WitnessRun("skipped", detail="not enrolled")
        hub_key = VerifyKey.from_b64(federation.hub_public_key)
        hub_url = hub_url_of(settings, federation)
        state = session.get(NodeWitnessState, 1)
        known = (
            None
            if state is None
            else _Known(state.origin, state.size, state.root, state.cosigned_size)
        )
        alarms = alarm_count(session)
    client = WitnessClient(
        http, hub_url, settings.node_id, key, clock, settings.sync_http_timeout_s
    )
    try:
        note = client.checkpoint()
        origin = known.origin if known else note.split("\n", 1)[0]
        cp, _ = open_checkpoint(note, {origin: hub_key}, required=[origin], origin=origin)
    except HubError as exc:
        return _error(session_factory, clock, f"checkpoint: {exc.message}")
    except CheckpointError as exc:
        # Not signed by the pinned key (or another origin): never trusted, never stored.
        return _error(session_factory, clock, f"checkpoint refused: {exc.detail}")

    if known is None:
        return _advance(session_factory, client, clock, None, cp, note, "first", alarms, key)
    if cp.size == known.size:
        if cp.root != known.root:
            return _alarm(
                session_factory, clock, known, cp, note, "fork", "same size, another root"
            )
        return _advance(session_factory, client, clock, known, cp, note, "unchanged", alarms, key)
    small, large = (cp, known) if cp.size < known.size else (known, cp)
    if small.size > 0:
        try:
            proof = [b64std_decode(h) for h in client.consistency(small.size, large.size)]
            verify_consistency(small.size, large.size, proof, small.root, large.root)
        except HubError as exc:
            return _error(session_factory, clock, f"consistency proof: {exc.message}")
        except (ProofError, ValueError) as exc:
            return _alarm(
                session_factory,
                clock,
                known,
                cp,
                note,
                "inconsistent",
                f"consistency proof {small.size}->{large.size} fails: {exc}",
            )
    if cp.size < known.size:
        # An older checkpoint that the known one extends: a lagging replica, not a fork.
        return _error(session_factory, clock, f"stale checkpoint of size {cp.size}", "stale")
    return _advance(session_factory, client, clock, known, cp, note, "advanced", alarms, key)


def _error(
    session_factory: SessionFactory, clock: Clock, detail: str, outcome: str = "error"
) -> WitnessRun:
    if outcome == "error":
        log.warning("log.witness: %s", detail)
    with transaction(session_factory) as session:
        state = session.get(NodeWitnessState, 1)
        if state is not None:
            state.last_run_at = clock.now()
            state.last_error = None if outcome == "stale" else detail[:1000]
            session.add(state)
    return WitnessRun(outcome, detail=detail)


def _advance(
    session_factory: SessionFactory,
    client: WitnessClient,
    clock: Clock,
    known: _Known | None,
    cp: Checkpoint,
    note: str,
    outcome: str,
    alarms: int,
    key: SigningKey,
) -> WitnessRun:
    now = clock.now()
    with transaction(session_factory) as session:
        state = session.exec(
            select(NodeWitnessState).where(col(NodeWitnessState.id) == 1).with_for_update()
        ).first()
        if (state is None) != (known is None) or (
            state is not None
            and known is not None
            and (state.size, state.root) != (known.size, known.root)
        ):
            return WitnessRun("skipped", detail="another witness run moved the state")
        if state is None:
            state = NodeWitnessState(
                origin=cp.origin, size=cp.size, root=cp.root, note="", verified_at=now
            )
        state.size, state.root, state.note = cp.size, cp.root, _signed_body(cp, note)
        state.verified_at = state.last_run_at = now
        state.last_error = None
        session.add(state)
        cosigned_size = state.cosigned_size
    if alarms or cosigned_size == cp.size:
        # After an alarm the node vouches for nothing until an operator has looked.
        return WitnessRun(
            outcome, cp.size, detail="not cosigned: open fork alarm" if alarms else ""
        )
    try:
        line = add_cosignature(note, client.node_id, key).rstrip("\n").rsplit("\n", 1)[-1]
    except CheckpointError:
        line = ""  # our signature is on the served note already
    if line:
        try:
            client.cosign(cp.size, line)
        except HubError as exc:
            _error(session_factory, clock, f"cosignature refused: {exc.message}")
            return WitnessRun(outcome, cp.size, detail=f"cosignature not accepted: {exc.message}")
    with transaction(session_factory) as session:
        state = session.get(NodeWitnessState, 1)
        if state is not None and state.size == cp.size:
            state.cosigned_size = cp.size
            session.add(state)
    return WitnessRun(outcome, cp.size, cosigned=True)


def _alarm(
    session_factory: SessionFactory,
    clock: Clock,
    known: _Known,
    cp: Checkpoint,
    note: str,
    kind: str,
    detail: str,
) -> WitnessRun:
    log.error(
        "LOG FORK ALARM 国家中心日志出现分叉: %s (known size %d root %s; seen size %d root %s)",
        detail,
        known.size,
        b64std_encode(known.root),
        cp.size,
        b64std_encode(cp.root),
    )
    now = clock.now()
    with transaction(session_factory) as session:
        seen_before = session.exec(
            select(NodeWitnessAlarm.id).where(
                col(NodeWitnessAlarm.seen_size) == cp.size,
                col(NodeWitnessAlarm.seen_root) == cp.root,
            )
        ).first()
        if seen_before is None:
            session.add(
                NodeWitnessAlarm(
                    detected_at=now,
                    kind=kind,
                    known_size=known.size,
                    known_root=known.root,
                    seen_size=cp.size,
                    seen_root=cp.root,
                    seen_note=note,
                    detail=detail[:1000],
                )
            )
            record_event(
                session,
                None,
                "witness.fork_alarm",
                "log",
                cp.origin,
                {"kind": kind, "known_size": known.size, "seen_size": cp.size, "detail": detail},
                at=now,
            )
        state = session.get(NodeWitnessState, 1)
        if state is not None:
            state.last_run_at = now
            state.last_error = f"fork alarm: {detail}"[:1000]
            session.add(state)
    return WitnessRun("alarm", cp.size, detail=detail)


def alarm_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(NodeWitnessAlarm)).one())


def summary(session: Session) -> dict[str, Any]:
    """The witness's state and alarms, for the sync status and ``/api/v1/witness/status``."""
    state = session.get(NodeWitnessState, 1)
    alarms = session.exec(
        select(NodeWitnessAlarm).order_by(col(NodeWitnessAlarm.id).desc()).limit(20)
    ).all()
    return {
        "origin": state.origin if state else None,
        "size": state.size if state else None,
        "root": b64std_encode(state.root) if state else None,
        "verified_at": state.verified_at if state else None,
        "cosigned_size": state.cosigned_size if state else None,
        "last_run_at": state.last_run_at if state else None,
        "last_error": state.last_error if state else None,
        "fork_alarms": alarm_count(session),
        "alarms": [
            {
                "id": a.id,
                "detected_at": a.detected_at,
                "kind": a.kind,
                "known_size": a.known_size,
                "known_root": b64std_encode(a.known_root),
                "seen_size": a.seen_size,
                "seen_root": b64std_encode(a.seen_root),
                "seen_note": a.seen_note,
                "detail": a.detail,
            }
            for a in alarms
        ],
    }
