"""Feeding the hub through the real ingest path, then refreshing its statistics."""

from __future__ import annotations

from typing import Any

from central.statistics import repository, service
from tests.central.support import NOW, ok
from tests.node import factories

PERSON_KEY = b"test-person-index-key-0123456789abcdef"


def accident_form(uscc: str, county: str = "150102", **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "occurred_at": "2026-05-14T09:30:00+08:00",
        "province_code": county[:2] + "0000",
        "city_code": county[:4] + "00",
        "county_code": county,
        "enterprise": "某矿业有限公司某铁矿",
        "site": "东矿-230m水平3号采场",
        "deaths": 1,
        "serious_injuries": 0,
        "direct_loss_yuan": 1_200_000,
        "cause_direct": "顶板浮石未及时处理，冒落伤人",
        "cause_indirect": "安全检查不到位，作业人员培训不足",
        "categories": [11, 1],
        "responsible_party": "contractor",
        "contractor_uscc": uscc,
        "project_department_id": None,
        "description": "作业人员在3号采场出矿时顶板冒落，1人死亡",
    }
    data.update(over)
    return data


def department(county: str = "150102", **over: Any) -> dict[str, Any]:
    return factories.project_department(county, **over)


class Feed:
    """Publishes through ``POST /sync/v1/messages`` and refreshes in the test transaction."""

    def __init__(self, client: Any, session: Any) -> None:
        self.client = client
        self.session = session

    def push(self, node: Any, *messages: dict[str, Any]) -> None:
        answer = ok(node.push(self.client, list(messages)))
        assert answer["quarantined"] == [], answer

    def refresh(self) -> int:
        self.session.expire_all()
        taken = service.refresh_batch(self.session, PERSON_KEY, NOW, limit=10_000)
        self.session.flush()
        return taken

    def rebuild(self, batch: int = service.BATCH) -> int:
        self.session.expire_all()
        return service.rebuild(self.session, PERSON_KEY, NOW, batch=batch)

    def cells(self) -> list[tuple[Any, ...]]:
        self.session.expire_all()
        return repository.all_cells(self.session)

    def table(self, name: str) -> list[tuple[Any, ...]]:
        from sqlalchemy import text

        rows = self.session.execute(text(f"SELECT * FROM {name}"))  # noqa: S608
        return sorted((tuple(r) for r in rows), key=repr)
