"""The layout of the forms drawn by ``forms/generic.html``: which input each field
gets, in which group. Labels and whether a field is required come from the
schemas (``schemas/forms``), so a page cannot drift from what the API checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from node.web.forms import FormSpec
from schemas.enums import (
    AccidentCategory,
    QualificationGrade,
    RecordKind,
    ResponsibleParty,
    RewardPenaltyKind,
)
from schemas.forms import FORMS


@dataclass(frozen=True)
class Widget:
    """One input: ``text``, ``tel``, ``number``, ``date``, ``textarea``, ``yesno``,
    ``choice`` (radios), ``province`` (select), ``words`` (a list typed in one
    input), or ``rows`` (repeated groups of ``parts``)."""

    type: str
    name: str
    label: str
    required: bool
    hint: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    parts: tuple[Widget, ...] = ()


@dataclass(frozen=True)
class Group:
    legend: str
    widgets: tuple[Widget, ...]


@dataclass(frozen=True)
class Layout:
    kind: RecordKind
    title: str
    groups: tuple[Group, ...]
    spec: FormSpec = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spec", _spec_of(self))


def _info(model: type[BaseModel], name: str) -> tuple[str, bool]:
    f = model.model_fields[name]
    return (f.title or name), f.is_required()


def _inner(model: type[BaseModel], name: str) -> type[BaseModel]:
    from node.web.display import _inner as inner

    found = inner(model.model_fields[name].annotation)
    assert found is not None, name
    return found


def _w(model: type[BaseModel], type_: str, name: str, hint: str | None = None, **kw: Any) -> Widget:
    label, required = _info(model, name)
    return Widget(type_, name, label, required, hint, **kw)


def _rows(model: type[BaseModel], name: str, parts: list[tuple[str, str]], hint: str) -> Widget:
    inner = _inner(model, name)
    label, required = _info(model, name)
    return Widget(
        "rows",
        name,
        label,
        required,
        hint,
        parts=tuple(_w(inner, t, n) for n, t in parts),
    )


def _spec_of(layout: Layout) -> FormSpec:
    text: list[str] = []
    multi: list[str] = []
    booleans: list[str] = []
    integers: list[str] = []
    words: list[str] = []
    rows: dict[str, tuple[str, ...]] = {}
    for group in layout.groups:
        for w in group.widgets:
            if w.type == "yesno":
                booleans.append(w.name)
            elif w.type == "number":
                integers.append(w.name)
            elif w.type == "words":
                words.append(w.name)
            elif w.type == "checkboxes":
                multi.append(w.name)
            elif w.type == "rows":
                rows[w.name] = tuple(p.name for p in w.parts)
            else:
                text.append(w.name)
    return FormSpec(
        kind=layout.kind,
        text=tuple(text),
        booleans=tuple(booleans),
        integers=tuple(integers),
        word_lists=tuple(words),
        multi=tuple(multi),
        rows=rows,
    )


def _choices(enum: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(v), label) for v, label in enum.choices())


_B = FORMS[RecordKind.BASIC_INFO][0]
_L = FORMS[RecordKind.LICENCE][0]
_R = FORMS[RecordKind.REWARD_PENALTY][0]
_A = FORMS[RecordKind.ACCIDENT][0]

LAYOUTS: dict[RecordKind, Layout] = {
    RecordKind.BASIC_INFO: Layout(
        RecordKind.BASIC_INFO,
        "单位基本情况表",
        (
            Group(
                "企业信息",
                (
                    _w(_B, "text", "name"),
                    _w(_B, "text", "registered_address"),
                    _w(_B, "text", "uscc", "18 位，须与本单位账号的代码一致"),
                    _w(_B, "text", "business_reg_no", "旧版 15 位工商注册号，可不填"),
                    _w(
                        _B,
                        "text",
                        "org_code",
                        "9 位，如 MA0N1A2B-3；须与统一社会信用代码第 9–17 位一致",
                    ),
                    _w(_B, "yesno", "central_soe", "中央企业由省级或市级监管部门审核"),
                    _w(_B, "province", "home_province_code"),
                ),
            ),
            Group(
                "法定代表人与联系人",
                (
                    _w(_B, "text", "legal_rep_name"),
                    _w(_B, "text", "legal_rep_cert_no"),
                    _w(_B, "text", "contact_name"),
                    _w(_B, "tel", "contact_phone", "手机或座机，如 0471-6281234"),
                ),
            ),
            Group(
                "安全管理",
                (
                    _w(_B, "number", "avg_headcount", "整数"),
                    _w(_B, "textarea", "safety_org"),
                    _w(_B, "textarea", "safety_staffing"),
                    _w(_B, "textarea", "technical_staffing"),
                    _w(_B, "words", "management_systems", "用顿号分隔，如：HSE、ISO 45001"),
                    _w(_B, "textarea", "main_equipment"),
                ),
            ),
            Group(
                "荣誉与业绩",
                (
                    _rows(_B, "honours", [("name", "text"), ("awarded_by", "text")], "每行一项"),
                    _rows(
                        _B,
                        "performance",
                        [("project", "text"), ("result", "text"), ("year", "number")],
                        "已完成的主要工程及其完成情况",
                    ),
                ),
            ),
        ),
    ),
    RecordKind.LICENCE: Layout(
        RecordKind.LICENCE,
        "持证情况表",
        (
            Group(
                "安全生产许可证",
                (
                    _w(_L, "text", "safety_licence_no"),
                    _w(_L, "text", "issuing_authority"),
                    _w(_L, "date", "valid_from"),
                    _w(_L, "date", "valid_to", "安全生产许可证有效期 3 年"),
                ),
            ),
            Group(
                "人员资格",
                (
                    _w(_L, "text", "legal_rep_cert_no"),
                    _w(_L, "number", "safety_manager_count", "整数"),
                    _w(_L, "words", "safety_manager_certs", "用顿号分隔多个证书编号"),
                ),
            ),
            Group(
                "施工资质",
                (
                    _w(_L, "choice", "qualification_grade", choices=_choices(QualificationGrade)),
                    _w(_L, "textarea", "qualification_scope"),
                ),
            ),
        ),
    ),
    RecordKind.REWARD_PENALTY: Layout(
        RecordKind.REWARD_PENALTY,
        "奖惩情况",
        (
            Group(
                "奖惩",
                (
                    _w(_R, "choice", "kind", choices=_choices(RewardPenaltyKind)),
                    _w(_R, "date", "decided_on"),
                    _w(_R, "text", "issued_by"),
                    _w(_R, "text", "document_no"),
                    _w(_R, "textarea", "description"),
                    _w(_R, "text", "contractor_uscc", "本单位的统一社会信用代码"),
                ),
            ),
        ),
    ),
    RecordKind.ACCIDENT: Layout(
        RecordKind.ACCIDENT,
        "事故情况表",
        (
            Group(
                "时间与地点",
                (
                    _w(_A, "datetime", "occurred_at", "北京时间"),
                    _w(_A, "province", "province_code"),
                    _w(_A, "division", "city_code", "6 位代码，可从列表选择"),
                    _w(_A, "division", "county_code", "6 位代码，可从列表选择"),
                    _w(_A, "text", "enterprise"),
                    _w(_A, "text", "site"),
                ),
            ),
            Group(
                "伤亡与损失",
                (
                    _w(_A, "number", "deaths", "整数"),
                    _w(_A, "number", "serious_injuries", "损失工作日 105 日以上为重伤"),
                    _w(_A, "number", "direct_loss_yuan", "整数元；事故等级据此自动判定"),
                ),
            ),
            Group(
                "原因与类别",
                (
                    _w(_A, "textarea", "cause_direct"),
                    _w(_A, "textarea", "cause_indirect"),
                    _w(
                        _A,
                        "checkboxes",
                        "categories",
                        "GB 6441-86，可多选",
                        choices=tuple((str(v), f"{v} {t}") for v, t in AccidentCategory.choices()),
                    ),
                    _w(_A, "choice", "responsible_party", choices=_choices(ResponsibleParty)),
                ),
            ),
            Group(
                "承包单位",
                (
                    _w(_A, "text", "contractor_uscc", "该承包单位须已在本节点有账号"),
                    _w(_A, "textarea", "description"),
                ),
            ),
        ),
    ),
}
