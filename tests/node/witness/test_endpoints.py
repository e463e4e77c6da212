"""The witness's state in the node's API, the sync status and /metrics."""

from __future__ import annotations

from node.witness.service import witness
from schemas.enums import Role
from tests.node.factories import make_user, token_for


def test_status_sync_status_and_metrics_show_a_fork_alarm(
    app, client, session, federation, factory, log_http, sync_settings, node_key, clock, log_server
):
    headers = token_for(session, make_user(session, Role.PROVINCIAL_ADMIN, "150000"))
    session.commit()
    log_server.append(3)
    witness(factory, log_http, sync_settings, node_key, clock)
    status = client.get("/api/v1/witness/status", headers=headers).json()
    assert (status["size"], status["cosigned_size"], status["fork_alarms"]) == (3, 3, 0)
    assert "minefed_node_log_fork_alarms 0.0" in client.get("/metrics").text

    log_server.fork()
    witness(factory, log_http, sync_settings, node_key, clock)
    status = client.get("/api/v1/witness/status", headers=headers).json()
    assert status["fork_alarms"] == 1 and status["alarms"][0]["kind"] == "fork"
    sync_status = client.get("/api/v1/sync/status", headers=headers).json()
    assert sync_status["witness"]["fork_alarms"] == 1
    metrics = client.get("/metrics").text
    assert "minefed_node_log_fork_alarms 1.0" in metrics
    assert "minefed_node_log_witnessed_size 3.0" in metrics


def test_the_witness_status_is_for_provincial_roles(client, session):
    county = token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))
    assert client.get("/api/v1/witness/status", headers=county).status_code == 403
    assert client.get("/api/v1/witness/status").status_code == 401
