"""The statistics refresher: incremental deltas equal a rebuild, tombstones subtract."""

from __future__ import annotations

from schemas.enums import RecordKind
from tests.central.statistics.support import accident_form, department
from tests.node import factories


def cell(feed, measure: str, province: str, month: str, key: str):
    for row in feed.cells():
        if row[:4] == (measure, province, month, key):
            return row[4:]
    return None


def snapshot_of_everything(feed):
    return (
        feed.cells(),
        feed.table("hub_stat_contribution"),
        feed.table("hub_person_index"),
        feed.table("hub_person_overlap"),
    )


def test_publications_are_counted_once_refreshed(feed, inner):
    feed.push(inner, inner.publish("dept-1", department(start_month="2026-01")))
    assert cell(feed, "departments", "150000", "2026-01", "all") is None  # not yet refreshed
    assert feed.refresh() == 1
    assert cell(feed, "departments", "150000", "2026-01", "all") == (1, 0, 0)
    assert cell(feed, "written_report", "150000", "2026-01", "yes") == (1, 0, 0)
    assert feed.refresh() == 0  # the queue is empty: nothing counted twice


def test_a_new_version_replaces_the_old_contribution(feed, inner):
    feed.push(inner, inner.publish("dept-1", department(start_month="2026-01")))
    feed.refresh()
    changed = department(start_month="2026-02", written_report=False, written_report_date=None)
    feed.push(inner, inner.publish("dept-1", changed, version_no=2))
    feed.refresh()
    assert cell(feed, "departments", "150000", "2026-01", "all") is None
    assert cell(feed, "departments", "150000", "2026-02", "all") == (1, 0, 0)
    assert cell(feed, "written_report", "150000", "2026-02", "no") == (1, 0, 0)


def test_accidents_count_deaths_per_category_grade_and_party(feed, inner):
    uscc = inner.firm.uscc
    feed.push(
        inner,
        inner.publish("acc-1", accident_form(uscc, deaths=3), kind=RecordKind.ACCIDENT),
        inner.publish(
            "acc-2",
            accident_form(uscc, deaths=0, categories=[1], occurred_at="2026-05-31T23:30:00+08:00"),
            kind=RecordKind.ACCIDENT,
        ),
    )
    feed.refresh()
    assert cell(feed, "accidents", "150000", "2026-05", "all") == (2, 3, 0)
    assert cell(feed, "accident_category", "150000", "2026-05", "1") == (2, 3, 0)
    assert cell(feed, "accident_category", "150000", "2026-05", "11") == (1, 3, 0)
    assert cell(feed, "accident_grade", "150000", "2026-05", "larger") == (1, 3, 0)
    assert cell(feed, "accident_grade", "150000", "2026-05", "general") == (1, 0, 0)
    assert cell(feed, "responsible_party", "150000", "2026-05", "contractor") == (2, 3, 0)


def test_a_tombstone_subtracts_everything_the_record_added(feed, inner):
    feed.push(inner, inner.publish("dept-1", department()))
    feed.refresh()
    feed.push(inner, inner.tombstone("dept-1"))
    feed.refresh()
    assert feed.cells() == []
    assert feed.table("hub_stat_contribution") == []
    assert feed.table("hub_person_index") == []


def test_incremental_refresh_equals_a_rebuild_after_a_mixed_sequence(feed, inner, shanxi):
    uscc = inner.firm.uscc
    feed.push(
        inner,
        inner.publish("dept-1", department()),
        inner.publish(
            "dept-2", department(start_month="2025-03", agreement_signed=False, agreement_date=None)
        ),
        inner.publish("lic-1", factories.licence(), kind=RecordKind.LICENCE),
        inner.publish("acc-1", accident_form(uscc), kind=RecordKind.ACCIDENT),
    )
    feed.refresh()
    feed.push(shanxi, shanxi.publish("dept-sx", department("140105")))
    feed.push(inner, inner.publish("dept-1", department(start_month="2026-03"), version_no=2))
    feed.refresh()
    feed.push(
        inner,
        inner.tombstone("dept-2"),
        inner.publish(
            "acc-1",
            accident_form(uscc, deaths=4, categories=[10]),
            kind=RecordKind.ACCIDENT,
            version_no=2,
        ),
        inner.publish("dept-3", department(expected_end_month="2026-02")),
    )
    feed.push(shanxi, shanxi.tombstone("dept-sx"))
    # A record published and refreshed, then republished twice before the next refresh.
    feed.push(inner, inner.publish("dept-3", department(start_month="2025-06"), version_no=2))
    feed.push(inner, inner.publish("dept-3", department(start_month="2025-07"), version_no=3))
    feed.refresh()
    incremental = snapshot_of_everything(feed)
    assert incremental[0], "something is counted"
    feed.rebuild()
    assert snapshot_of_everything(feed) == incremental
    # Batches smaller than the records: the counters summed across batches.
    feed.rebuild(batch=2)
    assert snapshot_of_everything(feed) == incremental


def test_the_snapshot_carries_totals_rates_and_flags(feed, inner):
    from central.statistics import repository

    feed.push(
        inner,
        inner.publish("dept-1", department()),
        inner.publish("dept-2", department(agreement_signed=False, agreement_date=None)),
        inner.publish("lic-1", factories.licence(valid_to="2026-05-31"), kind=RecordKind.LICENCE),
    )
    feed.refresh()
    doc = repository.state(feed.session).snapshot
    assert doc["totals"]["departments"] == 2
    assert doc["rates"]["agreement"] == {"yes": 1, "no": 1, "rate": 0.5}
    flags = {f["code"]: f["count"] for f in doc["flags"]}
    assert flags["agreement_not_signed"] == 1
    assert flags["licence_expired"] == 1  # ended in May, the tests' clock is in June
    (province,) = doc["provinces"]
    assert (province["code"], province["departments"]) == ("150000", 2)
    assert [g["count"] for g in doc["qualification_grades"]] == [0, 0, 1, 0]


def test_a_backlog_writes_the_snapshot_once_drained(feed, inner):
    from datetime import timedelta

    from central.statistics import repository, service
    from tests.central.statistics.support import PERSON_KEY
    from tests.central.support import NOW

    feed.push(inner, inner.publish("dept-0", department()))
    feed.refresh()
    feed.push(inner, *[inner.publish(f"dept-{i}", department()) for i in (1, 2, 3)])
    later = NOW + timedelta(minutes=1)
    assert service.refresh_batch(feed.session, PERSON_KEY, later, limit=2) == 2
    feed.session.expire_all()
    assert repository.state(feed.session).snapshot["totals"]["departments"] == 1  # more to come
    assert service.refresh_batch(feed.session, PERSON_KEY, later, limit=2) == 1
    feed.session.expire_all()
    assert repository.state(feed.session).snapshot["totals"]["departments"] == 4
