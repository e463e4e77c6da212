from __future__ import annotations

from schemas.enums import Role
from schemas.identifiers import make_uscc
from tests.node.factories import make_user, token_for


def account(**over):
    body = {
        "username": "xinchengqu-01",
        "display_name": "新城区应急管理局审核员",
        "role": "county_regulator",
        "division_code": "150102",
        "password": "Initial-Pass-2026",
    }
    body.update(over)
    return body


def test_provincial_admin_creates_a_county_regulator_who_can_log_in(client, session):
    admin = token_for(session, make_user(session, Role.PROVINCIAL_ADMIN, "150000"))
    created = client.post("/api/v1/accounts", headers=admin, json=account())
    assert created.status_code == 201, created.text
    assert created.json()["must_change_password"] is True
    token = client.post(
        "/api/v1/auth/token", data={"username": "xinchengqu-01", "password": "Initial-Pass-2026"}
    )
    assert token.status_code == 200
    assert token.json()["must_change_password"] is True


def test_accounts_only_inside_the_province_and_at_the_right_level(client, session):
    admin = token_for(session, make_user(session, Role.PROVINCIAL_ADMIN, "150000"))
    outside = client.post("/api/v1/accounts", headers=admin, json=account(division_code="140105"))
    assert outside.status_code == 403 and outside.json()["field"] == "division_code"
    wrong_level = client.post(
        "/api/v1/accounts", headers=admin, json=account(division_code="150100")
    )
    assert (
        wrong_level.status_code == 422 and wrong_level.json()["error"] == "division_level_mismatch"
    )
    unknown = client.post("/api/v1/accounts", headers=admin, json=account(division_code="159999"))
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_division"
    weak = client.post("/api/v1/accounts", headers=admin, json=account(password="123"))
    assert weak.status_code == 422 and weak.json()["error"] == "weak_password"
    assert client.post("/api/v1/accounts", headers=admin, json=account()).status_code == 201
    taken = client.post("/api/v1/accounts", headers=admin, json=account())
    assert taken.status_code == 409 and taken.json()["error"] == "username_taken"


def test_a_county_regulator_gives_a_contractor_its_one_account(client, session):
    county = token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))
    uscc = make_uscc("150102", "77001234")
    body = account(
        username="hengxin",
        display_name="内蒙古恒信矿山工程有限公司",
        role="contractor",
        contractor={"uscc": uscc, "name": "内蒙古恒信矿山工程有限公司"},
    )
    created = client.post("/api/v1/accounts", headers=county, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["contractor_uscc"] == uscc
    second = client.post("/api/v1/accounts", headers=county, json={**body, "username": "hengxin2"})
    assert second.status_code == 409 and second.json()["error"] == "contractor_has_account"
    not_allowed = client.post(
        "/api/v1/accounts", headers=county, json=account(username="someone", division_code="150102")
    )
    assert not_allowed.status_code == 403
    other_county = client.post(
        "/api/v1/accounts",
        headers=county,
        json={
            **body,
            "username": "x3x",
            "division_code": "150103",
            "contractor": {"uscc": make_uscc("150103", "77001235"), "name": "某公司"},
        },
    )
    assert other_county.status_code == 403


def test_bad_uscc_is_a_422_naming_the_field(client, session):
    county = token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))
    response = client.post(
        "/api/v1/accounts",
        headers=county,
        json=account(
            username="bad",
            role="contractor",
            contractor={"uscc": "91150102MA0N00000A", "name": "某公司"},
        ),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "contractor.uscc"


def test_accounts_listed_within_jurisdiction(client, session):
    make_user(session, Role.COUNTY_REGULATOR, "150102", username="in-county")
    make_user(session, Role.COUNTY_REGULATOR, "150203", username="other-city")
    city = token_for(session, make_user(session, Role.MUNICIPAL_REGULATOR, "150100"))
    names = [a["username"] for a in client.get("/api/v1/accounts", headers=city).json()["items"]]
    assert "in-county" in names and "other-city" not in names
    contractor = token_for(session, make_user(session, Role.CONTRACTOR))
    assert client.get("/api/v1/accounts", headers=contractor).status_code == 403


def test_provincial_administrators_come_from_the_hub_not_from_each_other(client, session):
    admin = token_for(session, make_user(session, Role.PROVINCIAL_ADMIN, "150000"))
    refused = client.post(
        "/api/v1/accounts",
        headers=admin,
        json=account(username="second-admin", role="provincial_admin", division_code="150000"),
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "role_not_allowed")
    provincial = client.post(
        "/api/v1/accounts",
        headers=admin,
        json=account(username="nm-reviewer", role="provincial_regulator", division_code="150000"),
    )
    assert provincial.status_code == 201, provincial.text


def test_a_county_regulator_cannot_act_in_another_county(client, session):
    county = token_for(session, make_user(session, Role.COUNTY_REGULATOR, "150102"))
    make_user(session, Role.COUNTY_REGULATOR, "150103", username="next-door")
    names = [a["username"] for a in client.get("/api/v1/accounts", headers=county).json()["items"]]
    assert "next-door" not in names
    refused = client.post(
        "/api/v1/accounts",
        headers=county,
        json=account(
            username="x-firm",
            role="contractor",
            division_code="150103",
            contractor={"uscc": make_uscc("150103", "77009999"), "name": "某公司"},
        ),
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "outside_jurisdiction")
