"""GET /api/v1/public/export/{dataset}.csv|.jsonl: open data by the data dictionary."""

from __future__ import annotations

import csv
import io
import json

import pytest

from central.disclosure.dictionary import DATASETS
from schemas.enums import RecordKind

EXPORT = "/api/v1/public/export/"


def jsonl(client, dataset, **params):
    response = client.get(f"{EXPORT}{dataset}.jsonl", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines() if line]


def rows_csv(client, dataset, **params):
    response = client.get(f"{EXPORT}{dataset}.csv", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_csv_and_jsonl_agree_and_follow_the_dictionary(client, populated, dataset):
    as_json = jsonl(client, dataset)
    as_csv = rows_csv(client, dataset)
    columns = [c.name for c in DATASETS[dataset].columns]
    assert as_json and len(as_json) == len(as_csv)
    assert all(list(row) == columns for row in as_json)
    assert list(as_csv[0]) == columns
    assert [r["record_id"] for r in as_json] == [r["record_id"] for r in as_csv]


def test_the_records_of_each_kind_and_nothing_withdrawn(client, populated):
    departments = jsonl(client, "project_departments")
    assert sorted(r["record_id"] for r in departments) == ["pd-1", "pd-2", "pd-other", "sx-pd"]
    pd2 = next(r for r in departments if r["record_id"] == "pd-2")
    assert (pd2["safety_manager_count"], pd2["technical_staff_count"]) == (1, 1)
    assert pd2["agreement_signed"] is False and pd2["contracting_mode_zh"] == "总承包"
    accident = jsonl(client, "accidents")[0]
    assert (accident["grade_zh"], accident["categories_zh"]) == ("一般", "冒顶片帮")
    contractors = {r["uscc"]: r for r in jsonl(client, "contractors")}
    assert set(contractors) == {populated.firm.uscc, populated.shanxi_firm.uscc}
    assert "contact_phone" not in contractors[populated.firm.uscc]


def test_updated_since_brings_changes_and_deletions(client, populated, inner, clock):
    since = clock.now().isoformat()
    assert jsonl(client, "project_departments", updated_since=since) == []
    clock.advance(60)
    assert inner.push(client, [inner.tombstone("pd-1")]).status_code == 200
    rows = jsonl(client, "project_departments", updated_since=since)
    assert [(r["record_id"], r["project_name"]) for r in rows] == [("pd-1", None)]
    assert rows[0]["deleted_at"] is not None
    # Without updated_since, deletions are simply absent.
    full = jsonl(client, "project_departments")
    assert "pd-1" not in {r["record_id"] for r in full}
    kinds = {d.kind for d in DATASETS.values()}
    assert kinds == set(RecordKind)


def test_an_unknown_dataset_is_a_404(client, populated):
    response = client.get(f"{EXPORT}people.csv")
    assert response.status_code == 404
    assert response.json()["error"] == "dataset_not_found"
