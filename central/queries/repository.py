"""SQL of the national queries (indexed lookups on ``hub_record`` and the overlap table)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from central.models import HubPersonIndex, HubPersonOverlap, HubRecord
from schemas.enums import RecordKind


def contractor_records(session: Session, uscc: str, limit: int) -> list[HubRecord]:
    return list(
        session.exec(
            select(HubRecord)
            .where(col(HubRecord.contractor_uscc) == uscc, col(HubRecord.deleted_at).is_(None))
            .order_by(col(HubRecord.province_code), col(HubRecord.kind), col(HubRecord.record_id))
            .limit(limit)
        )
    )


_ELSEWHERE_OF_PROVINCE = """
SELECT a.contractor_uscc AS uscc, max(a.contractor_name) AS name,
       count(*) AS accidents,
       coalesce(sum((a.public_data->>'deaths')::int), 0) AS deaths,
       array_agg(DISTINCT a.province_code) AS provinces,
       (SELECT h.province_code FROM hub_record h
         WHERE h.contractor_uscc = a.contractor_uscc AND h.kind = 'basic_info'
           AND h.deleted_at IS NULL LIMIT 1) AS home
FROM hub_record a
WHERE a.kind = 'accident' AND a.deleted_at IS NULL AND a.province_code <> :province
  AND a.contractor_uscc IN (
      SELECT r.contractor_uscc FROM hub_record r
      WHERE r.province_code = :province AND r.kind <> 'accident' AND r.deleted_at IS NULL)
GROUP BY a.contractor_uscc
ORDER BY deaths DESC, accidents DESC, uscc
LIMIT :limit
"""

_ELSEWHERE_OF_HOME = """
SELECT a.contractor_uscc AS uscc, max(a.contractor_name) AS name,
       count(*) AS accidents,
       coalesce(sum((a.public_data->>'deaths')::int), 0) AS deaths,
       array_agg(DISTINCT a.province_code) AS provinces,
       h.province_code AS home
FROM hub_record a
JOIN hub_record h ON h.contractor_uscc = a.contractor_uscc AND h.kind = 'basic_info'
                 AND h.deleted_at IS NULL
WHERE a.kind = 'accident' AND a.deleted_at IS NULL AND a.province_code <> h.province_code
GROUP BY a.contractor_uscc, h.province_code
ORDER BY deaths DESC, accidents DESC, uscc
LIMIT :limit
"""


def accidents_elsewhere(session: Session, province: str | None, limit: int) -> list[Any]:
    """Contractors with accidents outside ``province`` among those with records in it; or,
    nationally, outside their home province (that of their basic information)."""
    if province is None:
        return list(session.execute(text(_ELSEWHERE_OF_HOME), {"limit": limit}))
    return list(
        session.execute(text(_ELSEWHERE_OF_PROVINCE), {"province": province, "limit": limit})
    )


def overlaps(
    session: Session,
    province: str | None,
    role: str | None,
    underground_only: bool,
    limit: int,
) -> tuple[int, list[Any]]:
    """Pairs of (person in a role) × (same person elsewhere, overlapping): each pair once
    nationally; with ``province``, those with one side in it (that side first)."""
    o = HubPersonOverlap
    where: list[Any] = []
    if province is not None:
        where.append(col(o.province_a) == province)
    else:
        where.append(col(o.record_a) < col(o.record_b))
    if role is not None:
        where.append((col(o.role_a) == role) | (col(o.role_b) == role))
    if underground_only:
        where.append(col(o.underground).is_(True))
    from sqlalchemy import func

    total = session.exec(select(func.count()).select_from(o).where(*where)).one()
    rows = list(
        session.exec(
            select(o)
            .where(*where)
            .order_by(col(o.person_index), col(o.record_a), col(o.slot_a), col(o.record_b))
            .limit(limit)
        )
    )
    return int(total), rows


def people_of(
    session: Session, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], HubPersonIndex]:
    if not keys:
        return {}
    ids = sorted({k[0] for k in keys})
    rows = session.exec(select(HubPersonIndex).where(col(HubPersonIndex.record_id).in_(ids)))
    return {(r.record_id, r.slot): r for r in rows if (r.record_id, r.slot) in keys}


def records_by_id(session: Session, ids: set[str]) -> dict[str, HubRecord]:
    if not ids:
        return {}
    rows = session.exec(
        select(HubRecord).where(
            col(HubRecord.record_id).in_(sorted(ids)),
            col(HubRecord.kind) == RecordKind.PROJECT_DEPARTMENT.value,
        )
    )
    return {r.record_id: r for r in rows}
