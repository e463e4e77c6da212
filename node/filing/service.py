"""The filing workflow: draft → submitted → approved | returned → (edit) new draft.

One piece of code serves every form. A record is a chain of versions; the
latest version's state is the record's state, and ``current_version_no`` points
at the approved version in force, which stays public while a newer version is
under review. Approved versions are never modified (a database trigger refuses
it as well).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from node.attachments.service import check_attachment_refs
from node.audit.service import record_event
from node.crossprov import service as crossprov
from node.errors import Conflict, Forbidden, InvalidInput, NotFound
from node.filing.indexing import apply_index
from node.filing.routing import review_division
from node.jurisdiction import covers, may_review
from node.models import Contractor, Record, RecordVersion
from node.principal import Actor
from node.sync.publish import publish_record
from schemas.enums import RecordKind, ReviewState
from schemas.errors import format_errors
from schemas.forms import FORMS

CONTRACTOR_KINDS = frozenset(
    {
        RecordKind.BASIC_INFO,
        RecordKind.LICENCE,
        RecordKind.PROJECT_DEPARTMENT,
        RecordKind.REWARD_PENALTY,
    }
)
KIND_ZH = {k: k.label_zh for k in RecordKind}


# ---------------------------------------------------------------- reading


def get_record(session: Session, record_id: uuid.UUID, *, for_update: bool = False) -> Record:
    stmt = select(Record).where(Record.id == record_id)
    if for_update:
        stmt = stmt.with_for_update()
    record = session.exec(stmt).first()
    if record is None:
        raise NotFound("未找到该记录", f"record {record_id} not found", code="record_not_found")
    return record


def get_version(session: Session, record: Record, version_no: int) -> RecordVersion:
    version = session.exec(
        select(RecordVersion).where(
            RecordVersion.record_id == record.id, RecordVersion.version_no == version_no
        )
    ).first()
    if version is None:
        raise NotFound("未找到该版本", f"version {version_no} not found", code="version_not_found")
    return version


def versions_of(session: Session, record: Record) -> list[RecordVersion]:
    return list(
        session.exec(
            select(RecordVersion)
            .where(RecordVersion.record_id == record.id)
            .order_by(col(RecordVersion.version_no))
        )
    )


def can_see(actor: Actor, record: Record) -> bool:
    """Contractors see their own records; regulators those located in their jurisdiction,
    and the province-level forms (basic info, licences) of every contractor of the province."""
    if actor.is_contractor:
        return record.contractor_id == actor.contractor_id
    if not actor.is_regulator:
        return False
    if record.owner_node is not None:
        # A copy of a record owned elsewhere (a department of one of this province's
        # contractors located in another province, an accident notice): read-only
        # for this province's regulators (docs/cross-province.md).
        return True
    if record.county_code:
        return covers(actor.division_code, record.county_code)
    return covers(actor.division_code[:2] + "0000", record.province_code)


def get_visible(
    session: Session, actor: Actor, record_id: uuid.UUID, *, for_update: bool = False
) -> Record:
    record = get_record(session, record_id, for_update=for_update)
    if not can_see(actor, record):
        # Not 403: whether a record exists outside one's jurisdiction is not disclosed.
        raise NotFound("未找到该记录", f"record {record_id} not found", code="record_not_found")
    return record


def project_department_count(session: Session, contractor_id: uuid.UUID) -> int:
    """Derived, never typed: the contractor's project departments in force."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Record)
            .where(
                Record.contractor_id == contractor_id,
                Record.kind == RecordKind.PROJECT_DEPARTMENT,
                col(Record.current_version_no).is_not(None),
            )
        ).one()
    )


# ---------------------------------------------------------------- validation


def _validate(
    model: type[BaseModel], data: dict[str, Any], actor: Actor, *, partial: bool
) -> dict[str, Any]:
    try:
        parsed = model.model_validate(data, context={"now": actor.now})
    except ValidationError as exc:
        errors = format_errors(exc)
        fields = "、".join(e["field"] for e in errors[:5])
        raise InvalidInput(
            f"提交的数据有误：{fields}",
            f"invalid input: {fields}",
            code="invalid_input",
            errors=errors,
        ) from None
    return parsed.model_dump(mode="json", exclude_unset=partial)


def validate_partial(kind: str, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """A draft may be incomplete, but every field it has must be valid."""
    return _validate(FORMS[RecordKind(kind)][1], data, actor, partial=True)


def validate_complete(kind: str, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    return _validate(FORMS[RecordKind(kind)][0], data, actor, partial=False)


# ---------------------------------------------------------------- contractor side


def _own_contractor(session: Session, actor: Actor) -> Contractor:
    if not actor.is_contractor or actor.contractor_id is None:
        raise Forbidden(
            "仅承包单位可填报", "only contractor accounts file records", code="role_not_allowed"
        )
    contractor = session.get(Contractor, actor.contractor_id)
    assert contractor is not None
    return contractor


def _check_contractor_fields(kind: str, data: dict[str, Any], contractor: Contractor) -> None:
    if kind == RecordKind.BASIC_INFO and data.get("uscc") not in (None, contractor.uscc):
        raise InvalidInput(
            "统一社会信用代码须与本单位账号一致",
            f"uscc must be this contractor's own code {contractor.uscc}",
            code="uscc_not_own",
            field="uscc",
        )
    if kind == RecordKind.REWARD_PENALTY and data.get("contractor_uscc") not in (
        None,
        contractor.uscc,
    ):
        raise InvalidInput(
            "只能填报本单位的奖惩情况",
            f"contractor_uscc must be this contractor's own code {contractor.uscc}",
            code="uscc_not_own",
            field="contractor_uscc",
        )


def reindex(session: Session, record: Record, contractor: Contractor) -> None:
    no = record.current_version_no or record.latest_version_no
    apply_index(record, get_version(session, record, no).data, contractor)


def create_draft(session: Session, actor: Actor, kind: str, data: dict[str, Any]) -> Record:
    contractor = _own_contractor(session, actor)
    if kind not in CONTRACTOR_KINDS:
        raise Forbidden(
            "承包单位不能填报该类信息", f"contractors do not file {kind}", code="kind_not_allowed"
        )
    data = validate_partial(kind, data, actor)
    _check_contractor_fields(kind, data, contractor)
    check_attachment_refs(session, contractor.id, data)
    if kind == RecordKind.BASIC_INFO:
        existing = session.exec(
            select(Record.id).where(
                Record.contractor_id == contractor.id, Record.kind == RecordKind.BASIC_INFO
            )
        ).first()
        if existing:
            raise Conflict(
                "基本情况已存在，请修改现有记录",
                "basic info already exists: edit the existing record",
                code="basic_info_exists",
                record_id=str(existing),
            )
    record = Record(
        kind=kind,
        contractor_id=contractor.id,
        state=ReviewState.DRAFT,
        created_by=actor.user_id,
        created_at=actor.now,
        updated_at=actor.now,
    )
    session.add(record)
    session.flush()
    session.add(
        RecordVersion(
            record_id=record.id,
            version_no=1,
            state=ReviewState.DRAFT,
            data=data,
            review_division=review_division(kind, data, contractor),
            created_by=actor.user_id,
            created_at=actor.now,
        )
    )
    session.flush()
    reindex(session, record, contractor)
    record_event(session, actor, "filing.draft_created", kind, record.id, {"version": 1})
    return record


def _editable(session: Session, actor: Actor, record_id: uuid.UUID) -> tuple[Record, Contractor]:
    contractor = _own_contractor(session, actor)
    record = get_visible(session, actor, record_id, for_update=True)
    if record.entered_by_regulator:
        raise Forbidden(
            "监管部门录入的信息不能由承包单位修改",
            "records entered by a regulator cannot be edited by the contractor",
            code="not_editable",
        )
    return record, contractor


def update_draft(
    session: Session, actor: Actor, record_id: uuid.UUID, changes: dict[str, Any]
) -> Record:
    """Merge ``changes`` into the draft; editing an approved or returned record starts
    a new version from its latest data."""
    record, contractor = _editable(session, actor, record_id)
    changes = validate_partial(record.kind, changes, actor)
    _check_contractor_fields(record.kind, changes, contractor)
    check_attachment_refs(session, contractor.id, changes)
    latest = get_version(session, record, record.latest_version_no)
    if record.state == ReviewState.SUBMITTED:
        raise Conflict(
            "该记录正在审核中，不能修改；如需修改请先撤回",
            "under review: withdraw it before editing",
            code="under_review",
        )
    merged = {**latest.data, **changes}
    _check_location_kept(record, merged)
    division = review_division(record.kind, merged, contractor)
    if record.state == ReviewState.DRAFT:
        latest.data = merged
        latest.review_division = division
        session.add(latest)
        action, version_no = "filing.draft_updated", latest.version_no
    else:
        version_no = record.latest_version_no + 1
        session.add(
            RecordVersion(
                record_id=record.id,
                version_no=version_no,
                state=ReviewState.DRAFT,
                data=merged,
                review_division=division,
                created_by=actor.user_id,
                created_at=actor.now,
            )
        )
        record.latest_version_no = version_no
        record.state = ReviewState.DRAFT
        action = "filing.new_version"
    record.updated_at = actor.now
    session.add(record)
    session.flush()
    reindex(session, record, contractor)
    record_event(
        session,
        actor,
        action,
        record.kind,
        record.id,
        {"version": version_no, "fields": sorted(changes)},
    )
    return record


def _check_location_kept(record: Record, merged: dict[str, Any]) -> None:
    """A department's location province decides its owner node, so it cannot change once
    a version was submitted there or published: a move is a new department."""
    if record.kind != RecordKind.PROJECT_DEPARTMENT:
        return
    settled = record.owner_node is not None or record.current_version_no is not None
    if settled and merged.get("province_code") != record.province_code:
        raise InvalidInput(
            "项目部所在省份不能变更；如项目部迁往他省，请新建项目部",
            "the location province of a project department cannot change once filed: "
            "file a new project department",
            code="province_fixed",
            field="province_code",
        )


def located_elsewhere(record: Record, data: dict[str, Any], contractor: Contractor) -> bool:
    """A project department in another province than the contractor's home: owned there."""
    return record.kind == RecordKind.PROJECT_DEPARTMENT and data.get("province_code") not in (
        None,
        contractor.home_province_code,
    )


def submit(session: Session, actor: Actor, record_id: uuid.UUID) -> Record:
    record, contractor = _editable(session, actor, record_id)
    if record.state != ReviewState.DRAFT:
        raise Conflict(
            "只有草稿可以提交审核",
            f"only a draft can be submitted (state: {record.state})",
            code="not_a_draft",
        )
    latest = get_version(session, record, record.latest_version_no)
    latest.data = validate_complete(record.kind, latest.data, actor)
    _check_contractor_fields(record.kind, latest.data, contractor)
    check_attachment_refs(session, contractor.id, latest.data)
    latest.state = ReviewState.SUBMITTED
    latest.submitted_at = actor.now
    latest.review_division = review_division(record.kind, latest.data, contractor)
    record.state = ReviewState.SUBMITTED
    record.updated_at = actor.now
    session.add_all([latest, record])
    session.flush()
    reindex(session, record, contractor)
    record_event(
        session,
        actor,
        "filing.submitted",
        record.kind,
        record.id,
        {"version": latest.version_no, "review_division": latest.review_division},
    )
    if located_elsewhere(record, latest.data, contractor):
        # Reviewed by the location province: relayed in this transaction.
        crossprov.relay_submission(session, record, latest, contractor, actor.now)
    return record


def withdraw(session: Session, actor: Actor, record_id: uuid.UUID) -> Record:
    """Take a submitted version back to draft before it is decided."""
    record, _ = _editable(session, actor, record_id)
    if record.state != ReviewState.SUBMITTED:
        raise Conflict(
            "只有待审核的记录可以撤回",
            "only a submitted record can be withdrawn",
            code="not_submitted",
        )
    latest = get_version(session, record, record.latest_version_no)
    latest.state = ReviewState.DRAFT
    latest.submitted_at = None
    record.state = ReviewState.DRAFT
    record.updated_at = actor.now
    if record.owner_node is not None:
        crossprov.relay_withdrawal(session, record, latest.version_no, actor.now)
        if latest.version_no == 1:
            # The location node forgets a filing it never decided: the draft is home's again.
            record.owner_node = None
    session.add_all([latest, record])
    record_event(
        session, actor, "filing.withdrawn", record.kind, record.id, {"version": latest.version_no}
    )
    return record


def delete_draft(session: Session, actor: Actor, record_id: uuid.UUID) -> Record | None:
    """Delete the draft version; a record that never got past draft goes entirely.
    Returns the record if it still exists."""
    record, contractor = _editable(session, actor, record_id)
    if record.state != ReviewState.DRAFT:
        raise Conflict("只有草稿可以删除", "only a draft can be deleted", code="not_a_draft")
    latest = get_version(session, record, record.latest_version_no)
    session.delete(latest)
    session.flush()
    detail = {"version": latest.version_no}
    if latest.version_no == 1:
        session.delete(record)
        session.flush()
        record_event(session, actor, "filing.deleted", record.kind, record.id, detail)
        return None
    previous = get_version(session, record, latest.version_no - 1)
    record.latest_version_no = previous.version_no
    record.state = previous.state
    record.updated_at = actor.now
    session.add(record)
    session.flush()
    reindex(session, record, contractor)
    record_event(session, actor, "filing.draft_deleted", record.kind, record.id, detail)
    return record


# ---------------------------------------------------------------- review


def _decidable(
    session: Session, actor: Actor, record_id: uuid.UUID, version_no: int
) -> tuple[Record, RecordVersion]:
    if not actor.is_regulator:
        raise Forbidden("仅监管部门可以审核", "only regulators review", code="role_not_allowed")
    record = get_visible(session, actor, record_id, for_update=True)
    if record.owner_node is not None:
        raise Forbidden(
            f"该项目部由所在省（{record.owner_node}）审核，本省只读",
            f"reviewed by the location province's node {record.owner_node}: read-only here",
            code="owned_elsewhere",
        )
    if record.state != ReviewState.SUBMITTED:
        raise Conflict(
            "该记录不在待审核状态",
            f"record is not awaiting review (state: {record.state})",
            code="not_submitted",
        )
    if version_no != record.latest_version_no:
        raise Conflict(
            f"审核的版本已变化（当前为第{record.latest_version_no}版），请刷新后再审核",
            f"version {version_no} is not the version under review ({record.latest_version_no})",
            code="version_mismatch",
        )
    version = get_version(session, record, version_no)
    if not may_review(actor.role, actor.division_code, version.review_division):
        raise Forbidden(
            "该记录不属于本级审核范围",
            f"review of {version.review_division} is not within your level and jurisdiction",
            code="not_your_review",
        )
    return record, version


def approve(session: Session, actor: Actor, record_id: uuid.UUID, version_no: int) -> Record:
    record, version = _decidable(session, actor, record_id, version_no)
    version.state = ReviewState.APPROVED
    version.decided_at = actor.now
    version.decided_by = actor.user_id
    record.state = ReviewState.APPROVED
    record.current_version_no = version.version_no
    record.updated_at = actor.now
    record.published_at = actor.now
    session.add_all([version, record])
    session.flush()
    contractor = session.get(Contractor, record.contractor_id)
    assert contractor is not None
    if record.kind == RecordKind.BASIC_INFO:
        contractor.name = str(version.data.get("name") or contractor.name)
        contractor.central_soe = bool(version.data.get("central_soe"))
        session.add(contractor)
    reindex(session, record, contractor)
    record_event(
        session, actor, "review.approved", record.kind, record.id, {"version": version.version_no}
    )
    # Approval publishes: signed into the outbox in this same transaction.
    publish_record(session, record, version, actor)
    if record.home_node is not None:
        crossprov.relay_decision(session, record, version, actor.now)
    return record


REASON_MAX_CHARS = 2000


def required_reason(raw: str | None, *, field: str, what_zh: str, what_en: str) -> str:
    """The reason a decision or correction gives, stripped: at least 2, at most 2000
    characters (the column's width)."""
    reason = (raw or "").strip()
    if len(reason) < 2:
        raise InvalidInput(
            f"{what_zh}须填写理由", f"{what_en} needs a reason", code="reason_required", field=field
        )
    if len(reason) > REASON_MAX_CHARS:
        raise InvalidInput(
            f"{what_zh}理由过长，最多 {REASON_MAX_CHARS} 个字符",
            f"the reason is too long (at most {REASON_MAX_CHARS} characters)",
            code="reason_too_long",
            field=field,
        )
    return reason


def return_for_changes(
    session: Session, actor: Actor, record_id: uuid.UUID, version_no: int, reason: str
) -> Record:
    reason = required_reason(reason, field="reason", what_zh="退回", what_en="a return")
    record, version = _decidable(session, actor, record_id, version_no)
    version.state = ReviewState.RETURNED
    version.decided_at = actor.now
    version.decided_by = actor.user_id
    version.return_reason = reason
    record.state = ReviewState.RETURNED
    record.updated_at = actor.now
    session.add_all([version, record])
    record_event(
        session,
        actor,
        "review.returned",
        record.kind,
        record.id,
        {"version": version.version_no, "reason": reason},
    )
    if record.home_node is not None:
        crossprov.relay_decision(session, record, version, actor.now)
    return record
