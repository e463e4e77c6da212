"""``GET /api/v1/crossprov/elsewhere``: the home province's read-only view."""

from __future__ import annotations

from node.filing import service as filing
from schemas.enums import RecordKind
from tests.node.factories import project_department
from tests.node.sync.conftest import OTHER, actor_for


def test_regulators_of_the_home_province_list_departments_elsewhere(
    client, session, province, enrolled, other_node
):
    contractor = actor_for(province.contractor_user)
    here = province.submitted_department()
    elsewhere = filing.create_draft(
        session, contractor, RecordKind.PROJECT_DEPARTMENT, project_department("140105")
    )
    filing.submit(session, contractor, elsewhere.id)
    session.flush()

    page = client.get(
        "/api/v1/crossprov/elsewhere", headers=province.headers(province.county)
    ).json()
    assert [(i["id"], i["owner_node"]) for i in page["items"]] == [(str(elsewhere.id), OTHER)]
    assert str(here.id) not in str(page)
    detail = client.get(
        f"/api/v1/filings/{elsewhere.id}", headers=province.headers(province.county)
    )
    assert detail.status_code == 200, "a county regulator of the home province sees it too"
    refused = client.get(
        "/api/v1/crossprov/elsewhere", headers=province.headers(province.contractor_user)
    )
    assert refused.status_code == 403
