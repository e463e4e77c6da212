"""The node as a witness of the hub's transparency log (docs/transparency.md, "Witness").

``node_witness_state`` holds the last checkpoint this node verified (and
cosigned); it only ever moves forward to a checkpoint proven consistent with
it. ``node_witness_alarm`` records every sign that the hub shows two
histories; alarms are kept, never overwritten, and shown to operators.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Identity, LargeBinary, Text
from sqlmodel import Field, SQLModel

from node.models.base import tz_column


class NodeWitnessState(SQLModel, table=True):
    """The last good checkpoint: one row, written by the ``log.witness`` task."""

    __tablename__ = "node_witness_state"
    __table_args__ = (CheckConstraint("id = 1", name="ck_node_witness_state_single_row"),)

    id: int = Field(default=1, primary_key=True)
    origin: str = Field(max_length=200)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))  # as the hub signed it
    verified_at: datetime = Field(sa_column=tz_column())
    cosigned_size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_run_at: datetime | None = Field(default=None, sa_column=tz_column(nullable=True))
    last_error: str | None = Field(default=None, max_length=1000)


class NodeWitnessAlarm(SQLModel, table=True):
    """Evidence that the hub showed a history inconsistent with the last good checkpoint.

    ``kind``: ``fork`` (same size, another root), ``inconsistent`` (a larger
    or smaller tree whose consistency proof fails), ``origin`` (another log
    under the pinned key). ``seen_note`` is the signed checkpoint that
    contradicts ``known_*``: with the hub's signature on both, it is proof
    to show anyone.
    """

    __tablename__ = "node_witness_alarm"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    detected_at: datetime = Field(sa_column=tz_column())
    kind: str = Field(max_length=32)
    known_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    known_root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    seen_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    seen_root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    seen_note: str = Field(sa_column=Column(Text, nullable=False))
    detail: str = Field(max_length=1000)
