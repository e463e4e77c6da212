"""The public disclosure site: JSON API under ``/api/v1/public`` and the pages
``/`` (search), ``/contractors/{uscc}`` and ``/open-data``. No login; every
route is rate-limited per client address (central/web/ratelimit.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from central.access import public
from central.db import in_thread_with_connection
from central.deps import ClockDep, SessionDep
from central.disclosure import service
from central.disclosure.dictionary import DATASETS, REFRESH_SCHEDULE_EN, REFRESH_SCHEDULE_ZH
from central.disclosure.repository import SearchFilter
from central.disclosure.schemas import (
    LICENCE_STATUS_ZH,
    ContractorRecord,
    LicenceStatus,
    SearchAnswer,
    SortOrder,
)
from central.errors import HubError
from central.web.ratelimit import EXPORT, PUBLIC
from central.web.templating import render
from schemas.clock import CHINA_TZ
from schemas.divisions import provinces
from schemas.enums import FlagCode, QualificationGrade, RecordKind

router = APIRouter(tags=["public"])
pages = APIRouter(tags=["public"], include_in_schema=False)

PUBLIC_READ = public("the public disclosure site: published records, personal data masked")

Q = Annotated[
    str | None,
    Query(max_length=100, description="name (fuzzy, any part) or USCC (or its beginning)"),
]
Province = Annotated[
    str | None, Query(pattern=r"^\d{6}$", description="home province, GB/T 2260 (e.g. 150000)")
]
Grade = Annotated[QualificationGrade | None, Query(description="holds a licence of this grade")]
Status = Annotated[
    LicenceStatus | None,
    Query(description="latest licence: valid, expiring (within 90 days), expired, none"),
]
Years = Annotated[
    int | None,
    Query(ge=1, le=10, description="an accident or penalty within the last N years"),
]
Since = Annotated[
    datetime | None, Query(description="only contractors with records received after (ISO 8601)")
]
Page = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]


def _today(clock: Any) -> Any:
    return clock.now().astimezone(CHINA_TZ).date()


def _filter(
    q: str | None,
    province: str | None,
    grade: QualificationGrade | None,
    licence_status: LicenceStatus | None,
    incidents_within_years: int | None,
    updated_since: datetime | None,
) -> SearchFilter:
    if updated_since is not None and updated_since.tzinfo is None:
        updated_since = updated_since.replace(tzinfo=CHINA_TZ)
    return SearchFilter(
        q=(q or "").strip() or None,
        province=province or None,
        grade=grade.value if grade else None,
        licence_status=licence_status.value if licence_status else None,
        incidents_within_years=incidents_within_years,
        updated_since=updated_since,
    )


# --- JSON API -------------------------------------------------------------------------


@router.get(
    "/api/v1/public/contractors",
    summary="查询已公示的承包单位 / search published contractors",
    response_model=SearchAnswer,
    responses={422: {"description": "参数有误 / invalid parameter"}, 429: {"description": "限流"}},
    dependencies=[PUBLIC_READ, PUBLIC],
)
async def search_contractors(
    request: Request,
    clock: ClockDep,
    q: Q = None,
    province: Province = None,
    grade: Grade = None,
    licence_status: Status = None,
    incidents_within_years: Years = None,
    updated_since: Since = None,
    sort: SortOrder | None = None,
    page: Page = 1,
    page_size: PageSize = 20,
) -> Response:
    """Sorted by relevance when `q` is given, else by name; `total` is counted up to 10 000."""
    f = _filter(q, province, grade, licence_status, incidents_within_years, updated_since)
    # The hottest route: one hop to the thread pool for the database, and the answer
    # serialised once by its model (FastAPI would validate it again first).
    answer = await in_thread_with_connection(
        request.app.state,
        service.search,
        request.app.state.session_factory,
        f,
        today=_today(clock),
        sort=sort or (SortOrder.relevance if f.q else SortOrder.name),
        page=page,
        page_size=page_size,
    )
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get(
    "/api/v1/public/contractors/{uscc}",
    summary="承包单位的公示记录 / a contractor's public record",
    response_model=ContractorRecord,
    responses={
        404: {"description": "未公示 / nothing published"},
        422: {"description": "代码无效 / invalid USCC"},
    },
    dependencies=[PUBLIC_READ, PUBLIC],
)
def get_contractor(uscc: str, session: SessionDep, clock: ClockDep) -> ContractorRecord:
    """Basic info, licences, project departments, accidents, rewards/penalties, flags;
    each record with its signed envelope, publication id and verification link."""
    return service.contractor_record(session, uscc, today=_today(clock))


def _export(request: Request, dataset: str, updated_since: datetime | None, fmt: str) -> Any:
    ds = service.dataset_of(dataset)
    if updated_since is not None and updated_since.tzinfo is None:
        updated_since = updated_since.replace(tzinfo=CHINA_TZ)
    # The response streams after this function returns: it needs its own session
    # (the request's transaction is over by then).
    factory = request.app.state.session_factory

    def body() -> Any:
        with factory() as session:
            make = service.export_csv if fmt == "csv" else service.export_jsonl
            yield from make(session, ds, updated_since)

    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson; charset=utf-8"
    return StreamingResponse(
        body(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{ds.name}.{fmt}"'},
    )


@router.get(
    "/api/v1/public/export/{dataset}.csv",
    summary="开放数据导出（CSV） / open data export as CSV",
    response_class=StreamingResponse,
    responses={404: {"description": "无此数据集 / no such dataset"}},
    dependencies=[PUBLIC_READ, EXPORT],
)
def export_csv(
    request: Request,
    dataset: str,
    updated_since: Annotated[
        datetime | None, Query(description="only records received after (ISO 8601)")
    ] = None,
) -> Any:
    """UTF-8 with BOM; columns as in the data dictionary (`/open-data`)."""
    return _export(request, dataset, updated_since, "csv")


@router.get(
    "/api/v1/public/export/{dataset}.jsonl",
    summary="开放数据导出（JSON Lines） / open data export as JSON Lines",
    response_class=StreamingResponse,
    responses={404: {"description": "无此数据集 / no such dataset"}},
    dependencies=[PUBLIC_READ, EXPORT],
)
def export_jsonl(
    request: Request,
    dataset: str,
    updated_since: Annotated[
        datetime | None, Query(description="only records received after (ISO 8601)")
    ] = None,
) -> Any:
    """One JSON object per line; keys as in the data dictionary (`/open-data`)."""
    return _export(request, dataset, updated_since, "jsonl")


# --- pages ------------------------------------------------------------------------------

_SORTS_ZH = {
    SortOrder.relevance: "相关度",
    SortOrder.name: "名称",
    SortOrder.updated: "最近更新",
    SortOrder.departments: "项目部数量",
}


def _form_choices() -> dict[str, Any]:
    return {
        "provinces": provinces(),
        "grades": QualificationGrade.choices(),
        "statuses": [(s.value, LICENCE_STATUS_ZH[s]) for s in LicenceStatus],
        "sorts": [(s.value, z) for s, z in _SORTS_ZH.items()],
        "years": [1, 2, 3, 5, 10],
    }


@pages.get("/", response_class=HTMLResponse, dependencies=[PUBLIC_READ, PUBLIC])
def search_page(
    request: Request,
    clock: ClockDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    province: str | None = None,
    grade: str | None = None,
    licence_status: str | None = None,
    incidents_within_years: str | None = None,
    sort: str | None = None,
    page: str | None = None,
) -> HTMLResponse:
    # A form sends empty strings for "any": read leniently, never a 422 page.
    params = {
        "q": (q or "").strip(),
        "province": province if province and province.isdigit() else "",
        "grade": grade if grade in {g.value for g in QualificationGrade} else "",
        "licence_status": licence_status if licence_status in set(LicenceStatus) else "",
        "incidents_within_years": incidents_within_years
        if incidents_within_years in {"1", "2", "3", "5", "10"}
        else "",
        "sort": sort if sort in set(SortOrder) else "",
    }
    page_no = int(page) if page and page.isdigit() and 0 < int(page) <= 500 else 1
    f = _filter(
        params["q"],
        params["province"],
        QualificationGrade(params["grade"]) if params["grade"] else None,
        LicenceStatus(params["licence_status"]) if params["licence_status"] else None,
        int(params["incidents_within_years"]) if params["incidents_within_years"] else None,
        None,
    )
    answer, error = None, None
    try:
        answer = service.search(
            request.app.state.session_factory,
            f,
            today=_today(clock),
            sort=SortOrder(params["sort"]) if params["sort"] else SortOrder.relevance,
            page=page_no,
            page_size=20,
        )
    except HubError as exc:
        error = exc.detail
    pages_total = 0
    if answer is not None:
        pages_total = min(500, -(-answer.total // answer.page_size))
    query = {k: v for k, v in params.items() if v}
    return render(
        request,
        "public/search.html",
        {
            "params": params,
            "query": query,
            "answer": answer,
            "error": error,
            "pages_total": pages_total,
            "status_zh": {s.value: z for s, z in LICENCE_STATUS_ZH.items()},
            **_form_choices(),
        },
        status_code=200 if error is None else 422,
    )


@pages.get("/contractors/{uscc}", response_class=HTMLResponse, dependencies=[PUBLIC_READ, PUBLIC])
def contractor_page(
    request: Request, uscc: str, session: SessionDep, clock: ClockDep
) -> HTMLResponse:
    try:
        record = service.contractor_record(session, uscc, today=_today(clock))
    except HubError as exc:
        return render(
            request,
            "public/error.html",
            {"title": "未找到 / Not found", "message": exc.detail},
            status_code=exc.status_code,
        )
    return render(
        request,
        "public/contractor.html",
        {
            "c": record,
            "s": record.summary,
            "status_zh": {s.value: z for s, z in LICENCE_STATUS_ZH.items()},
            "flag_codes": list(FlagCode),
            "kinds": RecordKind,
        },
    )


@pages.get("/verify/{record_id}", response_class=HTMLResponse, dependencies=[PUBLIC_READ, PUBLIC])
def verify_page(request: Request, record_id: str, session: SessionDep) -> HTMLResponse:
    """A record's entries in the transparency log, with how to check them offline."""
    from central.transparency import service as transparency

    try:
        entries = transparency.record_entries(session, record_id)
    except HubError as exc:
        return render(
            request,
            "public/error.html",
            {"title": "未找到 / Not found", "message": exc.detail},
            status_code=exc.status_code,
        )
    latest = transparency.latest_checkpoint(session)
    return render(
        request,
        "public/verify.html",
        {
            "record_id": record_id,
            "entries": entries["entries"],
            "pending": entries["pending"],
            "checkpoint_size": latest.size if latest else None,
            "checkpoint_signed_at": latest.signed_at if latest else None,
            "hub_url": str(request.base_url).rstrip("/"),
        },
    )


@pages.get("/open-data", response_class=HTMLResponse, dependencies=[PUBLIC_READ, PUBLIC])
def open_data_page(request: Request, session: SessionDep) -> HTMLResponse:
    from central.disclosure.repository import data_as_of

    return render(
        request,
        "public/open_data.html",
        {
            "datasets": list(DATASETS.values()),
            "schedule_zh": REFRESH_SCHEDULE_ZH,
            "schedule_en": REFRESH_SCHEDULE_EN,
            "data_as_of": data_as_of(session),
        },
    )
