"""A hub populated through the real ingest path (signed pushes with disclosures), so
that personal data really is in what the hub holds and must be masked on the way out."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from central.config import CentralSettings
from schemas.enums import RecordKind
from tests.central.support import contractor, ok
from tests.node import factories


def accident(uscc: str, county: str = "150102", **over):
    data = {
        "occurred_at": "2026-03-10T09:30:00+08:00",
        "province_code": county[:2] + "0000",
        "city_code": county[:4] + "00",
        "county_code": county,
        "enterprise": "某铁矿",
        "site": "-230m水平3号采场",
        "deaths": 1,
        "serious_injuries": 2,
        "direct_loss_yuan": 1_850_000,
        "cause_direct": "顶板浮石未及时处理，冒落伤人",
        "cause_indirect": "安全检查不到位",
        "categories": [11],
        "responsible_party": "contractor",
        "contractor_uscc": uscc,
        "description": "作业人员在3号采场出矿时顶板冒落",
    }
    data.update(over)
    return data


def people(start: int, division: str) -> dict:
    return {
        "head": factories.person(start, division),
        "safety_managers": [factories.person(start + 1, division)],
        "technical_staff": [factories.person(start + 2, division)],
    }


@pytest.fixture
def settings(hub_db_url: str, tmp_path) -> CentralSettings:
    """The hub's test settings with a burst no test here reaches (the limit has its own
    tests, test_rate_limit.py; the test clock does not move, so buckets never refill)."""
    return CentralSettings(
        environment="test",
        database_url=hub_db_url,
        key_file=tmp_path / "absent-hub-key.pem",
        max_batch=20,
        public_rate_burst=100_000,
        public_export_per_hour=100_000,
    )


@pytest.fixture
def populated(client, inner, shanxi):
    """Two provinces' nodes, three contractors, every kind of record, one tombstone.

    - Inner Mongolia's firm: basic info, a valid and an expiring licence, three
      project departments (one without an agreement and never inspected, one
      withdrawn), an accident, a penalty and a reward;
    - Shanxi's firm: basic info, an expired licence, a project department;
    - a second Inner Mongolia firm with only a project department (no basic info).
    """
    firm = inner.firm
    other = contractor("150000", 2)
    messages = [
        inner.publish("bi-1", factories.basic_info(firm), kind=RecordKind.BASIC_INFO),
        inner.publish("lic-1", factories.licence(), kind=RecordKind.LICENCE),
        inner.publish(
            "lic-2",
            factories.licence(
                safety_licence_no="(蒙)FM安许证字〔2023〕0099",
                valid_from="2023-08-01",
                valid_to="2026-08-01",
                qualification_grade="first",
            ),
            kind=RecordKind.LICENCE,
        ),
        inner.publish(
            "pd-1",
            factories.project_department("150102", **people(10, "150102")),
        ),
        inner.publish(
            "pd-2",
            factories.project_department(
                "150206",
                project_name="白云鄂博东矿剥离工程项目部",
                agreement_signed=False,
                agreement_date=None,
                start_month="2025-09",
                inspections=[],
                **people(20, "150206"),
            ),
            county="150206",
        ),
        inner.publish(
            "pd-gone",
            factories.project_department(
                "150102", project_name="已撤回的保密项目部", **people(30, "150102")
            ),
        ),
        inner.publish("acc-1", accident(firm.uscc), kind=RecordKind.ACCIDENT),
        inner.publish(
            "rp-1",
            factories.reward_penalty(
                firm, kind="penalty", document_no="包应急罚〔2026〕15号", description="未按规定检查"
            ),
            kind=RecordKind.REWARD_PENALTY,
        ),
        inner.publish("rp-2", factories.reward_penalty(firm), kind=RecordKind.REWARD_PENALTY),
    ]
    assert ok(inner.push(client, messages))["applied"] == len(messages)
    assert ok(inner.push(client, [inner.tombstone("pd-gone")]))["applied"] == 1

    inner.firm, firm_in = other, firm
    lone = inner.publish("pd-other", factories.project_department("150102", **people(40, "150102")))
    assert ok(inner.push(client, [lone]))["applied"] == 1
    inner.firm = firm_in

    shanxi_firm = shanxi.firm
    shanxi_messages = [
        shanxi.publish(
            "sx-bi",
            factories.basic_info(
                shanxi_firm,
                registered_address="山西省太原市小店区",
                contact_phone="13935112345",
            ),
            kind=RecordKind.BASIC_INFO,
        ),
        shanxi.publish(
            "sx-lic",
            factories.licence(valid_from="2023-01-01", valid_to="2026-01-31"),
            kind=RecordKind.LICENCE,
        ),
        shanxi.publish(
            "sx-pd",
            factories.project_department("140105", **people(50, "140105")),
            county="140105",
        ),
    ]
    assert ok(shanxi.push(client, shanxi_messages))["applied"] == len(shanxi_messages)
    return SimpleNamespace(
        firm=firm,
        other=other,
        shanxi_firm=shanxi_firm,
        secrets=_secrets([*messages, lone, *shanxi_messages]),
    )


def _secrets(messages) -> set[str]:
    """Every concealed value the nodes disclosed to the hub (ID numbers, phones)."""
    return {
        str(d["value"])
        for m in messages
        for d in m["disclosures"]
        if isinstance(d["value"], str | int)
    }
