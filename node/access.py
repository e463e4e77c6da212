"""Who may call each route of the node, declared on the route and enforced there.

Every route carries exactly one access declaration among its dependencies
(``public`` or ``allow``); ``tests/test_route_access.py`` walks the route table
and fails for a route without one. The declaration is a dependency, so what is
declared is what runs: ``allow`` refuses other roles (403
``role_not_allowed``) and refuses an account that still has to replace an
initial or one-time password (403 ``password_change_required``) except on the
routes that let it do so.

Role × jurisdiction: the declaration names the roles and the jurisdiction rule
(``Scope``); the rule itself is applied by the services, with SQL filters on
division codes (``node/jurisdiction.py``), because it depends on the record:

- ``self``: one's own login and password;
- ``own``: a contractor's own company's records and attachments;
- ``jurisdiction``: what lies inside the caller's division (a county its
  county, a city its city, a province its province), per docs/decisions.md;
- ``own_or_jurisdiction``: ``own`` for contractors, ``jurisdiction`` for regulators;
- ``province``: the whole node (provincial roles: sync, audit);
- ``none``: nothing scoped (health, login, metrics).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from node.deps import current_actor
from node.errors import Forbidden, NodeError
from node.jurisdiction import PROVINCIAL_ROLES, REGULATOR_ROLES
from node.principal import Actor
from schemas.enums import Role

__all__ = [
    "ADMIN",
    "ALL",
    "CONTRACTOR",
    "PROVINCIAL",
    "REGULATORS",
    "Access",
    "Scope",
    "access_of",
    "allow",
    "declared",
    "document_access",
    "public",
]

CONTRACTOR = frozenset({Role.CONTRACTOR})
REGULATORS = frozenset(REGULATOR_ROLES)
PROVINCIAL = frozenset(PROVINCIAL_ROLES)
ADMIN = frozenset({Role.PROVINCIAL_ADMIN})
ALL = REGULATORS | CONTRACTOR


class Scope(StrEnum):
    NONE = "none"
    SELF = "self"
    OWN = "own"
    JURISDICTION = "jurisdiction"
    OWN_OR_JURISDICTION = "own_or_jurisdiction"
    PROVINCE = "province"


@dataclass(frozen=True)
class Access:
    """A route's rule: who (``public`` or ``users`` with ``roles``) over what."""

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


def _declared(check: Callable[..., Any], access: Access) -> Any:
    check.access = access  # type: ignore[attr-defined]
    return Depends(check)


def public(note: str) -> Any:
    """No authentication; ``note`` says why that is right for this route."""

    def check() -> None:
        return None

    return _declared(check, Access("public", frozenset(), Scope.NONE, note))


def _role_refused(actor: Actor, allowed: frozenset[str]) -> NodeError:
    return Forbidden(
        "当前账号无权执行此操作",
        f"role {actor.role} may not do this (allowed: {', '.join(sorted(allowed))})",
        code="role_not_allowed",
    )


def _password_refused() -> NodeError:
    return Forbidden(
        "请先修改初始密码或一次性密码",
        "set a new password first (the current one is initial or one-time)",
        code="password_change_required",
    )


def allow(
    roles: frozenset[str],
    scope: Scope,
    note: str = "",
    *,
    password_change_ok: bool = False,
    actor: Callable[..., Actor] = current_actor,
    role_refused: Callable[[Actor, frozenset[str]], NodeError] = _role_refused,
    password_refused: Callable[[], NodeError] = _password_refused,
) -> Any:
    """Logged-in accounts of ``roles`` only; ``scope`` is the jurisdiction rule.

    The pages (``node/web/session.py``) declare theirs with this too, passing the
    dependency that resolves their ``actor`` (a page session) and their own refusals.
    """
    allowed = frozenset(roles)

    def check(resolved: Actor = Depends(actor)) -> Actor:
        if resolved.role not in allowed:
            raise role_refused(resolved, allowed)
        if resolved.must_change_password and not password_change_ok:
            raise password_refused()
        return resolved

    return _declared(check, Access("users", allowed, scope, note, password_change_ok))


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


#: One's own login (also with a password that must be replaced).
SelfDep = Annotated[Actor, allow(ALL, Scope.SELF, "one's own login", password_change_ok=True)]
