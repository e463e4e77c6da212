"""Writing to the hub's append-only audit trail.

Entries name ids (nodes, keys, records, quarantine rows), never personal data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from central.models import HubAuditEvent


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something at the hub, and from where: a hub user's name (a national
    administrator or staff member), ``"cli:<os user>"`` (a command run on the
    hub's host) or a node id (a signed sync request, a node applying a directive).
    """

    name: str
    client_address: str | None = None


def record_event(
    session: Session,
    actor: Actor,
    action: str,
    entity_kind: str,
    entity_id: str | int | uuid.UUID | None,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> HubAuditEvent:
    event = HubAuditEvent(
        at=at,
        actor=actor.name[:64],
        client_address=actor.client_address,
        action=action,
        entity_kind=entity_kind,
        entity_id=str(entity_id) if entity_id is not None else None,
        detail=detail or {},
    )
    session.add(event)
    return event
