"""DOMAIN rule: a contractor with a 较大-or-worse accident, or three or more 一般 accidents
in one year, is reported to the authority that issued its licence."""

from __future__ import annotations

from schemas.enums import Role
from tests.node.entry.conftest import accident_form
from tests.node.factories import licence, make_contractor, make_user, token_for

REPORT = "/api/v1/accidents/report-to-licensing-authority"


def _enter(client, headers, contractor, occurred_at, county="150102", deaths=1):
    response = client.post(
        "/api/v1/accidents",
        headers=headers,
        json=accident_form(contractor, county=county, occurred_at=occurred_at, deaths=deaths),
    )
    assert response.status_code == 201, response.text


def _reported(client, headers, year=2026):
    response = client.get(REPORT, headers=headers, params={"year": year})
    assert response.status_code == 200, response.text
    return {i["contractor_uscc"]: i for i in response.json()["items"]}


def test_the_report_rule(client, session, province_headers):
    one_larger = make_contractor(session)
    _enter(client, province_headers, one_larger, "2026-03-01T08:00:00+08:00", deaths=3)

    two_general = make_contractor(session)
    for month in ("01", "02"):
        _enter(client, province_headers, two_general, f"2026-{month}-10T08:00:00+08:00")

    three_general = make_contractor(session)
    for month in ("01", "03", "05"):
        _enter(client, province_headers, three_general, f"2026-{month}-10T08:00:00+08:00")

    across_years = make_contractor(session)
    for occurred_at in (
        "2025-11-10T08:00:00+08:00",
        "2025-12-31T23:30:00+08:00",  # the last evening of 2025 in Beijing (15:30 UTC)
        "2026-01-10T08:00:00+08:00",
    ):
        _enter(client, province_headers, across_years, occurred_at)

    reported = _reported(client, province_headers)
    assert set(reported) == {one_larger.uscc, three_general.uscc}
    larger = reported[one_larger.uscc]
    assert (larger["larger_or_worse_count"], larger["general_count"], larger["deaths"]) == (1, 0, 3)
    assert larger["latest_occurred_on"] == "2026-03-01"
    assert larger["reasons"] == ["发生较大及以上事故 / a 较大 or worse accident"]
    general = reported[three_general.uscc]
    assert (general["larger_or_worse_count"], general["general_count"]) == (0, 3)
    assert _reported(client, province_headers, 2025) == {}


def test_the_report_counts_the_callers_jurisdiction_and_names_the_licensing_authority(
    client, session, province_headers, county_headers
):
    contractor = make_contractor(session)
    owner = token_for(session, make_user(session, Role.CONTRACTOR, contractor=contractor))
    filed = client.post("/api/v1/filings/licences", headers=owner, json=licence())
    client.post(f"/api/v1/filings/{filed.json()['id']}/submit", headers=owner)
    approved = client.post(
        f"/api/v1/review/{filed.json()['id']}/approve",
        headers=province_headers,
        json={"version_no": 1},
    )
    assert approved.status_code == 200, approved.text
    for county, day in (("150102", "10"), ("150102", "11"), ("150206", "12")):
        _enter(client, province_headers, contractor, f"2026-04-{day}T08:00:00+08:00", county)

    in_province = _reported(client, province_headers)[contractor.uscc]
    assert in_province["general_count"] == 3
    assert in_province["licence_issuing_authority"] == "内蒙古自治区应急管理厅"
    # The county counts only the two accidents in its county.
    assert _reported(client, county_headers) == {}

    this_year = client.get(REPORT, headers=province_headers).json()
    assert this_year["year"] == 2026  # the injected clock's year
    assert this_year["jurisdiction"] == "150000"
