"""Who may call each route of the hub, declared on the route and enforced there.

Every route carries exactly one access declaration in its ``dependencies``
(``public``, ``signed_by_node`` or ``allow``); ``tests/test_route_access.py``
walks the route table and fails for a route without one. The declaration is a
dependency, so what is declared is what runs: ``allow`` refuses other roles
(403 ``role_not_allowed``), refuses a user who still has to replace a one-time
password (403 ``password_change_required``) unless the route is one of those
that let them do it, and ``signed_by_node`` verifies the request signature
even if the endpoint forgot to ask for the node.

The jurisdiction rule is part of the declaration: at the hub it is
``national`` (the bureau sees every province), ``self`` (one's own login),
``signed_node`` (the node that signed the request: its own streams, inbox and
accounts) or ``none`` (nothing scoped: health, public keys, enrollment by
one-time token).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from central.deps import CurrentPrincipal, SignedNode
from central.errors import Forbidden
from central.models import HubNode, HubUserRole
from central.principal import HubPrincipal

__all__ = [
    "ADMIN",
    "BUREAU",
    "Access",
    "Scope",
    "access_of",
    "admitted",
    "allow",
    "declare",
    "declared",
    "document_access",
    "public",
    "signed_by_node",
]

ADMIN = frozenset({HubUserRole.NATIONAL_ADMIN})
BUREAU = frozenset({HubUserRole.NATIONAL_ADMIN, HubUserRole.NATIONAL_STAFF})


class Scope(StrEnum):
    NONE = "none"
    SELF = "self"
    NATIONAL = "national"
    SIGNED_NODE = "signed_node"


@dataclass(frozen=True)
class Access:
    """A route's rule: who (``public``, ``node`` or ``users`` with ``roles``) over what."""

    who: str
    roles: frozenset[str]
    scope: Scope
    note: str = ""
    password_change_ok: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "who": self.who,
            "roles": sorted(self.roles),
            "scope": self.scope.value,
            "note": self.note,
        }


def declare(check: Callable[..., Any], access: Access) -> Any:
    """``check`` as a dependency that carries ``access`` (what the route table reads)."""
    check.access = access  # type: ignore[attr-defined]
    return Depends(check)


def public(note: str) -> Any:
    """No authentication: say why in ``note`` (a one-time token is the credential …)."""

    async def check() -> None:  # async: no hop to the thread pool for nothing
        return None

    return declare(check, Access("public", frozenset(), Scope.NONE, note))


def signed_by_node(note: str = "") -> Any:
    """A provincial node's signed request (docs/sync-protocol.md, "Requests")."""

    def check(node: SignedNode) -> HubNode:
        return node

    return declare(check, Access("node", frozenset(), Scope.SIGNED_NODE, note))


def allow(
    roles: frozenset[str],
    scope: Scope = Scope.NATIONAL,
    note: str = "",
    *,
    password_change_ok: bool = False,
) -> Any:
    """Logged-in hub users of ``roles`` only."""
    access = Access("users", frozenset(roles), scope, note, password_change_ok)

    def check(principal: CurrentPrincipal) -> HubPrincipal:
        return admitted(principal, access)

    return declare(check, access)


def admitted(principal: HubPrincipal, access: Access) -> HubPrincipal:
    """``principal`` if ``access`` lets them in: 403 ``role_not_allowed`` for another
    role, 403 ``password_change_required`` while the password is initial or one-time
    (unless the route lets them replace it). The API and the pages both ask here."""
    if principal.role not in access.roles:
        raise Forbidden(
            "当前账号无权执行此操作",
            f"role {principal.role} may not do this (allowed: {', '.join(sorted(access.roles))})",
            code="role_not_allowed",
        )
    if principal.must_change_password and not access.password_change_ok:
        raise Forbidden(
            "请先修改初始密码或一次性密码",
            "set a new password first (the current one is initial or one-time)",
            code="password_change_required",
        )
    return principal


def access_of(dependency_calls: list[Callable[..., Any]]) -> list[Access]:
    """The access declarations among a route's dependency callables."""
    found = (getattr(c, "access", None) for c in dependency_calls)
    return [a for a in found if isinstance(a, Access)]


def _calls(dependant: Dependant) -> list[Callable[..., Any]]:
    out: list[Callable[..., Any]] = []
    for sub in dependant.dependencies:
        if sub.call is not None:
            out.append(sub.call)
        out.extend(_calls(sub))
    return out


def declared(route: APIRoute) -> set[Access]:
    """Every access declaration of a route (its dependencies, however deep)."""
    return set(access_of(_calls(route.dependant)))


def document_access(app: FastAPI) -> None:
    """Show each operation's declaration in the OpenAPI document as ``x-access``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if not isinstance(route, APIRoute):
                continue
            rules = declared(route)
            for method in context.methods or ():
                operation = schema.get("paths", {}).get(context.path_format, {}).get(method.lower())
                if operation is not None and len(rules) == 1:
                    operation["x-access"] = next(iter(rules)).describe()
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# Annotated aliases for endpoints that want the checked principal as a parameter.
AdminDep = Annotated[HubPrincipal, allow(ADMIN)]
BureauDep = Annotated[HubPrincipal, allow(BUREAU)]
