"""Regulator entry (监管录入): accidents and regulator-entered rewards/penalties.

These are not reviewed: they are published on entry. They live in the same
``record`` / ``record_version`` tables as filings, so reading, history, index
columns and retention stay one piece of code; what differs is only how a
version comes to be approved:

- entry creates the record and its version 1 directly in state ``approved``,
  current and published, with ``entered_by_regulator`` set;
- a correction inserts a new version, approved and current at once, with the
  regulator's reason for it (required). The previous version stays in history
  untouched (approved versions are locked by a database trigger, so nothing here
  ever updates one). Like an approval, it is signed into the outbox for the hub
  in the same transaction (``publish_record``).

The record belongs to the entering regulator's division (the version's
``review_division``; for an accident, the investigating authority). It is kept
across corrections, so a correction by a higher level does not take the record
away from the authority that entered it. A correction may be made by a
regulator whose jurisdiction covers that division.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from node.audit.service import record_event
from node.crossprov import service as crossprov
from node.errors import Forbidden, InvalidInput, NotFound
from node.filing.service import (
    get_version,
    get_visible,
    reindex,
    required_reason,
    validate_complete,
)
from node.jurisdiction import covers
from node.models import Contractor, Record, RecordVersion
from node.principal import CHINA_TZ, Actor
from node.sync.publish import publish_record
from schemas.enums import RecordKind, ReviewState

ENTRY_KINDS = frozenset({RecordKind.ACCIDENT, RecordKind.REWARD_PENALTY})
# Audit actions use the kind's short name: entry.accident_entered, entry.reward_penalty_corrected.
_ACTION_NAME = {RecordKind.ACCIDENT: "accident", RecordKind.REWARD_PENALTY: "reward_penalty"}


def _require_regulator(actor: Actor) -> None:
    if not actor.is_regulator:
        raise Forbidden(
            "仅监管部门可以录入事故和奖惩情况",
            "only regulators enter accidents and rewards/penalties",
            code="role_not_allowed",
        )


def _normalised(kind: RecordKind, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Validate the whole form with the injected clock; store times as Beijing time, so
    the indexed accident date (and "in one year") is the date in China."""
    data = validate_complete(kind, data, actor)
    if kind == RecordKind.ACCIDENT:
        occurred_at = datetime.fromisoformat(str(data["occurred_at"]))
        data["occurred_at"] = occurred_at.astimezone(CHINA_TZ).isoformat()
    return data


def _contractor(session: Session, actor: Actor, kind: RecordKind, uscc: str) -> Contractor:
    contractor = session.exec(select(Contractor).where(Contractor.uscc == uscc)).first()
    province = actor.division_code[:2] + "0000"
    # A regulator's reward/penalty concerns a contractor of its own province: the
    # record is filed under the contractor's home province, where it is visible.
    if (
        kind == RecordKind.REWARD_PENALTY
        and contractor is not None
        and contractor.home_province_code != province
    ):
        contractor = None
    if contractor is None:
        raise InvalidInput(
            f"本省节点未登记统一社会信用代码为 {uscc} 的承包单位"
            "（外省承包单位须已有经跨省报送到本省的项目部）",
            f"no contractor with USCC {uscc} is registered on this province's node "
            "(a contractor of another province is known here once it filed a project "
            "department located here)",
            code="contractor_unknown",
            field="contractor_uscc",
        )
    return contractor


def _check_location(kind: RecordKind, data: dict[str, Any], owner_division: str) -> None:
    """An accident lies inside the division that owns it."""
    if kind != RecordKind.ACCIDENT:
        return
    county = str(data["county_code"])
    if not covers(owner_division, county):
        raise Forbidden(
            f"事故发生地 {county} 不在本单位管辖范围（{owner_division}）内",
            f"county {county} is outside the jurisdiction {owner_division}",
            code="outside_jurisdiction",
            field="county_code",
        )


def _check_department(session: Session, data: dict[str, Any], contractor: Contractor) -> None:
    """A project department named by an accident is one of the contractor's published ones
    (a draft may still be deleted by the contractor, leaving the accident pointing nowhere)."""
    department_id = data.get("project_department_id")
    if department_id is None:
        return
    department = session.get(Record, uuid.UUID(str(department_id)))
    if (
        department is None
        or department.kind != RecordKind.PROJECT_DEPARTMENT
        or department.contractor_id != contractor.id
        or department.current_version_no is None
    ):
        raise InvalidInput(
            f"项目部 {department_id} 不是该承包单位（{contractor.uscc}）已公示的项目部",
            f"project department {department_id} is not a published project department "
            f"of contractor {contractor.uscc}",
            code="project_department_mismatch",
            field="project_department_id",
        )


def _published_version(
    session: Session,
    actor: Actor,
    record: Record,
    version_no: int,
    data: dict[str, Any],
    owner_division: str,
    correction_reason: str | None = None,
) -> RecordVersion:
    """Insert ``version_no`` approved and make it the record's current, published version."""
    version = RecordVersion(
        record_id=record.id,
        version_no=version_no,
        state=ReviewState.APPROVED,
        data=data,
        review_division=owner_division,
        created_at=actor.now,
        created_by=actor.user_id,
        decided_at=actor.now,
        decided_by=actor.user_id,
        correction_reason=correction_reason,
    )
    session.add(version)
    record.state = ReviewState.APPROVED
    record.latest_version_no = version_no
    record.current_version_no = version_no
    record.updated_at = actor.now
    record.published_at = actor.now
    session.add(record)
    session.flush()
    return version


def _announce(
    session: Session, actor: Actor, record: Record, version: RecordVersion, contractor: Contractor
) -> None:
    """A version just published here: indexed, sent to the hub, and an accident against
    another province's contractor sent to its home as a notice."""
    reindex(session, record, contractor)
    session.add(record)
    session.flush()
    publish_record(session, record, version, actor)
    province = actor.division_code[:2] + "0000"
    if record.kind == RecordKind.ACCIDENT and contractor.home_province_code != province:
        crossprov.relay_accident_notice(session, record, version, contractor, province, actor.now)


def enter(session: Session, actor: Actor, kind: RecordKind, data: dict[str, Any]) -> Record:
    """Enter an accident or a reward/penalty: published at once as version 1."""
    _require_regulator(actor)
    data = _normalised(kind, data, actor)
    owner_division = actor.division_code
    _check_location(kind, data, owner_division)
    contractor = _contractor(session, actor, kind, str(data["contractor_uscc"]))
    _check_department(session, data, contractor)
    record = Record(
        kind=kind,
        contractor_id=contractor.id,
        state=ReviewState.APPROVED,
        created_at=actor.now,
        created_by=actor.user_id,
        entered_by_regulator=True,
    )
    session.add(record)
    session.flush()
    version = _published_version(session, actor, record, 1, data, owner_division)
    _announce(session, actor, record, version, contractor)
    record_event(
        session,
        actor,
        f"entry.{_ACTION_NAME[kind]}_entered",
        kind,
        record.id,
        {
            "version": 1,
            # The id, not the USCC: the audit scrubber masks an all-digit USCC as if it
            # were a resident ID number.
            "contractor_id": str(contractor.id),
            "division": owner_division,
            **({"grade": record.grade} if record.grade else {}),
        },
    )
    return record


def get_entry(
    session: Session, actor: Actor, kind: RecordKind, record_id: uuid.UUID, *, for_update: bool
) -> Record:
    """A regulator-entered record of ``kind`` the actor may see (404 otherwise)."""
    record = get_visible(session, actor, record_id, for_update=for_update)
    if record.kind != kind or not record.entered_by_regulator:
        raise NotFound(
            f"未找到该{kind.label_zh}记录",
            f"no regulator-entered {kind.label_en} {record_id}",
            code="record_not_found",
        )
    return record


def correctable_entry(
    session: Session, actor: Actor, kind: RecordKind, record_id: uuid.UUID, *, for_update: bool
) -> tuple[Record, RecordVersion]:
    """An entry the actor may correct, with its version in force: 404 if unseen, 403 if
    entered by a division the actor's jurisdiction does not cover."""
    _require_regulator(actor)
    record = get_entry(session, actor, kind, record_id, for_update=for_update)
    assert record.current_version_no is not None
    current = get_version(session, record, record.current_version_no)
    owner_division = current.review_division
    if not covers(actor.division_code, owner_division):
        raise Forbidden(
            f"该记录由 {owner_division} 录入，本单位无权更正",
            f"entered by {owner_division}: only a regulator covering it may correct it",
            code="not_your_entry",
        )
    return record, current


def _as_error_item(exc: InvalidInput) -> dict[str, str]:
    """A refusal of one field as an item of a payload error's ``errors`` list."""
    return {"field": str(exc.extra.get("field") or ""), "rule": exc.code, "message": exc.detail}


def check_correction_reason(reason: str | None) -> str:
    """A correction says why (shown in the record's history and audited)."""
    return required_reason(
        reason, field="correction_reason", what_zh="更正", what_en="a correction"
    )


def correct(
    session: Session,
    actor: Actor,
    kind: RecordKind,
    record_id: uuid.UUID,
    data: dict[str, Any],
    reason: str | None,
) -> Record:
    """Replace an entry's content with a corrected version, published at once.

    A correction identical to the version in force changes nothing (a retried
    PUT must not pile up versions)."""
    _require_regulator(actor)
    reason_problem: InvalidInput | None = None
    try:
        reason = check_correction_reason(reason)
    except InvalidInput as exc:
        reason_problem = exc  # said together with the form's own errors, below
    record, previous = correctable_entry(session, actor, kind, record_id, for_update=True)
    owner_division = previous.review_division
    try:
        data = _normalised(kind, data, actor)
    except InvalidInput as exc:
        if reason_problem is not None and "errors" in exc.extra:
            exc.extra["errors"] = [_as_error_item(reason_problem), *exc.extra["errors"]]
        raise
    if reason_problem is not None:
        raise reason_problem
    assert reason is not None
    _check_location(kind, data, owner_division)
    contractor = _contractor(session, actor, kind, str(data["contractor_uscc"]))
    _check_department(session, data, contractor)
    changed = sorted(
        name
        for name in previous.data.keys() | data.keys()
        if previous.data.get(name) != data.get(name)
    )
    if not changed:
        return record
    version_no = record.latest_version_no + 1
    version = _published_version(
        session, actor, record, version_no, data, owner_division, correction_reason=reason
    )
    record.contractor_id = contractor.id
    _announce(session, actor, record, version, contractor)
    record_event(
        session,
        actor,
        f"entry.{_ACTION_NAME[kind]}_corrected",
        kind,
        record.id,
        {
            "version": version_no,
            "previous_version": previous.version_no,
            "fields": changed,
            "reason": reason,
        },
    )
    return record
