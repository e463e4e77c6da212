"""The bureau's account decisions arrive as signed directives and are applied exactly once:
allocation, reset, disable, enable, delete, quota; each answered by an account report."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from node.auth.passwords import hash_password
from node.models import ApiToken, AuditEvent, Contractor, NodeFederation, User
from node.sync.service import pull, retry
from schemas.enums import Role
from sync.clock import format_rfc3339
from sync.envelope import seal
from sync.tables import QuarantinedMessage
from tests.node.factories import NOW, PASSWORD, make_user, token_for
from tests.node.sync.conftest import outbox

NODE = "node:150000"
CODE = "K7QD-2MXT-9PRA-HW4C"


@pytest.fixture(scope="module")
def code_hash() -> str:
    return hash_password(CODE)


def credential(code_hash: str, days: int = 7) -> dict:
    return {
        "kind": "one_time_code",
        "hash": code_hash,
        "expires_at": format_rfc3339(NOW + timedelta(days=days)),
    }


def create_payload(code_hash: str, **over) -> dict:
    payload = {
        "account_id": str(uuid.uuid4()),
        "username": "nm-admin",
        "display_name": "内蒙古自治区应急管理厅管理员",
        "role": "provincial_admin",
        "division_code": "150000",
        "credential": credential(code_hash),
        "version": 1,
        "requested_by": "bureau-admin",
    }
    payload.update(over)
    return payload


def state_payload(user: User, version: int, **over) -> dict:
    return {
        "account_id": str(user.id),
        "username": user.username,
        "version": version,
        "requested_by": "bureau-admin",
        **over,
    }


@pytest.fixture
def apply(factory, http, sync_settings, node_key, clock, publisher, federation):
    """Pull the fake hub's inbox now, as the worker would (publisher bound)."""

    def run():
        return pull(factory, http, sync_settings, node_key, clock, publisher=publisher)

    return run


def login(client, username: str, password: str):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def reports(session) -> list[dict]:
    return [m.envelope["payload"] for m in outbox(session, "hub") if m.kind == "account.report"]


def quarantined(session) -> list[str]:
    session.expire_all()
    return [q.reason_code for q in session.exec(select(QuarantinedMessage))]


def test_an_allocated_administrator_logs_in_with_the_one_time_code_and_must_replace_it(
    client, session, enrolled_app, hub, apply, code_hash, kicks
):
    payload = create_payload(code_hash)
    hub.directive(NODE, "account_create", payload)
    assert apply().applied == 1
    user = session.get(User, uuid.UUID(payload["account_id"]))
    assert (user.username, user.role, user.division_code) == (
        "nm-admin",
        "provincial_admin",
        "150000",
    )
    assert user.must_change_password and user.hub_version == 1
    assert user.password_hash == code_hash  # the hash that came down; the code never did

    # Answered to the hub: who applied which directive; no credential in the report.
    (report,) = reports(session)
    assert report["applied"] == {"kind": "directive.account_create", "seq": 1, "version": 1}
    assert report["status"] == "active" and report["must_change_password"] is True
    assert "hash" not in str(report) and "$argon2" not in str(report)
    assert kicks, "the report is pushed at once"
    (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "account.created")).all()
    assert event.detail["requested_by"] == "hub:bureau-admin"
    assert (event.detail["applied_by"], event.detail["directive_seq"]) == (NODE, 1)

    token = login(client, "nm-admin", CODE)
    assert token.status_code == 200 and token.json()["must_change_password"] is True
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    blocked = client.get("/api/v1/accounts", headers=headers)
    assert (blocked.status_code, blocked.json()["error"]) == (403, "password_change_required")
    assert client.get("/api/v1/auth/me", headers=headers).json()["must_change_password"] is True
    changed = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"old_password": CODE, "new_password": "Steppe-Wind-2026"},
    )
    assert changed.status_code == 204, changed.text
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    assert login(client, "nm-admin", CODE).status_code == 401
    # The hub hears that the one-time code is gone.
    assert reports(session)[-1]["must_change_password"] is False

    # The same directive delivered again (a hub restored from backup): nothing happens.
    hub.deliver(hub.inbox[0]["envelope"])
    assert apply().applied == 0
    assert len(reports(session)) == 2


def test_an_expired_one_time_code_does_not_log_in(client, session, hub, apply, code_hash, clock):
    hub.directive(
        NODE, "account_create", create_payload(code_hash, credential=credential(code_hash, 1))
    )
    apply()
    clock.advance(86400 + 1)
    refused = login(client, "nm-admin", CODE)
    assert (refused.status_code, refused.json()["error"]) == (401, "one_time_code_expired")


def test_a_reset_revokes_every_token_and_forces_a_new_password(
    client, session, hub, apply, code_hash
):
    user = make_user(session, Role.COUNTY_REGULATOR, "150102")
    headers = token_for(session, user)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    hub.directive(
        NODE, "password_reset", {**state_payload(user, 1), "credential": credential(code_hash)}
    )
    assert apply().applied == 1

    gone = client.get("/api/v1/auth/me", headers=headers)
    assert (gone.status_code, gone.json()["error"]) == (401, "invalid_token")
    assert all(
        t.revoked_at == NOW
        for t in session.exec(select(ApiToken).where(ApiToken.user_id == user.id))
    )
    assert login(client, user.username, PASSWORD).status_code == 401
    fresh = login(client, user.username, CODE)
    assert fresh.status_code == 200 and fresh.json()["must_change_password"] is True
    assert reports(session)[-1]["applied"]["kind"] == "directive.password_reset"

    # An older reset, retried (say from quarantine), cannot undo the newer one.
    session.refresh(user)
    current = user.password_hash
    hub.directive(
        NODE,
        "password_reset",
        {**state_payload(user, 1), "credential": credential(hash_password("x"))},
    )
    assert apply().applied == 1  # verified and accepted, but stale: no change
    session.refresh(user)
    assert user.password_hash == current and user.hub_version == 1


def test_disable_enable_and_delete(client, session, hub, apply, claims_app):
    county = make_user(session, Role.COUNTY_REGULATOR, "150102")
    contractor = make_user(session, Role.CONTRACTOR, "150102")
    headers = token_for(session, contractor)
    hub.directive(NODE, "account_disable", state_payload(contractor, 1, reason="核查中"))
    apply()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    disabled = login(client, contractor.username, PASSWORD)
    assert (disabled.status_code, disabled.json()["error"]) == (401, "account_disabled")
    assert reports(session)[-1]["status"] == "disabled"

    hub.directive(NODE, "account_enable", state_payload(contractor, 2))
    apply()
    assert login(client, contractor.username, PASSWORD).status_code == 200

    hub.directive(NODE, "account_delete", state_payload(contractor, 3))
    apply()
    deleted = login(client, contractor.username, PASSWORD)
    assert (deleted.status_code, deleted.json()["error"]) == (401, "bad_credentials")
    session.refresh(contractor)
    assert contractor.deleted_at == NOW and not contractor.is_active
    assert reports(session)[-1]["status"] == "deleted"
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "account.deleted")).one()

    # The company may be given a new account (one live account per USCC).
    regulator = token_for(session, county)
    firm = session.get(Contractor, contractor.contractor_id)
    again = client.post(
        "/api/v1/accounts",
        headers=regulator,
        json={
            "username": "firm-again",
            "display_name": firm.name,
            "role": "contractor",
            "division_code": "150102",
            "password": "Initial-Pass-2026",
            "contractor": {"uscc": firm.uscc, "name": firm.name},
        },
    )
    assert again.status_code == 201, again.text
    listed = client.get("/api/v1/accounts?include_deleted=true", headers=regulator).json()["items"]
    assert {a["username"]: a["status"] for a in listed}[contractor.username] == "deleted"
    # A directive about a deleted account is refused and kept for the operator.
    hub.directive(NODE, "account_enable", state_payload(contractor, 4))
    apply()
    assert quarantined(session) == ["unknown_account"]


def test_the_quota_directive_limits_contractor_accounts(
    client, session, hub, apply, claims_app, claim_hub
):
    county = token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))
    hub.directive(
        NODE,
        "quota",
        {
            "province_code": "150000",
            "contractor_accounts": 1,
            "version": 1,
            "requested_by": "bureau-admin",
        },
    )
    apply()
    assert client.get("/api/v1/accounts/quota", headers=county).json() == {
        "contractor_accounts": 1,
        "used": 0,
        "remaining": 1,
    }

    def contractor_account(n: int):
        from schemas.identifiers import make_uscc

        return client.post(
            "/api/v1/accounts",
            headers=county,
            json={
                "username": f"firm-{n}",
                "display_name": f"第{n}公司",
                "role": "contractor",
                "division_code": "150102",
                "password": "Initial-Pass-2026",
                "contractor": {"uscc": make_uscc("150102", f"5500{n:04d}"), "name": f"第{n}公司"},
            },
        )

    assert contractor_account(1).status_code == 201
    refused = contractor_account(2)
    assert (refused.status_code, refused.json()["error"]) == (409, "quota_exhausted")
    assert "上限" in refused.json()["detail"]
    assert len(claim_hub.claims) == 1, "refused locally, before asking the hub"
    assert session.exec(select(User).where(User.username == "firm-2")).first() is None

    # An older quota directive does not lower or raise the newer one.
    hub.directive(
        NODE,
        "quota",
        {"province_code": "150000", "contractor_accounts": 9, "version": 1, "requested_by": "x"},
    )
    apply()
    session.expire_all()
    assert session.get(NodeFederation, 1).contractor_account_quota == 1


def test_what_a_node_refuses_to_apply(session, hub, other_node, other_key, apply, code_hash):
    make_user(session, Role.COUNTY_REGULATOR, "150102", username="taken")
    hub.directive(NODE, "account_create", create_payload(code_hash, username="taken"))
    hub.directive(NODE, "account_create", create_payload(code_hash, division_code="140000"))
    hub.directive(NODE, "account_create", create_payload(code_hash, role="county_regulator"))
    hub.directive(
        NODE,
        "account_create",
        create_payload(code_hash, credential={"kind": "password", "hash": "plain"}),
    )
    hub.directive(
        NODE,
        "password_reset",
        {
            "account_id": str(uuid.uuid4()),
            "username": "ghost",
            "version": 1,
            "requested_by": "x",
            "credential": credential(code_hash),
        },
    )
    # Forged: signed by a node's key while claiming to be the hub.
    hub.directive(
        NODE, "account_create", create_payload(code_hash, username="forged"), key=other_key
    )
    # Forged: a node sends a directive in its own name.
    hub.deliver(
        seal("directive.password_reset", "node:140000", 1, NODE, {"x": 1}, other_key, NOW).to_dict()
    )
    assert apply().applied == 0
    assert quarantined(session) == [
        "username_taken",
        "schema_invalid",
        "schema_invalid",
        "schema_invalid",
        "unknown_account",
        "key_owner_mismatch",
        "kind_not_allowed",
    ]
    assert session.exec(select(User).where(User.username == "forged")).first() is None
    assert reports(session) == []


def test_a_quarantined_allocation_applies_on_retry_once_the_cause_is_fixed(
    session, hub, apply, code_hash
):
    squatter = make_user(session, Role.COUNTY_REGULATOR, "150102", username="nm-admin")
    payload = create_payload(code_hash)
    hub.directive(NODE, "account_create", payload)
    apply()
    (row,) = session.exec(select(QuarantinedMessage)).all()
    assert row.reason_code == "username_taken"
    squatter.username = "nm-county"
    session.add(squatter)
    session.flush()
    assert retry(session, row.id, "admin", NOW).status == "applied"
    assert session.get(User, uuid.UUID(payload["account_id"])).username == "nm-admin"
