"""The outbox and the idempotent, in-order ingest on real PostgreSQL."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from sync.envelope import Envelope
from sync.errors import NotOwner, SchemaInvalid
from sync.ingest import ingest, retry_quarantined, skip_quarantined, stream_name
from sync.keys import KeyRecord, Keyring, SigningKey
from sync.nonces import PgNonceStore, prune_nonces
from sync.outbox import due_peers, enqueue, pending, pending_json, record_ack, record_failure
from sync.tables import OutboxMessage, QuarantinedMessage, StreamCursor

NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
NODE = "node:150000"


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def keyring(key: SigningKey) -> Keyring:
    return Keyring(
        [
            KeyRecord(
                owner=NODE,
                key_id=key.key_id,
                public_key=key.public(),
                valid_from=NOW - timedelta(days=1),
                valid_to=None,
                revoked_at=None,
            )
        ]
    )


def queue(db, key, n: int, recipient: str = "hub") -> list[OutboxMessage]:
    return [
        enqueue(
            db,
            kind="record.publish",
            sender=NODE,
            recipient=recipient,
            payload={"record_id": f"r{i}", "version_no": 1},
            key=key,
            now=NOW,
        )
        for i in range(n)
    ]


def wire(messages: list[OutboxMessage]) -> list[dict]:
    return [{"envelope": m.envelope, "disclosures": m.disclosures} for m in messages]


class Applied:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.records: list[tuple[str, int]] = []
        self.refuse = refuse or set()

    def __call__(self, session, envelope: Envelope, disclosures) -> None:
        record_id = envelope.payload["record_id"]
        if record_id in self.refuse:
            raise NotOwner(f"{record_id} is not yours")
        self.records.append((record_id, envelope.seq))


def test_sequence_numbers_per_recipient_without_gaps(db, key):
    to_hub = queue(db, key, 3)
    to_other = queue(db, key, 2, recipient="node:140000")
    assert [m.seq for m in to_hub] == [1, 2, 3]
    assert [m.seq for m in to_other] == [1, 2]
    assert all(m.envelope["seq"] == m.seq for m in to_hub + to_other)
    assert [m.seq for m in pending(db, "hub")] == [1, 2, 3]


def test_ack_failure_backoff_and_due_peers(db, key):
    queue(db, key, 3)
    assert due_peers(db, NOW) == ["hub"]
    record_ack(db, "hub", 2, NOW)
    assert [m.seq for m in pending(db, "hub")] == [3]
    record_ack(db, "hub", 1, NOW)  # a late, older answer never moves the cursor back
    assert [m.seq for m in pending(db, "hub")] == [3]
    state = record_failure(db, "hub", "connect refused", NOW, rng=random.Random(1), base_s=10)
    assert state.failures == 1 and NOW < state.backoff_until <= NOW + timedelta(seconds=10)
    assert due_peers(db, NOW) == []
    assert due_peers(db, state.backoff_until) == ["hub"]
    record_ack(db, "hub", 3, NOW)
    assert due_peers(db, NOW + timedelta(days=1)) == []


def test_ingest_in_order_idempotent_and_stops_at_gaps(db, key, keyring):
    messages = wire(queue(db, key, 5))
    applied = Applied()
    first = ingest(
        db, messages[:2], authenticated_sender=NODE, keyring=keyring, now=NOW, apply=applied
    )
    assert first.last_applied == {stream_name(NODE, "hub"): 2} and first.applied == 2
    again = ingest(
        db, messages[:3], authenticated_sender=NODE, keyring=keyring, now=NOW, apply=applied
    )
    assert again.duplicates == 2 and again.applied == 1
    gap = ingest(
        db,
        [messages[4], messages[3]],
        authenticated_sender=NODE,
        keyring=keyring,
        now=NOW,
        apply=applied,
    )
    assert gap.gaps == {stream_name(NODE, "hub"): 4}
    assert gap.last_applied[stream_name(NODE, "hub")] == 3
    assert applied.records == [("r0", 1), ("r1", 2), ("r2", 3)]


def test_a_refused_message_is_quarantined_and_does_not_block_the_rest(db, key, keyring):
    messages = wire(queue(db, key, 3))
    applied = Applied(refuse={"r1"})
    outcome = ingest(
        db, messages, authenticated_sender=NODE, keyring=keyring, now=NOW, apply=applied
    )
    assert outcome.last_applied == {stream_name(NODE, "hub"): 3}
    assert applied.records == [("r0", 1), ("r2", 3)]
    row = db.exec(select(QuarantinedMessage)).one()
    assert (row.seq, row.reason_code, row.status) == (2, "not_owner", "pending")
    assert "r1" in row.reason

    applied.refuse.clear()
    retried = retry_quarantined(db, row.id, keyring=keyring, apply=applied, operator="ops", now=NOW)
    assert retried.status == "applied" and applied.records[-1] == ("r1", 2)


def test_tampering_is_quarantined_with_its_reason(db, key, keyring):
    messages = wire(queue(db, key, 3))
    messages[0]["envelope"] = {
        **messages[0]["envelope"],
        "payload": {"record_id": "evil", "version_no": 1},
    }
    messages[1]["envelope"] = {**messages[1]["envelope"], "key_id": "ed25519:0000000000000000"}
    messages[2]["envelope"] = {**messages[2]["envelope"], "sender": "node:140000"}
    applied = Applied()
    outcome = ingest(
        db, messages, authenticated_sender=NODE, keyring=keyring, now=NOW, apply=applied
    )
    assert applied.records == []
    codes = sorted(code for _, _, code in outcome.quarantined)
    assert codes == ["bad_signature", "not_owner", "unknown_key"]
    assert outcome.last_applied == {stream_name(NODE, "hub"): 2}


def test_a_malformed_message_is_quarantined_not_fatal(db, key, keyring):
    good = wire(queue(db, key, 1))
    outcome = ingest(
        db,
        [{"envelope": "nonsense"}, *good],
        authenticated_sender=NODE,
        keyring=keyring,
        now=NOW,
        apply=Applied(),
    )
    assert outcome.applied == 1
    assert [c for _, _, c in outcome.quarantined] == ["envelope_malformed"]


def test_skip_marks_the_message_and_keeps_it(db, key, keyring):
    messages = wire(queue(db, key, 1))
    ingest(
        db,
        messages,
        authenticated_sender=NODE,
        keyring=keyring,
        now=NOW,
        apply=Applied(refuse={"r0"}),
    )
    row = db.exec(select(QuarantinedMessage)).one()
    skipped = skip_quarantined(db, row.id, operator="ops", now=NOW)
    assert skipped.status == "skipped" and skipped.resolved_by == "ops"


def test_schema_errors_raised_by_the_applier_are_quarantined(db, key, keyring):
    def refuse(session, envelope, disclosures):
        raise SchemaInvalid("data.county_code: not a county")

    ingest(
        db,
        wire(queue(db, key, 1)),
        authenticated_sender=NODE,
        keyring=keyring,
        now=NOW,
        apply=refuse,
    )
    assert db.exec(select(QuarantinedMessage.reason_code)).one() == "schema_invalid"
    assert db.exec(select(StreamCursor.last_seq)).one() == 1


def test_nonce_store_refuses_a_replay_and_prunes(db):
    store = PgNonceStore(db)
    assert store.seen_or_add(NODE, "n1", NOW + timedelta(minutes=5)) is False
    assert store.seen_or_add(NODE, "n1", NOW + timedelta(minutes=5)) is True
    assert store.seen_or_add("node:140000", "n1", NOW + timedelta(minutes=5)) is False
    assert prune_nonces(db, NOW + timedelta(minutes=6)) == 2
    assert store.seen_or_add(NODE, "n1", NOW + timedelta(minutes=11)) is False


def test_concurrent_senders_get_numbers_in_commit_order(sync_engine, key):
    """The second transaction waits for the first's counter lock: no duplicate seq, no gap
    visible before commit."""
    import threading

    from sqlalchemy import text
    from sqlmodel import Session

    recipient = "node:990000"
    first = Session(sync_engine)
    try:
        m1 = enqueue(
            first,
            kind="record.publish",
            sender=NODE,
            recipient=recipient,
            payload={"record_id": "a", "version_no": 1},
            key=key,
            now=NOW,
        )
        got: list[int] = []

        def second() -> None:
            with Session(sync_engine) as s:
                got.append(
                    enqueue(
                        s,
                        kind="record.publish",
                        sender=NODE,
                        recipient=recipient,
                        payload={"record_id": "b", "version_no": 1},
                        key=key,
                        now=NOW,
                    ).seq
                )
                s.commit()

        t = threading.Thread(target=second)
        t.start()
        t.join(timeout=1)
        assert t.is_alive(), "the second sender must wait for the first to commit"
        first.commit()
        t.join(timeout=10)
        assert (m1.seq, got) == (1, [2])
    finally:
        first.close()
        with sync_engine.begin() as conn:
            conn.execute(text("DELETE FROM sync_outbox WHERE recipient = :r"), {"r": recipient})
            conn.execute(text("DELETE FROM sync_peer WHERE peer = :r"), {"r": recipient})


def test_an_impersonating_envelope_is_filed_under_its_real_sender(db, key, keyring):
    """Node A sending an envelope that claims node B: the quarantine row names A, so
    operators never see B blamed (or B's stream polluted) for A's message."""
    messages = wire(queue(db, key, 1))
    messages[0]["envelope"] = {**messages[0]["envelope"], "sender": "node:140000"}
    outcome = ingest(
        db, messages, authenticated_sender=NODE, keyring=keyring, now=NOW, apply=Applied()
    )
    assert outcome.quarantined == [(stream_name(NODE, "hub"), 1, "not_owner")]
    row = db.exec(select(QuarantinedMessage)).one()
    assert (row.sender, row.stream) == (NODE, stream_name(NODE, "hub"))
    assert db.exec(select(StreamCursor)).all() == []
    malformed = ingest(
        db,
        [{"envelope": "x"}],
        authenticated_sender=NODE,
        keyring=keyring,
        now=NOW,
        apply=Applied(),
    )
    assert malformed.quarantined == [(stream_name(NODE, "?"), -1, "envelope_malformed")]
    assert sorted(r.sender for r in db.exec(select(QuarantinedMessage))) == [NODE, NODE]


def test_pending_json_is_pending_as_json_text(db, key):
    queue(db, key, 4)
    record_ack(db, "hub", 1, NOW)
    as_json = pending_json(db, "hub", limit=2)
    assert [seq for seq, _ in as_json] == [2, 3]
    assert [json.loads(text) for _, text in as_json] == wire(pending(db, "hub", limit=2))
    assert [seq for seq, _ in pending_json(db, "hub", after=3)] == [4]


class Bulk(Applied):
    """A BatchApplier: record.publish in runs, anything else one by one."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        super().__init__(refuse)
        self.runs: list[list[int]] = []
        self.prepared: list[int] = []

    def batchable(self, envelope: Envelope) -> bool:
        return envelope.kind == "record.publish"

    def prepare(self, session, envelope: Envelope, disclosures):
        self.prepared.append(envelope.seq)
        if envelope.payload["record_id"] == "unprepared":
            raise SchemaInvalid("cannot be prepared")
        return envelope, disclosures

    def apply_many(self, session, items):
        self.runs.append([envelope.seq for envelope, _ in items])
        results = []
        for envelope, disclosures in items:
            try:
                self(session, envelope, disclosures)
                results.append(None)
            except NotOwner as exc:
                results.append(exc)
        return results


def test_a_batch_applier_gets_runs_and_refusals_keep_their_order(db, key, keyring):
    published = queue(db, key, 3)
    tomb = enqueue(
        db,
        kind="record.tombstone",
        sender=NODE,
        recipient="hub",
        payload={"record_id": "t", "version_no": 1},
        key=key,
        now=NOW,
    )
    later = queue(db, key, 3)
    messages = wire([*published, tomb, *later])
    messages[5]["envelope"]["payload"]["record_id"] = "forged"  # seq 6: bad signature
    applier = Bulk(refuse={"r1"})
    outcome = ingest(
        db, messages, authenticated_sender=NODE, keyring=keyring, now=NOW, apply=applier
    )
    # The tombstone (not batchable) ends the first run; seq 6 is never prepared.
    assert applier.prepared == [1, 2, 3, 5, 7]
    assert applier.runs == [[1, 2, 3], [5, 7]]
    assert applier.records == [("r0", 1), ("r2", 3), ("t", 4), ("r0", 5), ("r2", 7)]
    assert [(seq, code) for _, seq, code in outcome.quarantined] == [
        (2, "not_owner"),
        (6, "bad_signature"),
    ]
    assert outcome.applied == 5 and outcome.last_applied == {stream_name(NODE, "hub"): 7}
    rows = db.exec(select(QuarantinedMessage).order_by(QuarantinedMessage.id)).all()
    assert [r.seq for r in rows] == [2, 6]


def test_a_message_refused_while_preparing_is_quarantined_in_its_place(db, key, keyring):
    sent = [
        enqueue(
            db,
            kind="record.publish",
            sender=NODE,
            recipient="hub",
            payload={"record_id": record_id, "version_no": 1},
            key=key,
            now=NOW,
        )
        for record_id in ("a", "unprepared", "b")
    ]
    applier = Bulk(refuse={"b"})
    outcome = ingest(
        db, wire(sent), authenticated_sender=NODE, keyring=keyring, now=NOW, apply=applier
    )
    assert applier.runs == [[1, 3]]  # 2 was refused before the run, 3 by apply_many
    assert [(seq, code) for _, seq, code in outcome.quarantined] == [
        (2, "schema_invalid"),
        (3, "not_owner"),
    ]
    assert outcome.last_applied == {stream_name(NODE, "hub"): 3}
