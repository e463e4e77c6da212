"""Request and response models of ``/api/v1/sync``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from node.sync.inbox import NOTICE_MAX_CHARS
from node.witness.schemas import WitnessStatus
from sync.tables import QuarantinedMessage


class Enrollment(BaseModel):
    enrolled: bool = Field(description="是否已接入国家中心 / whether the node is enrolled")
    node_id: str
    key_id: str | None = Field(None, description="本节点当前签名密钥 / the node's signing key")
    hub_url: str | None = None
    hub_key_id: str | None = None
    hub_key_fingerprint: str | None = Field(
        None, description="固定的国家中心公钥指纹 / the pinned hub key fingerprint"
    )
    enrolled_at: datetime | None = None
    key_rotated_at: datetime | None = None
    keyring_version: int | None = Field(
        None, description="已应用的节点密钥清单版本 / keyring directive version applied"
    )


class PeerStatus(BaseModel):
    peer: str = Field(description="收件方 / destination: hub, or a node for relays")
    last_sent_seq: int = Field(description="已编号的最后序号 / last seq numbered (next_seq - 1)")
    last_acked_seq: int = Field(description="对方已确认 / last seq the hub acknowledged")
    backlog: int = Field(description="待送达条数 / messages not yet acknowledged")
    oldest_unsent_at: datetime | None
    oldest_unsent_age_s: int | None = Field(description="最早未送达消息的等待秒数 / seconds")
    failures: int = Field(description="连续失败次数 / consecutive failures")
    last_error: str | None
    backoff_until: datetime | None = Field(description="退避至 / no attempt before this")
    last_attempt_at: datetime | None
    last_success_at: datetime | None


class InboxStatus(BaseModel):
    cursor: int = Field(description="已应用的收件序号 / last delivery seq applied")
    updated_at: datetime | None
    last_pull_at: datetime | None = Field(None, description="最近一次拉取 / last pull attempt")
    last_pull_error: str | None = None


class QuarantineCounts(BaseModel):
    pending: int
    applied: int
    skipped: int


class SyncStatus(BaseModel):
    now: datetime
    enrollment: Enrollment
    peers: list[PeerStatus]
    inbox: InboxStatus
    quarantine: QuarantineCounts
    witness: WitnessStatus | None = Field(
        None, description="国家中心透明日志的见证状态 / witness of the hub's log (fork alarms)"
    )


class QuarantineItem(BaseModel):
    id: int
    stream: str
    sender: str
    seq: int
    kind: str
    reason_code: str = Field(examples=["bad_signature"])
    reason: str
    received_at: datetime
    status: str = Field(description="pending, applied or skipped")
    resolved_by: str | None
    resolved_at: datetime | None
    envelope: dict[str, Any] | None = Field(
        None, description="原始消息信封（不含披露值）/ the envelope as received (no disclosures)"
    )

    @classmethod
    def of(cls, row: QuarantinedMessage) -> QuarantineItem:
        assert row.id is not None
        envelope = row.message.get("envelope")
        return cls(
            id=row.id,
            stream=row.stream,
            sender=row.sender,
            seq=row.seq,
            kind=row.kind,
            reason_code=row.reason_code,
            reason=row.reason,
            received_at=row.received_at,
            status=row.status,
            resolved_by=row.resolved_by,
            resolved_at=row.resolved_at,
            envelope=envelope if isinstance(envelope, dict) else None,
        )


class NoticeIn(BaseModel):
    to_node: str = Field(
        pattern=r"^node:[A-Za-z0-9_-]{1,64}$",
        title="收件节点",
        examples=["node:140000"],
        description="其他省级节点 / another provincial node",
    )
    text: str = Field(min_length=1, max_length=NOTICE_MAX_CHARS, title="通知内容")


class NoticeSent(BaseModel):
    to_node: str
    kind: str
    seq: int = Field(description="发往该节点的消息序号 / seq of the relay to that node")


class NoticeOut(BaseModel):
    id: int
    sender: str = Field(description="发送节点 / the sending node")
    seq: int
    kind: str
    text: str | None
    payload: dict[str, Any]
    received_at: datetime
    read_at: datetime | None
    read_by: str | None
