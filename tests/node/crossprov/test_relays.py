"""Project departments across provinces at one node: what it relays, what it applies.

This node is Inner Mongolia's (node:150000); node:140000 (Shanxi) is the other
province, whose envelopes are signed with its own key and delivered through a
fake hub's inbox, then pulled and applied by the real code."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import Session, select

from node.errors import Conflict, Forbidden, InvalidInput
from node.filing import service as filing
from node.models import Contractor, NodeTombstone, Record, RecordVersion
from node.sync.service import pull
from schemas.enums import RecordKind
from schemas.forms import SENSITIVE
from schemas.identifiers import make_uscc
from sync.clock import format_rfc3339
from sync.disclosure import conceal
from sync.envelope import seal
from sync.keys import SigningKey
from sync.tables import OutboxMessage, QuarantinedMessage
from tests.node.factories import NOW, project_department
from tests.node.sync.conftest import NODE, OTHER, actor_for

SHANXI_COUNTY = "140105"
SHANXI_USCC = make_uscc("140105", "14000007")


def outbox(session: Session, kind: str) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def quarantined(session: Session) -> list[tuple[str, str]]:
    session.expire_all()
    return [(q.kind, q.reason_code) for q in session.exec(select(QuarantinedMessage))]


def from_shanxi(
    key: SigningKey, seq: int, name: str, payload: dict[str, Any], data: dict | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    disclosures: list[Any] = []
    if data is not None:
        payload["data"], disclosures = conceal(data, SENSITIVE[RecordKind.PROJECT_DEPARTMENT])
    envelope = seal(f"relay.{name}", OTHER, seq, NODE, payload, key, NOW)
    return envelope.to_dict(), [d.to_dict() for d in disclosures]


def filing_from_shanxi(record_id: str, version_no: int = 1) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "kind": "project_department",
        "version_no": version_no,
        "contractor": {
            "uscc": SHANXI_USCC,
            "name": "山西某矿山工程有限公司",
            "home_province_code": "140000",
            "central_soe": False,
        },
        "first_entered_at": "2026-06-01T02:00:00Z",
        "submitted_at": format_rfc3339(NOW),
    }


def pull_all(factory, http, sync_settings, node_key, clock, publisher) -> None:
    report = pull(factory, http, sync_settings, node_key, clock, publisher=publisher)
    assert report.error is None


# ---------------------------------------------------------------- at the home node


def test_a_department_elsewhere_is_relayed_to_the_location_node_at_submission(
    session, province, enrolled, other_node
):
    data = project_department(SHANXI_COUNTY)
    record = filing.create_draft(
        session, actor_for(province.contractor_user), RecordKind.PROJECT_DEPARTMENT, data
    )
    filing.submit(session, actor_for(province.contractor_user), record.id)
    session.flush()
    assert record.owner_node == OTHER
    [relay] = outbox(session, "relay.filing.submit")
    assert relay.recipient == OTHER
    payload = relay.envelope["payload"]
    assert payload["record_id"] == str(record.id) and payload["version_no"] == 1
    assert payload["first_entered_at"] == format_rfc3339(record.created_at)
    assert data["head"]["resident_id"] not in str(relay.envelope), "concealed in the envelope"
    assert data["head"]["resident_id"] in str(relay.disclosures), "disclosed beside it"
    assert outbox(session, "record.publish") == []

    # Home regulators see it, read-only; nobody here may decide it.
    admin = actor_for(province.admin)
    assert filing.get_visible(session, admin, record.id).id == record.id
    with pytest.raises(Forbidden) as refused:
        filing.approve(session, admin, record.id, 1)
    assert refused.value.code == "owned_elsewhere"

    # Withdrawn before any decision: relayed, and the draft is home's again.
    filing.withdraw(session, actor_for(province.contractor_user), record.id)
    [withdrawal] = outbox(session, "relay.filing.withdraw")
    assert withdrawal.envelope["payload"]["version_no"] == 1
    assert record.owner_node is None


def test_submission_elsewhere_is_refused_when_the_location_node_is_unknown(
    session, province, enrolled
):
    contractor = actor_for(province.contractor_user)
    record = filing.create_draft(
        session, contractor, RecordKind.PROJECT_DEPARTMENT, project_department(SHANXI_COUNTY)
    )
    with pytest.raises(Conflict) as refused:
        filing.submit(session, contractor, record.id)
    assert refused.value.code == "location_node_unavailable"


def test_a_decision_from_the_owner_is_applied_and_from_anyone_else_quarantined(
    session,
    province,
    enrolled,
    other_node,
    other_key,
    hub,
    http,
    factory,
    sync_settings,
    node_key,
    clock,
    publisher,
):
    contractor = actor_for(province.contractor_user)
    data = project_department(SHANXI_COUNTY)
    record = filing.create_draft(session, contractor, RecordKind.PROJECT_DEPARTMENT, data)
    filing.submit(session, contractor, record.id)
    session.commit()

    impostor = SigningKey.generate()  # signs as Shanxi with a key the keyring does not hold
    decided = {
        "record_id": str(record.id),
        "version_no": 1,
        "decision": "returned",
        "reason": "负责人身份证号与书面报告不一致",
        "decided_at": format_rfc3339(NOW),
    }
    # The stream moves past a quarantined seq: the genuine one comes as seq 2.
    hub.deliver(*from_shanxi(impostor, 1, "review.decision", dict(decided), data))
    hub.deliver(*from_shanxi(other_key, 2, "review.decision", dict(decided), data))
    pull_all(factory, http, sync_settings, node_key, clock, publisher)
    session.expire_all()
    assert quarantined(session) == [("relay.review.decision", "unknown_key")]
    row = session.get(Record, record.id)
    assert row.state == "returned"
    version = session.exec(select(RecordVersion).where(RecordVersion.record_id == record.id)).one()
    assert version.return_reason == "负责人身份证号与书面报告不一致"
    assert version.data["head"]["resident_id"] == data["head"]["resident_id"]

    # Returned by Shanxi, edited at home: the location province cannot change.
    with pytest.raises(InvalidInput) as refused:
        filing.update_draft(
            session,
            contractor,
            record.id,
            {"province_code": "150000", "city_code": "150100", "county_code": "150102"},
        )
    assert refused.value.code == "province_fixed"


# ---------------------------------------------------------------- at the location node


def test_a_filing_relayed_from_the_home_node_is_reviewed_here_like_a_local_one(
    session,
    province,
    enrolled,
    other_node,
    other_key,
    hub,
    http,
    factory,
    sync_settings,
    node_key,
    clock,
    publisher,
):
    record_id = str(uuid.uuid4())
    data = project_department("150102")
    hub.deliver(*from_shanxi(other_key, 1, "filing.submit", filing_from_shanxi(record_id), data))
    pull_all(factory, http, sync_settings, node_key, clock, publisher)
    session.expire_all()
    assert quarantined(session) == []
    record = session.get(Record, uuid.UUID(record_id))
    assert (record.state, record.home_node, record.owner_node) == ("submitted", OTHER, None)
    assert record.created_at.isoformat() == "2026-06-01T02:00:00+00:00", "first entered at home"
    contractor = session.get(Contractor, record.contractor_id)
    assert (contractor.uscc, contractor.home_province_code) == (SHANXI_USCC, "140000")
    version = session.exec(select(RecordVersion).where(RecordVersion.record_id == record.id)).one()
    assert version.review_division == "150102"
    assert version.data["head"]["resident_id"] == data["head"]["resident_id"]

    filing.approve(session, actor_for(province.county), record.id, 1)
    session.flush()
    [published] = outbox(session, "record.publish")
    assert published.envelope["payload"]["contractor"]["uscc"] == SHANXI_USCC
    [decision] = outbox(session, "relay.review.decision")
    assert decision.recipient == OTHER
    assert decision.envelope["payload"]["decision"] == "approved"


def test_a_filing_for_a_department_outside_this_province_is_quarantined(
    session,
    enrolled,
    other_node,
    other_key,
    hub,
    http,
    factory,
    sync_settings,
    node_key,
    clock,
    publisher,
):
    hub.deliver(
        *from_shanxi(
            other_key,
            1,
            "filing.submit",
            filing_from_shanxi(str(uuid.uuid4())),
            project_department(SHANXI_COUNTY),
        )
    )
    pull_all(factory, http, sync_settings, node_key, clock, publisher)
    assert quarantined(session) == [("relay.filing.submit", "not_owner")]


def test_a_tombstone_arriving_before_its_record_keeps_the_record_from_ever_appearing(
    session,
    province,
    enrolled,
    other_node,
    other_key,
    hub,
    http,
    factory,
    sync_settings,
    node_key,
    clock,
    publisher,
):
    record_id = str(uuid.uuid4())
    tombstone = {
        "record_id": record_id,
        "kind": "project_department",
        "owner": OTHER,
        "reason": "retention",
        "deleted_at": format_rfc3339(NOW),
    }
    hub.deliver(*from_shanxi(other_key, 1, "record.tombstone", tombstone))
    hub.deliver(
        *from_shanxi(
            other_key,
            2,
            "filing.submit",
            filing_from_shanxi(record_id),
            project_department("150102"),
        )
    )
    pull_all(factory, http, sync_settings, node_key, clock, publisher)
    session.expire_all()
    assert quarantined(session) == []
    assert session.get(Record, uuid.UUID(record_id)) is None
    kept = session.get(NodeTombstone, uuid.UUID(record_id))
    assert (kept.owner, kept.reason) == (OTHER, "retention")


def test_a_copy_is_deleted_by_its_owners_tombstone_and_not_by_anyone_else(
    session,
    province,
    enrolled,
    other_node,
    other_key,
    hub,
    http,
    factory,
    sync_settings,
    node_key,
    clock,
    publisher,
):
    contractor = actor_for(province.contractor_user)
    record = filing.create_draft(
        session, contractor, RecordKind.PROJECT_DEPARTMENT, project_department(SHANXI_COUNTY)
    )
    filing.submit(session, contractor, record.id)
    session.commit()
    record_id = record.id
    tombstone = {
        "record_id": str(record_id),
        "kind": "project_department",
        "owner": OTHER,
        "reason": "retention",
        "deleted_at": format_rfc3339(NOW),
    }
    wrong_owner = dict(tombstone, owner=NODE)
    hub.deliver(*from_shanxi(other_key, 1, "record.tombstone", wrong_owner))
    hub.deliver(*from_shanxi(other_key, 2, "record.tombstone", tombstone))
    pull_all(factory, http, sync_settings, node_key, clock, publisher)
    session.expire_all()
    assert quarantined(session) == [("relay.record.tombstone", "not_owner")]
    assert session.get(Record, record_id) is None
    # The contractor's last department went by retention: its information goes too.
    assert session.get(Contractor, province.contractor.id).deleted_at == NOW


def test_the_location_province_judges_the_written_report_of_a_relayed_filing(
    client,
    session,
    province,
    enrolled,
    other_node,
    other_key,
    hub,
    http,
    factory,
    sync_settings,
    node_key,
    clock,
    publisher,
):
    record_id = str(uuid.uuid4())
    data = project_department("150102", written_report=False, written_report_date=None)
    hub.deliver(*from_shanxi(other_key, 1, "filing.submit", filing_from_shanxi(record_id), data))
    pull_all(factory, http, sync_settings, node_key, clock, publisher)
    filing.approve(session, actor_for(province.county), uuid.UUID(record_id), 1)
    session.flush()
    shown = client.get(
        f"/api/v1/filings/{record_id}", headers=province.headers(province.county)
    ).json()
    assert "no_written_report" in shown["flags"]
