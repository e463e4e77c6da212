"""A contractor's one account: claimed at the hub before it is created; refused when
another province holds the USCC, when the quota is used up, and when the hub cannot
be reached (nothing is kept); created locally by a node not yet enrolled."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from node.models import AuditEvent, Contractor, User
from schemas.enums import Role
from schemas.identifiers import make_uscc
from tests.node.factories import make_user, token_for
from tests.node.sync.conftest import outbox

USCC = make_uscc("150102", "66001234")


def body(username: str = "hengxin", uscc: str = USCC) -> dict:
    return {
        "username": username,
        "display_name": "内蒙古恒信矿山工程有限公司",
        "role": "contractor",
        "division_code": "150102",
        "password": "Initial-Pass-2026",
        "contractor": {"uscc": uscc, "name": "内蒙古恒信矿山工程有限公司"},
    }


@pytest.fixture
def county(session):
    return token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))


def nothing_kept(session, username: str = "hengxin") -> bool:
    session.expire_all()
    return (
        session.exec(select(User).where(User.username == username)).first() is None
        and session.exec(select(Contractor).where(Contractor.uscc == USCC)).first() is None
        and [m for m in outbox(session, "hub") if m.kind == "account.report"] == []
    )


def test_the_hub_is_asked_first_and_the_account_reported(
    client, session, claims_app, claim_hub, county
):
    created = client.post("/api/v1/accounts", headers=county, json=body())
    assert created.status_code == 201, created.text
    (claim,) = claim_hub.claims
    assert (claim["uscc"], claim["username"]) == (USCC, "hengxin")
    assert claim["account_id"] == created.json()["id"]
    (report,) = [m.envelope["payload"] for m in outbox(session, "hub")]
    assert report["contractor"] == {"uscc": USCC, "name": "内蒙古恒信矿山工程有限公司"}
    assert report["applied"] is None and "password" not in str(report).replace(
        "must_change_password", ""
    )
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "account.uscc_claimed")).one()


def test_a_uscc_held_by_another_province_is_refused_and_nothing_is_kept(
    client, session, claims_app, claim_hub, county
):
    claim_hub.answer = lambda _: httpx.Response(
        409,
        json={"error": "uscc_claimed", "detail": "已在山西省开设账号 / at node:140000"},
    )
    refused = client.post("/api/v1/accounts", headers=county, json=body())
    assert (refused.status_code, refused.json()["error"]) == (409, "uscc_claimed")
    assert "全国只能有一个账号" in refused.json()["detail"]
    assert refused.json()["field"] == "contractor.uscc"
    assert nothing_kept(session)


def test_a_quota_used_up_at_the_hub_is_refused(client, session, claims_app, claim_hub, county):
    claim_hub.answer = lambda _: httpx.Response(
        409, json={"error": "quota_exhausted", "detail": "配额 / quota"}
    )
    refused = client.post("/api/v1/accounts", headers=county, json=body())
    assert (refused.status_code, refused.json()["error"]) == (409, "quota_exhausted")
    assert nothing_kept(session)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(503, json={"error": "hub_key_missing", "detail": "x"}),
    ],
)
def test_an_unreachable_hub_refuses_the_creation_with_a_clear_503(
    client, session, claims_app, claim_hub, county, failure
):
    def answer(_):
        if isinstance(failure, Exception):
            raise failure
        return failure

    claim_hub.answer = answer
    refused = client.post("/api/v1/accounts", headers=county, json=body())
    assert (refused.status_code, refused.json()["error"]) == (503, "hub_unreachable")
    assert "稍后再试" in refused.json()["detail"] and "try again later" in refused.json()["detail"]
    assert nothing_kept(session)
    # Everything else keeps working: regulators' accounts need no hub.
    other = client.post(
        "/api/v1/accounts",
        headers=token_for(session, make_user(session, Role.PROVINCIAL_ADMIN, "150000")),
        json={**body("county-2"), "role": "county_regulator", "contractor": None},
    )
    assert other.status_code == 201, other.text


def test_a_hub_refusing_the_node_itself_is_a_503_for_operators(
    client, session, claims_app, claim_hub, county
):
    claim_hub.answer = lambda _: httpx.Response(
        403, json={"error": "node_suspended", "detail": "suspended"}
    )
    refused = client.post("/api/v1/accounts", headers=county, json=body())
    assert (refused.status_code, refused.json()["error"]) == (503, "hub_refused")
    assert nothing_kept(session)


def test_a_node_not_yet_enrolled_creates_the_account_locally(client, session, county):
    created = client.post("/api/v1/accounts", headers=county, json=body())
    assert created.status_code == 201, created.text
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "account.uscc_unclaimed")
    ).one()
    assert event.detail == {"uscc": USCC, "outcome": "standalone"}
    user = session.get(User, created.json()["id"])
    # Reported later, when the node is enrolled (the backlog).
    assert user.report_version == 1 and user.reported_version == 0
