"""Fixtures for regulator entry: a contractor, regulators at each level, an accident form."""

from __future__ import annotations

from typing import Any

from node.models import Contractor


def accident_form(contractor: Contractor, county: str = "150102", **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "occurred_at": "2026-05-14T09:30:00+08:00",
        "province_code": county[:2] + "0000",
        "city_code": county[:4] + "00",
        "county_code": county,
        "enterprise": "内蒙古某矿业有限公司某铁矿",
        "site": "东矿-230m水平3号采场",
        "deaths": 1,
        "serious_injuries": 0,
        "direct_loss_yuan": 1_200_000,
        "cause_direct": "顶板浮石未及时处理，冒落伤人",
        "cause_indirect": "安全检查不到位，作业人员培训不足",
        "categories": [11, 1],
        "responsible_party": "contractor",
        "contractor_uscc": contractor.uscc,
        "project_department_id": None,
        "description": "5月14日9时30分，作业人员在3号采场出矿时顶板冒落，1人死亡",
    }
    data.update(over)
    return data


def penalty_form(contractor: Contractor, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "penalty",
        "decided_on": "2026-04-02",
        "issued_by": "呼和浩特市应急管理局",
        "document_no": "呼应急罚〔2026〕15号",
        "description": "未按规定对项目部进行安全检查，罚款人民币三万元",
        "contractor_uscc": contractor.uscc,
    }
    data.update(over)
    return data
