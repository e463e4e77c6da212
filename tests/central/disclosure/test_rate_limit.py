"""Public routes are rate-limited per client address: 429, bilingual, Retry-After."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.config import CentralSettings
from central.web.ratelimit import TokenBucket


@pytest.fixture
def limited(hub_db_url, tmp_path, hub_engine, connection, clock, hub_key):
    from tests.central.conftest import _session

    def make(**limits):
        settings = CentralSettings(
            environment="test",
            database_url=hub_db_url,
            key_file=tmp_path / "absent.pem",
            **limits,
        )
        app = create_app(settings, engine=hub_engine, clock=clock, signing_key=hub_key)
        app.state.session_factory = lambda: _session(connection)
        return app

    return make


def test_a_burst_then_429_with_retry_after_then_allowed_again(limited, clock):
    app = limited(public_rate_per_minute=6, public_rate_burst=3)
    with TestClient(app, base_url="http://hub.test", client=("10.0.0.1", 1)) as c:
        assert [c.get("/api/v1/public/contractors").status_code for _ in range(3)] == [200] * 3
        refused = c.get("/api/v1/public/contractors")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "10"  # one token per 10 s
        body = refused.json()
        assert body["error"] == "rate_limited"
        assert "请" in body["detail"] and "too many requests" in body["detail"]
        page = c.get("/open-data")
        assert page.status_code == 429
        assert page.headers["content-type"].startswith("text/html")
        assert "访问过于频繁" in page.text and page.headers["Retry-After"]
        clock.advance(10)
        assert c.get("/api/v1/public/contractors").status_code == 200
        assert c.get("/api/v1/public/contractors").status_code == 429


def test_each_client_address_has_its_own_allowance(limited):
    app = limited(public_rate_per_minute=60, public_rate_burst=1)
    with TestClient(app, base_url="http://hub.test", client=("10.0.0.1", 1)) as a:
        assert a.get("/").status_code == 200
        assert a.get("/").status_code == 429
    with TestClient(app, base_url="http://hub.test", client=("10.0.0.2", 1)) as b:
        assert b.get("/").status_code == 200


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(limited):
    app = limited(public_rate_per_minute=60, public_rate_burst=1, trusted_proxies=["10.0.0.9"])
    with TestClient(app, base_url="http://hub.test", client=("10.0.0.9", 1)) as proxy:
        for who in ("1.1.1.1", "2.2.2.2"):
            assert proxy.get("/", headers={"X-Forwarded-For": who}).status_code == 200
        assert proxy.get("/", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 429
    with TestClient(app, base_url="http://hub.test", client=("10.0.0.3", 1)) as direct:
        assert direct.get("/", headers={"X-Forwarded-For": "3.3.3.3"}).status_code == 200
        assert direct.get("/", headers={"X-Forwarded-For": "4.4.4.4"}).status_code == 429


def test_exports_have_their_own_hourly_limit(limited):
    app = limited(public_rate_per_minute=600, public_rate_burst=100, public_export_per_hour=2)
    with TestClient(app, base_url="http://hub.test", client=("10.0.0.1", 1)) as c:
        codes = [c.get("/api/v1/public/export/licences.csv").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert c.get("/api/v1/public/contractors").status_code == 200


def test_zero_turns_the_limits_off(limited):
    app = limited(public_rate_per_minute=0, public_rate_burst=1, public_export_per_hour=0)
    with TestClient(app, base_url="http://hub.test", client=("10.0.0.1", 1)) as c:
        assert {c.get("/api/v1/public/contractors").status_code for _ in range(5)} == {200}


def test_the_bucket_forgets_the_oldest_clients_first():
    bucket = TokenBucket(rate_per_s=1.0, capacity=1, max_clients=2)
    assert bucket.take("a", 0.0) is None
    assert bucket.take("a", 0.0) == 1
    bucket.take("b", 0.0)
    bucket.take("c", 0.0)  # "a" is forgotten: it starts with a full bucket again
    assert bucket.take("a", 0.0) is None
