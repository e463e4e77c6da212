"""The transparency log: its leaves, stored subtree hashes, signed checkpoints and the
witnesses' cosignatures (docs/transparency.md).

All four tables are append-only (triggers refuse UPDATE and DELETE): the log is
only ever extended by the sequencer, one transaction per run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, LargeBinary, SmallInteger, Text
from sqlmodel import Field, SQLModel

from central.models.base import tz_column


class HubLogLeaf(SQLModel, table=True):
    """Leaf ``log_index`` of the log: one accepted publication, in sequencing order.

    ``log_index`` is dense from 0; ``leaf_hash`` is copied from the publication
    (RFC 9162 leaf hash of its canonical envelope) so that proofs never read the
    envelopes, which retention may delete.
    """

    __tablename__ = "hub_log_leaf"

    log_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    publication_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("hub_publication.id"), nullable=False, unique=True)
    )
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    sequenced_at: datetime = Field(sa_column=tz_column())


class HubLogNode(SQLModel, table=True):
    """The hash of complete subtree ``index`` of ``2**level`` leaves (level >= 1).

    Written when the subtree's last leaf is sequenced and never changed, so any
    proof needs O(log n) rows of this table (level 0 is ``hub_log_leaf``).
    """

    __tablename__ = "hub_log_node"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class HubCheckpoint(SQLModel, table=True):
    """A signed checkpoint: the C2SP signed note committing to ``size`` and ``root``."""

    __tablename__ = "hub_checkpoint"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    signed_at: datetime = Field(sa_column=tz_column())


class HubCheckpointCosignature(SQLModel, table=True):
    """A witness's signature line over checkpoint ``checkpoint_size``, verified on receipt."""

    __tablename__ = "hub_checkpoint_cosignature"

    checkpoint_size: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("hub_checkpoint.size"),
            primary_key=True,
            autoincrement=False,
        )
    )
    witness: str = Field(primary_key=True, max_length=64)
    line: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=tz_column())
