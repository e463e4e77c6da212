"""Asking the hub on behalf of the node's regulator.

The node signs ``POST /api/v1/national/node-query`` with its key
(``sync.request_auth``, as ``node/sync/client.py`` does); the signed body names
the query and the user (username, role, division). The hub checks the node's
signature and that the user lies in the node's jurisdiction, answers with
what that user may see (full ID numbers of this province's records only) and
audits the query under the node and the user. The node audits it too.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import Session

from node.audit.service import record_event
from node.config import NodeSettings
from node.errors import Forbidden, InvalidInput, Unavailable
from node.principal import Actor
from node.sync.publish import enrollment
from sync.clock import Clock
from sync.request_auth import sign_request

__all__ = ["HUB_PATH", "HubAnswer", "ask_hub"]

log = logging.getLogger("minefed.node.hubqueries")

HUB_PATH = "/api/v1/national/node-query"


@dataclass(frozen=True)
class HubAnswer:
    media_type: str
    body: bytes
    disposition: str | None


def _refusal(response: httpx.Response) -> Exception:
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    code = str(answer.get("error") or "hub_refused")
    detail = str(answer.get("detail") or "")[:300]
    if response.status_code == 422 or response.status_code == 400:
        return InvalidInput(
            "国家中心拒绝了查询参数", f"the hub refused the query: {detail}", code=code
        )
    if response.status_code == 403:
        return Forbidden("国家中心拒绝了该查询", f"the hub refused the query: {detail}", code=code)
    return Unavailable(
        "国家中心拒绝了本节点的请求，请联系运维人员",
        f"the hub refused this node's request (HTTP {response.status_code} {code})",
        code="hub_refused",
    )


def ask_hub(
    session: Session,
    settings: NodeSettings,
    clock: Clock,
    actor: Actor,
    query: str,
    params: dict[str, Any],
    fmt: str,
    transport: httpx.BaseTransport | None = None,
) -> HubAnswer:
    """The hub's answer to ``query`` for ``actor`` (JSON, CSV or XLSX bytes)."""
    found = enrollment(session)
    if isinstance(found, str):
        raise Unavailable(
            "本节点尚未接入国家中心，无法进行跨省查询",
            f"this node cannot ask the hub ({found})",
            code="hub_unreachable",
        )
    federation, _, key = found
    body = json.dumps(
        {
            "query": query,
            "params": params,
            "format": fmt,
            "user": {
                "username": actor.username,
                "role": actor.role,
                "division_code": actor.division_code,
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    headers = sign_request("POST", HUB_PATH, body, federation.node_id, key, clock.now())
    headers["Content-Type"] = "application/json"
    hub_url = (settings.hub_url or federation.hub_url).rstrip("/")
    timeout = settings.sync_http_timeout_s
    try:
        with httpx.Client(transport=transport, timeout=timeout) as http:
            response = http.post(hub_url + HUB_PATH, content=body, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("national query %s: hub unreachable: %s", query, type(exc).__name__)
        raise Unavailable(
            "暂时无法连接国家中心，请稍后再试",
            "the hub cannot be reached; try again later",
            code="hub_unreachable",
        ) from exc
    if response.status_code != 200:
        raise _refusal(response)
    record_event(
        session,
        actor,
        "national.queried",
        "query",
        query,
        {"params": params, "format": fmt},
        client_address=actor.client_address,
    )
    return HubAnswer(
        response.headers.get("content-type", "application/json"),
        response.content,
        response.headers.get("content-disposition"),
    )
