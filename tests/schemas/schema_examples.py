"""Realistic example filings for the schema tests (plain factory functions)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from schemas.identifiers import make_resident_id, make_uscc

#: The clock every test injects: 2025-06-30 12:00 Beijing time.
NOW = datetime(2025, 6, 30, 4, 0, tzinfo=UTC)
CTX: dict[str, Any] = {"now": NOW}

USCC = make_uscc("150102", "MA0N1A2B")  # 91150102MA0N1A2B3W
HEAD_ID = make_resident_id("150203", date(1978, 9, 5), "031")
MANAGER_IDS = [
    make_resident_id("150206", date(1985, 3, 12), "103"),
    make_resident_id("152801", date(1990, 11, 30), "226"),
]
TECH_ID = make_resident_id("110105", date(1992, 2, 29), "018")


def basic_info(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "内蒙古北方矿业工程有限公司",
        "registered_address": "内蒙古自治区呼和浩特市新城区新华大街1号",
        "uscc": USCC,
        "business_reg_no": "150102000012345",
        "org_code": "MA0N1A2B-3",
        "legal_rep_name": "李志强",
        "legal_rep_cert_no": "蒙安A2021000123",
        "avg_headcount": 356,
        "safety_org": "设安全环保部，配专职安全管理人员12名",
        "safety_staffing": "专职安全管理人员12名，均持证上岗",
        "technical_staffing": "采矿、地质、测量、机电专业技术人员共28名",
        "management_systems": ["HSE", "ISO 45001"],
        "main_equipment": "凿岩台车4台，铲运机6台，井下运矿卡车8台",
        "honours": [{"name": "全国安全生产先进单位", "awarded_by": "应急管理部"}],
        "performance": [
            {"project": "白云鄂博铁矿东矿井巷工程", "result": "按期完工，验收合格", "year": 2022}
        ],
        "central_soe": False,
        "home_province_code": "150000",
        "contact_name": "赵敏",
        "contact_phone": "0471 6281234",
    }
    data.update(over)
    return data


def attachment(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "0b9f6a3e-3c1e-4a55-9d0e-3f1f2b7c8d90",
        "sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
        "filename": "安全生产许可证.pdf",
        "media_type": "application/pdf",
        "size_bytes": 482113,
        "purpose": "safety_licence_scan",
    }
    data.update(over)
    return data


def licence(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "safety_licence_no": "（蒙）FM安许证字〔2023〕000123号",
        "issuing_authority": "内蒙古自治区应急管理厅",
        "valid_from": "2023-06-01",
        "valid_to": "2026-05-31",
        "legal_rep_cert_no": "蒙安A2021000123",
        "safety_manager_count": 12,
        "safety_manager_certs": ["蒙安C2022000456", "蒙安C2022000457"],
        "qualification_grade": "second",
        "qualification_scope": "矿山工程施工总承包二级",
        "attachments": [attachment()],
    }
    data.update(over)
    return data


def project_department(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "project_name": "白云鄂博铁矿东矿井巷掘进工程",
        "province_code": "150000",
        "city_code": "150200",
        "county_code": "150206",
        "issuing_unit": "包钢集团矿山研究院有限责任公司",
        "mine_name": "白云鄂博铁矿",
        "head": {"name": "王建国", "resident_id": HEAD_ID, "phone": "13847112345"},
        "safety_managers": [
            {"name": "刘海", "resident_id": MANAGER_IDS[0], "phone": "0472-5123456"},
            {"name": "买买提·艾力", "resident_id": MANAGER_IDS[1]},
        ],
        "technical_staff": [{"name": "陈静", "resident_id": TECH_ID}],
        "safety_org": "项目部设安全组，专职安全员3名",
        "start_month": "2024-03",
        "expected_end_month": "2026-12",
        "contracting_mode": "by_item",
        "work_content": "主斜坡道及采准巷道掘进支护",
        "underground": True,
        "written_report": True,
        "written_report_date": "2024-02-26",
        "agreement_signed": True,
        "agreement_date": "2024-02-20",
        "emergency_plan_no": "150206-2024-017",
        "inspections": [
            {"date": "2024-09-10", "participants": ["李志强", "赵敏"]},
            {"date": "2025-03-18", "participants": ["李志强"]},
        ],
        "attachments": [],
    }
    data.update(over)
    return data


def accident(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "occurred_at": "2025-05-14T09:30:00+08:00",
        "province_code": "150000",
        "city_code": "150200",
        "county_code": "150206",
        "enterprise": "包钢集团白云鄂博铁矿",
        "site": "东矿-230m水平3号采场",
        "deaths": 1,
        "serious_injuries": 2,
        "direct_loss_yuan": 1_850_000,
        "cause_direct": "顶板浮石未及时处理，冒落伤人",
        "cause_indirect": "安全检查不到位，作业人员培训不足",
        "categories": [11, 1],
        "responsible_party": "contractor",
        "contractor_uscc": USCC,
        "project_department_id": None,
        "description": "5月14日9时30分，作业人员在3号采场出矿时顶板冒落……",
    }
    data.update(over)
    return data


def reward_penalty(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "penalty",
        "decided_on": "2025-06-02",
        "issued_by": "包头市应急管理局",
        "document_no": "包应急罚〔2025〕15号",
        "description": "未按规定对项目部进行安全检查，罚款人民币三万元",
        "contractor_uscc": USCC,
    }
    data.update(over)
    return data
