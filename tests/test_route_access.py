"""Every route of the node and of the hub declares who may call it, over what.

The declaration is the route's access dependency (``node/access.py``,
``central/access.py``): public (with a reason), a signed node, or logged-in
users of named roles with a jurisdiction rule. A route added without one
fails here, naming it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

import central.access
import node.access
from central.app import create_app as create_hub
from central.config import CentralSettings
from node.app import create_app as create_node
from node.config import NodeSettings
from sync.keys import SigningKey

#: FastAPI's own documentation pages (starlette routes, no dependencies): public.
FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def routes(app: FastAPI) -> list[tuple[str, Any]]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        methods = ",".join(sorted(context.methods or []))
        found.append((f"{methods} {context.path}", route))
    return found


@pytest.fixture(scope="module")
def node_app() -> FastAPI:
    return create_node(NodeSettings(environment="test"))


@pytest.fixture(scope="module")
def hub_app(tmp_path_factory) -> FastAPI:
    settings = CentralSettings(
        environment="test", key_file=tmp_path_factory.mktemp("k") / "absent.pem"
    )
    return create_hub(settings, signing_key=SigningKey.generate())


@pytest.mark.parametrize(
    ("app_fixture", "access_module"), [("node_app", node.access), ("hub_app", central.access)]
)
def test_every_route_declares_who_may_call_it(request, app_fixture, access_module):
    app = request.getfixturevalue(app_fixture)
    undeclared, ambiguous, seen = [], [], 0
    for where, route in routes(app):
        if not isinstance(route, APIRoute):
            assert route.path in FRAMEWORK_ROUTES, f"{where}: not an API route"
            continue
        seen += 1
        declared = access_module.declared(route)
        if not declared:
            undeclared.append(where)
        elif len(declared) > 1:
            ambiguous.append(where)
        else:
            (access,) = declared
            assert access.who in {"public", "users", "node"}, where
            assert (access.who == "users") == bool(access.roles), where
            if access.who == "public":
                assert access.note, f"{where}: a public route says why it is public"
    assert undeclared == [], "routes without an access declaration"
    assert ambiguous == [], "routes with more than one access declaration"
    assert seen > 10


def test_the_walk_catches_an_undeclared_route(node_app):
    app = create_node(NodeSettings(environment="test"))

    @app.get("/api/v1/forgotten", summary="遗漏 / forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    (route,) = [r for w, r in routes(app) if w.endswith("/api/v1/forgotten")]
    assert node.access.declared(route) == set()
    assert "x-access" not in app.openapi()["paths"]["/api/v1/forgotten"]["get"]


def test_declared_rules_match_the_design(node_app, hub_app):
    """A few rules the issue names, read from the route table itself."""

    def rule(app, module, key):
        (route,) = [r for w, r in routes(app) if w == key]
        (access,) = module.declared(route)
        return access

    create = rule(node_app, node.access, "POST /api/v1/accounts")
    assert create.roles == node.access.REGULATORS and create.scope == "jurisdiction"
    assert rule(node_app, node.access, "POST /api/v1/auth/token").who == "public"
    assert rule(node_app, node.access, "POST /api/v1/auth/password").password_change_ok
    assert not rule(
        node_app, node.access, "POST /api/v1/review/{record_id}/approve"
    ).password_change_ok
    reset = rule(hub_app, central.access, "POST /api/v1/accounts/{account_id}/password-reset")
    assert reset.roles == {"national_admin"} and reset.scope == "national"
    search = rule(hub_app, central.access, "GET /api/v1/accounts")
    assert search.roles == {"national_admin", "national_staff"}
    assert rule(hub_app, central.access, "POST /sync/v1/messages").who == "node"
    assert rule(hub_app, central.access, "POST /sync/v1/accounts/claim-uscc").who == "node"
    assert rule(hub_app, central.access, "POST /sync/v1/enroll").who == "public"


def test_the_openapi_document_shows_each_rule(node_app, hub_app):
    node_spec = node_app.openapi()["paths"]
    assert node_spec["/api/v1/accounts"]["post"]["x-access"]["scope"] == "jurisdiction"
    assert node_spec["/healthz"]["get"]["x-access"]["who"] == "public"
    hub_spec = hub_app.openapi()["paths"]
    assert hub_spec["/api/v1/accounts"]["get"]["x-access"]["roles"] == [
        "national_admin",
        "national_staff",
    ]
    assert hub_spec["/sync/v1/inbox"]["get"]["x-access"]["who"] == "node"
