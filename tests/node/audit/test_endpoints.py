"""``GET /api/v1/audit``: the trail for the provincial level; append-only in the database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from node.audit.service import record_event
from node.models import AuditEvent
from node.principal import Actor
from schemas.enums import Role
from tests.node.factories import NOW, make_user, token_for

URL = "/api/v1/audit"
RECORD = str(uuid.uuid4())


def _actor(username: str, role: str, hours_ago: int) -> Actor:
    return Actor(
        user_id=uuid.uuid4(),
        username=username,
        role=role,
        division_code="150102",
        contractor_id=None,
        client_address="10.0.0.9",
        now=NOW - timedelta(hours=hours_ago),
    )


@pytest.fixture
def trail(session) -> list[AuditEvent]:
    """Six events over six hours, oldest first."""
    events = [
        ("hengxin", Role.CONTRACTOR, 6, "filing.draft_created", RECORD),
        ("hengxin", Role.CONTRACTOR, 5, "filing.submitted", RECORD),
        ("xincheng", Role.COUNTY_REGULATOR, 4, "review.returned", RECORD),
        ("hengxin", Role.CONTRACTOR, 3, "filing.draftXupdated", RECORD),  # not a "draft_" one
        ("xincheng", Role.COUNTY_REGULATOR, 2, "review.approved", RECORD),
        ("nmg-admin", Role.PROVINCIAL_ADMIN, 1, "accounts.created", "user-1"),
    ]
    rows = [
        record_event(session, _actor(user, role, hours), action, "project_department", entity)
        for user, role, hours, action, entity in events
    ]
    session.flush()
    return rows


@pytest.fixture
def headers(session):
    def of(role: str, division: str = "150000"):
        return token_for(session, make_user(session, role, division))

    return of


def listed(client, headers, **params):
    response = client.get(URL, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def actions(body):
    return [e["action"] for e in body["items"]]


def test_newest_first_with_every_field(client, trail, headers):
    body = listed(client, headers(Role.PROVINCIAL_REGULATOR))
    assert body["total"] == 6
    assert actions(body) == [
        "accounts.created",
        "review.approved",
        "filing.draftXupdated",
        "review.returned",
        "filing.submitted",
        "filing.draft_created",
    ]
    newest = body["items"][0]
    assert newest["actor_username"] == "nmg-admin" and newest["actor_role"] == "provincial_admin"
    assert newest["client_address"] == "10.0.0.9" and newest["entity_id"] == "user-1"
    assert newest["at"] == "2026-06-15T01:00:00Z" and newest["detail"] == {}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"entity_id": "user-1"}, ["accounts.created"]),
        ({"actor": "xincheng"}, ["review.approved", "review.returned"]),
        ({"action": "review."}, ["review.approved", "review.returned"]),
        ({"action": "filing.draft_"}, ["filing.draft_created"]),  # "_" is literal
        ({"action": "filing.%"}, []),
        # Times without a zone are Beijing time: 2 hours ago is 08:00 +08:00.
        ({"from": "2026-06-15T08:00:00"}, ["accounts.created", "review.approved"]),
        ({"from": "2026-06-15T08:00:01+08:00"}, ["accounts.created"]),
        ({"to": "2026-06-14T21:00:00Z"}, ["filing.submitted", "filing.draft_created"]),
        (
            {
                "from": "2026-06-15T06:00:00+08:00",
                "to": "2026-06-15T07:00:00+08:00",
                "actor": "hengxin",
            },
            ["filing.draftXupdated"],
        ),
    ],
)
def test_filters(client, trail, headers, params, expected):
    assert actions(listed(client, headers(Role.PROVINCIAL_ADMIN), **params)) == expected


def test_pages(client, trail, headers):
    h = headers(Role.PROVINCIAL_ADMIN)
    first = listed(client, h, page_size=4)
    second = listed(client, h, page_size=4, page=2)
    assert first["total"] == second["total"] == 6
    assert len(first["items"]) == 4 and len(second["items"]) == 2
    assert actions(first) + actions(second) == actions(listed(client, h))


@pytest.mark.parametrize(
    ("role", "division"),
    [
        (Role.MUNICIPAL_REGULATOR, "150100"),
        (Role.COUNTY_REGULATOR, "150102"),
        (Role.CONTRACTOR, "150102"),
        (Role.NATIONAL_STAFF, "150000"),
    ],
)
def test_only_the_provincial_level_reads_the_trail(client, trail, headers, role, division):
    refused = client.get(URL, headers=headers(role, division))
    assert refused.status_code == 403 and refused.json()["error"] == "role_not_allowed"


def test_strangers_are_asked_to_log_in(client, trail):
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        (
            {"from": "2026-06-15T10:00:00+08:00", "to": "2026-06-15T09:00:00+08:00"},
            "to",
            "range_order",
        ),
        ({"from": "yesterday"}, "from", "datetime_from_date_parsing"),
        ({"page": 0}, "page", "greater_than_equal"),
    ],
)
def test_bad_filters_are_422(client, session, trail, headers, params, field, rule):
    h = headers(Role.PROVINCIAL_REGULATOR)
    before = session.exec(select(func.count()).select_from(AuditEvent)).one()
    refused = client.get(URL, headers=h, params=params)
    assert refused.status_code == 422, refused.text
    assert [(e["field"], e["rule"]) for e in refused.json()["errors"]] == [(field, rule)]
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'review.approved' WHERE id = :id",
        "UPDATE audit_event SET detail = '{}'::jsonb",
        "DELETE FROM audit_event WHERE id = :id",
        "TRUNCATE audit_event",
    ],
)
def test_the_trail_is_append_only_in_the_database(session, trail, statement):
    target = trail[0].id
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement), {"id": target})
    still = session.get(AuditEvent, target)
    session.refresh(still)
    assert still.action == "filing.draft_created"
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 6
