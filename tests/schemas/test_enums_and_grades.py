"""Enumeration labels and the accident grade boundaries."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.accidents import derive_accident_grade
from schemas.enums import (
    AccidentCategory,
    AccidentGrade,
    AttachmentPurpose,
    ContractingMode,
    FlagCode,
    QualificationGrade,
    RecordKind,
    ResponsibleParty,
    ReviewState,
    RewardPenaltyKind,
    Role,
)

GB6441 = [
    *("物体打击", "车辆伤害", "机械伤害", "起重伤害", "触电", "淹溺", "灼烫"),
    *("火灾", "高处坠落", "坍塌", "冒顶片帮", "透水", "放炮", "火药爆炸"),
    *("瓦斯爆炸", "锅炉爆炸", "容器爆炸", "其它爆炸", "中毒和窒息", "其它伤害"),
]


def test_accident_categories_follow_gb6441() -> None:
    assert [c.value for c in AccidentCategory] == list(range(1, 21))
    assert [c.label_zh for c in AccidentCategory] == GB6441
    assert AccidentCategory.STRUCK_BY_OBJECT.value == 1
    assert AccidentCategory.OTHER_INJURY.value == 20
    assert AccidentCategory(11).label_en == "roof fall / rib spalling"


@pytest.mark.parametrize(
    ("member", "value", "zh"),
    [
        (AccidentGrade.GENERAL, "general", "一般"),
        (AccidentGrade.LARGER, "larger", "较大"),
        (AccidentGrade.MAJOR, "major", "重大"),
        (AccidentGrade.ESPECIALLY_MAJOR, "especially_major", "特别重大"),
        (QualificationGrade.SPECIAL, "special", "特级"),
        (QualificationGrade.THIRD, "third", "三级"),
        (ContractingMode.GENERAL, "general", "总承包"),
        (ContractingMode.BY_ITEM, "by_item", "分项承包"),
        (ResponsibleParty.ISSUING_UNIT, "issuing_unit", "发包单位"),
        (ResponsibleParty.NO_LIABILITY, "no_liability", "非责任事故"),
        (ReviewState.SUBMITTED, "submitted", "待审核"),
        (ReviewState.RETURNED, "returned", "已退回"),
        (RecordKind.PROJECT_DEPARTMENT, "project_department", "项目部"),
        (RecordKind.ACCIDENT, "accident", "事故情况"),
        (RewardPenaltyKind.PENALTY, "penalty", "处罚"),
        (Role.COUNTY_REGULATOR, "county_regulator", "县级监管人员"),
        (Role.CONTRACTOR, "contractor", "承包单位"),
        (FlagCode.LICENCE_EXPIRING, "licence_expiring", "许可证90日内到期"),
        (FlagCode.NO_WRITTEN_REPORT, "no_written_report", "未书面报告当地监管部门"),
        (AttachmentPurpose.SAFETY_LICENCE_SCAN, "safety_licence_scan", "安全生产许可证扫描件"),
    ],
)
def test_values_and_labels(member: object, value: str, zh: str) -> None:
    assert member == value
    assert member.label_zh == zh  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "enum",
    [
        AccidentCategory,
        AccidentGrade,
        AttachmentPurpose,
        ContractingMode,
        FlagCode,
        QualificationGrade,
        RecordKind,
        ResponsibleParty,
        ReviewState,
        RewardPenaltyKind,
        Role,
    ],
)
def test_every_member_has_both_labels(enum: Any) -> None:
    for member in enum:
        assert member.label_zh and member.label_en
    assert len(enum.choices()) == len(enum)


def test_role_count() -> None:
    assert len(Role) == 7


@pytest.mark.parametrize(
    ("deaths", "serious", "loss", "grade"),
    [
        (0, 0, 0, AccidentGrade.GENERAL),
        (2, 9, 9_999_999, AccidentGrade.GENERAL),
        (3, 0, 0, AccidentGrade.LARGER),
        (0, 10, 0, AccidentGrade.LARGER),
        (0, 0, 10_000_000, AccidentGrade.LARGER),
        (9, 49, 49_999_999, AccidentGrade.LARGER),
        (10, 0, 0, AccidentGrade.MAJOR),
        (0, 50, 0, AccidentGrade.MAJOR),
        (0, 0, 50_000_000, AccidentGrade.MAJOR),
        (29, 99, 99_999_999, AccidentGrade.MAJOR),
        (30, 0, 0, AccidentGrade.ESPECIALLY_MAJOR),
        (0, 100, 0, AccidentGrade.ESPECIALLY_MAJOR),
        (0, 0, 100_000_000, AccidentGrade.ESPECIALLY_MAJOR),
        (1, 2, 100_000_000, AccidentGrade.ESPECIALLY_MAJOR),
    ],
)
def test_grade_boundaries(deaths: int, serious: int, loss: int, grade: AccidentGrade) -> None:
    assert derive_accident_grade(deaths, serious, loss) is grade


def test_grade_refuses_negative() -> None:
    with pytest.raises(ValueError):
        derive_accident_grade(-1, 0, 0)
