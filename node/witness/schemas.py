"""The witness's status, as the node's API shows it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ForkAlarm(BaseModel):
    id: int
    detected_at: datetime
    kind: str = Field(description="fork（同大小不同根）/ inconsistent（一致性证明失败）")
    known_size: int = Field(description="已核验的检查点大小 / last good checkpoint size")
    known_root: str
    seen_size: int = Field(description="矛盾检查点的大小 / size of the contradicting checkpoint")
    seen_root: str
    seen_note: str = Field(description="国家中心签名的矛盾检查点 / the signed contradicting note")
    detail: str


class WitnessStatus(BaseModel):
    origin: str | None = Field(description="日志标识 / the log's origin")
    size: int | None = Field(description="最后核验的检查点大小 / last good checkpoint size")
    root: str | None = Field(description="其根哈希（base64） / its root hash")
    verified_at: datetime | None
    cosigned_size: int | None = Field(description="本节点已联署的大小 / last size cosigned")
    last_run_at: datetime | None
    last_error: str | None
    fork_alarms: int = Field(description="分叉告警数 / fork alarms raised (0 = healthy)")
    alarms: list[ForkAlarm] = Field(description="最近的告警 / the latest alarms")
