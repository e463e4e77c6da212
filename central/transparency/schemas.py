"""Answers of the public log endpoints and the witness cosignature request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class InclusionProof(BaseModel):
    index: int = Field(description="叶子序号（自 0 起） / leaf index, from 0")
    size: int = Field(description="树的大小 / tree size the proof is for")
    leaf_hash: str = Field(description="叶子哈希（base64） / RFC 9162 leaf hash, base64")
    hashes: list[str] = Field(description="审计路径，自叶向上（base64） / audit path, leaf upwards")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    hashes: list[str] = Field(description="一致性证明（base64） / RFC 9162 consistency proof")


class LogEntry(BaseModel):
    log_index: int = Field(description="日志序号 / index in the log")
    kind: str = Field(description="record.publish 或 record.tombstone")
    record_kind: str
    version_no: int | None
    node_id: str = Field(description="签名节点 / the owner node that signed it")
    received_at: datetime
    sequenced_at: datetime
    leaf_hash: str = Field(description="叶子哈希（base64） / leaf hash, base64")
    envelope: dict[str, Any] | None = Field(
        description="签名信封；内容已删除时为 null / the signed envelope, null once deleted"
    )


class RecordLog(BaseModel):
    record_id: str
    entries: list[LogEntry]
    pending: int = Field(
        description="已接收但尚未写入日志的条数（合并延迟） / accepted, not yet sequenced"
    )


class CosignatureIn(BaseModel):
    size: int = Field(ge=0, description="所见证检查点的大小 / size of the checkpoint cosigned")
    cosignature: str = Field(
        max_length=400, description="签名行 “— <node_id> <base64>” / the note signature line"
    )


class CosignatureAnswer(BaseModel):
    size: int
    witness: str
    received_at: datetime
