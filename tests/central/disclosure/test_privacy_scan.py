"""Every public page, API answer and export of a populated hub, scanned for unmasked
resident ID numbers and mobile numbers (tests/central/disclosure/privacy.py)."""

from __future__ import annotations

from central.disclosure.dictionary import DATASETS
from tests.central.disclosure.privacy import findings


def public_urls(populated) -> list[str]:
    usccs = [populated.firm.uscc, populated.other.uscc, populated.shanxi_firm.uscc]
    urls = [
        "/",
        "/?q=测试矿山",
        "/?q=测试矿区工程有限公司",  # the fuzzy path
        "/?incidents_within_years=5&sort=updated",
        "/open-data",
        "/static/public.css",
        "/api/v1/public/contractors",
        "/api/v1/public/contractors?q=测试&page_size=100",
        "/api/v1/public/contractors?updated_since=2020-01-01T00:00:00Z",
        "/openapi.json",
    ]
    for uscc in usccs:
        urls += [f"/contractors/{uscc}", f"/api/v1/public/contractors/{uscc}"]
    for name in DATASETS:
        for fmt in ("csv", "jsonl"):
            urls += [
                f"/api/v1/public/export/{name}.{fmt}",
                f"/api/v1/public/export/{name}.{fmt}?updated_since=2020-01-01T00:00:00Z",
            ]
    return urls


def test_no_public_response_carries_an_unmasked_id_or_mobile(client, populated):
    # The hub really holds personal data: the nodes disclosed it at ingest.
    assert any(len(s) == 18 for s in populated.secrets)
    assert any(len(s) == 11 and s.startswith("1") for s in populated.secrets)
    problems = []
    for url in public_urls(populated):
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        text = response.content.decode("utf-8-sig")
        problems += [f"{url}: {f}" for f in findings(text)]
        problems += [f"{url}: disclosed value {s}" for s in populated.secrets if s in text]
    assert problems == []
