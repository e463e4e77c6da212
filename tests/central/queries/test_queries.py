"""Cross-province queries at the hub: through the real ingest path, then a refresh."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook
from sqlmodel import col, select

from central.models import HubAuditEvent
from schemas.enums import RecordKind
from schemas.identifiers import mask_resident_id
from tests.central.statistics.support import accident_form, department
from tests.central.support import ok
from tests.node import factories

PLANTED = factories.person(7)  # one person, heading departments in two provinces


def headed_by(county: str, head: dict, **over) -> dict:
    """A department whose only person is its head."""
    return department(county, head=head, safety_managers=[], technical_staff=[], **over)


def _audits(session, query: str) -> list[HubAuditEvent]:
    session.expire_all()
    return list(
        session.exec(
            select(HubAuditEvent)
            .where(HubAuditEvent.action == "national.query", HubAuditEvent.entity_id == query)
            .order_by(col(HubAuditEvent.id))
        )
    )


def plant(feed, inner, shanxi):
    """The planted person heads an Inner Mongolia and a Shanxi department at once; another
    person heads two Inner Mongolia departments (same province); a third heads departments
    in both provinces but years apart."""
    same_province = factories.person(8)
    years_apart = factories.person(9)
    feed.push(
        inner,
        inner.publish("im-1", headed_by("150102", PLANTED)),
        inner.publish("im-2", headed_by("150102", same_province)),
        inner.publish("im-3", headed_by("150102", same_province)),
        inner.publish(
            "im-4",
            headed_by("150102", years_apart, start_month="2020-01", expected_end_month="2021-06"),
        ),
    )
    feed.push(
        shanxi,
        shanxi.publish("sx-1", headed_by("140105", PLANTED, start_month="2027-06")),
        shanxi.publish("sx-2", headed_by("140105", years_apart)),
    )
    feed.refresh()


def test_the_planted_person_is_found_across_two_provinces_and_no_one_else(
    client, feed, inner, shanxi, staff_headers
):
    plant(feed, inner, shanxi)
    answer = ok(client.get("/api/v1/national/concurrent-roles", headers=staff_headers))
    assert answer["total"] == 1
    (pair,) = answer["rows"]
    assert {pair["a"]["record_id"], pair["b"]["record_id"]} == {"im-1", "sx-1"}
    assert pair["a"]["role"] == pair["b"]["role"] == "head"
    assert pair["a"]["name"] == PLANTED["name"]
    # National staff see the full number (from the disclosures); no table stores it.
    assert pair["a"]["resident_id"] == PLANTED["resident_id"]
    stored = json.dumps(feed.table("hub_person_index") + feed.table("hub_person_overlap"))
    assert PLANTED["resident_id"] not in stored
    assert PLANTED["resident_id"][:17] not in stored
    assert len(_audits(feed.session, "concurrent_roles")) == 1


def test_the_overlap_goes_when_a_department_is_withdrawn_or_moves_out_of_the_period(
    client, feed, inner, shanxi, staff_headers
):
    plant(feed, inner, shanxi)
    feed.push(
        shanxi,
        shanxi.publish(
            "sx-1",
            headed_by("140105", PLANTED, start_month="2028-01", expected_end_month="2028-06"),
            version_no=2,
        ),
    )
    feed.refresh()
    assert ok(client.get("/api/v1/national/concurrent-roles", headers=staff_headers))["total"] == 0
    feed.push(shanxi, shanxi.publish("sx-1", headed_by("140105", PLANTED), version_no=3))
    feed.refresh()
    assert ok(client.get("/api/v1/national/concurrent-roles", headers=staff_headers))["total"] == 1
    feed.push(inner, inner.tombstone("im-1"))
    feed.refresh()
    assert ok(client.get("/api/v1/national/concurrent-roles", headers=staff_headers))["total"] == 0


def test_a_rebuild_finds_the_same_people_and_overlaps(client, feed, inner, shanxi, staff_headers):
    plant(feed, inner, shanxi)
    incremental = (feed.table("hub_person_index"), feed.table("hub_person_overlap"))
    assert len(incremental[1]) == 2  # the planted pair, seen from each side
    for batch in (2, 1000):
        feed.rebuild(batch=batch)
        assert (feed.table("hub_person_index"), feed.table("hub_person_overlap")) == incremental
    assert ok(client.get("/api/v1/national/concurrent-roles", headers=staff_headers))["total"] == 1


def test_exports_in_csv_and_xlsx(client, feed, inner, shanxi, staff_headers):
    plant(feed, inner, shanxi)
    got = client.get("/api/v1/national/concurrent-roles?format=csv", headers=staff_headers)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["人员编号", "姓名", "公民身份号码"]
    assert len(rows) == 2 and rows[1][1] == PLANTED["name"]
    got = client.get("/api/v1/national/concurrent-roles?format=xlsx", headers=staff_headers)
    sheet = load_workbook(io.BytesIO(got.content)).active
    assert [c.value for c in sheet[2]][1] == PLANTED["name"]


def test_a_contractors_records_in_every_province_and_accidents_elsewhere(
    client, feed, inner, shanxi, staff_headers
):
    feed.push(
        inner,
        inner.publish("im-basic", factories.basic_info(inner.firm), kind=RecordKind.BASIC_INFO),
        inner.publish("im-1", department("150102")),
    )
    shanxi.firm = inner.firm  # Inner Mongolia's contractor, working in Shanxi
    feed.push(
        shanxi,
        shanxi.publish("sx-1", department("140105")),
        shanxi.publish(
            "sx-acc", accident_form(inner.firm.uscc, "140105", deaths=2), kind=RecordKind.ACCIDENT
        ),
    )
    answer = ok(
        client.get(f"/api/v1/national/contractors/{inner.firm.uscc}/records", headers=staff_headers)
    )
    assert answer["provinces"] == ["140000", "150000"]
    assert {r["record_id"] for r in answer["records"]} == {"im-basic", "im-1", "sx-1", "sx-acc"}
    elsewhere = ok(client.get("/api/v1/national/accidents-elsewhere", headers=staff_headers))
    assert [
        (r["uscc"], r["accidents"], r["deaths"], r["accident_provinces"]) for r in elsewhere["rows"]
    ] == [(inner.firm.uscc, 1, 2, ["140000"])]
    of_inner = ok(
        client.get("/api/v1/national/accidents-elsewhere?province=150000", headers=staff_headers)
    )
    assert [r["uscc"] for r in of_inner["rows"]] == [inner.firm.uscc]
    of_shanxi = ok(
        client.get("/api/v1/national/accidents-elsewhere?province=140000", headers=staff_headers)
    )
    assert of_shanxi["rows"] == []


def test_a_node_asks_for_its_regulator_and_sees_full_ids_of_its_own_province_only(
    client, feed, inner, shanxi
):
    plant(feed, inner, shanxi)
    body = json.dumps(
        {
            "query": "concurrent_roles",
            "params": {},
            "user": {"username": "county", "role": "county_regulator", "division_code": "150102"},
        }
    ).encode()
    headers = inner.headers("POST", "/api/v1/national/node-query", body)
    headers["Content-Type"] = "application/json"
    answer = ok(client.post("/api/v1/national/node-query", content=body, headers=headers))
    (pair,) = answer["rows"]
    assert (pair["a"]["record_id"], pair["b"]["record_id"]) == ("im-1", "sx-1")
    assert pair["a"]["resident_id"] == PLANTED["resident_id"]  # its own province
    assert pair["b"]["resident_id"] == mask_resident_id(PLANTED["resident_id"])  # Shanxi's
    (event,) = _audits(feed.session, "concurrent_roles")
    assert event.actor == "node:150000/county"
    assert event.detail["via_node"] == "node:150000"


def test_a_node_cannot_speak_for_a_user_of_another_province(client, inner):
    body = json.dumps(
        {
            "query": "accidents_elsewhere",
            "user": {"username": "x", "role": "provincial_regulator", "division_code": "140000"},
        }
    ).encode()
    headers = inner.headers("POST", "/api/v1/national/node-query", body)
    got = client.post("/api/v1/national/node-query", content=body, headers=headers)
    assert got.status_code == 403 and got.json()["error"] == "outside_jurisdiction"


def test_the_queries_are_the_bureaus_only(client, inner):
    assert client.get("/api/v1/national/concurrent-roles").status_code == 401
    unsigned = client.post("/api/v1/national/node-query", json={"query": "concurrent_roles"})
    assert unsigned.status_code == 401


def test_the_bureaus_query_page_lists_a_contractors_records(client, feed, inner, staff_headers):
    feed.push(inner, inner.publish("im-1", department("150102", project_name="白云鄂博东矿项目部")))
    page = client.get(f"/national/queries?uscc={inner.firm.uscc}", headers=staff_headers)
    assert page.status_code == 200
    assert "白云鄂博东矿项目部" in page.text and "内蒙古自治区" in page.text
    assert f"/api/v1/national/contractors/{inner.firm.uscc}/records?format=xlsx" in page.text
    assert len(_audits(feed.session, "contractor_records")) == 1
