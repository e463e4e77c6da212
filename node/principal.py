"""Who is acting, from where and when: passed from the endpoint into every service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from node.jurisdiction import REGULATOR_ROLES
from schemas.enums import Role

# Calendar dates (expiry, "today", overdue inspections) are China Standard Time dates.
CHINA_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    username: str
    role: str
    division_code: str
    contractor_id: uuid.UUID | None
    client_address: str | None
    now: datetime
    # An initial or one-time password: only replacing it is allowed (node/access.py).
    must_change_password: bool = False
    # SHA-256 of the bearer token or session secret of this request, and which it was.
    credential_hash: str | None = None
    credential_kind: str = "bearer"

    @property
    def today(self) -> date:
        return self.now.astimezone(CHINA_TZ).date()

    @property
    def is_contractor(self) -> bool:
        return self.role == Role.CONTRACTOR

    @property
    def is_regulator(self) -> bool:
        return self.role in REGULATOR_ROLES
