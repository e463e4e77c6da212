"""The node's national queries: regulators only; without the hub, a clear 503.

The answer itself comes from a real hub: tests/federation/test_national_queries.py.
"""

from __future__ import annotations


def test_contractors_may_not_ask_national_queries(client, contractor_headers):
    got = client.get("/api/v1/national/concurrent-roles", headers=contractor_headers)
    assert got.status_code == 403 and got.json()["error"] == "role_not_allowed"


def test_a_node_not_enrolled_says_it_cannot_ask_the_hub(client, county_headers):
    got = client.get("/api/v1/national/accidents-elsewhere", headers=county_headers)
    assert got.status_code == 503
    assert got.json()["error"] == "hub_unreachable"
    assert "国家中心" in got.json()["detail"]


def test_the_format_is_checked_before_the_hub_is_asked(client, county_headers):
    got = client.get("/api/v1/national/concurrent-roles?format=pdf", headers=county_headers)
    assert got.status_code == 422
