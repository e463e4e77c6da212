"""Relays: messages from this province's node to another's, through the hub.

A relay is signed by this node end to end (the hub forwards it, and cannot
alter it unnoticed), queued in the outbox with the other node as recipient,
and pushed to the hub like everything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from node.db import after_commit
from node.errors import Conflict, InvalidInput
from node.models import NodeKeyring
from node.sync.publish import enrollment
from sync.disclosure import Disclosure
from sync.outbox import enqueue
from sync.tables import OutboxMessage

__all__ = ["NODE_ID", "send_relay"]

#: A node id: ``node:`` and a division code (or a short name in test federations).
NODE_ID = re.compile(r"\Anode:[A-Za-z0-9_-]{1,64}\Z")
_RELAY_NAME = re.compile(r"\A[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*\Z")


def send_relay(
    session: Session,
    to_node: str,
    name: str,
    payload: Mapping[str, Any],
    now: datetime,
    disclosures: Sequence[Disclosure] = (),
) -> OutboxMessage:
    """Queue ``relay.<name>`` for ``to_node`` in the caller's transaction.

    Refused (4xx) when the node is not enrolled, when ``to_node`` is this node
    or not a node the hub's keyring knows, so a relay is never queued for
    nobody.
    """
    found = enrollment(session)
    if isinstance(found, str):
        raise Conflict(
            "本节点尚未接入国家中心，不能发送跨省消息",
            f"this node cannot send relays before enrollment ({found})",
            code="not_enrolled",
        )
    federation, publisher, key = found
    if not NODE_ID.match(to_node) or to_node == federation.node_id:
        raise InvalidInput(
            "收件节点须为其他省级节点（如 node:140000）",
            "to_node must be another provincial node (node:140000)",
            code="bad_recipient",
            field="to_node",
        )
    if not _RELAY_NAME.match(name):
        raise ValueError(f"bad relay name {name!r}")
    known = session.exec(
        select(col(NodeKeyring.key_id)).where(col(NodeKeyring.owner) == to_node).limit(1)
    ).first()
    if known is None:
        raise InvalidInput(
            f"国家中心登记的节点中没有 {to_node}",
            f"{to_node} is not a node the hub's key registry lists",
            code="unknown_node",
            field="to_node",
        )
    message = enqueue(
        session,
        kind=f"relay.{name}",
        sender=federation.node_id,
        recipient=to_node,
        payload=dict(payload),
        key=key,
        now=now,
        disclosures=disclosures,
    )
    after_commit(session, publisher.kick)
    return message
