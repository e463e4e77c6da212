"""Order No. 62 flags over published forms (schemas/flags.py)."""

from __future__ import annotations

from datetime import date

from schemas.enums import FlagCode
from schemas.flags import department_flags, licence_flags, record_flags

TODAY = date(2026, 6, 15)


def test_licence_expired_expiring_and_valid():
    assert licence_flags({"valid_to": "2026-06-14"}, TODAY) == [FlagCode.LICENCE_EXPIRED]
    assert licence_flags({"valid_to": "2026-06-15"}, TODAY) == [FlagCode.LICENCE_EXPIRING]
    assert licence_flags({"valid_to": "2026-09-13"}, TODAY) == [FlagCode.LICENCE_EXPIRING]
    assert licence_flags({"valid_to": "2026-09-14"}, TODAY) == []
    assert licence_flags({}, TODAY) == []


def department(**over):
    data = {
        "agreement_signed": True,
        "written_report": True,
        "start_month": "2026-01",
        "expected_end_month": "2027-12",
        "inspections": [{"date": "2026-05-10"}],
    }
    data.update(over)
    return data


def test_a_compliant_department_has_no_flags():
    assert department_flags(department(), TODAY) == []


def test_agreement_and_written_report():
    flags = department_flags(department(agreement_signed=False, written_report=False), TODAY)
    assert flags == [FlagCode.AGREEMENT_NOT_SIGNED, FlagCode.NO_WRITTEN_REPORT]


def test_inspection_overdue_counts_from_the_last_inspection_or_the_start():
    # 2025-12-13 is 184 days before 2026-06-15: overdue; 2025-12-14 (183 days) is not.
    assert department_flags(department(inspections=[{"date": "2025-12-13"}]), TODAY) == [
        FlagCode.INSPECTION_OVERDUE
    ]
    assert department_flags(department(inspections=[{"date": "2025-12-14"}]), TODAY) == []
    never = department(inspections=[], start_month="2025-09")
    assert department_flags(never, TODAY) == [FlagCode.INSPECTION_OVERDUE]
    assert department_flags(department(inspections=[], start_month="2026-03"), TODAY) == []


def test_a_finished_department_is_not_overdue():
    done = department(inspections=[], start_month="2024-01", expected_end_month="2026-05")
    assert department_flags(done, TODAY) == []
    running_this_month = department(
        inspections=[], start_month="2024-01", expected_end_month="2026-06"
    )
    assert department_flags(running_this_month, TODAY) == [FlagCode.INSPECTION_OVERDUE]


def test_kinds_without_rules_and_deleted_content():
    assert record_flags("accident", {"deaths": 3}, TODAY) == []
    assert record_flags("licence", None, TODAY) == []
    assert record_flags("licence", {"valid_to": "2020-01-01"}, TODAY) == [FlagCode.LICENCE_EXPIRED]
