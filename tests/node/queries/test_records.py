"""``GET /api/v1/records``: visibility, each filter, combinations, pages, sorting, errors."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func
from sqlmodel import select

from node.filing.service import can_see
from node.models import AuditEvent, Record
from node.queries import repository
from node.queries.repository import FlagContext
from node.queries.schemas import RecordFilters
from schemas.enums import FlagCode, RecordKind, Role
from tests.node.factories import make_contractor, project_department
from tests.node.queries.conftest import actor_of, add_record, ids_of

URL = "/api/v1/records"


def get(client, province, who, **params):
    response = client.get(URL, headers=province.headers[who], params={"page_size": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------- who sees what


def test_the_sql_visibility_agrees_with_can_see(session, province):
    # Odd shapes too: a county-less record with an empty county, one without any place.
    a = province.contractors["a"]
    odd = add_record(session, a, RecordKind.REWARD_PENALTY, {"decided_on": "2026-01-01"})
    odd.county_code = ""
    bare = add_record(session, a, RecordKind.REWARD_PENALTY, {"decided_on": "2026-01-02"})
    bare.province_code = None
    elsewhere = add_record(
        session,
        make_contractor(session, province="610000"),
        RecordKind.PROJECT_DEPARTMENT,
        project_department("610102"),
    )
    session.add_all([odd, bare, elsewhere])
    session.flush()
    records = list(session.exec(select(Record)))
    actors = [
        actor_of(Role.PROVINCIAL_ADMIN, "150000"),
        actor_of(Role.PROVINCIAL_REGULATOR, "150000"),
        actor_of(Role.PROVINCIAL_REGULATOR, "610000"),
        actor_of(Role.MUNICIPAL_REGULATOR, "150100"),
        actor_of(Role.MUNICIPAL_REGULATOR, "150200"),
        actor_of(Role.COUNTY_REGULATOR, "150102"),
        actor_of(Role.COUNTY_REGULATOR, "150103"),
        actor_of(Role.COUNTY_REGULATOR, "610102"),
        actor_of(Role.CONTRACTOR, "150102", province.contractors["a"]),
        actor_of(Role.CONTRACTOR, "150200", province.contractors["b"]),
        actor_of(Role.CONTRACTOR, "150000"),  # no contractor attached
        actor_of(Role.NATIONAL_STAFF, "150000"),
        actor_of(Role.NATIONAL_ADMIN, "000000"),
    ]
    for actor in actors:
        by_python = {r.id for r in records if can_see(actor, r)}
        by_sql = set(session.exec(select(Record.id).where(repository.visible_to(actor))))
        assert by_sql == by_python, (actor.role, actor.division_code)
    # The check is not vacuous: the actors see different, non-empty sets.
    seen = {
        frozenset(session.exec(select(Record.id).where(repository.visible_to(a)))) for a in actors
    }
    assert len(seen) >= 8


def test_a_province_sees_every_record_located_in_it(client, province):
    body = get(client, province, "province")
    assert ids_of(body) == province.in_province()
    assert body["total"] == len(province.in_province()) == 14


def test_a_county_sees_none_of_another_county(client, province):
    body = get(client, province, "county_103")
    province_level = province.ids(
        "a_basic", "a_lic_expired", "a_lic_expiring", "a_penalty", "b_basic", "b_lic"
    )
    assert ids_of(body) == province_level | province.ids("a_pd_103")
    assert not ids_of(body) & province.ids("a_pd_102", "a_pd_draft", "b_pd_formula", "acc_102")
    # Asking for the other county's division does not widen the view.
    narrowed = get(client, province, "county_103", division="150102")
    assert narrowed["total"] == 0 and narrowed["items"] == []


def test_a_city_sees_its_counties_and_not_the_other_city(client, province):
    body = get(client, province, "city_huhhot", kind="project_department")
    assert ids_of(body) == province.ids("a_pd_102", "a_pd_103", "a_pd_draft", "b_pd_formula")
    baotou = get(client, province, "city_baotou", kind="project_department")
    assert ids_of(baotou) == province.ids("b_pd_203", "c_pd_203")


def test_a_contractor_sees_only_its_own(client, province):
    body = get(client, province, "contractor_a")
    assert ids_of(body) == province.ids(
        "a_basic",
        "a_lic_expired",
        "a_lic_expiring",
        "a_pd_102",
        "a_pd_103",
        "a_pd_draft",
        "a_penalty",
        "acc_102",
    )
    other = province.contractors["b"].uscc
    assert get(client, province, "contractor_a", contractor=other)["total"] == 0
    b = get(client, province, "contractor_b")
    assert ids_of(b) == province.ids("b_basic", "b_lic", "b_pd_203", "b_pd_formula", "acc_203")


def test_other_roles_and_strangers_are_refused(client, province):
    refused = client.get(URL, headers=province.headers["national"])
    assert refused.status_code == 403 and refused.json()["error"] == "role_not_allowed"
    assert client.get(URL).status_code == 401


# ---------------------------------------------------------------- each filter


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "licence"}, {"a_lic_expired", "a_lic_expiring", "b_lic"}),
        ({"kind": "accident"}, {"acc_102", "acc_203"}),
        ({"state": "draft"}, {"a_pd_draft"}),
        ({"state": "submitted"}, {"b_basic"}),
        ({"state": "returned"}, {"b_pd_formula"}),
        ({"division": "150203"}, {"b_pd_203", "c_pd_203", "acc_203"}),
        ({"division": "150100"}, {"a_pd_102", "a_pd_103", "a_pd_draft", "b_pd_formula", "acc_102"}),
        ({"grade": "general"}, {"acc_102"}),
        ({"grade": "larger"}, {"acc_203"}),
        ({"grade": "major"}, set()),
        ({"flag": "licence_expired"}, {"a_lic_expired"}),
        ({"flag": "licence_expiring"}, {"a_lic_expiring"}),
        ({"flag": "agreement_not_signed"}, {"a_pd_103"}),
        ({"flag": "inspection_overdue"}, {"b_pd_203"}),
        ({"flag": "no_written_report"}, {"b_pd_203"}),
        ({"published": "false"}, {"a_pd_draft", "b_basic", "b_pd_formula"}),
        ({"event_from": "2026-03-01", "event_to": "2026-04-30"}, {"acc_102", "a_penalty"}),
        ({"event_from": "2026-05-20"}, {"acc_203"}),
        ({"event_to": "2025-12-31"}, {"a_lic_expired", "a_lic_expiring", "b_lic", "b_pd_203"}),
        # created_at is NOW - days_ago; the range is in Beijing calendar days, inclusive.
        (
            {"created_from": "2026-05-21", "created_to": "2026-06-10"},
            {"acc_203", "c_pd_203", "a_pd_draft"},
        ),
        ({"created_to": "2025-11-28"}, {"a_basic"}),
        ({"q": "铁矿", "kind": "basic_info"}, {"b_basic"}),  # by the contractor's name
        ({"q": "白云"}, {"a_pd_103", "b_pd_203"}),
        ({"q": "石灰石矿"}, {"c_pd_203"}),
        ({"q": "安许证字〔2023〕"}, {"a_lic_expired", "a_lic_expiring"}),
        ({"q": "%"}, set()),  # a wildcard typed by the user is taken literally
        ({"q": "_"}, set()),
        ({"q": "  "}, "all"),  # blank means no search
    ],
)
def test_each_filter(client, province, params, expected):
    body = get(client, province, "province", **params)
    want = province.in_province() if expected == "all" else province.ids(*expected)
    assert ids_of(body) == want
    assert body["total"] == len(want)


def test_q_matches_titles_and_contractor_names(client, province):
    body = get(client, province, "province", q="铁矿")
    by_title = {"a_pd_102", "a_pd_103", "b_pd_203", "acc_102", "acc_203"}
    by_contractor_b = {"b_basic", "b_lic", "b_pd_203", "b_pd_formula", "acc_203"}
    assert ids_of(body) == province.ids(*(by_title | by_contractor_b))


def test_published_true_is_the_complement(client, province):
    published = ids_of(get(client, province, "province", published="true"))
    unpublished = ids_of(get(client, province, "province", published="false"))
    assert published and not published & unpublished
    assert published | unpublished == province.in_province()


def test_contractor_filter_by_uscc(client, province):
    c = province.contractors["c"]
    body = get(client, province, "province", contractor=c.uscc.lower())  # normalised
    assert ids_of(body) == province.ids("c_pd_203")  # its basic info is Beijing's
    assert all(i["contractor_name"] == "北京中矿建设集团有限公司" for i in body["items"])


def test_filters_combine(client, province):
    body = get(
        client,
        province,
        "province",
        kind="project_department",
        division="150200",
        published="true",
        q="矿",
    )
    assert ids_of(body) == province.ids("b_pd_203", "c_pd_203")
    body = get(
        client, province, "city_huhhot", kind="project_department", state="approved", q="铁矿"
    )
    assert ids_of(body) == province.ids("a_pd_102", "a_pd_103")
    body = get(client, province, "province", kind="licence", flag="licence_expired", q="0008")
    assert body["total"] == 0


def test_items_carry_their_flags(client, province):
    items = {i["id"]: i for i in get(client, province, "province")["items"]}
    flags = {i: sorted(v["flags"]) for i, v in items.items() if v["flags"]}
    assert flags == {
        str(province.records["a_lic_expired"].id): ["licence_expired"],
        str(province.records["a_lic_expiring"].id): ["licence_expiring"],
        str(province.records["a_pd_103"].id): ["agreement_not_signed"],
        str(province.records["b_pd_203"].id): ["inspection_overdue", "no_written_report"],
    }


def test_the_warning_window_comes_from_the_settings(client, app, province, settings):
    app.state.settings = settings.model_copy(update={"licence_warning_days": 30})
    assert get(client, province, "province", flag="licence_expiring")["total"] == 0
    app.state.settings = settings.model_copy(update={"licence_warning_days": 600})
    body = get(client, province, "province", flag="licence_expiring")
    assert ids_of(body) == province.ids("a_lic_expiring", "b_lic")


# ---------------------------------------------------------------- pages and sorting


def test_pages_cover_everything_once_with_a_stable_total(client, province):
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        body = client.get(
            URL, headers=province.headers["province"], params={"page": page, "page_size": 4}
        ).json()
        assert body["total"] == 14 and body["page"] == page and body["page_size"] == 4
        seen += [i["id"] for i in body["items"]]
    assert len(seen) == len(set(seen)) == 14
    assert set(seen) == province.in_province()


def test_default_sort_is_newest_change_first(client, province):
    items = get(client, province, "province")["items"]
    stamps = [i["updated_at"] for i in items]
    assert stamps == sorted(stamps, reverse=True)
    assert items[0]["id"] == str(province.records["a_pd_draft"].id)


@pytest.mark.parametrize("key", ["updated_at", "created_at", "title"])
def test_sort_both_ways(client, province, key):
    up = [i[key] for i in get(client, province, "province", sort=key)["items"]]
    down = [i[key] for i in get(client, province, "province", sort=f"-{key}")["items"]]
    assert up == sorted(up) and down == sorted(down, reverse=True)
    assert up != down


def test_sort_by_event_date_puts_undated_records_last(client, province, session):
    items = get(client, province, "province", sort="event_on")["items"]
    event_on = {str(r.id): r.event_on for r in province.records.values()}
    dates = [event_on[i["id"]] for i in items]
    dated = [d for d in dates if d is not None]
    assert dated == sorted(dated) and dates[len(dated) :] == [None] * (len(dates) - len(dated))
    assert dates[len(dated) :], "basic info has no event date"
    newest_first = [
        event_on[i["id"]] for i in get(client, province, "province", sort="-event_on")["items"]
    ]
    assert newest_first[0] is not None and newest_first[-1] is None


# ---------------------------------------------------------------- refused input


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"kind": "mine"}, "kind", "enum"),
        ({"state": "published"}, "state", "enum"),
        ({"flag": "late"}, "flag", "enum"),
        ({"grade": "minor"}, "grade", "enum"),
        ({"sort": "name"}, "sort", "literal_error"),
        ({"sort": "--title"}, "sort", "literal_error"),
        ({"published": "maybe"}, "published", "bool_parsing"),
        ({"event_from": "2026-13-01"}, "event_from", "date_from_datetime_parsing"),
        ({"created_to": "yesterday"}, "created_to", "date_from_datetime_parsing"),
        ({"event_from": "2026-05-01", "event_to": "2026-04-30"}, "event_to", "range_order"),
        ({"created_from": "2026-05-01", "created_to": "2026-04-30"}, "created_to", "range_order"),
        ({"division": "159999"}, "division", "division_unknown"),
        ({"division": "1501"}, "division", "division_format"),
        ({"contractor": "91150102MA0N1A2B3X"}, "contractor", "uscc_check_digit"),
        ({"q": "矿" * 101}, "q", "string_too_long"),
        ({"page_size": 500}, "page_size", "less_than_equal"),
    ],
)
def test_invalid_filters_are_422_naming_the_parameter(
    client, session, province, params, field, rule
):
    before = session.exec(select(func.count()).select_from(AuditEvent)).one()
    response = client.get(URL, headers=province.headers["province"], params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    errors = body["errors"]
    assert [(e["field"], e["rule"]) for e in errors] == [(field, rule)], errors
    zh, sep, en = errors[0]["message"].partition(" / ")
    assert sep and field in en and any("\u4e00" <= ch <= "\u9fff" for ch in zh)
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == before


def test_flags_are_computed_for_the_callers_day(session, province):
    # A year on, the licence that is expiring today has expired too.
    regulator = actor_of(Role.PROVINCIAL_REGULATOR, "150000")
    later = FlagContext(today=date(2027, 6, 15), warning_days=90, inspection_days=183)
    where = repository.conditions(regulator, RecordFilters(flag=FlagCode.LICENCE_EXPIRED), later)
    assert set(session.exec(select(Record.id).where(*where))) == {
        province.records["a_lic_expired"].id,
        province.records["a_lic_expiring"].id,
    }
