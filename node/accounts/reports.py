"""``account.report``: the node tells the hub the facts of one of its accounts.

The hub keeps the national account directory from these (search, resets,
one account per USCC); they never carry a password hash or any credential:
user name, display name, role, division, the contractor's USCC and name,
status, whether the password must be changed, and which hub directive (if
any) the report answers ("who applied").

A report is queued in the transaction of the change, like a publication
(``node.sync.publish``). Before enrollment, or in a session with no publisher
bound (a bootstrap command), nothing can be signed: ``report_version`` runs
ahead of ``reported_version`` and :func:`report_backlog` (run at enrollment
and by ``minefed node publish-backlog``) sends the latest facts later.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from node.db import after_commit
from node.models import Contractor, User
from node.sync.publish import HUB, enrollment
from sync.clock import format_rfc3339
from sync.outbox import enqueue

__all__ = ["REPORT", "account_status", "report_account", "report_backlog", "report_payload"]

log = logging.getLogger("minefed.node.accounts")

REPORT = "account.report"


def account_status(user: User) -> str:
    if user.deleted_at is not None:
        return "deleted"
    return "active" if user.is_active else "disabled"


def report_payload(
    session: Session, user: User, now: datetime, applied: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``account.report`` payload of docs/sync-protocol.md (no credential of any kind)."""
    contractor = session.get(Contractor, user.contractor_id) if user.contractor_id else None
    return {
        "account_id": str(user.id),
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "division_code": user.division_code,
        "contractor": (
            {"uscc": contractor.uscc, "name": contractor.name} if contractor is not None else None
        ),
        "status": account_status(user),
        "must_change_password": user.must_change_password,
        "created_at": format_rfc3339(user.created_at),
        "changed_at": format_rfc3339(now),
        "report_version": user.report_version,
        "hub_version": user.hub_version,
        "applied": applied,
    }


def report_account(
    session: Session, user: User, now: datetime, *, applied: dict[str, Any] | None = None
) -> bool:
    """Queue the account's current facts for the hub, in the caller's transaction.

    Returns whether a report was queued (False before enrollment: the backlog
    sends it later). ``applied`` (``{kind, seq, version}``) names the hub
    directive this report answers.
    """
    user.report_version += 1
    session.add(user)
    found = enrollment(session)
    if isinstance(found, str):
        log.info("account %s not reported to the hub yet (%s)", user.username, found)
        session.flush()
        return False
    federation, publisher, key = found
    enqueue(
        session,
        kind=REPORT,
        sender=federation.node_id,
        recipient=HUB,
        payload=report_payload(session, user, now, applied),
        key=key,
        now=now,
    )
    user.reported_version = user.report_version
    session.add(user)
    session.flush()
    after_commit(session, publisher.kick)
    return True


def report_backlog(session: Session, now: datetime, *, limit: int = 500) -> int:
    """Report up to ``limit`` accounts whose latest facts the hub has not been sent.

    Raises ``LookupError`` when the node cannot sign (not enrolled, no key file).
    """
    found = enrollment(session)
    if isinstance(found, str):
        raise LookupError(found)
    rows = session.exec(
        select(User)
        .where(
            or_(
                col(User.report_version) > col(User.reported_version),
                col(User.report_version) == 0,
            )
        )
        .order_by(col(User.created_at), col(User.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return sum(1 for user in rows if report_account(session, user, now))
