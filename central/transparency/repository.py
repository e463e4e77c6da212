"""Queries of the transparency log's tables, and the log as a ``sync.merkle.TreeHashes``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, text, tuple_
from sqlmodel import Session, col, select

from central.models import (
    HubCheckpoint,
    HubCheckpointCosignature,
    HubLogLeaf,
    HubLogNode,
    HubPublication,
)
from sync.errors import ProofError
from sync.merkle import node_hash

# Advisory lock id of the sequencer ("mflogseq"): one sequencer at a time.
SEQUENCER_LOCK = 0x6D666C6F67736571


def try_sequencer_lock(session: Session) -> bool:
    """Take the sequencer's transaction-scoped advisory lock, or say someone holds it."""
    return bool(
        session.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SEQUENCER_LOCK}
        ).scalar_one()
    )


def log_size(session: Session) -> int:
    """Number of leaves sequenced (indexes are dense from 0)."""
    last = session.execute(text("SELECT max(log_index) FROM hub_log_leaf")).scalar_one()
    return 0 if last is None else int(last) + 1


def unsequenced(session: Session, limit: int) -> list[tuple[int, bytes]]:
    """``(publication id, leaf hash)`` of publications not in the log yet, in id order.

    An anti-join rather than "id > last sequenced": identity values are taken
    at insert but become visible at commit, so a publication with a lower id
    can appear after one with a higher id was sequenced; it is then appended
    later, never skipped.
    """
    rows = session.execute(
        text(
            "SELECT p.id, p.leaf_hash FROM hub_publication p "
            "WHERE NOT EXISTS (SELECT 1 FROM hub_log_leaf l WHERE l.publication_id = p.id) "
            "ORDER BY p.id LIMIT :n"
        ),
        {"n": limit},
    ).all()
    return [(int(r[0]), bytes(r[1])) for r in rows]


def add_leaves(session: Session, rows: Sequence[tuple[int, int, bytes]], now: datetime) -> None:
    """Insert ``(log index, publication id, leaf hash)`` rows."""
    if rows:
        session.execute(
            HubLogLeaf.__table__.insert(),  # type: ignore[attr-defined]
            [
                {"log_index": i, "publication_id": p, "leaf_hash": h, "sequenced_at": now}
                for i, p, h in rows
            ],
        )


def add_nodes(session: Session, nodes: Iterable[tuple[int, int, bytes]]) -> None:
    """Insert ``(level, index, hash)`` complete-subtree rows."""
    values = [{"level": lv, "index": i, "hash": h} for lv, i, h in nodes]
    if values:
        session.execute(HubLogNode.__table__.insert(), values)  # type: ignore[attr-defined]


def leaf_hashes(session: Session, indexes: Sequence[int]) -> dict[int, bytes]:
    if not indexes:
        return {}
    rows = session.exec(
        select(HubLogLeaf.log_index, HubLogLeaf.leaf_hash).where(
            col(HubLogLeaf.log_index).in_(list(indexes))
        )
    ).all()
    return {int(i): bytes(h) for i, h in rows}


def node_hashes(session: Session, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    if not keys:
        return {}
    rows = session.exec(
        select(HubLogNode.level, HubLogNode.index, HubLogNode.hash).where(
            tuple_(col(HubLogNode.level), col(HubLogNode.index)).in_(list(keys))
        )
    ).all()
    return {(int(lv), int(i)): bytes(h) for lv, i, h in rows}


def latest_checkpoint(session: Session) -> HubCheckpoint | None:
    return session.exec(
        select(HubCheckpoint).order_by(col(HubCheckpoint.size).desc()).limit(1)
    ).first()


def cosignatures(session: Session, size: int) -> list[HubCheckpointCosignature]:
    return list(
        session.exec(
            select(HubCheckpointCosignature)
            .where(col(HubCheckpointCosignature.checkpoint_size) == size)
            .order_by(
                col(HubCheckpointCosignature.received_at), col(HubCheckpointCosignature.witness)
            )
        ).all()
    )


def latest_cosigned_sizes(session: Session) -> dict[str, tuple[int, datetime]]:
    """Per witness: the largest checkpoint it cosigned, and when that cosignature came."""
    rows = session.exec(
        select(
            col(HubCheckpointCosignature.witness),
            func.max(col(HubCheckpointCosignature.checkpoint_size)),
            func.max(col(HubCheckpointCosignature.received_at)),
        ).group_by(col(HubCheckpointCosignature.witness))
    ).all()
    return {str(w): (int(size), at) for w, size, at in rows}


def entries_of_record(session: Session, record_id: str) -> list[tuple[HubLogLeaf, HubPublication]]:
    """Every sequenced entry of a record, in log order."""
    rows = session.exec(
        select(HubLogLeaf, HubPublication)
        .join(HubPublication, col(HubPublication.id) == col(HubLogLeaf.publication_id))
        .where(col(HubPublication.record_id) == record_id)
        .order_by(col(HubLogLeaf.log_index))
    ).all()
    return [(leaf, pub) for leaf, pub in rows]


def unsequenced_of_record(session: Session, record_id: str) -> int:
    """Publications of a record accepted but not yet in the log (the merge delay)."""
    value: Any = session.execute(
        text(
            "SELECT count(*) FROM hub_publication p WHERE p.record_id = :r AND NOT EXISTS "
            "(SELECT 1 FROM hub_log_leaf l WHERE l.publication_id = p.id)"
        ),
        {"r": record_id},
    ).scalar_one()
    return int(value)


def log_indexes(session: Session, publication_ids: Sequence[int]) -> dict[int, int]:
    if not publication_ids:
        return {}
    rows = session.exec(
        select(HubLogLeaf.publication_id, HubLogLeaf.log_index).where(
            col(HubLogLeaf.publication_id).in_(list(publication_ids))
        )
    ).all()
    return {int(p): int(i) for p, i in rows}


class SubtreeRecorder:
    """A stand-in tree of ``size`` leaves that records which subtrees a proof reads.

    Running a proof generator against it first lets :meth:`PgTree.prefetch`
    load every hash the real run needs in two queries instead of one per hash.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self.keys: set[tuple[int, int]] = set()

    @property
    def size(self) -> int:
        return self._size

    def complete_subtree(self, level: int, index: int) -> bytes:
        self.keys.add((level, index))
        return bytes(32)


class PgTree:
    """The log in PostgreSQL as :class:`sync.merkle.TreeHashes`, extendable in memory.

    Reads hashes on demand (each at most once per instance); :meth:`append_hash`
    computes the subtrees each new leaf completes, keeping them in
    :attr:`new_nodes` for the sequencer to insert. One instance per transaction.
    """

    def __init__(self, session: Session, size: int | None = None) -> None:
        self.session = session
        self._size = log_size(session) if size is None else size
        self._cache: dict[tuple[int, int], bytes] = {}
        self.new_nodes: list[tuple[int, int, bytes]] = []

    @property
    def size(self) -> int:
        return self._size

    def complete_subtree(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or (index + 1) << level > self._size:
            raise ProofError(f"no complete subtree at level {level}, index {index}")
        key = (level, index)
        found = self._cache.get(key)
        if found is None:
            if level == 0:
                found = leaf_hashes(self.session, [index]).get(index)
            else:
                found = node_hashes(self.session, [key]).get(key)
            if found is None:
                raise ProofError(f"log storage lacks subtree level {level}, index {index}")
            self._cache[key] = found
        return found

    def prefetch(self, keys: Iterable[tuple[int, int]]) -> None:
        """Load the given ``(level, index)`` subtrees in two queries (leaves, nodes)."""
        wanted = [k for k in set(keys) if k not in self._cache]
        leaves = leaf_hashes(self.session, [i for lv, i in wanted if lv == 0])
        self._cache.update({(0, i): h for i, h in leaves.items()})
        self._cache.update(node_hashes(self.session, [k for k in wanted if k[0] > 0]))

    def append_hash(self, h: bytes) -> int:
        """Append a leaf hash (in memory); returns its index."""
        index = self._size
        self._cache[(0, index)] = h
        self._size += 1
        level, i, acc = 0, index, h
        while i % 2 == 1:
            acc = node_hash(self.complete_subtree(level, i - 1), acc)
            level, i = level + 1, i // 2
            self._cache[(level, i)] = acc
            self.new_nodes.append((level, i, acc))
        return index
