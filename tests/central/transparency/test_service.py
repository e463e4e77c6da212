"""The sequencer and the proofs it serves, against ``sync.merkle.MemoryTree``."""

from __future__ import annotations

import hashlib
import random

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from central.errors import BadRequest, Unavailable
from central.models import HubCheckpoint, HubPublication
from central.transparency import service
from central.transparency.repository import PgTree, log_size
from sync.b64 import b64std_decode
from sync.checkpoint import open_checkpoint
from sync.errors import ProofError
from sync.keys import SigningKey
from sync.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from tests.central.support import NOW

ORIGIN = "minefed.test/log"


def add_publications(session: Session, n: int, rng: random.Random) -> list[bytes]:
    """``n`` publication rows with random leaf hashes (the sequencer reads nothing else)."""
    leaves = []
    for _ in range(n):
        leaf = rng.randbytes(32)
        session.add(
            HubPublication(
                node_id="node:150000",
                record_id=f"rec-{rng.getrandbits(64):016x}",
                kind="record.tombstone",
                record_kind="project_department",
                envelope=None,
                envelope_sha256=hashlib.sha256(leaf).hexdigest(),
                leaf_hash=leaf,
                received_at=NOW,
            )
        )
        leaves.append(leaf)
    session.flush()
    return leaves


def run(session: Session, key: SigningKey, batch: int = service.SEQUENCE_BATCH):
    return service.sequence(session, key=key, origin=ORIGIN, now=NOW, batch=batch)


def test_an_empty_log_gets_a_checkpoint_of_size_0(session, hub_key):
    done = run(session, hub_key)
    assert (done.appended, done.size, done.checkpoint_size) == (0, 0, 0)
    note = service.checkpoint_note(session)
    checkpoint, signers = open_checkpoint(note, {ORIGIN: hub_key.public()}, origin=ORIGIN)
    assert (checkpoint.size, checkpoint.root, signers) == (0, EMPTY_ROOT, [ORIGIN])
    assert run(session, hub_key).checkpoint_size is None, "nothing new: no new checkpoint"


def test_no_checkpoint_before_the_first_run_is_a_503(session):
    with pytest.raises(Unavailable) as caught:
        service.checkpoint_note(session)
    assert caught.value.code == "log_not_ready"


def test_sequencing_in_batches_builds_the_reference_tree_and_every_proof_holds(session, hub_key):
    rng = random.Random(9162)
    leaves = add_publications(session, 37, rng)
    sizes = []
    while True:
        done = run(session, hub_key, batch=5)
        sizes.append(done.checkpoint_size)
        if done.appended < 5:
            break
    assert sizes == [5, 10, 15, 20, 25, 30, 35, 37]
    reference = MemoryTree(leaves)
    tree = PgTree(session)
    assert tree.size == 37
    # Sizes around every power of two, where the proofs change shape.
    for size in (1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 37):
        root = reference.root(size)
        for index in range(size):
            proof = service.inclusion(session, index, size)
            hashes = [b64std_decode(h) for h in proof["hashes"]]
            assert hashes == inclusion_proof(index, reference, size)
            assert b64std_decode(proof["leaf_hash"]) == leaves[index]
            verify_inclusion(index, size, leaves[index], hashes, root)
        for first in range(1, size + 1):
            answer = service.consistency(session, first, size)
            hashes = [b64std_decode(h) for h in answer["hashes"]]
            assert hashes == consistency_proof(first, reference, size)
            verify_consistency(first, size, hashes, reference.root(first), root)
    for size in (5, 10, 35, 37):
        row = session.get(HubCheckpoint, size)
        assert row is not None and row.root == reference.root(size)
    # Every complete subtree is stored once (about one node per leaf).
    nodes = session.execute(text("SELECT count(*) FROM hub_log_node")).scalar_one()
    assert nodes == sum(37 >> level for level in range(1, 6))


def test_a_second_run_appends_nothing_and_signs_nothing(session, hub_key):
    add_publications(session, 4, random.Random(1))
    assert run(session, hub_key).appended == 4
    again = run(session, hub_key)
    assert (again.appended, again.size, again.checkpoint_size) == (0, 4, None)


def test_a_run_that_dies_before_commit_leaves_the_log_as_it_was(session, hub_key):
    leaves = add_publications(session, 6, random.Random(2))
    run(session, hub_key, batch=3)
    nested = session.begin_nested()
    add_publications(session, 2, random.Random(3))
    run(session, hub_key)  # appends 5 leaves ...
    nested.rollback()  # ... and the process dies before committing
    assert log_size(session) == 3
    done = run(session, hub_key)
    assert (done.appended, done.size) == (3, 6)
    assert PgTree(session).size == 6
    assert service.consistency(session, 3, 6)["hashes"]
    tree = MemoryTree(leaves)
    row = session.get(HubCheckpoint, 6)
    assert row is not None and row.root == tree.root()


def test_a_publication_committed_late_with_a_lower_id_is_appended_not_skipped(session, hub_key):
    # Ids are taken at insert, visible at commit: simulate a later id sequenced first.
    leaves = add_publications(session, 3, random.Random(4))
    ids = [r[0] for r in session.execute(text("SELECT id FROM hub_publication ORDER BY id"))]
    session.execute(
        text(
            "INSERT INTO hub_log_leaf (log_index, publication_id, leaf_hash, sequenced_at) "
            "VALUES (0, :p, :h, :t)"
        ),
        {"p": ids[2], "h": leaves[2], "t": NOW},
    )
    done = run(session, hub_key)
    assert (done.appended, done.size) == (2, 3)
    order = [
        r[0]
        for r in session.execute(text("SELECT publication_id FROM hub_log_leaf ORDER BY log_index"))
    ]
    assert order == [ids[2], ids[0], ids[1]]


def test_one_sequencer_at_a_time(session, hub_key, hub_engine: Engine):
    add_publications(session, 2, random.Random(5))
    with hub_engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": 0x6D666C6F67736571})
        try:
            done = run(session, hub_key)
        finally:
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": 0x6D666C6F67736571})
    assert done.locked and done.appended == 0
    assert run(session, hub_key).appended == 2


def test_the_log_tables_are_append_only(session, hub_key):
    add_publications(session, 2, random.Random(6))
    run(session, hub_key)
    for sql in (
        "UPDATE hub_log_leaf SET leaf_hash = leaf_hash",
        "DELETE FROM hub_log_node",
        "DELETE FROM hub_checkpoint",
    ):
        nested = session.begin_nested()
        with pytest.raises(Exception, match="append-only"):
            session.execute(text(sql))
        nested.rollback()


def test_proof_ranges_follow_the_size_0_policy(session, hub_key):
    add_publications(session, 3, random.Random(7))
    run(session, hub_key)
    with pytest.raises(BadRequest, match="empty tree"):
        service.consistency(session, 0, 3)
    for first, second in ((2, 4), (3, 2)):
        with pytest.raises(BadRequest):
            service.consistency(session, first, second)
    for index, size in ((3, 3), (0, 4), (0, 0)):
        with pytest.raises(BadRequest):
            service.inclusion(session, index, size)
    assert service.consistency(session, 3, 3)["hashes"] == []


def test_pg_tree_refuses_subtrees_beyond_its_size(session, hub_key):
    add_publications(session, 3, random.Random(8))
    run(session, hub_key)
    tree = PgTree(session)
    tree.complete_subtree(1, 0)
    with pytest.raises(ProofError):
        tree.complete_subtree(1, 1)
    with pytest.raises(ProofError):
        tree.complete_subtree(0, 3)


def test_log_entries_maps_publications_to_indexes(session, hub_key):
    add_publications(session, 3, random.Random(9))
    ids = [r[0] for r in session.execute(text("SELECT id FROM hub_publication ORDER BY id"))]
    run(session, hub_key, batch=2)
    assert service.log_entries(session, [*ids, 10**12]) == {ids[0]: 0, ids[1]: 1}
