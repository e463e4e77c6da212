"""The open-data datasets and their data dictionary: one definition serves the
exports (CSV, JSON Lines) and the dictionary page (``/open-data``).

Each column says where its value comes from (a function of the record), its
Chinese title, an English description and its type. People appear as counts,
never as names with ID numbers or phone numbers; a contractor's contact phone
is left out altogether.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from central.models import HubRecord
from schemas.clock import CHINA_TZ
from schemas.enums import (
    AccidentCategory,
    ContractingMode,
    QualificationGrade,
    RecordKind,
    ResponsibleParty,
    RewardPenaltyKind,
)

#: When the open data changes; shown on /open-data and in docs/public-api.md.
REFRESH_SCHEDULE_ZH = (
    "实时更新：各省节点审核通过的记录经签名同步至国家枢纽后即进入公示数据（通常在几分钟内）；"
    "导出文件在下载时按当前数据生成，不另设批量更新时间。"
    "增量获取请使用 updated_since 参数（按记录接收时间）。"
)
REFRESH_SCHEDULE_EN = (
    "Live: a record approved at a provincial node is in the open data as soon as its signed "
    "publication reaches the hub (normally within minutes); exports are generated from the "
    "current data when downloaded. For increments use updated_since (time of receipt)."
)


@dataclass(frozen=True)
class DataColumn:
    name: str
    title_zh: str
    description_en: str
    type: str  # text, integer, boolean, date, datetime, code
    value: Callable[[HubRecord, dict[str, Any]], Any]


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: RecordKind
    title_zh: str
    title_en: str
    columns: tuple[DataColumn, ...]


def _data(key: str) -> Callable[[HubRecord, dict[str, Any]], Any]:
    return lambda _r, d: d.get(key)


def _label(enum: Any, key: str) -> Callable[[HubRecord, dict[str, Any]], Any]:
    def value(_r: HubRecord, d: dict[str, Any]) -> Any:
        raw = d.get(key)
        try:
            return enum(raw).label_zh if raw is not None else None
        except ValueError:
            return raw

    return value


def _count(key: str) -> Callable[[HubRecord, dict[str, Any]], Any]:
    return lambda _r, d: len(d.get(key) or [])


def _time(t: datetime | None) -> str | None:
    return t.astimezone(CHINA_TZ).isoformat() if t is not None else None


def _joined(key: str) -> Callable[[HubRecord, dict[str, Any]], Any]:
    return lambda _r, d: "；".join(str(v) for v in d.get(key) or [])


def _last_inspection(_r: HubRecord, d: dict[str, Any]) -> Any:
    dates = [i.get("date") for i in d.get("inspections") or [] if i.get("date")]
    return max(dates) if dates else None


def _categories_zh(_r: HubRecord, d: dict[str, Any]) -> Any:
    return "；".join(AccidentCategory(int(c)).label_zh for c in d.get("categories") or [])


def _grade(_r: HubRecord, d: dict[str, Any]) -> Any:
    from schemas.accidents import derive_accident_grade

    try:
        return derive_accident_grade(
            int(d["deaths"]), int(d["serious_injuries"]), int(d["direct_loss_yuan"])
        ).label_zh
    except (KeyError, TypeError, ValueError):
        return None


_RECORD_ID = DataColumn(
    "record_id",
    "记录标识",
    "the record's id (stable across versions)",
    "text",
    lambda r, _d: r.record_id,
)
_USCC = DataColumn(
    "contractor_uscc",
    "承包单位统一社会信用代码",
    "USCC of the contractor (GB 32100)",
    "code",
    lambda r, _d: r.contractor_uscc,
)
_NAME = DataColumn(
    "contractor_name", "承包单位名称", "contractor's name", "text", lambda r, _d: r.contractor_name
)
_TAIL = (
    DataColumn(
        "owner",
        "发布节点",
        "the provincial node that owns and signed the record",
        "text",
        lambda r, _d: r.owner,
    ),
    DataColumn(
        "version_no", "版本号", "version of the record", "integer", lambda r, _d: r.version_no
    ),
    DataColumn(
        "approved_at",
        "审核通过时间",
        "when this version was approved (Beijing time)",
        "datetime",
        lambda r, _d: _time(r.approved_at),
    ),
    DataColumn(
        "received_at",
        "枢纽接收时间",
        "when the hub received this version; updated_since compares with it",
        "datetime",
        lambda r, _d: _time(r.received_at),
    ),
    DataColumn(
        "deleted_at",
        "删除时间",
        "set only on deletions (retention or withdrawal), which appear "
        "only with updated_since; every other column is then empty",
        "datetime",
        lambda r, _d: _time(r.deleted_at),
    ),
    DataColumn(
        "verify_url",
        "核验地址",
        "page verifying the record's signature and log inclusion",
        "text",
        lambda r, _d: f"/verify/{r.record_id}",
    ),
)

_LOCATION = (
    DataColumn(
        "province_code", "所在省代码", "GB/T 2260 province code", "code", _data("province_code")
    ),
    DataColumn("city_code", "所在市代码", "GB/T 2260 city code", "code", _data("city_code")),
    DataColumn(
        "county_code", "所在县（区）代码", "GB/T 2260 county code", "code", _data("county_code")
    ),
)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "contractors",
            RecordKind.BASIC_INFO,
            "承包单位基本情况",
            "contractors' basic information",
            (
                _RECORD_ID,
                DataColumn("uscc", "统一社会信用代码", "USCC (GB 32100)", "code", _data("uscc")),
                DataColumn("name", "企业名称", "registered name", "text", _data("name")),
                DataColumn(
                    "registered_address",
                    "注册地址",
                    "registered address",
                    "text",
                    _data("registered_address"),
                ),
                DataColumn(
                    "legal_rep_name",
                    "法定代表人",
                    "legal representative",
                    "text",
                    _data("legal_rep_name"),
                ),
                DataColumn(
                    "avg_headcount",
                    "年平均从业总人数",
                    "average annual headcount",
                    "integer",
                    _data("avg_headcount"),
                ),
                DataColumn(
                    "central_soe",
                    "是否中央企业",
                    "central state-owned enterprise",
                    "boolean",
                    _data("central_soe"),
                ),
                DataColumn(
                    "home_province_code",
                    "注册地所在省代码",
                    "home province (GB/T 2260)",
                    "code",
                    _data("home_province_code"),
                ),
                DataColumn(
                    "management_systems",
                    "管理体系",
                    "management systems, separated by ；",
                    "text",
                    _joined("management_systems"),
                ),
                DataColumn(
                    "project_department_count",
                    "项目部总数量",
                    "project departments filed (derived)",
                    "integer",
                    _data("project_department_count"),
                ),
                *_TAIL,
            ),
        ),
        Dataset(
            "licences",
            RecordKind.LICENCE,
            "持证情况",
            "licences and qualifications",
            (
                _RECORD_ID,
                _USCC,
                _NAME,
                DataColumn(
                    "safety_licence_no",
                    "安全生产许可证编号",
                    "safety production licence number",
                    "text",
                    _data("safety_licence_no"),
                ),
                DataColumn(
                    "issuing_authority",
                    "发证机关",
                    "issuing authority",
                    "text",
                    _data("issuing_authority"),
                ),
                DataColumn(
                    "valid_from", "有效期起始日期", "valid from", "date", _data("valid_from")
                ),
                DataColumn("valid_to", "有效期截止日期", "valid to", "date", _data("valid_to")),
                DataColumn(
                    "qualification_grade",
                    "施工资质等级代码",
                    "construction qualification grade: special, first, second, third",
                    "code",
                    _data("qualification_grade"),
                ),
                DataColumn(
                    "qualification_grade_zh",
                    "施工资质等级",
                    "the grade in Chinese",
                    "text",
                    _label(QualificationGrade, "qualification_grade"),
                ),
                DataColumn(
                    "qualification_scope",
                    "资质范围",
                    "scope of the qualification",
                    "text",
                    _data("qualification_scope"),
                ),
                DataColumn(
                    "safety_manager_count",
                    "安全管理人员数量",
                    "number of safety managers",
                    "integer",
                    _data("safety_manager_count"),
                ),
                *_TAIL,
            ),
        ),
        Dataset(
            "project_departments",
            RecordKind.PROJECT_DEPARTMENT,
            "项目部情况",
            "project departments",
            (
                _RECORD_ID,
                _USCC,
                _NAME,
                DataColumn(
                    "project_name", "项目名称", "project name", "text", _data("project_name")
                ),
                *_LOCATION,
                DataColumn(
                    "issuing_unit",
                    "发包单位",
                    "issuing unit (the mine's operator)",
                    "text",
                    _data("issuing_unit"),
                ),
                DataColumn("mine_name", "矿山名称", "mine", "text", _data("mine_name")),
                DataColumn(
                    "start_month", "进场年月", "start (YYYY-MM)", "text", _data("start_month")
                ),
                DataColumn(
                    "expected_end_month",
                    "预计完工年月",
                    "expected end (YYYY-MM)",
                    "text",
                    _data("expected_end_month"),
                ),
                DataColumn(
                    "contracting_mode",
                    "承包方式代码",
                    "general or by_item",
                    "code",
                    _data("contracting_mode"),
                ),
                DataColumn(
                    "contracting_mode_zh",
                    "承包方式",
                    "contracting mode in Chinese",
                    "text",
                    _label(ContractingMode, "contracting_mode"),
                ),
                DataColumn(
                    "underground",
                    "是否井下作业",
                    "underground work",
                    "boolean",
                    _data("underground"),
                ),
                DataColumn(
                    "written_report",
                    "是否书面报告当地安全监管部门",
                    "written report to the local regulator",
                    "boolean",
                    _data("written_report"),
                ),
                DataColumn(
                    "agreement_signed",
                    "是否签订安全生产管理协议",
                    "safety production management agreement signed",
                    "boolean",
                    _data("agreement_signed"),
                ),
                DataColumn(
                    "emergency_plan_no",
                    "应急预案备案号",
                    "emergency plan filing number",
                    "text",
                    _data("emergency_plan_no"),
                ),
                DataColumn(
                    "safety_manager_count",
                    "安全管理人员数",
                    "safety managers (a count: no names, no ID numbers)",
                    "integer",
                    _count("safety_managers"),
                ),
                DataColumn(
                    "technical_staff_count",
                    "专业技术人员数",
                    "technical staff (a count)",
                    "integer",
                    _count("technical_staff"),
                ),
                DataColumn(
                    "inspection_count",
                    "安全检查次数",
                    "inspections by the contractor",
                    "integer",
                    _count("inspections"),
                ),
                DataColumn(
                    "last_inspection_on",
                    "最近一次检查日期",
                    "date of the latest inspection",
                    "date",
                    _last_inspection,
                ),
                *_TAIL,
            ),
        ),
        Dataset(
            "accidents",
            RecordKind.ACCIDENT,
            "事故情况",
            "accidents",
            (
                _RECORD_ID,
                _USCC,
                _NAME,
                DataColumn(
                    "occurred_at",
                    "事故发生时间",
                    "time of the accident (ISO 8601)",
                    "datetime",
                    _data("occurred_at"),
                ),
                *_LOCATION,
                DataColumn(
                    "enterprise", "事故单位/矿山", "enterprise or mine", "text", _data("enterprise")
                ),
                DataColumn("site", "作业地点", "work site", "text", _data("site")),
                DataColumn("deaths", "死亡人数", "deaths", "integer", _data("deaths")),
                DataColumn(
                    "serious_injuries",
                    "重伤人数",
                    "serious injuries",
                    "integer",
                    _data("serious_injuries"),
                ),
                DataColumn(
                    "direct_loss_yuan",
                    "直接经济损失（元）",
                    "direct economic loss, whole yuan",
                    "integer",
                    _data("direct_loss_yuan"),
                ),
                DataColumn(
                    "grade_zh",
                    "事故等级",
                    "grade derived per the 2007 regulations, Art. 3",
                    "text",
                    _grade,
                ),
                DataColumn(
                    "categories",
                    "事故类别代码",
                    "GB 6441-86 category codes 1-20, separated by ；",
                    "text",
                    _joined("categories"),
                ),
                DataColumn(
                    "categories_zh", "事故类别", "the categories in Chinese", "text", _categories_zh
                ),
                DataColumn(
                    "responsible_party",
                    "事故主要责任单位代码",
                    "issuing_unit, contractor or no_liability",
                    "code",
                    _data("responsible_party"),
                ),
                DataColumn(
                    "responsible_party_zh",
                    "事故主要责任单位",
                    "in Chinese",
                    "text",
                    _label(ResponsibleParty, "responsible_party"),
                ),
                DataColumn(
                    "cause_direct", "直接原因", "direct cause", "text", _data("cause_direct")
                ),
                DataColumn(
                    "cause_indirect", "间接原因", "indirect cause", "text", _data("cause_indirect")
                ),
                *_TAIL,
            ),
        ),
        Dataset(
            "rewards_penalties",
            RecordKind.REWARD_PENALTY,
            "奖惩情况",
            "rewards and penalties",
            (
                _RECORD_ID,
                _USCC,
                _NAME,
                DataColumn("kind", "奖惩类型代码", "reward or penalty", "code", _data("kind")),
                DataColumn(
                    "kind_zh", "奖惩类型", "in Chinese", "text", _label(RewardPenaltyKind, "kind")
                ),
                DataColumn(
                    "decided_on", "奖惩日期", "date of the decision", "date", _data("decided_on")
                ),
                DataColumn("issued_by", "奖惩机关", "issuing body", "text", _data("issued_by")),
                DataColumn(
                    "document_no", "文书编号", "document number", "text", _data("document_no")
                ),
                DataColumn("description", "奖惩内容", "description", "text", _data("description")),
                *_TAIL,
            ),
        ),
    )
}


def row_of(dataset: Dataset, record: HubRecord) -> dict[str, Any]:
    """One export row; a deleted record keeps only its id, kind columns and deletion time."""
    if record.deleted_at is not None or record.public_data is None:
        keep = {"record_id", "owner", "received_at", "deleted_at"}
        return {c.name: (c.value(record, {}) if c.name in keep else None) for c in dataset.columns}
    data = record.public_data
    return {c.name: c.value(record, data) for c in dataset.columns}
