"""奖惩情况 — a reward or penalty, filed by the contractor or entered by a regulator."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field

from schemas.enums import RewardPenaltyKind
from schemas.forms.common import (
    InputModel,
    LongText,
    PastDate,
    PublicModel,
    ShortText,
    optional_like,
)
from schemas.identifiers import USCC

__all__ = [
    "SENSITIVE_FIELDS",
    "RewardPenaltyBase",
    "RewardPenaltyCreate",
    "RewardPenaltyPublic",
    "RewardPenaltyUpdate",
]

#: Dotted paths of the personal data in this form: none.
SENSITIVE_FIELDS: tuple[str, ...] = ()


class RewardPenaltyBase(InputModel):
    """The reward/penalty form (all of it is public)."""

    kind: RewardPenaltyKind = Field(title="奖惩类型", examples=["penalty"])
    decided_on: PastDate = Field(title="奖惩日期", examples=["2024-07-02"])
    issued_by: ShortText = Field(title="奖惩机关", examples=["包头市应急管理局"])
    document_no: ShortText = Field(title="文书编号", examples=["包应急罚〔2024〕15号"])
    description: LongText = Field(
        title="奖惩内容", examples=["未按规定对项目部进行安全检查，罚款人民币三万元"]
    )
    contractor_uscc: USCC = Field(title="承包单位统一社会信用代码", examples=["91150102MA0N1A2B3W"])


class RewardPenaltyCreate(RewardPenaltyBase):
    """A reward or penalty as filed."""


def _like(name: str) -> Any:
    return optional_like(RewardPenaltyCreate, name)


class RewardPenaltyUpdate(InputModel):
    """A partial change to a reward or penalty."""

    kind: RewardPenaltyKind | None = _like("kind")
    decided_on: PastDate | None = _like("decided_on")
    issued_by: ShortText | None = _like("issued_by")
    document_no: ShortText | None = _like("document_no")
    description: LongText | None = _like("description")
    contractor_uscc: USCC | None = _like("contractor_uscc")


class RewardPenaltyPublic(RewardPenaltyBase, PublicModel):
    """A reward or penalty as published (nothing to mask)."""

    model_config = PublicModel.model_config

    @classmethod
    def from_create(cls, record: RewardPenaltyCreate) -> Self:
        """Project a filed record onto its public view."""
        return cls.model_validate(record.model_dump())
