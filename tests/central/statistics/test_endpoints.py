"""The statistics APIs and pages read the refreshed snapshot; no personal data in them."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from schemas.enums import AccidentCategory, RecordKind
from tests.central.statistics.support import accident_form, department
from tests.central.support import ok
from tests.node import factories


def fill(feed, inner, shanxi):
    feed.push(
        inner,
        inner.publish("dept-1", department()),
        inner.publish("acc-1", accident_form(inner.firm.uscc, deaths=3), kind=RecordKind.ACCIDENT),
    )
    feed.push(shanxi, shanxi.publish("dept-sx", department("140105")))
    feed.refresh()


def test_public_stats_are_the_refreshed_snapshot(client, feed, inner, shanxi):
    before = ok(client.get("/api/v1/public/stats"))
    assert before["totals"]["departments"] == 0  # nothing refreshed yet
    fill(feed, inner, shanxi)
    doc = ok(client.get("/api/v1/public/stats"))
    assert doc["schema_version"] == 1
    assert doc["totals"] == {
        "contractors": 0,
        "licences": 0,
        "departments": 2,
        "accidents": 1,
        "deaths": 3,
        "serious_injuries": 0,
        "rewards": 0,
        "penalties": 0,
    }
    assert len(doc["accident_categories"]) == len(AccidentCategory) == 20
    assert [p["code"] for p in doc["provinces"]] == ["140000", "150000"]
    may = next(m for m in doc["months"] if m["month"] == "2026-05")
    assert (may["accidents"], may["deaths"]) == (1, 3)


def test_each_refresh_is_served_from_then_on_and_made_once(client, feed, inner, shanxi):
    fill(feed, inner, shanxi)
    first = client.get("/api/v1/public/stats")
    page = client.get("/stats")
    assert client.get("/api/v1/public/stats").content == first.content
    assert client.get("/stats").text == page.text
    assert first.headers["content-type"] == "application/json"
    feed.push(
        inner,
        inner.publish("acc-2", accident_form(inner.firm.uscc, deaths=2), kind=RecordKind.ACCIDENT),
    )
    assert ok(client.get("/api/v1/public/stats"))["totals"]["deaths"] == 3  # not refreshed yet
    feed.refresh()
    assert ok(client.get("/api/v1/public/stats"))["totals"]["deaths"] == 5
    assert "内蒙古: 2 起" in client.get("/stats").text


def test_nothing_personal_reaches_the_public_statistics(client, feed, inner, shanxi):
    fill(feed, inner, shanxi)
    data = department()
    people = [data["head"], *data["safety_managers"], *data["technical_staff"]]
    for url in ("/api/v1/public/stats", "/stats"):
        text = client.get(url).text
        for person in people:
            assert person["resident_id"] not in text
            assert person["resident_id"][:6] + "********" not in text
            assert person["name"] not in text


def test_the_public_page_draws_charts_and_the_tile_map_itself(client, feed, inner, shanxi):
    fill(feed, inner, shanxi)
    page = client.get("/stats")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert html.count("<svg") >= 8
    assert "内蒙古: 1 起" in html  # the tile's tooltip
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "<script" not in html


def test_the_bureau_filters_by_province_and_year_and_exports(
    client, feed, inner, shanxi, staff_headers
):
    fill(feed, inner, shanxi)
    one = ok(client.get("/api/v1/national/stats?province=150000&year=2026", headers=staff_headers))
    assert one["scope"] == {"province": "150000", "year": "2026"}
    assert (one["totals"]["departments"], one["totals"]["accidents"]) == (1, 1)
    got = client.get("/api/v1/national/stats?format=csv", headers=staff_headers)
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["省份代码", "省份", "承包单位"]
    assert [r[0] for r in rows[1:]] == ["140000", "150000"]
    got = client.get("/api/v1/national/stats?format=xlsx", headers=staff_headers)
    book = load_workbook(io.BytesIO(got.content))
    assert "accident_categories" in book.sheetnames
    page = client.get("/national/stats?province=150000", headers=staff_headers)
    assert page.status_code == 200 and "<svg" in page.text


def test_the_bureaus_views_are_made_once_per_refresh(
    client, feed, inner, shanxi, staff_headers, monkeypatch
):
    from central.statistics import endpoints

    made = []
    compute = endpoints.statistics

    def counted(*args, **kwargs):
        made.append(kwargs)
        return compute(*args, **kwargs)

    monkeypatch.setattr(endpoints, "statistics", counted)
    fill(feed, inner, shanxi)
    url = "/api/v1/national/stats?province=150000&year=2026"

    def departments() -> int:
        return ok(client.get(url, headers=staff_headers))["totals"]["departments"]

    assert departments() == 1
    xlsx = client.get(url + "&format=xlsx", headers=staff_headers).content
    page = client.get("/national/stats?province=150000&year=2026", headers=staff_headers)
    assert page.status_code == 200 and "<svg" in page.text
    assert departments() == 1
    assert made == [{"province": "150000", "year": "2026"}]  # one document for all four
    feed.push(inner, inner.publish("dept-2", department(start_month="2026-02")))
    assert departments() == 1  # not refreshed yet: the same version
    feed.refresh()
    assert departments() == 2
    assert len(made) == 2
    assert client.get(url + "&format=xlsx", headers=staff_headers).content != xlsx
    # Another filter is another document.
    assert ok(client.get("/api/v1/national/stats?year=2025", headers=staff_headers))
    assert made[-1] == {"province": None, "year": "2025"}


def test_the_bureaus_statistics_need_a_login(client):
    assert client.get("/api/v1/national/stats").status_code == 401
    assert client.get("/national/stats").status_code == 401


def test_the_snapshot_follows_the_month_even_without_new_records(feed, inner):
    from datetime import timedelta

    from central.statistics import repository, service
    from tests.central.statistics.support import PERSON_KEY
    from tests.central.support import NOW

    feed.push(
        inner,
        inner.publish("lic", factories.licence(valid_to="2026-07-31"), kind=RecordKind.LICENCE),
    )
    feed.refresh()
    flags = {f["code"]: f["count"] for f in repository.state(feed.session).snapshot["flags"]}
    assert (flags["licence_expiring"], flags["licence_expired"]) == (1, 0)
    assert service.refresh_batch(feed.session, PERSON_KEY, NOW + timedelta(days=60)) == 0
    feed.session.expire_all()
    flags = {f["code"]: f["count"] for f in repository.state(feed.session).snapshot["flags"]}
    assert (flags["licence_expiring"], flags["licence_expired"]) == (0, 1)


def test_a_kept_view_is_made_once_for_concurrent_requests_and_failures_are_not_kept():
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from central.statistics.endpoints import MADE_PER_VERSION, _Kept

    kept = _Kept()
    calls = []
    gate = threading.Event()

    def make():
        calls.append(1)
        gate.wait(5)
        return {"doc": len(calls)}

    with ThreadPoolExecutor(8) as pool:
        answers = [pool.submit(kept.get, "v1", "doc", make) for _ in range(8)]
        time.sleep(0.2)  # every request is waiting on the first one's making
        gate.set()
        assert [a.result() for a in answers] == [{"doc": 1}] * 8
    assert len(calls) == 1
    assert kept.get("v2", "doc", make) == {"doc": 2}  # a new version is made again

    def broken():
        raise RuntimeError("database gone")

    for _ in range(2):  # a failure reaches the caller and is not kept
        with pytest.raises(RuntimeError, match="database gone"):
            kept.get("v2", "other", broken)
    assert kept.get("v2", "other", lambda: "made") == "made"
    for n in range(MADE_PER_VERSION + 10):
        kept.get("v2", ("n", n), lambda n=n: n)
    assert kept.get("v2", ("n", 0), lambda: "made again") == "made again"  # the oldest went
    assert kept.get("v2", ("n", MADE_PER_VERSION + 9), lambda: "no") == MADE_PER_VERSION + 9
