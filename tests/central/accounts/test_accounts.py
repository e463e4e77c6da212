"""The hub as account authority: allocation, resets, disable/enable/delete and quotas go
down as signed directives; the nodes' reports build the national directory; one
contractor account per USCC nationally."""

from __future__ import annotations

import uuid

from argon2 import PasswordHasher
from sqlmodel import select

from central.models import HubAccount, HubAuditEvent, HubUsccClaim
from sync.envelope import Envelope, verify_envelope
from sync.keys import KeyRecord, Keyring
from tests.central.support import ADMIN, NOW, ok

PH = PasswordHasher()


def allocate(client, headers, province="150000", username="nm-admin"):
    return client.post(
        "/api/v1/accounts",
        headers=headers,
        json={"province_code": province, "username": username, "display_name": "省管理员"},
    )


def directives(client, node, after=0) -> list[Envelope]:
    answer = ok(node.pull(client, after=after))
    return [Envelope.from_dict(m["envelope"]) for m in answer["messages"]]


def hub_keyring(hub_key) -> Keyring:
    return Keyring([KeyRecord("hub", hub_key.key_id, hub_key.public(), NOW.replace(year=2000))])


def report(node, account_id, *, version=1, hub_version=0, applied=None, **over):
    payload = {
        "account_id": str(account_id),
        "username": "nm-admin",
        "display_name": "省管理员",
        "role": "provincial_admin",
        "division_code": node.province,
        "contractor": None,
        "status": "active",
        "must_change_password": True,
        "created_at": "2026-06-15T02:00:00Z",
        "changed_at": "2026-06-15T02:00:00Z",
        "report_version": version,
        "hub_version": hub_version,
        "applied": applied,
    }
    payload.update(over)
    return node.message("account.report", payload)


def test_an_allocation_goes_down_as_a_signed_directive_with_only_a_hash(
    client, session, inner, admin_headers, hub_key
):
    created = allocate(client, admin_headers)
    assert created.status_code == 201, created.text
    body = created.json()
    code, account = body["one_time_code"], body["account"]
    assert (account["status"], account["origin"], account["directive_pending"]) == (
        "pending",
        "hub",
        True,
    )
    (env,) = [e for e in directives(client, inner) if e.kind == "directive.account_create"]
    verify_envelope(env, hub_keyring(hub_key), recipient="node:150000")
    payload = env.payload
    assert payload["account_id"] == account["id"] and payload["requested_by"] == ADMIN
    assert payload["role"] == "provincial_admin" and payload["division_code"] == "150000"
    assert code not in str(env.to_dict()), "never the code itself on the wire"
    assert payload["credential"]["hash"].startswith("$argon2id$")
    assert PH.verify(payload["credential"]["hash"], code)
    event = session.exec(
        select(HubAuditEvent).where(HubAuditEvent.action == "account.create_requested")
    ).one()
    assert (event.actor, event.detail["directive_seq"]) == (ADMIN, env.seq)

    taken = allocate(client, admin_headers)
    assert (taken.status_code, taken.json()["error"]) == (409, "username_taken")
    absent = allocate(client, admin_headers, province="140000")
    assert (absent.status_code, absent.json()["error"]) == (409, "node_not_enrolled")
    not_province = allocate(client, admin_headers, province="150100")
    assert not_province.status_code == 422


def test_only_the_national_administrator_decides(client, inner, staff_headers, admin_headers):
    assert allocate(client, staff_headers).status_code == 403
    account_id = allocate(client, admin_headers).json()["account"]["id"]
    for path in ("password-reset", "disable", "enable"):
        refused = client.post(f"/api/v1/accounts/{account_id}/{path}", headers=staff_headers)
        assert (refused.status_code, refused.json()["error"]) == (403, "role_not_allowed")
    assert client.delete(f"/api/v1/accounts/{account_id}", headers=staff_headers).status_code == 403
    put = client.put(
        "/api/v1/quotas/150000", json={"contractor_accounts": 3}, headers=staff_headers
    )
    assert put.status_code == 403
    # Staff search nationally.
    found = ok(client.get("/api/v1/accounts", headers=staff_headers))
    assert found["total"] == 1


def test_reset_disable_delete_each_a_new_version_and_the_report_closes_them(
    client, session, inner, admin_headers
):
    account_id = allocate(client, admin_headers).json()["account"]["id"]
    created = {"kind": "directive.account_create", "seq": 2, "version": 1}
    ok(inner.push(client, [report(inner, account_id, hub_version=1, applied=created)]))
    confirmed = ok(client.get(f"/api/v1/accounts/{account_id}", headers=admin_headers))
    assert (confirmed["status"], confirmed["directive_pending"]) == ("active", False)
    reset = ok(client.post(f"/api/v1/accounts/{account_id}/password-reset", headers=admin_headers))
    assert reset["account"]["version"] == 2 and reset["one_time_code"]
    ok(
        client.post(
            f"/api/v1/accounts/{account_id}/disable", headers=admin_headers, json={"reason": "离职"}
        )
    )
    deleted = ok(client.delete(f"/api/v1/accounts/{account_id}", headers=admin_headers))
    assert (deleted["version"], deleted["applied_version"], deleted["status"]) == (4, 1, "active")
    kinds = [
        (e.kind, e.payload["version"])
        for e in directives(client, inner)
        if e.kind != "directive.keyring"
    ]
    assert kinds == [
        ("directive.account_create", 1),
        ("directive.password_reset", 2),
        ("directive.account_disable", 3),
        ("directive.account_delete", 4),
    ]
    again = client.post(f"/api/v1/accounts/{account_id}/password-reset", headers=admin_headers)
    assert again.status_code == 200, "the hub does not know yet that the node deleted it"

    # The node reports having applied the deletion: who applied, and the account is gone.
    applied = {"kind": "directive.account_delete", "seq": 5, "version": 4}
    answer = ok(
        inner.push(
            client,
            [
                report(
                    inner, account_id, version=2, hub_version=4, applied=applied, status="deleted"
                )
            ],
        )
    )
    assert answer["applied"] == 1
    account = ok(client.get(f"/api/v1/accounts/{account_id}", headers=admin_headers))
    assert account["status"] == "deleted" and account["applied_version"] == 4
    assert account["directive_pending"] is True  # the reset issued after it, version 5
    events = session.exec(
        select(HubAuditEvent)
        .where(HubAuditEvent.action == "account.directive_applied")
        .order_by(HubAuditEvent.id)
    ).all()
    assert [(e.actor, e.detail["directive"]) for e in events] == [
        ("node:150000", "directive.account_create"),
        ("node:150000", "directive.account_delete"),
    ]
    refused = client.post(f"/api/v1/accounts/{account_id}/password-reset", headers=admin_headers)
    assert (refused.status_code, refused.json()["error"]) == (409, "account_deleted")


def test_reports_build_the_national_directory_in_order(
    client, session, inner, shanxi, admin_headers
):
    account_id = uuid.uuid4()
    ok(inner.push(client, [report(inner, account_id, version=2, display_name="新名字")]))
    ok(inner.push(client, [report(inner, account_id, version=1, display_name="旧名字")]))
    row = session.get(HubAccount, account_id)
    session.refresh(row)
    assert (row.display_name, row.origin, row.status) == ("新名字", "node", "active")

    # Shanxi cannot report Inner Mongolia's account, nor an account outside its province,
    # nor a payload carrying anything like a password hash.
    answer = ok(
        shanxi.push(
            client,
            [
                report(shanxi, account_id, version=9),
                report(shanxi, uuid.uuid4(), division_code="150102", role="county_regulator"),
                report(shanxi, uuid.uuid4(), password_hash="$argon2id$..."),
                report(shanxi, uuid.uuid4(), role="national_admin"),
            ],
        )
    )
    assert [q["code"] for q in answer["quarantined"]] == [
        "not_owner",
        "not_owner",
        "schema_invalid",
        "schema_invalid",
    ]
    found = ok(client.get("/api/v1/accounts?province_code=150000", headers=admin_headers))
    assert [a["display_name"] for a in found["items"]] == ["新名字"]
    assert ok(client.get("/api/v1/accounts?q=新名", headers=admin_headers))["total"] == 1
    assert (
        ok(client.get("/api/v1/accounts?province_code=140000", headers=admin_headers))["total"] == 0
    )


def claim(client, node, uscc, account_id=None, username="firm"):
    body = {
        "uscc": uscc,
        "account_id": str(account_id or uuid.uuid4()),
        "username": username,
        "contractor_name": "某矿山工程有限公司",
    }
    import json

    raw = json.dumps(body).encode()
    headers = node.headers("POST", "/sync/v1/accounts/claim-uscc", raw)
    headers["Content-Type"] = "application/json"
    return client.post("/sync/v1/accounts/claim-uscc", content=raw, headers=headers)


def test_one_contractor_account_per_uscc_nationally(client, session, inner, shanxi, admin_headers):
    uscc = inner.firm.uscc
    first = claim(client, inner, uscc)
    assert first.status_code == 200 and first.json()["node_id"] == "node:150000"
    second = claim(client, shanxi, uscc)
    assert (second.status_code, second.json()["error"]) == (409, "uscc_claimed")
    assert "内蒙古自治区" in second.json()["detail"]
    # The same province asking again (its first attempt failed after the claim): granted.
    retry_id = uuid.uuid4()
    again = claim(client, inner, uscc, retry_id)
    assert again.status_code == 200 and again.json()["account_id"] == str(retry_id)
    # Unsigned, or a bad USCC: refused.
    assert client.post("/sync/v1/accounts/claim-uscc", json={"uscc": uscc}).status_code == 401
    assert claim(client, inner, "91150102MA0N00000A").status_code == 422
    claims = ok(client.get(f"/api/v1/uscc-claims?uscc={uscc}", headers=admin_headers))
    assert [c["node_id"] for c in claims] == ["node:150000"]


def test_the_quota_is_allocated_by_directive_and_enforced_at_the_claim(
    client, session, inner, admin_headers, staff_headers
):
    put = client.put(
        "/api/v1/quotas/150000", json={"contractor_accounts": 1}, headers=admin_headers
    )
    assert put.status_code == 200, put.text
    assert (put.json()["contractor_accounts"], put.json()["used"], put.json()["version"]) == (
        1,
        0,
        1,
    )
    (env,) = [e for e in directives(client, inner) if e.kind == "directive.quota"]
    assert env.payload == {
        "province_code": "150000",
        "contractor_accounts": 1,
        "version": 1,
        "requested_by": ADMIN,
    }
    from tests.central.support import contractor

    assert claim(client, inner, contractor("150000", 1).uscc).status_code == 200
    over = claim(client, inner, contractor("150000", 2).uscc)
    assert (over.status_code, over.json()["error"]) == (409, "quota_exhausted")
    assert session.get(HubUsccClaim, contractor("150000", 2).uscc) is None
    quotas = {
        q["province_code"]: q for q in ok(client.get("/api/v1/quotas", headers=staff_headers))
    }
    assert (quotas["150000"]["contractor_accounts"], quotas["150000"]["used"]) == (1, 1)
    bad = client.put(
        "/api/v1/quotas/150100", json={"contractor_accounts": 1}, headers=admin_headers
    )
    assert bad.status_code == 422, "a city is not a province"
    raised = client.put(
        "/api/v1/quotas/150000", json={"contractor_accounts": 5}, headers=admin_headers
    )
    assert raised.json()["version"] == 2
    assert claim(client, inner, contractor("150000", 2).uscc).status_code == 200
    assert (
        client.put(
            "/api/v1/quotas/150000", json={"contractor_accounts": -1}, headers=admin_headers
        ).status_code
        == 422
    )


def test_reports_reconcile_claims_and_flag_conflicts(client, session, inner, shanxi, admin_headers):
    uscc = inner.firm.uscc
    firm = {"uscc": uscc, "name": "某矿山工程有限公司"}
    mine = uuid.uuid4()
    contractor_report = {"role": "contractor", "division_code": "150102", "contractor": firm}
    # Created before enrollment: the report claims the USCC for Inner Mongolia.
    ok(inner.push(client, [report(inner, mine, username="firm-im", **contractor_report)]))
    assert session.get(HubUsccClaim, uscc).source == "report"
    # Shanxi had done the same offline: its report is flagged, never silently accepted.
    theirs = uuid.uuid4()
    ok(
        shanxi.push(
            client,
            [
                report(
                    shanxi,
                    theirs,
                    username="firm-sx",
                    **{**contractor_report, "division_code": "140105"},
                )
            ],
        )
    )
    conflicts = ok(client.get("/api/v1/accounts?conflict=true", headers=admin_headers))
    assert [a["id"] for a in conflicts["items"]] == [str(theirs)]
    assert session.exec(
        select(HubAuditEvent).where(HubAuditEvent.action == "account.uscc_conflict")
    ).one()
    # A stale claim is released by the bureau only once the account is gone.
    held = client.delete(f"/api/v1/uscc-claims/{uscc}", headers=admin_headers)
    assert (held.status_code, held.json()["error"]) == (409, "claim_in_use")
    # Inner Mongolia reports the account deleted: the claim is released with it.
    ok(
        inner.push(
            client,
            [
                report(
                    inner,
                    mine,
                    version=2,
                    username="firm-im",
                    status="deleted",
                    **contractor_report,
                )
            ],
        )
    )
    session.expire_all()
    assert session.get(HubUsccClaim, uscc) is None
    # Shanxi's next report claims it; the conflict is settled.
    ok(
        shanxi.push(
            client,
            [
                report(
                    shanxi,
                    theirs,
                    version=2,
                    username="firm-sx",
                    **{**contractor_report, "division_code": "140105"},
                )
            ],
        )
    )
    session.expire_all()
    assert session.get(HubUsccClaim, uscc).node_id == "node:140000"
    assert session.get(HubAccount, theirs).uscc_conflict is False


def test_deleting_an_allocation_the_node_never_confirmed(client, inner, admin_headers):
    account_id = allocate(client, admin_headers).json()["account"]["id"]
    deleted = ok(client.delete(f"/api/v1/accounts/{account_id}", headers=admin_headers))
    assert deleted["status"] == "deleted"  # gone from the directory at once
    kinds = [e.kind for e in directives(client, inner) if e.kind != "directive.keyring"]
    assert kinds == ["directive.account_create", "directive.account_delete"]
    # The user name is free again for a new allocation.
    assert allocate(client, admin_headers).status_code == 201
