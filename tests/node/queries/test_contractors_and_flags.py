"""``/api/v1/contractors`` (regulators) and ``/api/v1/flags``."""

from __future__ import annotations

import uuid

from tests.node.queries.conftest import ids_of


def contractors(client, province, who, **params):
    response = client.get("/api/v1/contractors", headers=province.headers[who], params=params)
    assert response.status_code == 200, response.text
    return response.json()


def by_name(body):
    return {i["name"]: i for i in body["items"]}


def test_a_province_sees_its_contractors_and_those_working_in_it(client, province):
    body = contractors(client, province, "province")
    assert body["total"] == 3
    # Sorted by name (code point order), with derived counts.
    assert [i["name"] for i in body["items"]] == sorted(i["name"] for i in body["items"])
    a = by_name(body)["内蒙古恒信矿山工程有限公司"]
    assert a["uscc"] == province.contractors["a"].uscc
    assert a["project_department_count"] == 2  # the draft is not in force
    assert a["record_counts"] == {
        "basic_info": 1,
        "licence": 2,
        "project_department": 3,
        "reward_penalty": 1,
        "accident": 1,
    }
    c = by_name(body)["北京中矿建设集团有限公司"]
    assert c["home_province_code"] == "110000"
    assert c["record_counts"]["project_department"] == 1
    assert c["record_counts"]["basic_info"] == 0  # Beijing's form, not this province's


def test_a_county_counts_only_what_it_can_see(client, province):
    body = contractors(client, province, "county_103")
    names = set(by_name(body))
    assert names == {"内蒙古恒信矿山工程有限公司", "包头宏达铁矿建设有限公司"}
    a = by_name(body)["内蒙古恒信矿山工程有限公司"]
    assert a["record_counts"]["project_department"] == 1
    assert a["record_counts"]["accident"] == 0
    assert a["project_department_count"] == 2  # the contractor's own derived total
    baotou = contractors(client, province, "city_baotou")
    assert "北京中矿建设集团有限公司" in by_name(baotou)


def test_search_by_name_or_uscc(client, province):
    assert set(by_name(contractors(client, province, "province", q="铁矿"))) == {
        "包头宏达铁矿建设有限公司"
    }
    uscc = province.contractors["c"].uscc
    found = contractors(client, province, "province", q=uscc[:17].lower())
    assert [i["uscc"] for i in found["items"]] == [uscc]
    assert contractors(client, province, "province", q="%")["total"] == 0


def test_pages_of_contractors(client, province):
    first = contractors(client, province, "province", page_size=2)
    second = contractors(client, province, "province", page_size=2, page=2)
    assert first["total"] == second["total"] == 3
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert not set(by_name(first)) & set(by_name(second))


def test_one_contractor_with_its_records(client, province):
    a = province.contractors["a"]
    response = client.get(f"/api/v1/contractors/{a.id}", headers=province.headers["province"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == a.name and body["records_total"] == 8
    assert {r["id"] for r in body["records"]} == province.ids(
        "a_basic",
        "a_lic_expired",
        "a_lic_expiring",
        "a_pd_102",
        "a_pd_103",
        "a_pd_draft",
        "a_penalty",
        "acc_102",
    )
    flagged = {r["title"]: r["flags"] for r in body["records"] if r["flags"]}
    assert flagged["白云铁矿剥离工程项目部"] == ["agreement_not_signed"]
    county = client.get(f"/api/v1/contractors/{a.id}", headers=province.headers["county_103"])
    assert county.json()["records_total"] == 5


def test_a_contractor_outside_the_jurisdiction_is_not_found(client, province):
    c = province.contractors["c"]
    hidden = client.get(f"/api/v1/contractors/{c.id}", headers=province.headers["county_103"])
    assert hidden.status_code == 404 and hidden.json()["error"] == "contractor_not_found"
    missing = client.get(
        f"/api/v1/contractors/{uuid.uuid4()}", headers=province.headers["province"]
    )
    assert missing.status_code == 404
    seen = client.get(f"/api/v1/contractors/{c.id}", headers=province.headers["city_baotou"])
    assert seen.status_code == 200 and seen.json()["records_total"] == 1


def test_contractors_are_for_regulators(client, province):
    a = province.contractors["a"]
    for who in ("contractor_a", "national"):
        assert client.get("/api/v1/contractors", headers=province.headers[who]).status_code == 403
        own = client.get(f"/api/v1/contractors/{a.id}", headers=province.headers[who])
        assert own.status_code == 403


# ---------------------------------------------------------------- flags


def flags(client, province, who, **params):
    response = client.get("/api/v1/flags", headers=province.headers[who], params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_flagged_records_of_the_jurisdiction(client, province):
    body = flags(client, province, "province")
    assert ids_of(body) == province.ids("a_lic_expired", "a_lic_expiring", "a_pd_103", "b_pd_203")
    assert body["total"] == 4 and all(i["flags"] for i in body["items"])
    assert ids_of(flags(client, province, "city_baotou", kind="project_department")) == (
        province.ids("b_pd_203")
    )
    assert ids_of(flags(client, province, "contractor_a")) == province.ids(
        "a_lic_expired", "a_lic_expiring", "a_pd_103"
    )


def test_flagged_records_of_one_code(client, province):
    assert ids_of(flags(client, province, "province", code="no_written_report")) == (
        province.ids("b_pd_203")
    )
    assert ids_of(flags(client, province, "county_103", code="inspection_overdue")) == set()
    refused = client.get(
        "/api/v1/flags", headers=province.headers["province"], params={"code": "late"}
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["code"]
