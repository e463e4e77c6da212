"""The node's request metrics, request ids and access log lines (minefed.observability)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from minefed.observability import ACCESS_LOGGER, JsonFormatter
from schemas.enums import Role
from tests.node.factories import make_user, token_for

ROUTE = "/api/v1/accidents/{record_id}"


def samples(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
    }


def labels(route: str, status: str, method: str = "GET", **more: str):
    return tuple(
        sorted({"app": "node", "method": method, "route": route, "status": status, **more}.items())
    )


@pytest.fixture
def county(session) -> dict[str, str]:
    return token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))


def test_requests_and_latencies_are_counted_by_route_template(client, county):
    before = samples(client)
    unknown = uuid.uuid4()
    for _ in range(2):
        assert client.get(f"/api/v1/accidents/{unknown}", headers=county).status_code == 404
    assert client.get("/healthz").status_code == 200
    after = samples(client)

    def moved(name: str, key) -> float:
        return after.get((name, key), 0) - before.get((name, key), 0)

    assert moved("minefed_http_requests_total", labels(ROUTE, "4xx")) == 2
    assert moved("minefed_http_request_duration_seconds_count", labels(ROUTE, "4xx")) == 2
    assert (
        moved("minefed_http_request_duration_seconds_bucket", labels(ROUTE, "4xx", le="+Inf")) == 2
    )
    assert moved("minefed_http_requests_total", labels("/healthz", "2xx")) == 1
    # The path's id is never a label value: routes are templates.
    assert not any(str(unknown) in str(key) for key in after)
    # The database-backed families are still there beside them.
    assert ("minefed_node_sync_quarantine", (("status", "pending"),)) in after


def test_a_path_no_route_matches_is_one_label(client):
    before = samples(client)
    assert client.get(f"/no/such/{uuid.uuid4()}").status_code == 404
    after = samples(client)
    key = ("minefed_http_requests_total", labels("<unmatched>", "4xx"))
    assert after[key] - before.get(key, 0) == 1


def test_the_request_id_is_kept_from_the_proxy_or_made(client):
    given = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a.1"})
    assert given.headers["X-Request-ID"] == "edge-7f3a.1"
    made = client.get("/healthz")
    assert len(made.headers["X-Request-ID"]) == 32
    # Something that is not an id (here: spaces, a quote) is replaced, not logged.
    odd = client.get("/healthz", headers={"X-Request-ID": 'x" injected line'})
    assert odd.headers["X-Request-ID"] != 'x" injected line'


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_an_access_line_is_json_without_the_query_string(client, county, access_lines):
    resident_id = "11010519491231002X"
    response = client.get(
        "/api/v1/records",
        params={"q": resident_id},
        headers={**county, "X-Request-ID": "req-42"},
    )
    assert response.status_code == 200, response.text
    (line,) = [json.loads(raw) for raw in access_lines.getvalue().splitlines()]
    assert line["logger"] == ACCESS_LOGGER and line["level"] == "INFO"
    assert line["time"].endswith("+00:00")
    assert (line["request_id"], line["method"], line["route"], line["status"]) == (
        "req-42",
        "GET",
        "/api/v1/records",
        200,
    )
    assert isinstance(line["duration_ms"], float)
    assert resident_id not in access_lines.getvalue()
