"""Payloads the hub accepts from nodes, and the answers of the sync endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.enums import RecordKind
from schemas.identifiers import validate_uscc
from sync.clock import parse_rfc3339

_CODE = r"^\d{6}$"


def _wire_time(value: str) -> str:
    parse_rfc3339(value)  # ValueError -> a validation error naming the field
    return value


class _Strict(BaseModel):
    # Unknown fields are refused: they would be signed data nobody checked.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ContractorRef(_Strict):
    uscc: str = Field(min_length=18, max_length=18)
    name: str = Field(min_length=1, max_length=200)

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, v: str) -> str:
        return validate_uscc(v)


class PublishPayload(_Strict):
    """``record.publish``: one approved version of a record, signed by its owner."""

    record_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: RecordKind = Field(strict=False)  # the wire carries the enum's value
    version_no: int = Field(ge=1)
    owner: str = Field(min_length=1, max_length=64)
    contractor: ContractorRef
    province_code: str = Field(pattern=r"^\d{2}0000$")
    city_code: str | None = Field(default=None, pattern=_CODE)
    county_code: str | None = Field(default=None, pattern=_CODE)
    first_entered_at: str
    approved_at: str
    data: dict[str, Any]

    _times = field_validator("first_entered_at", "approved_at")(_wire_time)


class TombstonePayload(_Strict):
    """``record.tombstone``: the owner deleted a record (withdrawal or retention)."""

    record_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: RecordKind = Field(strict=False)
    owner: str = Field(min_length=1, max_length=64)
    reason: Literal["withdrawn", "retention"]
    deleted_at: str

    _times = field_validator("deleted_at")(_wire_time)


class QuarantinedRef(BaseModel):
    stream: str
    seq: int
    code: str


class MessagesAnswer(BaseModel):
    """What ``POST /sync/v1/messages`` answers: the last applied seq per stream."""

    streams: dict[str, int] = Field(
        description="每个消息流最后应用的序号 / last applied seq per stream"
    )
    applied: int
    duplicates: int
    quarantined: list[QuarantinedRef]


class InboxMessage(BaseModel):
    delivery_seq: int
    envelope: dict[str, Any]
    disclosures: list[dict[str, Any]]


class InboxAnswer(BaseModel):
    messages: list[InboxMessage]
    last_delivery_seq: int = Field(
        description="本次最后一条的投递序号（无消息时为 after） / delivery seq of the last "
        "message answered (after, when none)"
    )
    more: bool = Field(description="是否还有待取消息 / whether more messages are waiting")
