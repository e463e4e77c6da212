"""Who is calling the hub's user APIs: a national administrator or staff member."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from central.audit.service import Actor


@dataclass(frozen=True)
class HubPrincipal:
    user_id: uuid.UUID
    username: str
    role: str
    must_change_password: bool
    # SHA-256 of the bearer token or session secret this request came with.
    credential_hash: str
    credential_kind: str  # "bearer" or "session"
    client_address: str | None
    now: datetime

    @property
    def actor(self) -> Actor:
        """The audit trail's "who asked": the user name, from where."""
        return Actor(self.username, self.client_address)
