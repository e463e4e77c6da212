"""``GET /api/v1/records/counts``: one count per group, with the query's filters."""

from __future__ import annotations

import pytest
from sqlalchemy import event

URL = "/api/v1/records/counts"


def counts(client, province, who, **params):
    response = client.get(URL, headers=province.headers[who], params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return body, {g["key"]: (g["label"], g["count"]) for g in body["groups"]}


def test_by_kind_lists_every_kind_in_order(client, province):
    body, groups = counts(client, province, "province", group_by="kind")
    assert body["group_by"] == "kind" and body["total"] == 14
    assert [g["key"] for g in body["groups"]] == [
        "basic_info",
        "licence",
        "project_department",
        "reward_penalty",
        "accident",
    ]
    assert groups == {
        "basic_info": ("基本情况", 2),
        "licence": ("持证情况", 3),
        "project_department": ("项目部", 6),
        "reward_penalty": ("奖惩情况", 1),
        "accident": ("事故情况", 2),
    }


def test_by_state(client, province):
    _, groups = counts(client, province, "province", group_by="state")
    assert groups == {
        "draft": ("草稿", 1),
        "submitted": ("待审核", 1),
        "approved": ("已通过", 11),
        "returned": ("已退回", 1),
    }


def test_by_county_and_city_with_division_names(client, province):
    body, groups = counts(client, province, "province", group_by="county_code")
    assert groups == {
        "150102": ("新城区", 4),
        "150103": ("回民区", 1),
        "150203": ("昆都仑区", 3),
        None: ("未填写", 6),  # the province-level forms
    }
    assert [g["key"] for g in body["groups"]] == ["150102", "150103", "150203", None]
    _, groups = counts(client, province, "province", group_by="city_code")
    assert groups == {"150100": ("呼和浩特市", 5), "150200": ("包头市", 3), None: ("未填写", 6)}


def test_by_grade_of_accidents(client, province):
    body, groups = counts(client, province, "province", group_by="grade", kind="accident")
    assert body["total"] == 2
    assert groups == {
        "general": ("一般", 1),
        "larger": ("较大", 1),
        "major": ("重大", 0),
        "especially_major": ("特别重大", 0),
    }


def test_by_flag_one_count_per_flag(client, province):
    body, groups = counts(client, province, "province", group_by="flag")
    assert body["total"] == 14
    assert groups == {
        "licence_expired": ("安全生产许可证已过期", 1),
        "licence_expiring": ("许可证90日内到期", 1),
        "agreement_not_signed": ("未签订安全生产管理协议", 1),
        "inspection_overdue": ("半年内未检查项目部", 1),
        "no_written_report": ("未书面报告当地监管部门", 1),
    }
    _, groups = counts(client, province, "city_baotou", group_by="flag", kind="project_department")
    assert {k: n for k, (_, n) in groups.items() if n} == {
        "inspection_overdue": 1,
        "no_written_report": 1,
    }


def test_by_month_of_the_event_date(client, province):
    body, groups = counts(client, province, "province", group_by="month")
    assert [g["key"] for g in body["groups"]] == [
        "2024-03",
        "2025-06",
        "2026-01",
        "2026-03",
        "2026-04",
        "2026-05",
        None,
    ]
    assert groups["2024-03"] == ("2024年3月", 3)  # the licences' validity start
    assert groups["2026-01"] == ("2026年1月", 5)
    assert groups[None] == ("未填写", 2)  # basic info has no event date
    _, groups = counts(
        client, province, "province", group_by="month", kind="accident", event_from="2026-04-01"
    )
    assert groups == {"2026-05": ("2026年5月", 1)}


def test_counts_follow_the_jurisdiction(client, province):
    body, groups = counts(client, province, "county_103", group_by="kind")
    assert body["total"] == 7
    assert groups["project_department"][1] == 1 and groups["accident"][1] == 0
    body, _ = counts(client, province, "contractor_b", group_by="state")
    assert body["total"] == 5
    _, groups = counts(client, province, "contractor_a", group_by="flag")
    assert {k: n for k, (_, n) in groups.items() if n} == {
        "licence_expired": 1,
        "licence_expiring": 1,
        "agreement_not_signed": 1,
    }


def test_counts_agree_with_the_list(client, province):
    params = {"kind": "project_department", "q": "铁矿"}
    listed = client.get(
        "/api/v1/records", headers=province.headers["province"], params=params
    ).json()
    body, _ = counts(client, province, "province", group_by="state", **params)
    assert body["total"] == listed["total"] == 4


@pytest.mark.parametrize("group_by", ["kind", "county_code", "month", "flag"])
def test_one_query_per_request(client, province, node_engine, connection, group_by):
    statements: list[str] = []

    def count_selects(conn, cursor, statement, *args):
        if "FROM record" in statement and "api_token" not in statement:
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", count_selects)
    try:
        counts(client, province, "province", group_by=group_by)
    finally:
        event.remove(connection, "before_cursor_execute", count_selects)
    assert len(statements) == 1, statements


@pytest.mark.parametrize(
    ("params", "rule"), [({}, "missing"), ({"group_by": "county"}, "literal_error")]
)
def test_group_by_is_required_and_checked(client, province, params, rule):
    response = client.get(URL, headers=province.headers["province"], params=params)
    assert response.status_code == 422
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [("group_by", rule)]


def test_other_roles_are_refused(client, province):
    response = client.get(URL, headers=province.headers["national"], params={"group_by": "kind"})
    assert response.status_code == 403
