"""Writing to the append-only audit trail.

The trail records who did what, when and from where. It must never become a
second copy of personal data: resident ID numbers and mobile numbers inside
``detail`` are masked before they are written.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session

from node.models import AuditEvent
from node.models.base import utcnow
from node.principal import Actor
from schemas.identifiers import mask_phone, mask_resident_id, validate_resident_id

_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _mask_if_resident_id(match: re.Match[str]) -> str:
    # An all-digit USCC has the same shape; only a valid check character and
    # birth date make it a resident ID number.
    text = match.group(0)
    try:
        validate_resident_id(text)
    except ValueError:
        return text
    return mask_resident_id(text)


def scrub(value: Any) -> Any:
    """A copy of ``value`` with every resident ID and mobile number masked."""
    if isinstance(value, str):
        value = _RESIDENT_ID.sub(_mask_if_resident_id, value)
        return _MOBILE.sub(lambda m: mask_phone(m.group(0)), value)
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def record_event(
    session: Session,
    actor: Actor | None,
    action: str,
    entity_kind: str,
    entity_id: uuid.UUID | str | None,
    detail: dict[str, Any] | None = None,
    *,
    client_address: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event. ``at`` defaults to the actor's time (the injected clock), or
    the wall clock when no account acts (a command, a directive)."""
    event = AuditEvent(
        at=at or (actor.now if actor else utcnow()),
        actor_id=actor.user_id if actor else None,
        actor_username=actor.username if actor else None,
        actor_role=actor.role if actor else None,
        client_address=actor.client_address if actor else client_address,
        action=action,
        entity_kind=entity_kind,
        entity_id=str(entity_id) if entity_id is not None else None,
        detail=scrub(detail or {}),
    )
    session.add(event)
    return event
