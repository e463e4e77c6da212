"""The hub's end of the sync protocol: who is asking, what they push, what they pull."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import event, text, update
from sqlmodel import Session, col

from central.db import json_loads
from central.errors import BadRequest, Conflict, Forbidden, NotAuthenticated, PayloadTooLarge
from central.keys.service import load_keyring
from central.models import HubNode, NodeStatus
from central.sync.apply import HubApplier
from central.sync.schemas import InboxAnswer, InboxMessage, MessagesAnswer, QuarantinedRef
from sync.errors import SyncError
from sync.ingest import ingest
from sync.keys import Keyring
from sync.nonces import PgNonceStore
from sync.outbox import lock_peer, pending, record_ack
from sync.request_auth import verify_request


def authenticate(
    session: Session,
    *,
    method: str,
    target: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
    window_s: int,
) -> HubNode:
    """The enrolled node that signed this request, or 401 with the protocol's code.

    Security: the keyring is the hub's registry (only enrolled nodes' keys, with
    their validity and revocation); the nonce is recorded in PostgreSQL in this
    request's transaction, so a replay is refused by every worker. A
    suspended node is refused with 403 even though its signature holds.
    """
    try:
        sender = verify_request(
            method,
            target,
            body,
            headers,
            _request_keyring(session),
            now,
            PgNonceStore(session),
            window_s=window_s,
        )
    except SyncError as exc:
        raise NotAuthenticated.from_sync(exc) from exc
    node = session.get(HubNode, sender)
    if node is None:  # a registry key always has its node; defensive
        raise NotAuthenticated("未注册的节点", f"{sender} is not enrolled", code="unknown_node")
    if node.status != NodeStatus.ACTIVE:
        raise Forbidden("该节点已被暂停", f"{sender} is suspended", code="node_suspended")
    _touch_before_commit(session, sender, now)
    return node


def _request_keyring(session: Session) -> Keyring:
    """The key registry as this request's transaction sees it, read once per request
    (the signature check and the envelopes' checks use the same snapshot)."""
    keyring = session.info.get(_KEYRING)
    if keyring is None:
        keyring = session.info[_KEYRING] = load_keyring(session)
        # Dropped at the end of the transaction: a session outliving it reads again.
        event.listen(session, "after_transaction_end", _forget_keyring, once=True)
    assert isinstance(keyring, Keyring)
    return keyring


_KEYRING = "minefed.sync.keyring"


def _forget_keyring(session: Session, transaction: object) -> None:
    session.info.pop(_KEYRING, None)


def _touch_before_commit(session: Session, node_id: str, now: datetime) -> None:
    """Record the node's contact time as the request's last statement.

    The UPDATE locks the node's row until commit. Taken when the request starts,
    it made a node's concurrent requests wait for each other from beginning to
    end (a push of 500 messages waited ~0.5 s for the one before it, so the
    hub's second process had nothing to do); taken last, it is held for the
    commit only.
    """

    def touch(committing: Session) -> None:
        committing.execute(
            update(HubNode).where(col(HubNode.node_id) == node_id).values(last_contact_at=now)
        )

    event.listen(session, "before_commit", touch, once=True)


def parse_messages(body: bytes, max_batch: int) -> list[Mapping[str, Any]]:
    """The ``messages`` of a push body; 400 if it is not that shape, 413 if too many."""
    try:
        data = json_loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(
            "请求正文不是有效的 JSON", f"body is not JSON: {exc}", code="invalid_body"
        ) from exc
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise BadRequest(
            '请求正文应为 {"messages": [{"envelope", "disclosures"}, …]}',
            'body must be {"messages": [{"envelope", "disclosures"}, …]}',
            code="invalid_body",
        )
    if len(messages) > max_batch:
        raise PayloadTooLarge(
            f"一次最多提交 {max_batch} 条消息",
            f"at most {max_batch} messages per request, got {len(messages)}",
            code="batch_too_large",
        )
    return messages


def receive(
    session: Session,
    node: HubNode,
    messages: list[Mapping[str, Any]],
    *,
    now: datetime,
    hub_id: str,
) -> MessagesAnswer:
    """Apply a pushed batch in order, quarantining what fails (see ``sync.ingest``)."""
    outcome = ingest(
        session,
        messages,
        authenticated_sender=node.node_id,
        keyring=_request_keyring(session),
        now=now,
        apply=HubApplier(hub_id, now),
        owned=True,  # parse_messages' fresh objects, read only from here on
    )
    return MessagesAnswer(
        streams=outcome.last_applied,
        applied=outcome.applied,
        duplicates=outcome.duplicates,
        quarantined=[QuarantinedRef(stream=s, seq=q, code=c) for s, q, c in outcome.quarantined],
    )


def inbox(session: Session, node: HubNode, *, after: int, limit: int, now: datetime) -> InboxAnswer:
    """The node's queue after ``after``; ``after`` also acknowledges what it has applied."""
    state = lock_peer(session, node.node_id)
    highest = state.next_seq - 1
    if after > highest:
        raise Conflict(
            "节点的收件游标超过枢纽已排队的消息（枢纽数据库可能已从旧备份恢复）",
            f"after={after} but only {highest} messages were ever queued for {node.node_id} "
            "(was the hub's database restored from an older backup?)",
            code="inbox_cursor_ahead",
        )
    record_ack(session, node.node_id, after, now)
    rows = pending(session, node.node_id, after=after, limit=limit)
    last = rows[-1].seq if rows else after
    prune_nonces(session, now)
    return InboxAnswer(
        messages=[
            InboxMessage(delivery_seq=r.seq, envelope=r.envelope, disclosures=r.disclosures)
            for r in rows
        ],
        last_delivery_seq=last,
        more=last < highest,
    )


def prune_nonces(session: Session, now: datetime, batch: int = 1000) -> None:
    """Forget expired request nonces, a batch at a time, skipping rows others hold.

    Run on each inbox pull (nodes pull every few seconds), so the table stays
    at about one window of requests without a separate job; SKIP LOCKED keeps
    concurrent pulls from waiting on, or deadlocking with, each other.
    """
    session.execute(
        text(
            "DELETE FROM sync_nonce WHERE ctid IN (SELECT ctid FROM sync_nonce "
            "WHERE expires_at < :now LIMIT :n FOR UPDATE SKIP LOCKED)"
        ),
        {"now": now, "n": batch},
    )
