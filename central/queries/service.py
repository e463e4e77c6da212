"""Cross-province queries (issue 5): a contractor's records in every province,
contractors with accidents elsewhere, and the same person in roles of concurrent
project departments in different provinces (Order No. 62 Art. 21).

Every query is audited with the asker's identity (for a node: the node and its
user). Personal data follows :meth:`Viewer.sees_full`: full resident ID numbers
for national staff, and for a provincial regulator only in its own
province's records; masked everywhere else.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from central.audit.service import Actor, record_event
from central.errors import Forbidden, InvalidInput
from central.models import HubNode, HubRecord
from central.queries import repository
from central.queries.schemas import (
    NODE_REGULATOR_ROLES,
    AccidentsElsewhere,
    AccidentsElsewhereRow,
    ConcurrentRole,
    ConcurrentRoles,
    ContractorRecords,
    NodeUser,
    PersonInRole,
    RecordRow,
    Viewer,
)
from schemas.divisions import get_division
from schemas.enums import RecordKind
from sync.disclosure import Disclosure, reveal

#: Rows one answer (or export) holds at most.
MAX_ROWS = 10_000
_PROVINCE = re.compile(r"^\d{2}0000$")
_SLOT = re.compile(r"^(\w+)(?:\[(\d+)\])?$")


def province_name(code: str | None) -> str:
    if not code:
        return ""
    division = get_division(code)
    return division.name if division else code


def check_province(province: str | None) -> str | None:
    if province is not None and not _PROVINCE.match(province):
        raise InvalidInput(
            "省份代码应为6位数字，后四位为0（如150000）",
            f"province must be a province code such as 150000, not {province!r}",
            code="invalid_province",
            field="province",
        )
    return province


def node_viewer(node: HubNode, user: NodeUser, client_address: str | None, now: Any) -> Viewer:
    """The node's user as a viewer, after checking the node may speak for them."""
    province = node.jurisdiction[:2] + "0000"
    if user.division_code[:2] != node.jurisdiction[:2]:
        raise Forbidden(
            "该用户不属于本节点的辖区",
            f"user's division {user.division_code} is outside {node.node_id}'s jurisdiction",
            code="outside_jurisdiction",
        )
    if user.role not in NODE_REGULATOR_ROLES:
        raise Forbidden(
            "仅监管部门可以进行跨省查询",
            f"role {user.role} may not ask national queries",
            code="role_not_allowed",
        )
    return Viewer(
        name=f"{node.node_id}/{user.username}"[:64],
        role=user.role,
        province=province,
        client_address=client_address,
        now=now,
        node_id=node.node_id,
        division_code=user.division_code,
    )


def audit(
    session: Session, viewer: Viewer, query: str, params: dict[str, Any], rows: int, fmt: str
) -> None:
    detail: dict[str, Any] = {"params": params, "rows": rows, "format": fmt, "role": viewer.role}
    if viewer.node_id is not None:
        detail["via_node"] = viewer.node_id
        detail["division_code"] = viewer.division_code
    record_event(
        session,
        Actor(viewer.name, viewer.client_address),
        "national.query",
        "query",
        query,
        viewer.now,
        detail,
    )


# ---------------------------------------------------------------- personal data


def _disclosures(record: HubRecord) -> list[Disclosure]:
    return [Disclosure.from_dict(d) for d in record.disclosures or []]


def visible_data(viewer: Viewer, record: HubRecord) -> tuple[bool, dict[str, Any] | None]:
    """The record's data as this viewer may see it, and whether it is in full."""
    if record.public_data is None:
        return False, None
    if viewer.sees_full(record.province_code) and record.disclosures:
        signed = (record.envelope.get("payload") or {}).get("data")
        if isinstance(signed, dict):
            return True, reveal(signed, _disclosures(record))
    return False, record.public_data


def _at_slot(data: dict[str, Any] | None, slot: str) -> dict[str, Any]:
    match = _SLOT.match(slot)
    if data is None or match is None:
        return {}
    value: Any = data.get(match.group(1))
    if match.group(2) is not None:
        index = int(match.group(2))
        value = value[index] if isinstance(value, list) and index < len(value) else None
    return value if isinstance(value, dict) else {}


def _full_id(record: HubRecord, slot: str) -> str | None:
    path = f"{slot}.resident_id"
    for item in record.disclosures or []:
        if item.get("path") == path:
            return str(item.get("value"))
    return None


def title_of(record: HubRecord) -> str:
    data = record.public_data or {}
    for field in ("project_name", "safety_licence_no", "name", "document_no"):
        if data.get(field):
            return str(data[field])
    if record.kind == RecordKind.ACCIDENT:
        return f"{data.get('enterprise', '')} {data.get('site', '')}".strip()
    return record.record_id


def _kind_label(kind: str) -> str:
    try:
        return RecordKind(kind).label_zh
    except ValueError:
        return kind


# ---------------------------------------------------------------- the queries


def contractor_records(
    session: Session, viewer: Viewer, uscc: str, fmt: str = "json"
) -> ContractorRecords:
    """Every published record of one contractor, in every province."""
    rows = repository.contractor_records(session, uscc.strip().upper(), MAX_ROWS)
    records = []
    for r in rows:
        full, data = visible_data(viewer, r)
        records.append(
            RecordRow(
                record_id=r.record_id,
                kind=r.kind,
                kind_label=_kind_label(r.kind),
                province_code=r.province_code,
                province_name=province_name(r.province_code),
                owner=r.owner,
                version_no=r.version_no,
                title=title_of(r),
                approved_at=r.approved_at,
                full_personal_data=full,
                data=data,
            )
        )
    audit(session, viewer, "contractor_records", {"uscc": uscc}, len(records), fmt)
    return ContractorRecords(
        uscc=uscc,
        name=next((r.contractor_name for r in rows if r.contractor_name), None),
        provinces=sorted({r.province_code for r in rows if r.province_code}),
        records=records,
    )


def accidents_elsewhere(
    session: Session, viewer: Viewer, province: str | None, fmt: str = "json"
) -> AccidentsElsewhere:
    """Contractors with accidents in other provinces (a node's regulator: other than its own)."""
    if viewer.province is not None:
        province = viewer.province
    province = check_province(province)
    rows = [
        AccidentsElsewhereRow(
            uscc=r.uscc,
            name=r.name,
            home_province_code=r.home,
            accidents=int(r.accidents),
            deaths=int(r.deaths),
            accident_provinces=sorted(p for p in r.provinces if p),
        )
        for r in repository.accidents_elsewhere(session, province, MAX_ROWS)
    ]
    audit(session, viewer, "accidents_elsewhere", {"province": province}, len(rows), fmt)
    return AccidentsElsewhere(province=province, rows=rows)


def concurrent_roles(
    session: Session,
    viewer: Viewer,
    *,
    province: str | None = None,
    role: str | None = None,
    underground_only: bool = False,
    limit: int = 200,
    fmt: str = "json",
) -> ConcurrentRoles:
    """The same person (by blind index) in roles of project departments of different
    provinces whose periods overlap. A node's regulator sees the pairs with one side in
    its province (that side first)."""
    if viewer.province is not None:
        province = viewer.province
    province = check_province(province)
    if role is not None and role not in ("head", "safety_manager", "technical_staff"):
        raise InvalidInput(
            "角色应为 head、safety_manager 或 technical_staff",
            f"role must be head, safety_manager or technical_staff, not {role!r}",
            code="invalid_role",
            field="role",
        )
    total, pairs = repository.overlaps(
        session, province, role, underground_only, min(limit, MAX_ROWS)
    )
    keys = {(p.record_a, p.slot_a) for p in pairs} | {(p.record_b, p.slot_b) for p in pairs}
    people = repository.people_of(session, keys)
    records = repository.records_by_id(session, {k[0] for k in keys})

    def side(record_id: str, slot: str) -> PersonInRole:
        person = people.get((record_id, slot))
        record = records.get(record_id)
        data = record.public_data if record else None
        at = _at_slot(data, slot)
        full = record is not None and viewer.sees_full(record.province_code)
        code = person.province_code if person else (record.province_code if record else "") or ""
        return PersonInRole(
            record_id=record_id,
            slot=slot,
            role=person.role if person else "",
            province_code=code,
            province_name=province_name(code),
            contractor_uscc=record.contractor_uscc if record else None,
            contractor_name=record.contractor_name if record else None,
            project_name=str((data or {}).get("project_name", "")),
            start_month=person.start_month if person else "",
            end_month=person.end_month if person else "",
            underground=bool((data or {}).get("underground")),
            name=at.get("name"),
            resident_id=(_full_id(record, slot) if full and record else at.get("resident_id")),
        )

    rows = [
        ConcurrentRole(
            person_ref=p.person_index[:12],
            a=side(p.record_a, p.slot_a),
            b=side(p.record_b, p.slot_b),
        )
        for p in pairs
    ]
    params = {
        "province": province,
        "role": role,
        "underground_only": underground_only,
        "limit": limit,
    }
    audit(session, viewer, "concurrent_roles", params, len(rows), fmt)
    return ConcurrentRoles(province=province, total=total, rows=rows)


def run_node_query(
    session: Session, viewer: Viewer, query: str, params: dict[str, Any], fmt: str
) -> ContractorRecords | AccidentsElsewhere | ConcurrentRoles:
    """A query a node asks on behalf of its user (``POST /api/v1/national/node-query``)."""
    try:
        if query == "contractor_records":
            return contractor_records(session, viewer, str(params["uscc"]), fmt)
        if query == "accidents_elsewhere":
            return accidents_elsewhere(session, viewer, None, fmt)
        return concurrent_roles(
            session,
            viewer,
            role=params.get("role"),
            underground_only=bool(params.get("underground_only", False)),
            limit=int(params.get("limit", 200)),
            fmt=fmt,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(
            "查询参数有误",
            f"bad parameters for {query}: {type(exc).__name__}",
            code="invalid_input",
        ) from exc
