"""Project departments across provinces: what the nodes relay to each other.

A contractor works only at its home node. A project department located in
another province is owned by that province's node (DESIGN.md, "Data
ownership"), so its filing goes there for review:

- at submission the home node marks the record as owned elsewhere
  (``record.owner_node``) and relays the version (``relay.filing.submit``);
- the location node holds it in its review queue like a local filing
  (``record.home_node`` says where it came from), decides, publishes on
  approval, and relays the decision back (``relay.review.decision``), which
  the home node applies to the contractor's own record;
- a withdrawal travels the same way (``relay.filing.withdraw``);
- a deletion by the owner reaches the copy as ``relay.record.tombstone``.

Relays are signed end to end by the sending node and applied in order per
stream (``node/sync/inbox.py``); the appliers are in ``node.crossprov.appliers``.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from node.audit.service import record_event
from node.errors import Conflict, NodeError
from node.models import Contractor, Record, RecordVersion
from node.sync.relay import send_relay
from schemas.enums import RecordKind
from schemas.forms import SENSITIVE
from sync.clock import format_rfc3339
from sync.disclosure import Disclosure, conceal
from sync.tables import OutboxMessage

from . import schemas as s

__all__ = [
    "location_node",
    "node_province",
    "relay_accident_notice",
    "relay_decision",
    "relay_submission",
    "relay_tombstone",
    "relay_withdrawal",
]


def node_province(node_id: str) -> str:
    """``node:150000`` → ``150000`` (node ids name their province: docs/sync-protocol.md)."""
    return node_id.split(":", 1)[1] if ":" in node_id else node_id


def location_node(province_code: str) -> str:
    """The node owning what is located in ``province_code``."""
    return f"node:{province_code}"


def _send(
    session: Session,
    to_node: str,
    name: str,
    payload: dict[str, object],
    now: datetime,
    data: dict[str, object] | None = None,
    kind: str = RecordKind.PROJECT_DEPARTMENT,
) -> OutboxMessage:
    disclosures: list[Disclosure] = []
    if data is not None:
        payload["data"], disclosures = conceal(data, SENSITIVE[RecordKind(kind)])
    try:
        return send_relay(session, to_node, name, payload, now, disclosures)
    except NodeError as exc:
        if exc.code not in ("unknown_node", "not_enrolled", "bad_recipient"):
            raise
        raise Conflict(
            f"项目部所在省的节点（{to_node}）未接入全国联邦或本节点尚未接入，暂不能跨省提交",
            f"the node of the location province ({to_node}) is not reachable through the "
            f"federation ({exc.code}); a cross-province filing cannot be relayed yet",
            code="location_node_unavailable",
        ) from None


def relay_submission(
    session: Session,
    record: Record,
    version: RecordVersion,
    contractor: Contractor,
    now: datetime,
) -> OutboxMessage:
    """Relay a submitted version of a department located elsewhere to its owner node."""
    province = str(version.data["province_code"])
    to_node = location_node(province)
    record.owner_node = to_node
    session.add(record)
    payload: dict[str, object] = {
        "record_id": str(record.id),
        "kind": record.kind,
        "version_no": version.version_no,
        "contractor": {
            "uscc": contractor.uscc,
            "name": contractor.name,
            "home_province_code": contractor.home_province_code,
            "central_soe": contractor.central_soe,
        },
        "first_entered_at": format_rfc3339(record.created_at),
        "submitted_at": format_rfc3339(version.submitted_at or now),
    }
    message = _send(session, to_node, s.FILING_SUBMIT, payload, now, dict(version.data))
    record_event(
        session,
        None,
        "crossprov.filing_relayed",
        record.kind,
        record.id,
        {"version": version.version_no, "to": to_node, "seq": message.seq},
        at=now,
    )
    return message


def relay_withdrawal(
    session: Session, record: Record, version_no: int, now: datetime
) -> OutboxMessage:
    assert record.owner_node is not None
    payload: dict[str, object] = {
        "record_id": str(record.id),
        "version_no": version_no,
        "withdrawn_at": format_rfc3339(now),
    }
    return _send(session, record.owner_node, s.FILING_WITHDRAW, payload, now)


def relay_decision(
    session: Session, record: Record, version: RecordVersion, now: datetime
) -> OutboxMessage:
    """Relay the location regulator's decision back to the contractor's home node."""
    assert record.home_node is not None
    payload: dict[str, object] = {
        "record_id": str(record.id),
        "version_no": version.version_no,
        "decision": version.state,
        "reason": version.return_reason,
        "decided_at": format_rfc3339(version.decided_at or now),
    }
    message = _send(session, record.home_node, s.REVIEW_DECISION, payload, now, dict(version.data))
    record_event(
        session,
        None,
        "crossprov.decision_relayed",
        record.kind,
        record.id,
        {"version": version.version_no, "decision": version.state, "to": record.home_node},
        at=now,
    )
    return message


def relay_tombstone(
    session: Session,
    to_node: str,
    record: Record,
    owner: str,
    reason: str,
    now: datetime,
) -> OutboxMessage:
    """Tell a node holding a copy of ``record`` that its owner deleted it."""
    payload: dict[str, object] = {
        "record_id": str(record.id),
        "kind": record.kind,
        "owner": owner,
        "reason": reason,
        "deleted_at": format_rfc3339(now),
    }
    return send_relay(session, to_node, s.RECORD_TOMBSTONE, payload, now)


def relay_accident_notice(
    session: Session,
    record: Record,
    version: RecordVersion,
    contractor: Contractor,
    own_province: str,
    now: datetime,
) -> OutboxMessage | None:
    """An accident recorded here against another province's contractor: a notice (and a
    read-only copy) for its home node. Each correction is relayed again.

    Never refuses the entry: if the home node cannot be reached through the
    federation the audit trail says the notice was not sent.
    """
    to_node = location_node(contractor.home_province_code)
    payload: dict[str, object] = {
        "record_id": str(record.id),
        "version_no": version.version_no,
        "contractor_uscc": contractor.uscc,
        "related_record_id": str(record.related_record_id) if record.related_record_id else None,
        "province_code": own_province,
        "first_entered_at": format_rfc3339(record.created_at),
        "entered_at": format_rfc3339(version.decided_at or now),
    }
    try:
        message = _send(
            session,
            to_node,
            s.ACCIDENT_NOTICE,
            payload,
            now,
            dict(version.data),
            kind=RecordKind.ACCIDENT,
        )
    except Conflict:
        record_event(
            session,
            None,
            "crossprov.notice_unsent",
            record.kind,
            record.id,
            {"version": version.version_no, "to": to_node},
            at=now,
        )
        return None
    record.home_node = to_node
    session.add(record)
    record_event(
        session,
        None,
        "crossprov.notice_relayed",
        record.kind,
        record.id,
        {"version": version.version_no, "to": to_node, "seq": message.seq},
        at=now,
    )
    return message
