"""The province's queries (信息查询统计): lists, counts, CSV exports, contractors.

Who may do what:
- regulators query, count and export everything located in their jurisdiction
  (and the province-level forms of every contractor of their province);
- contractors list and count their own records, but do not export: an export
  is a regulator's tool, and is audited;
- other accounts (national staff on a provincial node) get 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from sqlmodel import Session, col, func, select

from node.audit.service import record_event
from node.config import NodeSettings
from node.db import SessionFactory, transaction
from node.errors import Forbidden, InvalidInput, NotFound
from node.filing.schemas import RecordOut
from node.flags.rules import flags_of
from node.models import Contractor
from node.pagination import Page, PageParams
from node.principal import Actor
from node.queries import repository
from node.queries.export import csv_chunks
from node.queries.repository import FlagContext
from node.queries.schemas import (
    ContractorDetail,
    ContractorSummary,
    CountGroup,
    CountsOut,
    GroupBy,
    RecordFilters,
)
from schemas.divisions import get_division
from schemas.enums import AccidentGrade, FlagCode, RecordKind, ReviewState

UNSET_LABEL = "未填写"
CONTRACTOR_RECORDS_SHOWN = 200


def require_reader(actor: Actor) -> None:
    if not (actor.is_regulator or actor.is_contractor):
        raise Forbidden(
            "当前账号无权查询本省信息",
            f"role {actor.role} may not query this node's records",
            code="role_not_allowed",
        )


def require_regulator(actor: Actor, what_zh: str, what_en: str) -> None:
    if not actor.is_regulator:
        raise Forbidden(
            f"仅监管部门可以{what_zh}",
            f"only regulators may {what_en}",
            code="role_not_allowed",
        )


def flag_context(actor: Actor, settings: NodeSettings) -> FlagContext:
    return FlagContext(
        today=actor.today,
        warning_days=settings.licence_warning_days,
        inspection_days=settings.inspection_interval_days,
    )


# ---------------------------------------------------------------- records


def list_records(
    session: Session,
    actor: Actor,
    settings: NodeSettings,
    filters: RecordFilters,
    sort: str,
    paging: PageParams,
    *,
    flagged_only: bool = False,
) -> Page[RecordOut]:
    """A page of the records the caller can see that match ``filters``, with their flags
    (computed for the whole page in one query)."""
    require_reader(actor)
    flags = flag_context(actor, settings)
    where = repository.conditions(actor, filters, flags, flagged_only=flagged_only)
    total = repository.count(session, where)
    rows = repository.page(session, where, sort, paging.offset, paging.page_size)
    flagged = flags_of(
        session, [r.id for r, _ in rows], flags.today, flags.warning_days, flags.inspection_days
    )
    return Page.of([RecordOut.of(r, c, flagged.get(r.id)) for r, c in rows], total, paging)


def _enum_label(enum: type[RecordKind] | type[ReviewState] | type[AccidentGrade], key: str) -> str:
    try:
        return enum(key).label_zh
    except ValueError:
        return key


def _label(group_by: GroupBy, key: str | None) -> str:
    if key is None:
        return UNSET_LABEL
    if group_by == "kind":
        return _enum_label(RecordKind, key)
    if group_by == "state":
        return _enum_label(ReviewState, key)
    if group_by == "grade":
        return _enum_label(AccidentGrade, key)
    if group_by in ("county_code", "city_code"):
        division = get_division(key)
        return division.name if division else key
    year, _, month = key.partition("-")  # month: YYYY-MM
    return f"{year}年{int(month)}月"


_ENUM_GROUPS: dict[str, list[str]] = {
    "kind": [k.value for k in RecordKind],
    "state": [s.value for s in ReviewState],
    "grade": [g.value for g in AccidentGrade],
}


def count_records(
    session: Session,
    actor: Actor,
    settings: NodeSettings,
    filters: RecordFilters,
    group_by: GroupBy,
) -> CountsOut:
    """Counts per group in one SQL query. Enumerated groups (kind, state, grade, flag)
    list every value, zeros included, in declaration order; divisions and months list
    the values present, in code or date order."""
    require_reader(actor)
    flags = flag_context(actor, settings)
    where = repository.conditions(actor, filters, flags)
    if group_by == "flag":
        total, by_flag = repository.flag_counts(session, where, flags)
        groups = [
            CountGroup(key=code.value, label=code.label_zh, count=by_flag[code])
            for code in FlagCode
        ]
        return CountsOut(group_by=group_by, total=total, groups=groups)
    found = dict(repository.grouped_counts(session, where, group_by))
    keys: list[str | None] = list(found)
    if group_by in _ENUM_GROUPS:
        known = _ENUM_GROUPS[group_by]
        keys = [*known, *(k for k in found if k not in known)]
    groups = [CountGroup(key=k, label=_label(group_by, k), count=found.get(k, 0)) for k in keys]
    return CountsOut(group_by=group_by, total=sum(found.values()), groups=groups)


def start_export(
    session: Session,
    actor: Actor,
    settings: NodeSettings,
    filters: RecordFilters,
    sort: str,
    read_session: SessionFactory,
) -> Iterator[str]:
    """Check and audit an export now; the returned chunks read the rows only as they
    are sent. Refused (422) when more rows match than ``export_max_rows``.

    The request's session is committed and closed before the body streams, so the
    rows are read in a session of their own from ``read_session``."""
    require_regulator(actor, "导出数据", "export records")
    flags = flag_context(actor, settings)
    where = repository.conditions(actor, filters, flags)
    matched = repository.count(session, where)
    limit = settings.export_max_rows
    if matched > limit:
        raise InvalidInput(
            f"符合条件的记录有{matched}条，超过单次导出上限{limit}条，请缩小查询条件后再导出",
            f"{matched} records match, more than the export limit of {limit}: narrow the filters",
            code="export_too_large",
            matched=matched,
            limit=limit,
        )
    record_event(
        session,
        actor,
        "queries.exported",
        "records",
        None,
        {"format": "csv", "filters": filters.as_detail(), "sort": sort, "rows": matched},
    )

    def stream() -> Iterator[str]:
        with transaction(read_session) as reader:
            yield from csv_chunks(repository.export_rows(reader, where, sort, flags, limit))

    return stream()


# ---------------------------------------------------------------- contractors


def _summaries(
    session: Session, actor: Actor, contractors: list[Contractor]
) -> list[ContractorSummary]:
    ids = [c.id for c in contractors]
    by_kind = repository.record_counts_by_contractor(session, actor, ids)
    departments = repository.department_counts(session, ids)
    return [
        ContractorSummary(
            id=c.id,
            uscc=c.uscc,
            name=c.name,
            home_province_code=c.home_province_code,
            central_soe=c.central_soe,
            created_at=c.created_at,
            project_department_count=departments.get(c.id, 0),
            record_counts={k.value: by_kind.get(c.id, {}).get(k.value, 0) for k in RecordKind},
        )
        for c in contractors
    ]


def list_contractors(
    session: Session, actor: Actor, q: str | None, paging: PageParams
) -> Page[ContractorSummary]:
    require_regulator(actor, "查询承包单位", "list contractors")
    where = [repository.contractor_visible_to(actor), repository.contractor_search(q)]
    total = session.exec(select(func.count()).select_from(Contractor).where(*where)).one()
    contractors = list(
        session.exec(
            select(Contractor)
            .where(*where)
            .order_by(col(Contractor.name), col(Contractor.id))
            .offset(paging.offset)
            .limit(paging.page_size)
        )
    )
    return Page.of(_summaries(session, actor, contractors), total, paging)


def contractor_detail(
    session: Session, actor: Actor, settings: NodeSettings, contractor_id: uuid.UUID
) -> ContractorDetail:
    require_regulator(actor, "查询承包单位", "read contractors")
    contractor = session.exec(
        select(Contractor).where(
            col(Contractor.id) == contractor_id, repository.contractor_visible_to(actor)
        )
    ).first()
    if contractor is None:
        # Not 403: whether a contractor exists outside one's jurisdiction is not disclosed.
        raise NotFound(
            "未找到该承包单位",
            f"contractor {contractor_id} not found",
            code="contractor_not_found",
        )
    (summary,) = _summaries(session, actor, [contractor])
    page = list_records(
        session,
        actor,
        settings,
        RecordFilters(contractor=contractor.uscc),
        "-updated_at",
        PageParams(page=1, page_size=CONTRACTOR_RECORDS_SHOWN),
    )
    return ContractorDetail(**summary.model_dump(), records_total=page.total, records=page.items)
