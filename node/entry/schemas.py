"""Responses of the regulator entry endpoints (accidents, regulator rewards/penalties)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from node.filing.schemas import RecordDetail, RecordOut
from node.models import Contractor, Record, RecordVersion
from schemas.enums import AccidentCategory, AccidentGrade
from schemas.forms import AccidentCreate, RewardPenaltyCreate

_REASON = Field(
    title="更正理由",
    description="为什么更正（必填，2–2000 个字符；记入版本记录和审计日志）"
    " / why it is corrected (required, 2–2000 characters; kept in the history and audited)",
    examples=["经复核，死亡人数由1人更正为2人"],
)


class AccidentCorrection(AccidentCreate):
    """The whole corrected accident form, and why it is corrected."""

    correction_reason: str = _REASON


class RewardPenaltyCorrection(RewardPenaltyCreate):
    """The whole corrected reward/penalty form, and why it is corrected."""

    correction_reason: str = _REASON


def correction_form(
    body: AccidentCorrection | RewardPenaltyCorrection,
) -> tuple[dict[str, Any], str]:
    """The form as stored, and the reason (which is not part of the form)."""
    data = body.model_dump(mode="json", exclude={"correction_reason"})
    return data, body.correction_reason


def grade_label(grade: str | None) -> str | None:
    return AccidentGrade(grade).label_zh if grade else None


class EntryDetail(RecordDetail):
    """A regulator-entered record with its versions; for an accident, its derived grade."""

    grade: str | None = Field(
        None,
        description="事故等级（由死亡、重伤人数和直接经济损失自动判定）"
        " / accident grade, derived from deaths, serious injuries and direct loss",
        examples=["larger"],
    )
    grade_label: str | None = Field(
        None, description="事故等级名称 / grade label", examples=["较大"]
    )

    @classmethod
    def from_detail(cls, detail: RecordDetail, record: Record) -> EntryDetail:
        return cls(**detail.model_dump(), grade=record.grade, grade_label=grade_label(record.grade))


class AccidentOut(RecordOut):
    """One accident in a list: the record plus what a regulator scans a list for."""

    grade: str = Field(examples=["general"])
    grade_label: str = Field(examples=["一般"])
    occurred_at: datetime = Field(description="事故发生时间 / when it happened (Beijing time)")
    deaths: int = Field(description="死亡人数 / deaths")
    serious_injuries: int = Field(description="重伤人数 / serious injuries")
    direct_loss_yuan: int = Field(description="直接经济损失（元）/ direct loss in yuan")
    categories: list[int] = Field(
        description="GB 6441-86 事故类别 / categories", examples=[[1, 11]]
    )
    category_labels: list[str] = Field(examples=[["物体打击", "冒顶片帮"]])

    @classmethod
    def of_row(cls, r: Record, v: RecordVersion, c: Contractor) -> AccidentOut:
        data: dict[str, Any] = v.data
        categories = [int(n) for n in data.get("categories") or []]
        return cls(
            **RecordOut.of(r, c).model_dump(),
            grade=r.grade or AccidentGrade.GENERAL.value,
            grade_label=grade_label(r.grade) or AccidentGrade.GENERAL.label_zh,
            occurred_at=data["occurred_at"],
            deaths=int(data.get("deaths") or 0),
            serious_injuries=int(data.get("serious_injuries") or 0),
            direct_loss_yuan=int(data.get("direct_loss_yuan") or 0),
            categories=categories,
            category_labels=[AccidentCategory(n).label_zh for n in categories],
        )


class LicensingReportItem(BaseModel):
    """A contractor that must be reported to the authority that issued its licence."""

    contractor_id: uuid.UUID
    contractor_uscc: str = Field(examples=["91150102MA0N1A2B3W"])
    contractor_name: str = Field(examples=["内蒙古恒信矿山工程有限公司"])
    home_province_code: str = Field(examples=["150000"])
    larger_or_worse_count: int = Field(
        description="较大及以上事故起数 / accidents graded 较大 or worse", examples=[1]
    )
    general_count: int = Field(description="一般事故起数 / accidents graded 一般", examples=[0])
    deaths: int = Field(description="死亡人数合计 / deaths in these accidents", examples=[3])
    latest_occurred_on: date = Field(description="最近一起事故日期 / date of the latest accident")
    reasons: list[str] = Field(
        description="触发的规则 / the rule(s) met",
        examples=[["发生较大及以上事故 / a 较大 or worse accident"]],
    )
    licence_issuing_authority: str | None = Field(
        None,
        description="安全生产许可证发证机关（现行持证情况）"
        " / issuing authority of its licence in force, if filed",
        examples=["内蒙古自治区应急管理厅"],
    )


class LicensingReport(BaseModel):
    """DOMAIN rule: a 较大-or-worse accident, or ≥3 一般 accidents, in one year."""

    year: int = Field(examples=[2026])
    jurisdiction: str = Field(
        description="统计范围（行政区划代码）/ division counted", examples=["150000"]
    )
    items: list[LicensingReportItem]
