"""``account.report``: what a node tells the hub about one of its accounts.

Called by the hub's applier (``central.sync.apply``) after the envelope's
signature was verified. Authority: a node reports only accounts inside its own
province, and only accounts it holds (an id the hub knows under another node
is refused, ``not_owner``). Reports are ordered per account by
``report_version``, so a report retried from quarantine never overwrites a
newer one.

A report answers a directive (``applied``): that is the hub's "who applied" for
the bureau's decision, audited under the node's name. A contractor's report
also reconciles the national USCC claims: accounts created before the node
was enrolled, or by a bootstrap command, were never claimed in advance; the
first report claims the USCC, and a USCC another province holds marks the
account ``uscc_conflict`` for the bureau to settle.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from central.audit.service import Actor, record_event
from central.models import AccountStatus, HubAccount, HubNode, HubUsccClaim
from schemas.enums import Role
from sync.clock import parse_rfc3339
from sync.envelope import Envelope
from sync.errors import NotOwner, SchemaInvalid

REPORT = "account.report"

#: Roles a node may hold: never the bureau's.
NODE_ROLES = frozenset(
    {
        Role.PROVINCIAL_ADMIN,
        Role.PROVINCIAL_REGULATOR,
        Role.MUNICIPAL_REGULATOR,
        Role.COUNTY_REGULATOR,
        Role.CONTRACTOR,
    }
)


class ReportedContractor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(pattern=r"^[0-9A-Z]{18}$")
    name: str = Field(min_length=1, max_length=200)


class AppliedDirective(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern=r"^directive\.[a-z_]+$")
    seq: int = Field(ge=1)
    version: int = Field(ge=1)


class AccountReport(BaseModel):
    """The ``account.report`` payload (docs/sync-protocol.md). No password data, by design:
    an unknown field (a hash someone added) is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    account_id: uuid.UUID
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    role: str
    division_code: str = Field(pattern=r"^\d{6}$")
    contractor: ReportedContractor | None = None
    status: Literal["active", "disabled", "deleted"]
    must_change_password: bool
    created_at: str
    changed_at: str
    report_version: int = Field(ge=1)
    hub_version: int = Field(ge=0)
    applied: AppliedDirective | None = None


def _payload(envelope: Envelope) -> AccountReport:
    try:
        report = AccountReport.model_validate(envelope.payload)
        for name in ("created_at", "changed_at"):
            parse_rfc3339(getattr(report, name))
    except (ValidationError, ValueError) as exc:
        fields = (
            ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        raise SchemaInvalid(f"account.report: {fields}") from exc
    if report.role not in NODE_ROLES:
        raise SchemaInvalid(f"account.report: role {report.role} is not a node role")
    if (report.role == Role.CONTRACTOR) != (report.contractor is not None):
        raise SchemaInvalid("account.report: a contractor account, and only one, names its company")
    return report


def apply_report(session: Session, envelope: Envelope, now: datetime) -> None:
    """Update the national directory from one node report (idempotent, ordered)."""
    report = _payload(envelope)
    node = session.get(HubNode, envelope.sender)
    if node is None:
        raise NotOwner(f"{envelope.sender} is not an enrolled node")
    if report.division_code[:2] != node.jurisdiction[:2]:
        raise NotOwner(
            f"division {report.division_code} is outside {node.node_id}'s province "
            f"{node.jurisdiction}"
        )
    account = session.exec(
        select(HubAccount).where(col(HubAccount.id) == report.account_id).with_for_update()
    ).first()
    if account is not None and account.node_id != node.node_id:
        raise NotOwner(f"account {report.account_id} is held by {account.node_id}")
    if account is not None and report.report_version <= account.report_version:
        return  # an older report, retried: the directory already has newer facts
    if account is None:
        account = HubAccount(
            id=report.account_id,
            node_id=node.node_id,
            province_code=node.jurisdiction,
            username=report.username,
            display_name=report.display_name,
            role=report.role,
            division_code=report.division_code,
            origin="node",
            created_at=parse_rfc3339(report.created_at),
            updated_at=now,
        )
    account.display_name = report.display_name
    account.role = report.role
    account.division_code = report.division_code
    account.username = report.username
    account.status = report.status
    account.must_change_password = report.must_change_password
    account.report_version = report.report_version
    account.applied_version = max(account.applied_version, report.hub_version)
    # A node may have applied directives the hub has no record of only after a
    # hub restore; never let "pending" go negative.
    account.version = max(account.version, account.applied_version)
    account.contractor_uscc = report.contractor.uscc if report.contractor else None
    account.contractor_name = report.contractor.name if report.contractor else None
    account.reported_at = now
    account.updated_at = now
    session.add(account)
    session.flush()
    actor = Actor(node.node_id)
    if report.applied is not None:
        record_event(
            session,
            actor,
            "account.directive_applied",
            "account",
            account.id,
            now,
            {
                "directive": report.applied.kind,
                "directive_seq": report.applied.seq,
                "version": report.applied.version,
                "status": report.status,
                "report_seq": envelope.seq,
            },
        )
    if report.contractor is not None:
        _reconcile_claim(session, account, report.contractor.uscc, actor, now)


def _reconcile_claim(
    session: Session, account: HubAccount, uscc: str, actor: Actor, now: datetime
) -> None:
    if account.status == AccountStatus.DELETED:
        claim = session.get(HubUsccClaim, uscc)
        if claim is not None and claim.node_id == account.node_id:
            session.delete(claim)
            record_event(
                session,
                actor,
                "account.uscc_claim_released",
                "uscc_claim",
                uscc,
                now,
                {"account_id": str(account.id), "reason": "account deleted"},
            )
        account.uscc_conflict = False
        session.add(account)
        return
    inserted = session.execute(
        insert(HubUsccClaim)
        .values(
            uscc=uscc,
            node_id=account.node_id,
            account_id=account.id,
            username=account.username,
            contractor_name=account.contractor_name,
            claimed_at=now,
            source="report",
        )
        .on_conflict_do_nothing()
        .returning(col(HubUsccClaim.uscc))
    ).first()
    claim = session.get(HubUsccClaim, uscc)
    assert claim is not None
    conflict = claim.node_id != account.node_id
    if inserted is not None:
        record_event(
            session,
            actor,
            "account.uscc_claimed",
            "uscc_claim",
            uscc,
            now,
            {"account_id": str(account.id), "source": "report"},
        )
    if conflict and not account.uscc_conflict:
        detail: dict[str, Any] = {"uscc": uscc, "holder": claim.node_id}
        record_event(session, actor, "account.uscc_conflict", "account", account.id, now, detail)
    account.uscc_conflict = conflict
    session.add(account)
