"""Role × jurisdiction, both ways: who sees and who decides."""

from __future__ import annotations

from schemas.enums import Role
from tests.node.factories import make_contractor, make_user, project_department, token_for


def _filed(client, session, *, county="150102", central_soe=False):
    contractor = make_contractor(session, central_soe=central_soe)
    headers = token_for(session, make_user(session, Role.CONTRACTOR, contractor=contractor))
    created = client.post(
        "/api/v1/filings/project-departments", headers=headers, json=project_department(county)
    )
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    assert client.post(f"/api/v1/filings/{record_id}/submit", headers=headers).status_code == 200
    return record_id, headers


def test_a_county_regulator_neither_sees_nor_reviews_another_county(client, session):
    record_id, _ = _filed(client, session, county="150102")
    other = token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150103"))
    assert client.get("/api/v1/review/queue", headers=other).json()["total"] == 0
    assert client.get(f"/api/v1/filings/{record_id}", headers=other).status_code == 404
    assert client.get(f"/api/v1/review/{record_id}", headers=other).status_code == 404
    decided = client.post(
        f"/api/v1/review/{record_id}/approve", headers=other, json={"version_no": 1}
    )
    assert decided.status_code == 404
    own = token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))
    assert client.get("/api/v1/review/queue", headers=own).json()["total"] == 1


def test_a_contractor_sees_only_its_own(client, session):
    record_id, owner = _filed(client, session)
    stranger = token_for(session, make_user(session, Role.CONTRACTOR))
    assert client.get(f"/api/v1/filings/{record_id}", headers=stranger).status_code == 404
    assert (
        client.patch(
            f"/api/v1/filings/{record_id}", headers=stranger, json={"work_content": "x"}
        ).status_code
        == 404
    )
    assert client.get("/api/v1/filings", headers=stranger).json()["total"] == 0
    assert client.get("/api/v1/filings", headers=owner).json()["total"] == 1


def test_contractors_do_not_review_and_regulators_do_not_file(client, session):
    record_id, owner = _filed(client, session)
    assert client.get("/api/v1/review/queue", headers=owner).status_code == 403
    assert (
        client.post(
            f"/api/v1/review/{record_id}/approve", headers=owner, json={"version_no": 1}
        ).status_code
        == 403
    )
    regulator = token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))
    refused = client.post(
        "/api/v1/filings/project-departments", headers=regulator, json=project_department()
    )
    assert refused.status_code == 403


def test_central_soe_departments_go_to_the_city_or_province(client, session):
    record_id, _ = _filed(client, session, county="150102", central_soe=True)
    county = token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))
    assert client.get("/api/v1/review/queue", headers=county).json()["total"] == 0
    refused = client.post(
        f"/api/v1/review/{record_id}/approve", headers=county, json={"version_no": 1}
    )
    assert refused.status_code == 403 and refused.json()["error"] == "not_your_review"
    other_city = token_for(session, make_user(session, Role.MUNICIPAL_REGULATOR, "150200"))
    assert client.get("/api/v1/review/queue", headers=other_city).json()["total"] == 0
    city = token_for(session, make_user(session, Role.MUNICIPAL_REGULATOR, "150100"))
    queue = client.get("/api/v1/review/queue", headers=city).json()
    assert [i["id"] for i in queue["items"]] == [record_id]
    province = token_for(session, make_user(session, Role.PROVINCIAL_REGULATOR, "150000"))
    assert client.get("/api/v1/review/queue", headers=province).json()["total"] == 1
    approved = client.post(
        f"/api/v1/review/{record_id}/approve", headers=city, json={"version_no": 1}
    )
    assert approved.status_code == 200, approved.text


def test_a_province_sees_its_counties_but_leaves_their_reviews_to_them(client, session):
    record_id, _ = _filed(client, session, county="150102")
    province = token_for(session, make_user(session, Role.PROVINCIAL_REGULATOR, "150000"))
    assert client.get(f"/api/v1/filings/{record_id}", headers=province).status_code == 200
    assert client.get("/api/v1/review/queue", headers=province).json()["total"] == 0
    refused = client.post(
        f"/api/v1/review/{record_id}/approve", headers=province, json={"version_no": 1}
    )
    assert refused.status_code == 403
