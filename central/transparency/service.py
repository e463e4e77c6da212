"""The transparency log: the sequencer, checkpoints, proofs and witness cosignatures.

Sequencing is asynchronous, as in Certificate Transparency: ingest only writes
``hub_publication`` (its transaction is not touched here); the sequencer
(``log.sequence`` on beat, or ``minefed central log-sequence``) appends what is
not in the log yet, in publication id order, stores the subtree hashes each
new leaf completes and signs a checkpoint -- all in one transaction under an
advisory lock, so two sequencers never interleave and a crash leaves the log
as it was before the run. See docs/transparency.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import text
from sqlmodel import Session

from central.errors import BadRequest, InvalidInput, NotFound, Unavailable
from central.keys.service import load_keyring
from central.models import HubCheckpoint, HubCheckpointCosignature, HubNode
from central.transparency import repository as repo
from central.transparency.repository import PgTree, SubtreeRecorder
from sync.b64 import b64std_encode
from sync.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from sync.errors import CheckpointError, ProofError, SyncError
from sync.keys import SigningKey
from sync.merkle import consistency_proof, inclusion_proof, root

__all__ = [
    "SEQUENCE_BATCH",
    "Sequenced",
    "add_cosignature",
    "checkpoint_note",
    "consistency",
    "inclusion",
    "log_entries",
    "metric_families",
    "record_entries",
    "sequence",
]

#: Publications appended per sequencer transaction (one checkpoint each).
SEQUENCE_BATCH = 5000


@dataclass(frozen=True)
class Sequenced:
    """What one sequencer run did. ``locked``: another sequencer was running; nothing done."""

    appended: int
    size: int
    checkpoint_size: int | None
    locked: bool = False


def sequence(
    session: Session,
    *,
    key: SigningKey,
    origin: str,
    now: datetime,
    batch: int = SEQUENCE_BATCH,
) -> Sequenced:
    """Append up to ``batch`` unsequenced publications and sign a checkpoint of the result.

    Signs a checkpoint also when nothing was appended but the latest
    checkpoint is older than the log (or there is none: the first one may be of
    size 0). Only flushes; the caller commits.
    """
    if not repo.try_sequencer_lock(session):
        return Sequenced(0, repo.log_size(session), None, locked=True)
    tree = PgTree(session)
    start = tree.size
    pending = repo.unsequenced(session, batch)
    leaves = []
    for publication_id, leaf in pending:
        leaves.append((tree.append_hash(leaf), publication_id, leaf))
    repo.add_leaves(session, leaves, now)
    repo.add_nodes(session, tree.new_nodes)
    latest = repo.latest_checkpoint(session)
    signed: int | None = None
    if latest is None or latest.size != tree.size:
        checkpoint = Checkpoint(origin, tree.size, root(tree))
        session.add(
            HubCheckpoint(
                size=checkpoint.size,
                root=checkpoint.root,
                note=sign_checkpoint(checkpoint, origin, key),
                signed_at=now,
            )
        )
        signed = checkpoint.size
    session.flush()
    return Sequenced(tree.size - start, tree.size, signed)


def _latest(session: Session) -> HubCheckpoint:
    latest = repo.latest_checkpoint(session)
    if latest is None:
        raise Unavailable(
            "透明日志尚无签名检查点（序列器尚未运行）",
            "the log has no signed checkpoint yet (the sequencer has not run)",
            code="log_not_ready",
        )
    return latest


def latest_checkpoint(session: Session) -> HubCheckpoint | None:
    """The latest signed checkpoint, or None before the sequencer first ran."""
    return repo.latest_checkpoint(session)


def checkpoint_note(session: Session) -> str:
    """The latest checkpoint's signed note, with every witness cosignature received."""
    latest = _latest(session)
    return latest.note + "".join(c.line + "\n" for c in repo.cosignatures(session, latest.size))


def _range_error(zh: str, en: str) -> BadRequest:
    return BadRequest(zh, en, code="log_range_invalid")


def _damaged(exc: ProofError) -> Unavailable:
    # Every range was checked first: a missing row means the log's storage is damaged.
    return Unavailable("透明日志存储不完整", f"log storage: {exc.detail}", code="log_damaged")


def inclusion(session: Session, index: int, size: int) -> dict[str, Any]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    tree = PgTree(session)
    if not 0 < size <= tree.size:
        raise _range_error(
            f"size 须在 1 至 {tree.size} 之间", f"size must be within 1..{tree.size} (log size)"
        )
    if not 0 <= index < size:
        raise _range_error(
            f"index 须在 0 至 {size - 1} 之间", f"index must be within 0..{size - 1}"
        )
    recorder = SubtreeRecorder(tree.size)
    inclusion_proof(index, recorder, size)
    tree.prefetch(recorder.keys | {(0, index)})
    try:
        path = inclusion_proof(index, tree, size)
    except ProofError as exc:
        raise _damaged(exc) from exc
    return {
        "index": index,
        "size": size,
        "leaf_hash": b64std_encode(tree.complete_subtree(0, index)),
        "hashes": [b64std_encode(h) for h in path],
    }


def consistency(session: Session, first: int, second: int) -> dict[str, Any]:
    """RFC 9162 consistency proof from ``first`` to ``second`` leaves (``0 < first <= second``).

    Size-0 policy: a proof from the empty tree is refused (it would prove
    nothing); see ``sync.merkle``.
    """
    tree = PgTree(session)
    if not 0 < second <= tree.size:
        raise _range_error(
            f"second 须在 1 至 {tree.size} 之间",
            f"second must be within 1..{tree.size} (log size)",
        )
    if not 0 < first <= second:
        raise _range_error(
            "first 须满足 0 < first ≤ second（自空树的一致性证明不提供，见文档）",
            "first must satisfy 0 < first <= second (no proof from the empty tree: "
            "see docs/transparency.md)",
        )
    recorder = SubtreeRecorder(tree.size)
    consistency_proof(first, recorder, second)
    tree.prefetch(recorder.keys)
    try:
        path = consistency_proof(first, tree, second)
    except ProofError as exc:
        raise _damaged(exc) from exc
    return {"first": first, "second": second, "hashes": [b64std_encode(h) for h in path]}


def add_cosignature(
    session: Session, node: HubNode, *, size: int, line: str, now: datetime
) -> HubCheckpointCosignature:
    """Keep a witness's signature line over checkpoint ``size``, after verifying it.

    Security: the line must be signed under the witness's own name (its node
    id) by one of its registered keys valid now; anything else is refused, so
    the served note never carries a cosignature that does not verify. A second
    line from the same witness for the same checkpoint is ignored (the first
    stays).
    """
    checkpoint = session.get(HubCheckpoint, size)
    if checkpoint is None:
        raise NotFound(
            f"没有大小为 {size} 的检查点",
            f"no checkpoint of size {size}",
            code="checkpoint_not_found",
        )
    line = line.strip("\n")
    if "\n" in line or not line.startswith(f"\u2014 {node.node_id} "):
        raise InvalidInput(
            "见证签名须为一行，以 “— <节点标识> ” 开头",
            f"cosignature must be one line starting with '\u2014 {node.node_id} '",
            code="cosignature_invalid",
        )
    body = Checkpoint(checkpoint.note.split("\n", 1)[0], checkpoint.size, checkpoint.root).body()
    note = body + "\n" + line + "\n"
    verified = False
    for record in load_keyring(session).records_for(node.node_id):
        try:
            record.check_valid_at(now)
            open_checkpoint(note, {node.node_id: record.public_key})
        except (SyncError, CheckpointError):
            continue  # not this key (or not valid now): try the node's others
        verified = True
        break
    if not verified:
        raise InvalidInput(
            "见证签名验证失败",
            f"the cosignature does not verify with a current key of {node.node_id}",
            code="cosignature_invalid",
        )
    existing = session.get(HubCheckpointCosignature, (size, node.node_id))
    if existing is not None:
        return existing
    row = HubCheckpointCosignature(
        checkpoint_size=size, witness=node.node_id, line=line, received_at=now
    )
    session.add(row)
    session.flush()
    return row


def log_entries(session: Session, publication_ids: list[int]) -> dict[int, int]:
    """Publication id → log index, for those already sequenced (the others are missing)."""
    return repo.log_indexes(session, publication_ids)


def record_entries(session: Session, record_id: str) -> dict[str, Any]:
    """Every log entry of a record: index, kind, version, envelope (unless deleted), leaf hash."""
    entries = [
        {
            "log_index": leaf.log_index,
            "kind": pub.kind,
            "record_kind": pub.record_kind,
            "version_no": pub.version_no,
            "node_id": pub.node_id,
            "received_at": pub.received_at,
            "sequenced_at": leaf.sequenced_at,
            "leaf_hash": b64std_encode(leaf.leaf_hash),
            "envelope": pub.envelope,
        }
        for leaf, pub in repo.entries_of_record(session, record_id)
    ]
    pending = repo.unsequenced_of_record(session, record_id)
    if not entries and not pending:
        raise NotFound(
            "日志中没有该记录", f"no log entry for record {record_id}", code="record_not_in_log"
        )
    return {"record_id": record_id, "entries": entries, "pending": pending}


def metric_families(session: Session, now: datetime) -> list[Metric]:
    """Prometheus families of the log (added to the hub's ``/metrics``).

    The merge backlog counts publications above the highest one sequenced:
    an index range scan, cheap at any size (a publication committed late
    with a lower id is missed for the few seconds until it is sequenced).
    """
    size = repo.log_size(session)
    backlog, oldest = session.execute(
        text(
            "SELECT count(*), min(received_at) FROM hub_publication WHERE id > "
            "(SELECT coalesce(max(publication_id), 0) FROM hub_log_leaf)"
        )
    ).one()
    latest = repo.latest_checkpoint(session)
    log_size = GaugeMetricFamily("minefed_hub_log_size", "Leaves in the transparency log")
    log_size.add_metric([], size)
    waiting = GaugeMetricFamily(
        "minefed_hub_log_unsequenced",
        "Accepted publications not yet in the log (the merge backlog)",
    )
    waiting.add_metric([], int(backlog))
    delay = GaugeMetricFamily(
        "minefed_hub_log_merge_delay_seconds",
        "Age of the oldest accepted publication not yet in the log (0 when none)",
    )
    delay.add_metric([], (now - oldest).total_seconds() if oldest is not None else 0)
    age = GaugeMetricFamily(
        "minefed_hub_log_checkpoint_age_seconds",
        "Seconds since the latest checkpoint was signed (absent before the first)",
    )
    cosigned = GaugeMetricFamily(
        "minefed_hub_log_checkpoint_cosignatures",
        "Witness cosignatures received for the latest checkpoint",
    )
    if latest is not None:
        age.add_metric([], (now - latest.signed_at).total_seconds())
        cosigned.add_metric([], len(repo.cosignatures(session, latest.size)))
    return [log_size, waiting, delay, age, cosigned]
