"""The protocol's own tables, shared by node and hub databases (prefix ``sync_``).

Each app's Alembic migrations create them; the definitions live here so that
the outbox, the cursors and the quarantine mean the same thing on both ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _tz(*, nullable: bool = False) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable)


class OutboxMessage(SQLModel, table=True):
    """A message waiting for (or past) delivery to ``recipient``.

    ``seq`` is the delivery sequence for that recipient: 1, 2, 3 … without
    gaps, assigned in commit order. For messages a node signs itself it equals
    the envelope's ``seq``; the hub also queues envelopes signed by others
    (relays), whose own ``seq`` belongs to their sender.
    """

    __tablename__ = "sync_outbox"
    __table_args__ = (UniqueConstraint("recipient", "seq", name="uq_sync_outbox_recipient_seq"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    recipient: str = Field(max_length=64)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(max_length=64)
    envelope: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    # Salted values of the concealed fields, delivered beside the envelope.
    disclosures: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False)
    )
    created_at: datetime = Field(sa_column=_tz())


class PeerState(SQLModel, table=True):
    """Outgoing delivery to one destination: counter, cursor and backoff."""

    __tablename__ = "sync_peer"

    peer: str = Field(primary_key=True, max_length=64)
    next_seq: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, default=1))
    acked_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    failures: int = 0
    backoff_until: datetime | None = Field(default=None, sa_column=_tz(nullable=True))
    last_error: str | None = Field(default=None, max_length=1000)
    last_attempt_at: datetime | None = Field(default=None, sa_column=_tz(nullable=True))
    last_success_at: datetime | None = Field(default=None, sa_column=_tz(nullable=True))


class StreamCursor(SQLModel, table=True):
    """Incoming: the last sequence number applied on one stream.

    A stream is ``"<sender>><recipient>"`` for envelopes, or a named pull
    cursor such as ``"hub>node:150000#inbox"`` for delivery sequence numbers.
    """

    __tablename__ = "sync_cursor"

    stream: str = Field(primary_key=True, max_length=140)
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    updated_at: datetime = Field(sa_column=_tz())


class QuarantinedMessage(SQLModel, table=True):
    """A message that failed verification or application, kept with its reason."""

    __tablename__ = "sync_quarantine"
    __table_args__ = (Index("ix_sync_quarantine_status", "status"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    stream: str = Field(max_length=140)
    sender: str = Field(max_length=64)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(max_length=64)
    message: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    reason_code: str = Field(max_length=64)
    reason: str = Field(max_length=2000)
    received_at: datetime = Field(sa_column=_tz())
    status: str = Field(default="pending", max_length=16)  # pending, applied, skipped
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = Field(default=None, sa_column=_tz(nullable=True))


class SeenNonce(SQLModel, table=True):
    """Request nonces seen inside the freshness window (replay protection)."""

    __tablename__ = "sync_nonce"

    sender: str = Field(primary_key=True, max_length=64)
    nonce: str = Field(primary_key=True, max_length=32)
    expires_at: datetime = Field(sa_column=_tz())


SYNC_TABLES = (OutboxMessage, PeerState, StreamCursor, QuarantinedMessage, SeenNonce)
