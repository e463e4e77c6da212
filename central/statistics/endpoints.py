"""National statistics: ``GET /api/v1/public/stats`` and the ``/stats`` page (public),
``GET /api/v1/national/stats`` and the ``/national/stats`` page (the bureau).

Every one of them reads precomputed tables only: the national document is one
row (``hub_stat_state.snapshot``); a province or year filter sums that slice
of ``hub_stat_cell``, whose size does not grow with the number of records.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from central.access import BUREAU, Scope, allow, public
from central.deps import ClockDep, SessionDep
from central.principal import HubPrincipal
from central.queries.export import XLSX_TYPE, Table, attachment, csv_bytes, xlsx_book
from central.statistics import charts, repository
from central.statistics.snapshot import statistics
from central.web.templating import render, templates
from schemas.divisions import get_division
from sync.clock import Clock

router = APIRouter(tags=["statistics"])

_PUBLIC = public("national statistics: aggregates only, no personal data")
_BUREAU = allow(BUREAU, Scope.NATIONAL, "every province")
BureauUser = Annotated[HubPrincipal, _BUREAU]
ProvinceParam = Annotated[str | None, Query(pattern=r"^\d{2}0000$", description="省份代码")]
YearParam = Annotated[str | None, Query(pattern=r"^\d{4}$", description="年份 YYYY")]


def national_document(session: Session, clock: Clock) -> dict[str, Any]:
    """The stored snapshot, or (before the first refresh) the same computed from the counters."""
    state = repository.state(session)
    if state is not None and state.snapshot is not None:
        return state.snapshot
    return statistics(session, clock.now())


def document(
    session: Session, clock: Clock, province: str | None, year: str | None
) -> dict[str, Any]:
    if province is None and year is None:
        return national_document(session, clock)
    return statistics(session, clock.now(), province=province, year=year)


@router.get(
    "/api/v1/public/stats",
    summary="全国公开统计 / national public statistics",
    description="Stable interface (docs/national-queries.md): totals, provinces, years, "
    "months, GB 6441 categories, grades, responsible parties, qualification grades, "
    "contracting modes, written-report and agreement rates, Order No. 62 flags.",
    dependencies=[_PUBLIC],
)
def public_stats(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    headers = {"Cache-Control": "public, max-age=60"}
    version = repository.snapshot_version(session)
    if version is None:  # before the first refresh: computed from the counters
        return JSONResponse(national_document(session, clock), headers=headers)
    body = _published(request).get(version, "json", lambda: _json_bytes(session, clock))
    return Response(body, media_type="application/json", headers=headers)


class _Published:
    """What this process made of the stored snapshot (its JSON, its page), kept until
    the snapshot changes: every answer then costs one small query, not a read of
    the snapshot and its serialisation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: str | None = None
        self._made: dict[str, Any] = {}

    def get(self, version: str, what: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if version == self._version and what in self._made:
                return self._made[what]
        made = make()
        with self._lock:
            if version != self._version:
                self._version, self._made = version, {}
            self._made[what] = made
        return made


def _published(request: Request) -> _Published:
    published = getattr(request.app.state, "published_stats", None)
    if published is None:
        with _page_lock:
            published = getattr(request.app.state, "published_stats", None)
            if published is None:
                published = request.app.state.published_stats = _Published()
    assert isinstance(published, _Published)
    return published


def _json_bytes(session: Session, clock: Clock) -> bytes:
    return bytes(JSONResponse(national_document(session, clock)).body)


@router.get(
    "/api/v1/national/stats",
    summary="统计分析（按省份、年份）/ statistics by province and year, CSV/XLSX",
    responses={200: {"content": {"text/csv": {}, XLSX_TYPE: {}}}},
    dependencies=[_BUREAU],
)
def bureau_stats(
    session: SessionDep,
    clock: ClockDep,
    province: ProvinceParam = None,
    year: YearParam = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
) -> Response:
    doc = document(session, clock, province, year)
    if format == "json":
        return JSONResponse(doc)
    tables = stat_tables(doc)
    suffix = "-".join(x for x in ("stats", province, year) if x)
    if format == "xlsx":
        return attachment(xlsx_book(tables), XLSX_TYPE, f"{suffix}.xlsx")
    _, header, rows = tables[0]
    return attachment(csv_bytes(header, rows), "text/csv; charset=utf-8", f"{suffix}.csv")


def stat_tables(doc: dict[str, Any]) -> list[Table]:
    """The document as tables (the CSV is the first; the XLSX has them all)."""

    def pct(rate: float | None) -> str:
        return "" if rate is None else f"{rate * 100:.1f}%"

    flags = [f["code"] for f in doc["flags"]]
    return [
        (
            "provinces",
            (
                "省份代码",
                "省份",
                "承包单位",
                "持证记录",
                "项目部",
                "事故起数",
                "死亡人数",
                "重伤人数",
                "书面报告率",
                "协议签订率",
                *[f["label_zh"] for f in doc["flags"]],
            ),
            [
                [
                    p["code"],
                    p["name"],
                    p["contractors"],
                    p["licences"],
                    p["departments"],
                    p["accidents"],
                    p["deaths"],
                    p["serious_injuries"],
                    pct(p["written_report_rate"]),
                    pct(p["agreement_rate"]),
                    *[p["flags"][c] for c in flags],
                ]
                for p in doc["provinces"]
            ],
        ),
        (
            "years",
            ("年份", "事故起数", "死亡人数", "重伤人数", "新进场项目部"),
            [
                [y["year"], y["accidents"], y["deaths"], y["serious_injuries"], y["departments"]]
                for y in doc["years"]
            ],
        ),
        (
            "months",
            ("月份", "事故起数", "死亡人数", "新进场项目部"),
            [[m["month"], m["accidents"], m["deaths"], m["departments"]] for m in doc["months"]],
        ),
        *[
            (
                name,
                ("代码", "名称", "起数/数量", "死亡人数"),
                [[r["code"], r["label_zh"], r["count"], r.get("deaths", "")] for r in doc[name]],
            )
            for name in (
                "accident_categories",
                "accident_grades",
                "responsible_parties",
                "qualification_grades",
                "contracting_modes",
            )
        ],
        (
            "flags",
            ("代码", "预警", "数量"),
            [[f["code"], f["label_zh"], f["count"]] for f in doc["flags"]],
        ),
    ]


# ---------------------------------------------------------------- pages


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def chart_set(doc: dict[str, Any]) -> dict[str, Markup]:
    def rows(name: str) -> list[tuple[str, int]]:
        return [(r["label_zh"], r["count"]) for r in doc[name]]

    months = doc["months"]
    return {
        "map": charts.tile_map(
            "各省事故起数 / accidents by province",
            {p["code"]: p["accidents"] for p in doc["provinces"]},
            unit=" 起",
        ),
        "months": charts.line_chart(
            "近24个月事故与死亡 / accidents and deaths, last 24 months",
            [m["month"] for m in months],
            {
                "事故起数": [m["accidents"] for m in months],
                "死亡人数": [m["deaths"] for m in months],
            },
        ),
        "categories": charts.bar_chart(
            "事故类别（GB 6441）/ accident categories", rows("accident_categories"), unit=" 起"
        ),
        "grades": charts.bar_chart("事故等级 / accident grades", rows("accident_grades")),
        "parties": charts.bar_chart(
            "主要责任单位 / responsible party", rows("responsible_parties")
        ),
        "qualifications": charts.bar_chart(
            "施工资质等级 / qualification grades", rows("qualification_grades")
        ),
        "modes": charts.bar_chart("承包方式 / contracting modes", rows("contracting_modes")),
        "flags": charts.bar_chart(
            "预警 / Order No. 62 flags", [(f["label_zh"], f["count"]) for f in doc["flags"]]
        ),
    }


_page_lock = threading.Lock()


@router.get(
    "/stats",
    summary="全国统计页面 / the public statistics page",
    response_class=HTMLResponse,
    dependencies=[_PUBLIC],
)
def stats_page(request: Request, session: SessionDep, clock: ClockDep) -> HTMLResponse:
    def page() -> str:
        doc = national_document(session, clock)
        return templates.get_template("statistics/public.html").render(
            doc=doc, charts=chart_set(doc), pct=_pct, request=request
        )

    # The page changes only with the snapshot: rendered once per snapshot (per process).
    version = repository.snapshot_version(session)
    html = page() if version is None else _published(request).get(version, "page", page)
    return HTMLResponse(html, headers={"Cache-Control": "public, max-age=60"})


def _provinces() -> list[tuple[str, str]]:
    out = []
    for code, _name, _c, _r in charts.TILES:
        division = get_division(code)
        out.append((code, division.name if division else code))
    return sorted(out)


@router.get(
    "/national/stats",
    summary="统计分析页面 / the bureau's statistics page",
    response_class=HTMLResponse,
    dependencies=[_BUREAU],
)
def bureau_stats_page(
    request: Request,
    principal: BureauUser,
    session: SessionDep,
    clock: ClockDep,
    province: Annotated[str | None, Query(pattern=r"^(\d{2}0000)?$")] = None,
    year: Annotated[str | None, Query(pattern=r"^(\d{4})?$")] = None,
) -> HTMLResponse:
    province, year = province or None, year or None
    doc = document(session, clock, province, year)
    query = "&".join(f"{k}={v}" for k, v in (("province", province), ("year", year)) if v)
    return render(
        request,
        "statistics/bureau.html",
        {
            "doc": doc,
            "charts": chart_set(doc),
            "pct": _pct,
            "province": province,
            "year": year,
            "provinces": _provinces(),
            "export_url": "/api/v1/national/stats?" + query,
        },
        principal=principal,
    )
