"""A small province to query: contractors, their records in three counties, accidents.

Today (the tests' fixed clock) is 2026-06-15 in Beijing; licences and inspections
are placed around it so that each Order No. 62 flag is raised on known records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from node.filing.indexing import apply_index
from node.models import Contractor, Record, RecordVersion
from node.principal import Actor
from schemas.enums import RecordKind, ReviewState, Role
from tests.node.factories import (
    NOW,
    basic_info,
    licence,
    make_contractor,
    make_user,
    project_department,
    reward_penalty,
    token_for,
)


def accident(contractor: Contractor, county: str, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "occurred_at": "2026-03-10T09:30:00+08:00",
        "province_code": county[:2] + "0000",
        "city_code": county[:4] + "00",
        "county_code": county,
        "enterprise": "内蒙古某矿业有限公司某铁矿",
        "site": "东矿-230m水平3号采场",
        "deaths": 1,
        "serious_injuries": 0,
        "direct_loss_yuan": 1_200_000,
        "cause_direct": "顶板浮石未及时处理，冒落伤人",
        "cause_indirect": "安全检查不到位",
        "categories": [11],
        "responsible_party": "contractor",
        "contractor_uscc": contractor.uscc,
        "description": "顶板冒落，1人死亡",
    }
    data.update(over)
    return data


def add_record(
    session: Session,
    contractor: Contractor,
    kind: RecordKind,
    data: dict[str, Any],
    *,
    state: ReviewState = ReviewState.APPROVED,
    days_ago: int = 10,
    by_regulator: bool = False,
) -> Record:
    """A record with one version in ``state``, its index columns derived as the
    workflow derives them; approved records are published."""
    at = NOW - timedelta(days=days_ago)
    approved = state == ReviewState.APPROVED
    record = Record(
        kind=kind,
        contractor_id=contractor.id,
        state=state,
        current_version_no=1 if approved else None,
        created_at=at,
        updated_at=at + timedelta(hours=1),
        published_at=at + timedelta(hours=1) if approved else None,
        entered_by_regulator=by_regulator,
    )
    apply_index(record, data, contractor)
    session.add(record)
    session.flush()
    session.add(
        RecordVersion(
            record_id=record.id,
            version_no=1,
            state=state,
            data=data,
            review_division=record.county_code or contractor.home_province_code,
            created_at=at,
        )
    )
    session.flush()
    return record


def actor_of(role: str, division: str, contractor: Contractor | None = None) -> Actor:
    """An actor without a user row, for service-level checks."""
    return Actor(
        user_id=uuid.uuid4(),
        username=f"{role}-{division}",
        role=role,
        division_code=division,
        contractor_id=contractor.id if contractor else None,
        client_address=None,
        now=NOW,
    )


@dataclass
class Province:
    contractors: dict[str, Contractor] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def ids(self, *names: str) -> set[str]:
        return {str(self.records[n].id) for n in names}

    def all_but(self, *names: str) -> set[str]:
        return self.ids(*(n for n in self.records if n not in names))

    def in_province(self) -> set[str]:
        """Every record a regulator of 150000 sees: all but the Beijing contractor's
        basic info."""
        return self.all_but("c_basic")


@pytest.fixture
def province(session) -> Province:
    p = Province()
    a = make_contractor(session, name="内蒙古恒信矿山工程有限公司")
    b = make_contractor(session, name="包头宏达铁矿建设有限公司")
    c = make_contractor(session, name="北京中矿建设集团有限公司", province="110000")
    p.contractors = {"a": a, "b": b, "c": c}
    r = p.records
    pd, lic = RecordKind.PROJECT_DEPARTMENT, RecordKind.LICENCE

    # Contractor A: everything in order but its licences, one department unsigned.
    r["a_basic"] = add_record(session, a, RecordKind.BASIC_INFO, basic_info(a), days_ago=200)
    r["a_lic_expired"] = add_record(
        session,
        a,
        lic,
        licence(safety_licence_no="(蒙)FM安许证字〔2023〕0007", valid_to="2026-06-01"),
        days_ago=150,
    )
    r["a_lic_expiring"] = add_record(
        session,
        a,
        lic,
        licence(safety_licence_no="(蒙)FM安许证字〔2023〕0008", valid_to="2026-08-01"),
        days_ago=140,
    )
    r["a_pd_102"] = add_record(
        session, a, pd, project_department("150102", start_month="2026-01"), days_ago=120
    )
    r["a_pd_103"] = add_record(
        session,
        a,
        pd,
        project_department("150103", project_name="白云铁矿剥离工程项目部", agreement_signed=False),
        days_ago=100,
    )
    r["a_pd_draft"] = add_record(
        session,
        a,
        pd,
        project_department("150102", project_name="某铜矿掘进工程项目部", agreement_signed=False),
        state=ReviewState.DRAFT,
        days_ago=5,
    )
    r["a_penalty"] = add_record(
        session,
        a,
        RecordKind.REWARD_PENALTY,
        reward_penalty(
            a, kind="penalty", document_no="呼应急罚〔2026〕15号", decided_on="2026-04-01"
        ),
        days_ago=70,
        by_regulator=True,
    )

    # Contractor B: a department overdue for inspection and not reported, one returned.
    r["b_basic"] = add_record(
        session, b, RecordKind.BASIC_INFO, basic_info(b), state=ReviewState.SUBMITTED, days_ago=60
    )
    r["b_lic"] = add_record(
        session,
        b,
        lic,
        licence(safety_licence_no="(蒙)FM安许证字〔2024〕0100", valid_to="2027-12-31"),
        days_ago=55,
    )
    r["b_pd_203"] = add_record(
        session,
        b,
        pd,
        project_department(
            "150203",
            project_name="白云鄂博铁矿露天采矿项目部",
            start_month="2025-06",
            inspections=[{"date": "2025-11-01", "participants": ["刘强"]}],
            written_report=False,
        ),
        days_ago=50,
    )
    r["b_pd_formula"] = add_record(
        session,
        b,
        pd,
        project_department("150102", project_name='=HYPERLINK("http://x","点击")'),
        state=ReviewState.RETURNED,
        days_ago=30,
    )

    # Contractor C, from Beijing, working in Baotou.
    r["c_basic"] = add_record(session, c, RecordKind.BASIC_INFO, basic_info(c), days_ago=300)
    r["c_pd_203"] = add_record(
        session,
        c,
        pd,
        project_department("150203", project_name="@SUM(1+1)石灰石矿项目部"),
        days_ago=20,
    )

    # Accidents entered by regulators.
    r["acc_102"] = add_record(
        session, a, RecordKind.ACCIDENT, accident(a, "150102"), days_ago=90, by_regulator=True
    )
    r["acc_203"] = add_record(
        session,
        b,
        RecordKind.ACCIDENT,
        accident(
            b,
            "150203",
            occurred_at="2026-05-20T14:00:00+08:00",
            deaths=3,
            enterprise="包头某铁矿",
        ),
        days_ago=25,
        by_regulator=True,
    )

    users = {
        "province": make_user(session, Role.PROVINCIAL_REGULATOR, "150000"),
        "admin": make_user(session, Role.PROVINCIAL_ADMIN, "150000"),
        "city_huhhot": make_user(session, Role.MUNICIPAL_REGULATOR, "150100"),
        "city_baotou": make_user(session, Role.MUNICIPAL_REGULATOR, "150200"),
        "county_102": make_user(session, Role.COUNTY_REGULATOR, "150102"),
        "county_103": make_user(session, Role.COUNTY_REGULATOR, "150103"),
        "contractor_a": make_user(session, Role.CONTRACTOR, "150102", contractor=a),
        "contractor_b": make_user(session, Role.CONTRACTOR, "150200", contractor=b),
        "national": make_user(session, Role.NATIONAL_STAFF, "150000"),
    }
    p.headers = {name: token_for(session, user) for name, user in users.items()}
    return p


def ids_of(body: dict[str, Any]) -> set[str]:
    return {item["id"] for item in body["items"]}
