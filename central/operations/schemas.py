"""What operators see: sync status per node and quarantined messages."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class OutboxState(BaseModel):
    """The hub's queue to one node (directives and relays)."""

    queued_seq: int = Field(description="已排队的最后投递序号 / last delivery seq queued")
    acked_seq: int = Field(description="节点已确认的序号 / delivery seq the node has applied")
    backlog: int = Field(description="未确认条数 / messages not yet applied by the node")
    oldest_unacked_at: datetime | None
    oldest_unacked_age_s: int | None = Field(
        description="最早未确认消息的等待秒数 / age of the oldest unapplied message, s"
    )


class NodeSyncStatus(BaseModel):
    node_id: str
    jurisdiction: str
    display_name: str
    status: str
    enrolled_at: datetime
    last_contact_at: datetime | None
    live_key_ids: list[str]
    incoming: dict[str, int] = Field(
        description="每个上行消息流最后应用的序号 / last applied seq per incoming stream"
    )
    outbox: OutboxState
    quarantine: dict[str, int] = Field(
        description="隔离消息按状态计数 / quarantined messages by status"
    )


class SyncStatus(BaseModel):
    at: datetime
    nodes: list[NodeSyncStatus]


class QuarantineItem(BaseModel):
    """A quarantined message, without its content (disclosures hold personal data)."""

    id: int
    stream: str
    sender: str
    seq: int
    kind: str
    record_id: str | None
    reason_code: str
    reason: str
    received_at: datetime
    status: str
    resolved_by: str | None
    resolved_at: datetime | None


class QuarantineList(BaseModel):
    items: list[QuarantineItem]
