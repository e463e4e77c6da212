"""The queries can use the indexes of migration 0002 (and 0001's trigram index).

A few thousand rows, analysed; the planner is told to avoid sequential scans
(and, for the filters, plain index scans, so that a walk of the primary key does
not stand in for a real lookup). The test thus checks what matters without
flaking on cost estimates: that each index *can* serve its query shape (a wrong
operator class or collation would make it unusable). On 20,000 rows the planner
picks the same indexes by itself.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlmodel import col, func, select

from node.models import AuditEvent, Contractor, Record
from node.queries import repository
from node.queries.repository import FlagContext
from node.queries.schemas import RecordFilters
from schemas.enums import RecordKind, ReviewState, Role
from schemas.identifiers import make_uscc
from tests.node.queries.conftest import actor_of

COUNTIES = ["150102", "150103", "150202", "150203", "150302"]
WORDS = ["铁矿", "铜矿", "石灰石矿", "萤石矿"]


@pytest.fixture
def many(session) -> list[uuid.UUID]:
    contractors = [
        {
            "id": uuid.uuid4(),
            "uscc": make_uscc("150102", f"9{n:07d}"),
            "name": f"内蒙古{WORDS[n % 4]}第{n}工程有限公司",
            "home_province_code": "150000",
            "central_soe": False,
            "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        }
        for n in range(200)
    ]
    session.execute(insert(Contractor), contractors)
    kinds = itertools.cycle(["project_department"] * 3 + ["licence", "accident"])
    rows: list[dict[str, Any]] = []
    for n in range(3000):
        kind = next(kinds)
        county = COUNTIES[n % 5] if kind != "licence" else None
        at = datetime(2026, 6, 1, tzinfo=UTC) - timedelta(hours=n)
        rows.append(
            {
                "id": uuid.uuid4(),
                "kind": kind,
                "contractor_id": contractors[n % 200]["id"],
                "state": ["draft", "approved", "approved", "submitted"][n % 4],
                "latest_version_no": 1,
                "current_version_no": 1,
                "created_at": at,
                "updated_at": at,
                "entered_by_regulator": False,
                "title": f"{WORDS[n % 4]}{n}号项目部",
                "province_code": "150000",
                "city_code": county[:4] + "00" if county else None,
                "county_code": county,
                "central_soe": False,
                "event_on": date(2026, 1, 1) + timedelta(days=n % 150),
                "valid_to": date(2026, 6, 1) + timedelta(days=n % 400),
            }
        )
    session.execute(insert(Record), rows)
    session.execute(text("ANALYZE record, contractor"))
    session.execute(text("SET LOCAL enable_seqscan = off"))
    return [c["id"] for c in contractors]


def plan(session, stmt) -> str:
    compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    sql = str(compiled).replace("%%", "%")
    (row,) = session.execute(text("EXPLAIN (FORMAT JSON) " + sql)).one()
    return json.dumps(row, ensure_ascii=False)


FLAGS = FlagContext(date(2026, 6, 15), 90, 183)


def records_count(actor, filters):
    where = repository.conditions(actor, filters, FLAGS)
    return select(func.count()).select_from(Record).where(*where)


def records_page(actor, filters, sort="-updated_at"):
    where = repository.conditions(actor, filters, FLAGS)
    return (
        select(Record, Contractor)
        .join(Contractor, col(Contractor.id) == col(Record.contractor_id))
        .where(*where)
        .order_by(*repository.order_by(sort))
        .limit(20)
    )


FILTER_SHAPES = [
    (
        actor_of(Role.COUNTY_REGULATOR, "150102"),
        RecordFilters(kind=RecordKind.PROJECT_DEPARTMENT, state=ReviewState.APPROVED),
        "ix_record_kind_county_state",
    ),
    (
        actor_of(Role.MUNICIPAL_REGULATOR, "150200"),
        RecordFilters(kind=RecordKind.ACCIDENT),
        "ix_record_kind_county_state",
    ),
    (
        actor_of(Role.PROVINCIAL_REGULATOR, "150000"),
        RecordFilters(q="石灰石矿12"),
        "ix_record_title_trgm",
    ),
    (
        actor_of(Role.PROVINCIAL_REGULATOR, "150000"),
        RecordFilters(q="萤石矿第1"),
        "ix_contractor_name_trgm",
    ),
]


def test_each_query_shape_can_use_its_index(session, many):
    # One test over one data set: building it is the slow part.
    page = records_page(actor_of(Role.PROVINCIAL_REGULATOR, "150000"), RecordFilters())
    assert "ix_record_updated_at" in plan(session, page)

    contractor = Contractor(id=many[3], uscc="x", name="x", home_province_code="150000")
    own = records_count(
        actor_of(Role.CONTRACTOR, "150000", contractor), RecordFilters(kind=RecordKind.LICENCE)
    )
    assert "ix_record_contractor_kind" in plan(session, own)
    assert session.exec(own).one() == 15  # contractor 3 has every 200th record: licences

    by_actor = (
        select(AuditEvent)
        .where(col(AuditEvent.actor_username) == "admin")
        .order_by(col(AuditEvent.at).desc())
        .limit(20)
    )
    assert "ix_audit_event_actor_username_at" in plan(session, by_actor)

    # Bitmap scans only from here: a full walk of the primary key is no evidence.
    session.execute(text("SET LOCAL enable_indexscan = off"))
    for actor, filters, index in FILTER_SHAPES:
        assert index in plan(session, records_count(actor, filters)), (filters, index)
