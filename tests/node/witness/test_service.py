"""The witness: trust on first use, forward only by proof, cosign, alarm on a fork."""

from __future__ import annotations

from sqlmodel import Session, select

from node.models import AuditEvent, NodeWitnessAlarm, NodeWitnessState
from node.witness.service import witness
from sync.checkpoint import open_checkpoint
from sync.keys import SigningKey
from tests.node.sync.conftest import NODE
from tests.node.witness.logserver import ORIGIN


def run(factory, log_http, sync_settings, node_key, clock):
    return witness(factory, log_http, sync_settings, node_key, clock)


def state(session: Session) -> NodeWitnessState:
    session.expire_all()
    row = session.get(NodeWitnessState, 1)
    assert row is not None
    return row


def alarms(session: Session) -> list[NodeWitnessAlarm]:
    session.expire_all()
    return list(session.exec(select(NodeWitnessAlarm)).all())


def test_not_enrolled_does_nothing(factory, log_http, sync_settings, node_key, clock, log_server):
    assert run(factory, log_http, sync_settings, node_key, clock).outcome == "skipped"
    assert log_server.requests == []


def test_the_first_checkpoint_is_trusted_verified_and_cosigned(
    session, federation, factory, log_http, sync_settings, node_key, clock, log_server
):
    log_server.append(5)
    done = run(factory, log_http, sync_settings, node_key, clock)
    assert (done.outcome, done.size, done.cosigned) == ("first", 5, True)
    row = state(session)
    assert (row.origin, row.size, row.root, row.cosigned_size) == (
        ORIGIN,
        5,
        log_server.tree.root(),
        5,
    )
    # The hub now serves the note with our cosignature, and it verifies.
    _, note = log_server.checkpoint()
    _, signers = open_checkpoint(
        note, {ORIGIN: log_server.hub_key.public(), NODE: node_key.public()}, origin=ORIGIN
    )
    assert signers == [ORIGIN, NODE]
    assert not any("consistency" in r for r in log_server.requests)


def test_a_grown_log_is_accepted_only_with_a_consistency_proof_and_cosigned_once(
    session, federation, factory, log_http, sync_settings, node_key, clock, log_server
):
    log_server.append(3)
    run(factory, log_http, sync_settings, node_key, clock)
    log_server.append(6)
    done = run(factory, log_http, sync_settings, node_key, clock)
    assert (done.outcome, done.size, done.cosigned) == ("advanced", 9, True)
    assert "GET /api/v1/public/log/consistency?first=3&second=9" in log_server.requests
    assert state(session).size == 9
    posts = len([r for r in log_server.requests if r.startswith("POST")])
    again = run(factory, log_http, sync_settings, node_key, clock)
    assert again.outcome == "unchanged"
    assert len([r for r in log_server.requests if r.startswith("POST")]) == posts
    assert alarms(session) == []


def test_from_an_empty_log_any_checkpoint_follows_without_proof(
    session, federation, factory, log_http, sync_settings, node_key, clock, log_server
):
    assert run(factory, log_http, sync_settings, node_key, clock).size == 0
    log_server.append(4)
    done = run(factory, log_http, sync_settings, node_key, clock)
    assert (done.outcome, done.size) == ("advanced", 4)
    assert not any("consistency" in r for r in log_server.requests)


def test_the_same_size_with_another_root_is_a_fork_alarm_and_the_good_checkpoint_stays(
    session, federation, factory, log_http, sync_settings, node_key, clock, log_server
):
    log_server.append(6)
    run(factory, log_http, sync_settings, node_key, clock)
    good_root = log_server.tree.root()
    log_server.fork()
    done = run(factory, log_http, sync_settings, node_key, clock)
    assert done.outcome == "alarm"
    row = state(session)
    assert (row.size, row.root) == (6, good_root)
    assert row.last_error is not None and "fork" in row.last_error
    [alarm] = alarms(session)
    assert (alarm.kind, alarm.known_size, alarm.seen_size) == ("fork", 6, 6)
    assert (alarm.known_root, alarm.seen_root) == (good_root, log_server.tree.root())
    # The contradicting checkpoint is kept signed: evidence anyone can check.
    cp, _ = open_checkpoint(alarm.seen_note, {ORIGIN: log_server.hub_key.public()})
    assert cp.root == log_server.tree.root()
    # Seen again: no second alarm; the good checkpoint is never replaced.
    assert run(factory, log_http, sync_settings, node_key, clock).outcome == "alarm"
    assert len(alarms(session)) == 1
    assert state(session).root == good_root
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "witness.fork_alarm"))
    assert len(list(audit)) == 1


def test_a_longer_other_history_fails_its_proof_and_is_an_alarm(
    session, federation, factory, log_http, sync_settings, node_key, clock, log_server
):
    log_server.append(5)
    run(factory, log_http, sync_settings, node_key, clock)
    log_server.fork(size=8)
    done = run(factory, log_http, sync_settings, node_key, clock)
    assert done.outcome == "alarm"
    [alarm] = alarms(session)
    assert (alarm.kind, alarm.known_size, alarm.seen_size) == ("inconsistent", 5, 8)
    assert state(session).size == 5
    # After an alarm the node cosigns nothing, even a checkpoint that would verify.
    log_server.append(1)
    posts = [r for r in log_server.requests if r.startswith("POST")]
    run(factory, log_http, sync_settings, node_key, clock)
    assert [r for r in log_server.requests if r.startswith("POST")] == posts


def test_an_older_consistent_checkpoint_is_stale_not_a_fork(
    session, federation, factory, log_http, sync_settings, node_key, clock, log_server
):
    log_server.append(7)
    run(factory, log_http, sync_settings, node_key, clock)
    log_server.served_size = 4  # a lagging replica
    done = run(factory, log_http, sync_settings, node_key, clock)
    assert done.outcome == "stale"
    assert "GET /api/v1/public/log/consistency?first=4&second=7" in log_server.requests
    assert state(session).size == 7 and alarms(session) == []


def test_a_checkpoint_not_signed_by_the_pinned_key_is_refused_and_not_stored(
    session, federation, factory, log_http, sync_settings, node_key, clock, log_server
):
    log_server.append(2)
    log_server.signing_key = SigningKey.generate()
    done = run(factory, log_http, sync_settings, node_key, clock)
    assert done.outcome == "error" and "refused" in done.detail
    session.expire_all()
    assert session.get(NodeWitnessState, 1) is None
    assert alarms(session) == []
    assert not any(r.startswith("POST") for r in log_server.requests)
