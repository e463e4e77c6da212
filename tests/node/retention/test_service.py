"""Five-year retention at one node: what is due, what goes with it, what is kept."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlmodel import Session, func, select

from node.attachments import service as attachments
from node.attachments.storage import FilesystemStorage
from node.entry import service as entry
from node.filing import service as filing
from node.models import (
    Attachment,
    AuditEvent,
    Contractor,
    NodeTombstone,
    Record,
    RecordVersion,
    User,
)
from node.retention.service import cutoff_instant, plan, run
from schemas.enums import AttachmentPurpose, RecordKind
from sync.tables import OutboxMessage
from tests.node.attachments.samples import pdf_bytes
from tests.node.entry.conftest import accident_form
from tests.node.factories import NOW, basic_info, project_department
from tests.node.sync.conftest import NODE, actor_for

FIVE_YEARS_ON = date(2031, 6, 15)  # NOW is 2026-06-15 10:00 in Beijing


def count(session: Session, model, *where) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def test_the_cutoff_is_the_china_date_five_years_back_that_day_included():
    assert cutoff_instant(date(2031, 6, 15)).isoformat() == "2026-06-16T00:00:00+08:00"
    # Entered on 29 February 2024: five years on there is no such day, it goes on 1 March.
    assert cutoff_instant(date(2029, 2, 28)).isoformat() == "2024-02-29T00:00:00+08:00"
    assert cutoff_instant(date(2029, 3, 1)).isoformat() == "2024-03-02T00:00:00+08:00"
    # A leap as-of day five years after a common year: the 28th is the last day due.
    assert cutoff_instant(date(2028, 2, 29)).isoformat() == "2023-03-01T00:00:00+08:00"


def test_a_department_goes_with_its_accidents_and_attachments_and_then_its_contractor(
    session, factory, province, enrolled, tmp_path
):
    storage = FilesystemStorage(tmp_path / "attachments")
    contractor_actor = actor_for(province.contractor_user)
    scan = attachments.upload(
        session,
        storage,
        contractor_actor,
        stream=io.BytesIO(pdf_bytes()),
        filename="书面报告.pdf",
        purpose=AttachmentPurpose.OTHER,
        max_bytes=1 << 20,
    )
    ref = {
        "id": str(scan.id),
        "sha256": scan.sha256,
        "filename": scan.filename,
        "media_type": scan.media_type,
        "size_bytes": scan.size_bytes,
        "purpose": scan.purpose,
    }
    first = province.submitted_department(attachments=[ref])
    province.approve(session, first.id)
    later_actor = actor_for(province.contractor_user, NOW + timedelta(days=30))
    second = filing.create_draft(
        session, later_actor, RecordKind.PROJECT_DEPARTMENT, project_department()
    )
    filing.submit(session, later_actor, second.id)
    province.approve(session, second.id)
    accident = entry.enter(
        session,
        actor_for(province.county),
        RecordKind.ACCIDENT,
        accident_form(province.contractor, project_department_id=str(first.id)),
    )
    info = filing.create_draft(
        session, contractor_actor, RecordKind.BASIC_INFO, basic_info(province.contractor)
    )
    filing.submit(session, contractor_actor, info.id)
    filing.approve(session, actor_for(province.admin), info.id, 1)
    session.commit()
    first_id, second_id, accident_id = first.id, second.id, accident.id
    scan_id, scan_key = scan.id, scan.storage_key

    day_before = plan(session, FIVE_YEARS_ON - timedelta(days=1), "150000")
    assert day_before.counts() == {
        "project_departments": 0,
        "accidents": 0,
        "attachments": 0,
        "contractors": 0,
    }
    due = plan(session, FIVE_YEARS_ON, "150000")
    assert due.counts() == {
        "project_departments": 1,
        "accidents": 1,
        "attachments": 1,
        "contractors": 0,
    }
    assert [d["record_id"] for d in due.departments] == [str(first_id)]

    def go(as_of: date):
        return run(
            factory,
            as_of=as_of,
            now=NOW + timedelta(days=5 * 366),
            own_node=NODE,
            publisher=enrolled,
            storage=storage,
        )

    report = go(FIVE_YEARS_ON)
    assert (report.project_departments, report.accidents, report.attachments) == (1, 1, 1)
    session.expire_all()
    assert session.get(Record, first_id) is None and session.get(Record, accident_id) is None
    assert count(session, RecordVersion, RecordVersion.record_id.in_([first_id, accident_id])) == 0
    assert session.get(Attachment, scan_id) is None
    assert not storage.exists(scan_key), "the bytes go with the last row"
    tombstones = session.exec(
        select(OutboxMessage).where(OutboxMessage.kind == "record.tombstone")
    ).all()
    assert sorted(t.envelope["payload"]["record_id"] for t in tombstones) == sorted(
        [str(first_id), str(accident_id)]
    )
    assert {t.envelope["payload"]["reason"] for t in tombstones} == {"retention"}
    assert count(session, NodeTombstone) == 2
    facts = session.exec(
        select(AuditEvent).where(AuditEvent.action == "retention.record_deleted")
    ).all()
    assert len(facts) == 2
    assert not any("项目部" in str(f.detail) or "张" in str(f.detail) for f in facts)

    assert go(FIVE_YEARS_ON).project_departments == 0, "a second run finds nothing"
    assert session.get(Contractor, province.contractor.id).deleted_at is None

    # A month later the last department goes, and the contractor's information with it.
    assert plan(session, FIVE_YEARS_ON + timedelta(days=30), "150000").contractors == [
        province.contractor.uscc
    ]
    report = go(FIVE_YEARS_ON + timedelta(days=30))
    assert (report.project_departments, report.contractors) == (1, 1)
    session.expire_all()
    assert session.get(Record, second_id) is None
    assert count(session, Record, Record.contractor_id == province.contractor.id) == 0
    assert session.get(Contractor, province.contractor.id).deleted_at is not None
    assert session.get(User, province.contractor_user.id) is not None, "the account stays"
    kinds = [
        t.envelope["payload"]["kind"]
        for t in session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "record.tombstone")
        ).all()
    ]
    assert sorted(kinds) == ["accident", "basic_info", "project_department", "project_department"]


def test_a_node_not_enrolled_deletes_all_the_same(session, factory, province, tmp_path):
    record = province.submitted_department()
    session.commit()
    record_id = record.id
    report = run(
        factory,
        as_of=FIVE_YEARS_ON,
        now=NOW,
        own_node=NODE,
        publisher=None,
        storage=FilesystemStorage(tmp_path),
    )
    assert report.project_departments == 1
    session.expire_all()
    assert session.get(Record, record_id) is None
    assert count(session, OutboxMessage) == 0
