"""Approval publishes: one signed outbox row in the approval's own transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from node.db import transaction
from node.entry import service as entry
from node.models import AuditEvent, NodePublication, Record
from node.sync.publish import (
    bind_publisher,
    publish_backlog,
    publish_record,
    publish_tombstone,
)
from schemas.enums import RecordKind
from sync.disclosure import Disclosure, reveal, slots
from sync.envelope import Envelope, verify_envelope
from sync.keys import KeyRecord, Keyring
from tests.node.entry.conftest import accident_form, penalty_form
from tests.node.factories import NOW
from tests.node.sync.conftest import NODE, actor_for, outbox, version_of


def node_keyring(node_key) -> Keyring:
    return Keyring([KeyRecord(NODE, node_key.key_id, node_key.public(), NOW - timedelta(days=30))])


def test_approval_queues_exactly_one_signed_message_in_its_transaction(
    factory, session, province, federation, publisher, kicks, node_key
):
    record = province.submitted_department()
    with transaction(factory) as tx:
        bind_publisher(tx, publisher)
        province.approve(tx, record.id)
        queued = outbox(tx)
        assert len(queued) == 1
        assert kicks == []  # the worker is woken only once the approval is kept
    assert kicks == ["sync.push"]

    (message,) = outbox(session)
    assert (message.recipient, message.seq, message.kind) == ("hub", 1, "record.publish")
    envelope = Envelope.from_dict(message.envelope)
    verify_envelope(envelope, node_keyring(node_key), recipient="hub")
    payload = envelope.payload
    assert payload["record_id"] == str(record.id)
    assert (payload["kind"], payload["version_no"], payload["owner"]) == (
        "project_department",
        1,
        NODE,
    )
    assert payload["contractor"] == {
        "uscc": province.contractor.uscc,
        "name": "内蒙古恒信矿山工程有限公司",
    }
    assert (payload["province_code"], payload["city_code"], payload["county_code"]) == (
        "150000",
        "150100",
        "150102",
    )
    assert payload["approved_at"] == "2026-06-15T02:00:00Z"
    assert payload["first_entered_at"] == "2026-06-15T02:00:00Z"

    # Sensitive values are slots in the signed payload; the disclosures open them again.
    original = version_of(session, record.id, 1).data
    assert set(slots(payload["data"])) == {
        "head.resident_id",
        "head.phone",
        "safety_managers[0].resident_id",
        "safety_managers[0].phone",
        "safety_managers[1].resident_id",
        "safety_managers[1].phone",
        "technical_staff[0].resident_id",
        "technical_staff[0].phone",
    }
    assert set(slots(payload)) == {f"data.{path}" for path in slots(payload["data"])}
    assert original["head"]["resident_id"] not in str(message.envelope)
    disclosures = [Disclosure.from_dict(d) for d in message.disclosures]
    # Paths are relative to payload.data (docs/sync-protocol.md).
    assert reveal(payload["data"], disclosures) == original
    assert session.get(NodePublication, (record.id, 1)) is not None


def test_an_approval_that_rolls_back_queues_nothing(
    factory, session, province, federation, publisher, kicks
):
    record = province.submitted_department()
    with pytest.raises(RuntimeError), transaction(factory) as tx:
        bind_publisher(tx, publisher)
        province.approve(tx, record.id)
        assert len(outbox(tx)) == 1
        raise RuntimeError("the approval fails after publishing")
    assert outbox(session) == []
    assert kicks == []
    session.expire_all()
    assert session.get(Record, record.id).state == "submitted"
    assert session.get(NodePublication, (record.id, 1)) is None


def test_seq_numbers_run_1_2_3_per_recipient(session, province, enrolled):
    for _ in range(3):
        record = province.submitted_department()
        province.approve(session, record.id)
    assert [m.seq for m in outbox(session, "hub")] == [1, 2, 3]
    assert [m.envelope["seq"] for m in outbox(session, "hub")] == [1, 2, 3]


def test_accident_entry_and_correction_publish_each_version(session, province, enrolled):
    county = actor_for(province.county)
    record = entry.enter(session, county, RecordKind.ACCIDENT, accident_form(province.contractor))
    entry.correct(
        session,
        county,
        RecordKind.ACCIDENT,
        record.id,
        accident_form(province.contractor, deaths=2),
        "经复核，死亡人数更正为2人",
    )
    # An identical correction is no new version, and publishes nothing.
    entry.correct(
        session,
        county,
        RecordKind.ACCIDENT,
        record.id,
        accident_form(province.contractor, deaths=2),
        "经复核，死亡人数更正为2人",
    )
    messages = outbox(session, "hub")
    assert [
        (m.envelope["payload"]["kind"], m.envelope["payload"]["version_no"]) for m in messages
    ] == [
        ("accident", 1),
        ("accident", 2),
    ]
    assert messages[1].envelope["payload"]["data"]["deaths"] == 2
    assert messages[0].envelope["payload"]["county_code"] == "150102"
    assert messages[0].disclosures == []  # an accident form holds no personal data


def test_regulator_reward_penalty_entry_publishes(session, province, enrolled):
    county = actor_for(province.county)
    record = entry.enter(
        session, county, RecordKind.REWARD_PENALTY, penalty_form(province.contractor)
    )
    (message,) = outbox(session, "hub")
    assert message.envelope["payload"]["record_id"] == str(record.id)
    assert message.envelope["payload"]["kind"] == "reward_penalty"


def test_accident_entered_over_http_is_published(client, session, province, enrolled_app, kicks):
    response = client.post(
        "/api/v1/accidents",
        headers=province.headers(province.county),
        json=accident_form(province.contractor),
    )
    assert response.status_code == 201, response.text
    (message,) = outbox(session, "hub")
    assert message.envelope["payload"]["record_id"] == response.json()["id"]
    assert kicks == ["sync.push"]


def test_accident_corrected_on_its_page_is_published_as_a_new_version(
    client, session, province, enrolled_app, kicks
):
    from tests.node.web.support import csrf_of, form_fields, login

    entered = client.post(
        "/api/v1/accidents",
        headers=province.headers(province.county),
        json=accident_form(province.contractor),
    )
    record_id = entered.json()["id"]
    login(client, province.county.username)
    form_url = f"/entries/accident/{record_id}/correct"
    form = accident_form(province.contractor, deaths=2)
    fields = form_fields({k: v for k, v in form.items() if k != "categories"})
    done = client.post(
        form_url,
        data={
            **fields,
            "categories": [str(c) for c in form["categories"]],
            "occurred_at": "2026-05-14T09:30",
            "correction_reason": "经复核，死亡2人",
            "csrf_token": csrf_of(client, form_url),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    messages = outbox(session, "hub")
    assert [m.envelope["payload"]["version_no"] for m in messages] == [1, 2]
    assert messages[1].envelope["payload"]["record_id"] == record_id
    assert messages[1].envelope["payload"]["data"]["deaths"] == 2
    assert session.get(NodePublication, (uuid.UUID(record_id), 2)) is not None
    assert kicks == ["sync.push", "sync.push"]


def test_before_enrollment_approval_works_and_the_backlog_publishes_later(
    session, province, publisher, federation_later
):
    bind_publisher(session, publisher)
    record = province.submitted_department()
    province.approve(session, record.id)
    assert session.get(Record, record.id).state == "approved"
    assert outbox(session) == []
    note = session.exec(select(AuditEvent).where(AuditEvent.action == "sync.unpublished")).one()
    assert note.detail == {"record_id": str(record.id), "version": 1, "reason": "not_enrolled"}

    with pytest.raises(LookupError):
        publish_backlog(session, NOW)
    federation_later()
    assert publish_backlog(session, NOW) == 1
    assert publish_backlog(session, NOW) == 0  # idempotent
    (message,) = outbox(session, "hub")
    assert message.envelope["payload"]["record_id"] == str(record.id)


def test_the_backlog_is_queued_under_one_batch_signature(
    session, province, publisher, federation_later, node_key
):
    bind_publisher(session, publisher)
    records = [province.submitted_department() for _ in range(3)]
    for record in records:
        province.approve(session, record.id)  # before enrollment: left unpublished
    federation_later()
    assert publish_backlog(session, NOW) == 3
    queued = outbox(session, "hub")
    assert [m.seq for m in queued] == [1, 2, 3]
    envelopes = [Envelope.from_dict(m.envelope) for m in queued]
    assert {e.payload["record_id"] for e in envelopes} == {str(r.id) for r in records}
    # One signature over the batch's Merkle root; each envelope still verifies alone,
    # and a receiver caching the root checks the signature once.
    assert all(e.batch_signed for e in envelopes)
    assert len({e.sig.split(".")[1] for e in envelopes}) == 1
    cache: set[tuple[str, bytes, int]] = set()
    for envelope in envelopes:
        verify_envelope(envelope, node_keyring(node_key), recipient="hub")
        verify_envelope(envelope, node_keyring(node_key), recipient="hub", batch_cache=cache)
    assert len(cache) == 1
    ledger = [session.get(NodePublication, (record.id, 1)) for record in records]
    assert sorted(p.outbox_seq for p in ledger if p is not None) == [1, 2, 3]


@pytest.fixture
def federation_later(request):
    """Enroll the node only when the test says so."""
    return lambda: request.getfixturevalue("federation")


def test_a_version_is_published_once(session, province, enrolled):
    record = province.submitted_department()
    province.approve(session, record.id)
    version = version_of(session, record.id, 1)
    assert publish_record(session, record, version, NOW) is None
    assert len(outbox(session)) == 1


def test_without_a_bound_publisher_nothing_is_signed(session, province, federation):
    record = province.submitted_department()
    province.approve(session, record.id)  # the session has no publisher bound
    assert outbox(session) == []
    note = session.exec(select(AuditEvent).where(AuditEvent.action == "sync.unpublished")).one()
    assert note.detail["reason"] == "no_publisher"


def test_tombstone(session, province, enrolled, node_key):
    record = province.submitted_department()
    province.approve(session, record.id)
    message = publish_tombstone(session, record, "retention", NOW + timedelta(days=5 * 365))
    assert message is not None and message.seq == 2
    envelope = Envelope.from_dict(message.envelope)
    verify_envelope(envelope, node_keyring(node_key))
    assert envelope.kind == "record.tombstone"
    assert envelope.payload == {
        "record_id": str(record.id),
        "kind": "project_department",
        "owner": NODE,
        "reason": "retention",
        "deleted_at": "2031-06-14T02:00:00Z",
    }
    with pytest.raises(ValueError):
        publish_tombstone(session, record, "forgotten", NOW)


def test_tombstone_before_enrollment_is_not_sent(session, province, publisher):
    bind_publisher(session, publisher)
    record = province.submitted_department()
    assert publish_tombstone(session, record, "withdrawn", NOW) is None
    assert outbox(session) == []
