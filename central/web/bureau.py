"""The national bureau's home page and its nodes-and-sync page.

Thin routes over ``central.operations.service`` (sync status, the quarantine
and its retry/skip, as the operator API), ``central.keys.service`` (each
node's keys) and the transparency log's cosignatures. What makes a node
"behind" is said here in words, next to the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from central.access import ADMIN, BUREAU, Scope
from central.deps import ClockDep, SessionDep, SettingsDep
from central.errors import HubError
from central.keys.service import key_state, keys_by_owner
from central.models import HubNodeKey, NodeStatus
from central.operations import service as operations
from central.operations.schemas import NodeSyncStatus, QuarantineItem
from central.principal import HubPrincipal
from central.transparency import repository as log
from central.web.session import attempt, page_allow
from central.web.templating import render

router = APIRouter(include_in_schema=False)

BureauPage = Annotated[HubPrincipal, page_allow(BUREAU, Scope.NATIONAL, "every node's state")]
AdminPage = Annotated[
    HubPrincipal, page_allow(ADMIN, Scope.NATIONAL, "retry or skip any quarantined message")
]

#: The hub's oldest undelivered directive older than this: the node is behind.
BEHIND_AFTER_S = 600
#: No authenticated sync request for this long: the node has gone quiet.
QUIET_AFTER_S = 3600

KEY_STATES = {
    "active": "有效 / active",
    "rotating": "轮换过渡期 / rotating out",
    "pending": "尚未生效 / not yet valid",
    "retired": "已停用 / retired",
    "revoked": "已吊销 / revoked",
}

NOTICES = {
    "applied": "隔离消息已重新验证并应用 / the message was verified and applied",
    "still_pending": "重试仍未成功，消息仍在隔离中（原因已更新）/ the retry failed again; "
    "the message stays quarantined with the new reason",
    "skipped": "隔离消息已放弃（留档为 skipped）/ the message was skipped (kept on record)",
    "password": "密码已修改 / password changed",
}


@dataclass
class NodeRow:
    """One node as the page shows it: the API's status plus what it means."""

    status: NodeSyncStatus
    keys: list[tuple[HubNodeKey, str]]
    cosigned_size: int | None
    cosigned_at: datetime | None
    problems: list[str] = field(default_factory=list)

    @property
    def last_seq(self) -> int | None:
        return self.status.incoming.get(f"{self.status.node_id}>hub")


def node_rows(session: Session, now: datetime) -> tuple[list[NodeRow], Any]:
    """Every enrolled node with its keys, cosignature and problems; the latest checkpoint."""
    status = operations.sync_status(session, now)
    keys = keys_by_owner(session)
    checkpoint = log.latest_checkpoint(session)
    cosigned = log.latest_cosigned_sizes(session)
    rows = []
    for node in status.nodes:
        size, at = cosigned.get(node.node_id, (None, None))
        row = NodeRow(
            status=node,
            keys=[(k, KEY_STATES[key_state(k, now)]) for k in keys.get(node.node_id, [])],
            cosigned_size=size,
            cosigned_at=at,
        )
        row.problems = problems_of(row, now, checkpoint.size if checkpoint else None)
        rows.append(row)
    return rows, checkpoint


def problems_of(row: NodeRow, now: datetime, checkpoint_size: int | None) -> list[str]:
    """What an operator should look at, in words (never colour alone)."""
    node = row.status
    out: list[str] = []
    if node.status != NodeStatus.ACTIVE:
        out.append("节点已暂停 / suspended")
    age = node.outbox.oldest_unacked_age_s
    if node.outbox.backlog and age is not None and age >= BEHIND_AFTER_S:
        out.append(
            f"落后：{node.outbox.backlog} 条指令未执行，最早的已等待 {age // 60} 分钟"
            f" / behind: {node.outbox.backlog} directives unapplied, oldest {age // 60} min"
        )
    pending = node.quarantine.get("pending", 0)
    if pending:
        out.append(f"有 {pending} 条隔离消息待处理 / {pending} quarantined messages pending")
    if node.last_contact_at is None:
        out.append("从未联系 / never in contact")
    elif (now - node.last_contact_at).total_seconds() >= QUIET_AFTER_S:
        out.append("超过 1 小时未联系 / no contact for over an hour")
    if not any(state == KEY_STATES["active"] for _k, state in row.keys):
        out.append("没有有效密钥 / no active key")
    if checkpoint_size is not None and (row.cosigned_size or 0) < checkpoint_size:
        # A node that sees a fork stops cosigning (docs/transparency.md): its alarm stays
        # at the node, so this is what the hub can see of it.
        out.append(
            "尚未见证最新检查点（节点发现日志分叉时会停止见证）"
            " / has not cosigned the latest checkpoint (a node stops on a fork alarm)"
        )
    return out


def _nodes_page(
    request: Request,
    principal: HubPrincipal,
    session: Session,
    now: datetime,
    *,
    node: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows, checkpoint = node_rows(session, now)
    quarantine: list[QuarantineItem] = operations.list_quarantine(
        session, status="pending", node=node or None, limit=200
    )
    return render(
        request,
        "bureau/nodes.html",
        {
            "rows": rows,
            "checkpoint": checkpoint,
            "quarantine": quarantine,
            "node": node,
            "notice": notice,
            "error": error,
            "behind_after_min": BEHIND_AFTER_S // 60,
            "can_act": principal.role in ADMIN,
            "now": now,
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/national")
def home(
    request: Request,
    principal: BureauPage,
    session: SessionDep,
    clock: ClockDep,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    rows, _checkpoint = node_rows(session, clock.now())
    return render(
        request,
        "bureau/home.html",
        {
            "nodes": len(rows),
            "with_problems": [r for r in rows if r.problems],
            "quarantined": sum(r.status.quarantine.get("pending", 0) for r in rows),
            "notice": NOTICES.get(done or ""),
        },
        principal=principal,
    )


@router.get("/national/nodes")
def nodes_page(
    request: Request,
    principal: BureauPage,
    session: SessionDep,
    clock: ClockDep,
    node: Annotated[str | None, Query(max_length=64)] = None,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    return _nodes_page(
        request, principal, session, clock.now(), node=node, notice=NOTICES.get(done or "")
    )


@router.post("/national/nodes/quarantine/{quarantine_id}/{what}")
def resolve(
    request: Request,
    quarantine_id: int,
    what: Annotated[str, Path(pattern=r"^(retry|skip)$")],
    principal: AdminPage,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    """As ``POST /api/v1/sync/quarantine/{id}/retry`` and ``…/skip``: the same service,
    the same audit; back to the page with the outcome."""
    now = clock.now()
    actor = principal.actor
    try:
        item = attempt(
            session,
            lambda: (
                operations.retry(
                    session, quarantine_id, actor=actor, now=now, hub_id=settings.hub_id
                )
                if what == "retry"
                else operations.skip(session, quarantine_id, actor=actor, now=now)
            ),
        )
    except HubError as exc:
        return _nodes_page(
            request, principal, session, now, error=exc.detail, status_code=exc.status_code
        )
    done = {"applied": "applied", "skipped": "skipped"}.get(item.status, "still_pending")
    return RedirectResponse(f"/national/nodes?done={done}#quarantine", status_code=303)
