"""GET /api/v1/public/contractors: search by name, code, province, grade, licence
status, incidents; paging and sorting; the search table follows hub_record."""

from __future__ import annotations

from sqlalchemy import text

from schemas.enums import RecordKind
from tests.central.support import ok

SEARCH = "/api/v1/public/contractors"


def usccs(answer) -> list[str]:
    return [item["uscc"] for item in answer["items"]]


def test_every_published_contractor_is_found_by_default(client, populated):
    answer = ok(client.get(SEARCH))
    assert sorted(usccs(answer)) == sorted(
        [populated.firm.uscc, populated.other.uscc, populated.shanxi_firm.uscc]
    )
    assert answer["total"] == 3 and answer["total_capped"] is False
    assert answer["data_as_of"] is not None
    item = next(i for i in answer["items"] if i["uscc"] == populated.firm.uscc)
    assert item["name"] == populated.firm.name
    assert (item["province_code"], item["province_name"]) == ("150000", "内蒙古自治区")
    assert item["qualification_grades"] == ["first", "second"]
    # The withdrawn project department no longer counts.
    assert (item["project_department_count"], item["accident_count"]) == (2, 1)
    assert item["licence_valid_to"] == "2027-02-28" and item["licence_status"] == "valid"
    assert item["url"] == f"/contractors/{populated.firm.uscc}"


def test_a_contractor_without_basic_info_is_listed_under_the_name_it_was_published_with(
    client, populated
):
    answer = ok(client.get(SEARCH, params={"q": populated.other.name}))
    assert usccs(answer) == [populated.other.uscc]
    assert answer["items"][0]["has_basic_info"] is False
    assert answer["items"][0]["licence_status"] == "none"


def test_name_search_matches_any_part_in_any_spacing(client, populated):
    shanxi_name = populated.shanxi_firm.name  # 测试矿山工程有限公司140000-1
    for q in ["140000", "工程有限", " 矿山  工程 ", "140000-1", "测"]:
        found = usccs(ok(client.get(SEARCH, params={"q": q})))
        assert populated.shanxi_firm.uscc in found, q
    assert usccs(ok(client.get(SEARCH, params={"q": shanxi_name}))) == [populated.shanxi_firm.uscc]
    assert ok(client.get(SEARCH, params={"q": "煤炭集团"}))["items"] == []


def test_exact_name_ranks_first(client, populated):
    answer = ok(client.get(SEARCH, params={"q": populated.other.name[:-1]}))
    assert answer["items"], "a prefix finds the firms sharing it"
    first = ok(client.get(SEARCH, params={"q": populated.firm.name}))["items"][0]
    assert first["uscc"] == populated.firm.uscc


def test_one_wrong_character_still_finds_the_firm_as_a_fuzzy_match(client, populated):
    name = populated.shanxi_firm.name
    typo = name.replace("矿山", "矿区")
    answer = ok(client.get(SEARCH, params={"q": typo}))
    assert answer["fuzzy"] is True
    assert populated.shanxi_firm.uscc in usccs(answer)
    exact = ok(client.get(SEARCH, params={"q": name}))
    assert exact["fuzzy"] is False


def test_a_uscc_or_its_beginning_finds_the_contractor(client, populated):
    uscc = populated.shanxi_firm.uscc
    assert usccs(ok(client.get(SEARCH, params={"q": uscc}))) == [uscc]
    assert usccs(ok(client.get(SEARCH, params={"q": uscc[:12].lower()}))) == [uscc]


def test_filters(client, populated):
    def found(**params):
        return sorted(usccs(ok(client.get(SEARCH, params=params))))

    assert found(province="140000") == [populated.shanxi_firm.uscc]
    assert found(grade="first") == [populated.firm.uscc]
    assert found(licence_status="expired") == [populated.shanxi_firm.uscc]
    assert found(licence_status="none") == [populated.other.uscc]
    assert found(licence_status="valid") == [populated.firm.uscc]
    # An accident (2026-03) and a penalty (2026-03-01) within a year; nothing for the others.
    assert found(incidents_within_years=1) == [populated.firm.uscc]
    assert found(province="140000", grade="first") == []


def test_paging_and_sorting(client, populated):
    first = ok(client.get(SEARCH, params={"page_size": 2, "sort": "name"}))
    second = ok(client.get(SEARCH, params={"page_size": 2, "page": 2, "sort": "name"}))
    names = [i["name"] for i in first["items"] + second["items"]]
    assert names == sorted(names) and len(names) == 3
    assert first["total"] == 3
    by_departments = ok(client.get(SEARCH, params={"sort": "departments"}))["items"]
    assert by_departments[0]["uscc"] == populated.firm.uscc


def test_updated_since(client, populated, clock):
    since = clock.now().isoformat()
    assert ok(client.get(SEARCH, params={"updated_since": since}))["items"] == []
    before = "2026-06-14T00:00:00+08:00"
    assert ok(client.get(SEARCH, params={"updated_since": before}))["total"] == 3


def test_invalid_parameters_are_bilingual_422s(client, populated):
    for params, code in [
        ({"province": "150100"}, "invalid_province"),
        ({"page": 600, "page_size": 20}, "page_too_deep"),
        ({"page_size": 101}, "invalid_input"),
        ({"licence_status": "maybe"}, "invalid_input"),
    ]:
        response = client.get(SEARCH, params=params)
        assert response.status_code == 422, params
        body = response.json()
        assert body["error"] == code, body
        assert " / " in body["detail"]


def test_the_search_table_follows_every_change_of_hub_record(client, session, populated, inner):
    def row():
        return session.execute(
            text(
                "SELECT project_department_count, licence_valid_to::text, has_basic_info "
                "FROM hub_public_contractor WHERE uscc = :u"
            ),
            {"u": populated.firm.uscc},
        ).one()

    assert tuple(row()) == (2, "2027-02-28", True)
    assert (
        ok(inner.push(client, [inner.tombstone("lic-1", kind=RecordKind.LICENCE)]))["applied"] == 1
    )
    assert tuple(row()) == (2, "2026-08-01", True)
    # Everything of the lone firm withdrawn: it leaves the search.
    inner.firm = populated.other
    assert ok(inner.push(client, [inner.tombstone("pd-other")]))["applied"] == 1
    assert ok(client.get(SEARCH, params={"q": populated.other.uscc}))["items"] == []


def test_name_normalisation_agrees_with_the_database(session):
    from central.disclosure.repository import normalise_name

    for name in ["北方 矿业（集团）有限公司", "ABC·矿业-工程", "　全角空格【测试】"]:
        in_db = session.execute(text("SELECT hub_normalise_name(:n)"), {"n": name}).scalar()
        assert in_db == normalise_name(name), name


def test_a_rebuild_gives_the_rows_the_triggers_kept(session, populated):
    query = text(
        "SELECT uscc, name, province_code, has_basic_info, grades, licence_valid_to, "
        "last_incident_on, licence_count, project_department_count, accident_count, "
        "reward_penalty_count FROM hub_public_contractor ORDER BY uscc"
    )
    kept = [tuple(r) for r in session.execute(query)]
    assert session.execute(text("SELECT hub_public_contractor_rebuild()")).scalar() == 3
    assert [tuple(r) for r in session.execute(query)] == kept


def test_a_browsed_total_is_counted_again_once_the_data_change(client, populated, inner):
    from tests.central.disclosure.conftest import people
    from tests.central.support import contractor
    from tests.node import factories

    params = {"province": "150000", "page": 2, "page_size": 1}  # a page of its own: counted
    before = ok(client.get(SEARCH, params=params))
    assert before["total"] == 2 and ok(client.get(SEARCH, params=params)) == before
    inner.firm = contractor("150000", 3)
    new = inner.publish("pd-new", factories.project_department("150102", **people(50, "150102")))
    assert ok(inner.push(client, [new]))["applied"] == 1
    assert ok(client.get(SEARCH, params=params))["total"] == 3
    assert ok(inner.push(client, [inner.tombstone("pd-new")]))["applied"] == 1
    assert ok(client.get(SEARCH, params=params))["total"] == 2
