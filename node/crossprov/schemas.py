"""Payloads of the cross-province relays (docs/cross-province.md), strictly checked.

Unknown fields are refused: they would be signed data nobody checked. Sensitive
values of a form travel concealed (salted digests) with their disclosures
beside the envelope, as in ``record.publish``; paths are relative to ``data``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.enums import RecordKind
from sync.clock import parse_rfc3339

_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_PROVINCE = r"^\d{2}0000$"

FILING_SUBMIT = "filing.submit"
FILING_WITHDRAW = "filing.withdraw"
REVIEW_DECISION = "review.decision"
RECORD_TOMBSTONE = "record.tombstone"
ACCIDENT_NOTICE = "accident.notice"


def _wire_time(value: str) -> str:
    parse_rfc3339(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ContractorInfo(_Strict):
    uscc: str = Field(min_length=18, max_length=18)
    name: str = Field(min_length=1, max_length=200)
    home_province_code: str = Field(pattern=_PROVINCE)
    central_soe: bool


class FilingSubmit(_Strict):
    """``relay.filing.submit``: home node → location node, a version submitted for review."""

    record_id: str = Field(pattern=_UUID)
    kind: Literal["project_department"]
    version_no: int = Field(ge=1)
    contractor: ContractorInfo
    first_entered_at: str
    submitted_at: str
    data: dict[str, Any]

    _times = field_validator("first_entered_at", "submitted_at")(_wire_time)


class FilingWithdraw(_Strict):
    """``relay.filing.withdraw``: home node → location node, the contractor took it back."""

    record_id: str = Field(pattern=_UUID)
    version_no: int = Field(ge=1)
    withdrawn_at: str

    _times = field_validator("withdrawn_at")(_wire_time)


class ReviewDecision(_Strict):
    """``relay.review.decision``: location node → home node, the regulator's decision."""

    record_id: str = Field(pattern=_UUID)
    version_no: int = Field(ge=1)
    decision: Literal["approved", "returned"]
    reason: str | None = Field(default=None, max_length=2000)
    decided_at: str
    data: dict[str, Any]

    _times = field_validator("decided_at")(_wire_time)


class RecordTombstone(_Strict):
    """``relay.record.tombstone``: owner node → a node holding a copy, the record is gone."""

    record_id: str = Field(pattern=_UUID)
    kind: RecordKind = Field(strict=False)
    owner: str = Field(min_length=1, max_length=64)
    reason: Literal["withdrawn", "retention"]
    deleted_at: str

    _times = field_validator("deleted_at")(_wire_time)


class AccidentNotice(_Strict):
    """``relay.accident.notice``: the investigating province → the contractor's home node."""

    record_id: str = Field(pattern=_UUID)
    version_no: int = Field(ge=1)
    contractor_uscc: str = Field(min_length=18, max_length=18)
    related_record_id: str | None = Field(default=None, pattern=_UUID)
    province_code: str = Field(pattern=_PROVINCE)
    first_entered_at: str
    entered_at: str
    data: dict[str, Any]

    _times = field_validator("first_entered_at", "entered_at")(_wire_time)
