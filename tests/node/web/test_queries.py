"""The regulator's query and statistics page: filters, counts as bars, the export link."""

from __future__ import annotations

import re

import pytest

from schemas.enums import Role
from tests.node.factories import make_user, project_department
from tests.node.web.support import csrf_of, form_fields, login


@pytest.fixture
def two_filings(client, session, contractor):
    user = make_user(session, Role.CONTRACTOR, "150102", contractor=contractor)
    login(client, user.username)
    token = csrf_of(client, "/filings/new/project-department")
    for name, action in (("甲矿项目部", "submit"), ("乙矿项目部", "save")):
        done = client.post(
            "/filings/new/project-department",
            data={
                **form_fields(project_department(project_name=name)),
                "csrf_token": token,
                "action": action,
            },
            follow_redirects=False,
        )
        assert done.status_code == 303
    client.cookies.clear()
    regulator = make_user(session, Role.COUNTY_REGULATOR, "150102")
    login(client, regulator.username)
    return client


def _count(html: str, label: str) -> int:
    found = re.search(rf'<th scope="row">{label}</th><td class="num">(\d+)</td>', html)
    assert found, label
    return int(found.group(1))


def test_counts_by_state_and_the_list_follow_the_filters(two_filings):
    page = two_filings.get("/queries", params={"group_by": "state"})
    assert page.status_code == 200
    assert _count(page.text, "待审核") == 1 and _count(page.text, "草稿") == 1
    assert "甲矿项目部" in page.text and "乙矿项目部" in page.text
    only = two_filings.get("/queries", params={"state": "submitted", "q": "甲矿"})
    assert "甲矿项目部" in only.text and "乙矿项目部" not in only.text
    assert 'href="/api/v1/records/export.csv?state=submitted&amp;q=' in only.text
    export = two_filings.get("/api/v1/records/export.csv", params={"state": "submitted"})
    assert export.status_code == 200 and "甲矿项目部" in export.text


def test_a_malformed_division_is_said_and_ignored(two_filings):
    page = two_filings.get("/queries", params={"division": "15x"})
    assert page.status_code == 200 and 'id="division-err"' in page.text
