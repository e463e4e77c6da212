"""The hub's decisions about this node's accounts, applied (docs/accounts.md).

Registered in ``node.sync.inbox.APPLIERS``; by the time they run, the inbox has
checked that the envelope comes from ``hub``, is addressed to this node, is in
sequence, and is signed by the hub key pinned at enrollment. Each applier
then checks its payload (``schema_invalid`` otherwise) and applies it:

- ``directive.account_create``: a provincial administrator with the argon2id
  hash of a one-time code (never a password on the wire); the user must
  choose a password at the first login;
- ``directive.password_reset``: the hash of a new one-time code; every token
  and page session of the account is revoked;
- ``directive.account_disable`` / ``account_enable`` / ``account_delete``
  (disable and delete revoke tokens and sessions; a deleted account's row
  stays for the audit trail, unusable);
- ``directive.quota``: the contractor accounts the province may hold.

Exactly once: the stream's seq makes a directive apply once; the ``version``
an account directive carries makes a retried or replayed one harmless (a
version not newer than the account's ``hub_version`` changes nothing), so an
operator retrying an old quarantined directive can never undo a newer one.

Each applied account directive is audited ("who asked": the hub user named in
``requested_by``; "who applied": this node, directive seq and version) and
answered by an ``account.report`` to the hub.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select

from node.accounts.reports import report_account
from node.audit.service import record_event
from node.auth.service import revoke_all
from node.models import NodeFederation, User
from schemas.divisions import get_division
from schemas.enums import Role
from sync.clock import parse_rfc3339
from sync.envelope import Envelope
from sync.errors import SchemaInvalid, SyncError

__all__ = ["ACCOUNT_APPLIERS", "UnknownAccount", "UsernameTaken"]

log = logging.getLogger("minefed.node.accounts")

#: A deleted account's password hash: no argon2 string, so nothing ever verifies.
DELETED_HASH = "!deleted"
_PROVINCE_NODE = re.compile(r"\Anode:(\d{2}0000)\Z")


M = TypeVar("M", bound=BaseModel)


class UnknownAccount(SyncError):
    """A directive names an account this node does not hold (or has deleted)."""

    code = "unknown_account"
    message_zh = "本节点没有该账号（或已删除）"
    message_en = "no such account on this node (or it was deleted)"


class UsernameTaken(SyncError):
    """The bureau allocated a user name already used at this node."""

    code = "username_taken"
    message_zh = "本节点已有同名账号，请国家局另选用户名"
    message_en = "the user name is taken on this node; the bureau must choose another"


class Credential(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: str = Field(pattern=r"^one_time_code$")
    hash: str = Field(pattern=r"^\$argon2id\$", max_length=255)
    expires_at: str


class _AccountDirective(BaseModel):
    model_config = ConfigDict(extra="ignore")

    account_id: uuid.UUID
    username: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=1)
    requested_by: str = Field(min_length=1, max_length=64)


class AccountCreate(_AccountDirective):
    display_name: str = Field(min_length=1, max_length=100)
    role: str
    division_code: str = Field(pattern=r"^\d{6}$")
    credential: Credential


class PasswordReset(_AccountDirective):
    credential: Credential


class StateChange(_AccountDirective):
    reason: str | None = Field(None, max_length=500)


class Quota(BaseModel):
    model_config = ConfigDict(extra="ignore")

    province_code: str = Field(pattern=r"^\d{2}0000$")
    contractor_accounts: int = Field(ge=0)
    version: int = Field(ge=1)
    requested_by: str = Field(min_length=1, max_length=64)


def _parse(model: type[M], envelope: Envelope) -> M:
    try:
        return model.model_validate(envelope.payload)
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
        raise SchemaInvalid(f"{envelope.kind}: {where}") from exc


def _expiry(credential: Credential) -> datetime:
    try:
        return parse_rfc3339(credential.expires_at)
    except ValueError as exc:
        raise SchemaInvalid(f"credential.expires_at: {exc}") from exc


def _province(envelope: Envelope) -> str:
    match = _PROVINCE_NODE.match(envelope.recipient)
    if match is None:
        raise SchemaInvalid(f"{envelope.recipient} is not a provincial node id")
    return match.group(1)


def _user(session: Session, directive: _AccountDirective) -> User:
    user = session.exec(
        select(User).where(col(User.id) == directive.account_id).with_for_update()
    ).first()
    if user is None or user.deleted_at is not None:
        raise UnknownAccount(f"account {directive.account_id} ({directive.username})")
    if user.username != directive.username:
        raise SchemaInvalid(
            f"account {directive.account_id} is {user.username}, not {directive.username}"
        )
    return user


def _stale(user: User, directive: _AccountDirective, envelope: Envelope) -> bool:
    if directive.version <= user.hub_version:
        log.info(
            "%s v%s for %s ignored: v%s applied already",
            envelope.kind,
            directive.version,
            user.username,
            user.hub_version,
        )
        return True
    return False


def _applied(
    session: Session,
    user: User,
    envelope: Envelope,
    directive: _AccountDirective,
    action: str,
    now: datetime,
    **extra: Any,
) -> None:
    """Audit "who asked, who applied" and answer the hub with the account's new facts."""
    user.hub_version = directive.version
    session.add(user)
    record_event(
        session,
        None,
        action,
        "user",
        user.id,
        {
            "username": user.username,
            "requested_by": f"hub:{directive.requested_by}",
            "applied_by": envelope.recipient,
            "directive": envelope.kind,
            "directive_seq": envelope.seq,
            "version": directive.version,
            **extra,
        },
        client_address="hub",
        at=now,
    )
    applied = {"kind": envelope.kind, "seq": envelope.seq, "version": directive.version}
    report_account(session, user, now, applied=applied)


# ---------------------------------------------------------------- appliers


def apply_account_create(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    directive = _parse(AccountCreate, envelope)
    province = _province(envelope)
    if directive.role != Role.PROVINCIAL_ADMIN:
        raise SchemaInvalid(f"the hub allocates provincial administrators, not {directive.role}")
    if directive.division_code != province or get_division(province) is None:
        raise SchemaInvalid(f"division {directive.division_code} is not this province {province}")
    expires = _expiry(directive.credential)
    existing = session.get(User, directive.account_id)
    if existing is not None:
        log.info("account %s exists already: create ignored", directive.account_id)
        return
    taken = session.exec(select(User.id).where(User.username == directive.username)).first()
    if taken is not None:
        raise UsernameTaken(directive.username)
    user = User(
        id=directive.account_id,
        username=directive.username,
        display_name=directive.display_name,
        role=directive.role,
        division_code=directive.division_code,
        password_hash=directive.credential.hash,
        must_change_password=True,
        credential_expires_at=expires,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    _applied(session, user, envelope, directive, "account.created", now, role=directive.role)


def apply_password_reset(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    directive = _parse(PasswordReset, envelope)
    expires = _expiry(directive.credential)
    user = _user(session, directive)
    if _stale(user, directive, envelope):
        return
    user.password_hash = directive.credential.hash
    user.must_change_password = True
    user.credential_expires_at = expires
    user.failed_logins = 0
    user.locked_until = None
    user.password_changed_at = now
    revoked = revoke_all(session, user.id, now)
    _applied(session, user, envelope, directive, "account.password_reset", now, revoked=revoked)


def _apply_state(session: Session, envelope: Envelope, what: str, now: datetime) -> None:
    directive = _parse(StateChange, envelope)
    user = _user(session, directive)
    if _stale(user, directive, envelope):
        return
    revoked = 0
    if what == "enable":
        user.is_active = True
    else:
        user.is_active = False
        revoked = revoke_all(session, user.id, now)
    if what == "delete":
        user.deleted_at = now
        user.password_hash = DELETED_HASH
        user.must_change_password = False
        user.credential_expires_at = None
    action = {
        "disable": "account.disabled",
        "enable": "account.enabled",
        "delete": "account.deleted",
    }
    _applied(
        session,
        user,
        envelope,
        directive,
        action[what],
        now,
        revoked=revoked,
        reason=directive.reason,
    )


def apply_account_disable(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    _apply_state(session, envelope, "disable", now)


def apply_account_enable(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    _apply_state(session, envelope, "enable", now)


def apply_account_delete(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    _apply_state(session, envelope, "delete", now)


def apply_quota(
    session: Session, envelope: Envelope, disclosures: list[dict[str, Any]], now: datetime
) -> None:
    directive = _parse(Quota, envelope)
    if directive.province_code != _province(envelope):
        raise SchemaInvalid(f"quota for {directive.province_code}, not this province")
    federation = session.exec(select(NodeFederation).with_for_update()).first()
    if federation is None:
        raise SchemaInvalid("node is not enrolled")
    if directive.version <= federation.quota_version:
        log.info("quota v%s ignored (have v%s)", directive.version, federation.quota_version)
        return
    previous = federation.contractor_account_quota
    federation.contractor_account_quota = directive.contractor_accounts
    federation.quota_version = directive.version
    session.add(federation)
    record_event(
        session,
        None,
        "account.quota_set",
        "province_quota",
        directive.province_code,
        {
            "contractor_accounts": directive.contractor_accounts,
            "previous": previous,
            "requested_by": f"hub:{directive.requested_by}",
            "applied_by": envelope.recipient,
            "directive_seq": envelope.seq,
            "version": directive.version,
        },
        client_address="hub",
        at=now,
    )
    session.flush()


#: Registered in ``node.sync.inbox.APPLIERS``.
ACCOUNT_APPLIERS = {
    "directive.account_create": apply_account_create,
    "directive.password_reset": apply_password_reset,
    "directive.account_disable": apply_account_disable,
    "directive.account_enable": apply_account_enable,
    "directive.account_delete": apply_account_delete,
    "directive.quota": apply_quota,
}
