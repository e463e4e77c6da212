"""The hub's /metrics adds the request counts and latencies of its own routes."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def _requests(client, route: str, status: str) -> float:
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    wanted = {"app": "hub", "method": "GET", "route": route, "status": status}
    return sum(
        s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
        if s.name == "minefed_http_requests_total" and s.labels == wanted
    )


def test_hub_requests_are_counted_by_route_template(client):
    route = "/api/v1/public/log/records/{record_id}"
    before = _requests(client, route, "4xx")
    record_id = "0b7e2a8e-0000-4000-8000-000000000000"
    assert client.get(f"/api/v1/public/log/records/{record_id}").status_code == 404
    after = _requests(client, route, "4xx")
    assert after - before == 1
    assert _requests(client, "/metrics", "2xx") >= 1
    assert client.get("/healthz").headers["X-Request-ID"]
