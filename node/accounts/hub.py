"""Asking the hub, synchronously, before a contractor account is created: one account
per USCC nationally (docs/accounts.md, "One account per USCC").

The claim is a signed request (``POST /sync/v1/accounts/claim-uscc``); the hub
records it atomically and checks the province's quota. What happens when the
hub cannot answer is a decision, documented and tested: the creation is
**refused** with 503 ``hub_unreachable`` (try again later). Creating the
account provisionally would let two provinces hand the same company an
account during an outage, and the requirements make that account unique;
logins, filings and reviews do not depend on the hub, so only this one
operation waits for it.

A node that is not enrolled is not part of a federation yet: it creates the
account locally (unique within the node), and its first ``account.report``
after enrollment claims the USCC at the hub, which flags a conflict if
another province holds it (``uscc_conflict``) for the bureau to settle.
"""

from __future__ import annotations

import logging
import uuid
from typing import Literal

import httpx
from sqlmodel import Session

from node.config import NodeSettings
from node.errors import Conflict, Unavailable
from node.sync.client import HubError
from node.sync.publish import enrollment
from node.sync.service import hub_client
from sync.clock import Clock

__all__ = ["UsccClaims"]

log = logging.getLogger("minefed.node.accounts")

ClaimOutcome = Literal["claimed", "standalone"]


class UsccClaims:
    """The node's side of the national USCC claim. ``transport`` is for tests."""

    def __init__(
        self,
        settings: NodeSettings,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.transport = transport

    def claim(
        self,
        session: Session,
        *,
        uscc: str,
        account_id: uuid.UUID,
        username: str,
        contractor_name: str,
    ) -> ClaimOutcome:
        """Claim ``uscc`` for this province at the hub, or raise the refusal for the user."""
        found = enrollment(session)
        if found == "not_enrolled":
            log.warning("not enrolled: contractor account %s created without a hub claim", uscc)
            return "standalone"
        if isinstance(found, str):
            raise Unavailable(
                "本节点无法签名请求（密钥文件缺失），暂时不能开设承包单位账号",
                f"this node cannot sign requests ({found}); contractor accounts cannot be "
                "created until that is fixed",
                code="hub_unreachable",
            )
        federation, _, key = found
        body = {
            "uscc": uscc,
            "account_id": str(account_id),
            "username": username,
            "contractor_name": contractor_name,
        }
        timeout = self.settings.sync_http_timeout_s
        with httpx.Client(transport=self.transport, timeout=timeout) as http:
            client = hub_client(http, self.settings, federation, key, self.clock)
            try:
                client.claim_uscc(body)
            except HubError as exc:
                raise _refusal(exc, uscc) from exc
        return "claimed"


def _refusal(exc: HubError, uscc: str) -> Conflict | Unavailable:
    if exc.error_code == "uscc_claimed":
        return Conflict(
            f"统一社会信用代码 {uscc} 已在其他省份开设账号，每个承包单位全国只能有一个账号",
            f"USCC {uscc} already has its account in another province (one per contractor "
            "nationally)",
            code="uscc_claimed",
            field="contractor.uscc",
            hub_detail=exc.message[-300:],
        )
    if exc.error_code == "quota_exhausted":
        return Conflict(
            "本省承包单位账号已达国家局分配的上限",
            "the province's contractor account quota is used up",
            code="quota_exhausted",
        )
    log.warning("USCC claim failed: %s", exc.message)
    if exc.status_code in (401, 403):
        return Unavailable(
            "国家中心拒绝了本节点的请求（节点被暂停或密钥失效），请联系运维人员",
            "the hub refused this node's request (node suspended or key invalid); "
            "tell the node's operators",
            code="hub_refused",
            hub_detail=exc.message[-300:],
        )
    return Unavailable(
        "暂时无法连接国家中心核验统一社会信用代码的全国唯一性，请稍后再试",
        "the hub cannot be reached to check that the USCC is unique nationally; try again later",
        code="hub_unreachable",
        hub_detail=exc.message[-300:],
    )
