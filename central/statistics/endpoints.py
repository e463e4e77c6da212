"""National statistics: ``GET /api/v1/public/stats`` and the ``/stats`` page (public),
``GET /api/v1/national/stats`` and the ``/national/stats`` page (the bureau).

Every one of them reads precomputed tables only: the national document is one
row (``hub_stat_state.snapshot``); a province or year filter sums that slice
of ``hub_stat_cell``, whose size does not grow with the number of records.
What a process makes of one version of them (a province's or a year's
document, the JSON, the CSV and XLSX exports, the charts, the public page) it
keeps until the stored snapshot changes (:class:`_Kept`): a request then costs
one small query for the version, and the bureau's pages their rendering.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
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
from central.statistics.snapshot import month_of, statistics
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
    made = _Made.of(request, session, clock)
    body = made.get(("json", None, None), lambda: _json_bytes(national_document(session, clock)))
    return Response(
        body, media_type="application/json", headers={"Cache-Control": "public, max-age=60"}
    )


#: Things made of one version of the statistics kept per process (documents of a
#: province or year, their JSON, exports, charts, the public page).
MADE_PER_VERSION = 512


class _Kept:
    """What this process made of the stored statistics, kept until they change.

    Keyed by the stored snapshot's version (the counters change only in the
    transactions that write it) and the month of the question (the time-dependent
    flags move with it). At most :data:`MADE_PER_VERSION` things, the oldest
    dropped first. Made once: requests that want a thing being made wait for it
    (after a refresh, a hundred clients asking the same year's document would
    otherwise each make it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: str | None = None
        self._made: dict[Hashable, Any] = {}
        self._making: dict[Hashable, Future[Any]] = {}

    def get(self, version: str, what: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if version != self._version:
                self._version, self._made, self._making = version, {}, {}
            if what in self._made:
                return self._made[what]
            pending = self._making.get(what)
            mine = pending is None
            if pending is None:
                pending = self._making[what] = Future()
        if not mine:
            return pending.result()
        try:
            made = make()
        except BaseException as exc:
            pending.set_exception(exc)
            with self._lock:
                if self._making.get(what) is pending:
                    del self._making[what]
            raise
        with self._lock:
            if self._making.get(what) is pending:
                del self._making[what]
                self._made[what] = made
                while len(self._made) > MADE_PER_VERSION:
                    del self._made[next(iter(self._made))]
        pending.set_result(made)
        return made


_kept_lock = threading.Lock()


class _Made:
    """One request's view of :class:`_Kept`: the version is read once per request (one
    small query), and with no snapshot stored yet everything is made afresh."""

    def __init__(self, kept: _Kept, version: str | None) -> None:
        self._kept, self._version = kept, version

    @classmethod
    def of(cls, request: Request, session: Session, clock: Clock) -> _Made:
        kept = getattr(request.app.state, "statistics_kept", None)
        if kept is None:
            with _kept_lock:
                kept = getattr(request.app.state, "statistics_kept", None)
                if kept is None:
                    kept = request.app.state.statistics_kept = _Kept()
        stored = repository.snapshot_version(session)
        return cls(kept, None if stored is None else f"{stored}/{month_of(clock.now())}")

    def get(self, what: Hashable, make: Callable[[], Any]) -> Any:
        if self._version is None:
            return make()
        return self._kept.get(self._version, what, make)


def _json_bytes(doc: dict[str, Any]) -> bytes:
    return bytes(JSONResponse(doc).body)


@router.get(
    "/api/v1/national/stats",
    summary="统计分析（按省份、年份）/ statistics by province and year, CSV/XLSX",
    responses={200: {"content": {"text/csv": {}, XLSX_TYPE: {}}}},
    dependencies=[_BUREAU],
)
def bureau_stats(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    province: ProvinceParam = None,
    year: YearParam = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
) -> Response:
    made = _Made.of(request, session, clock)

    def doc() -> dict[str, Any]:
        return _document(made, session, clock, province, year)

    if format == "json":
        body = made.get(("json", province, year), lambda: _json_bytes(doc()))
        return Response(body, media_type="application/json")
    suffix = "-".join(x for x in ("stats", province, year) if x)
    if format == "xlsx":
        book = made.get(("xlsx", province, year), lambda: xlsx_book(stat_tables(doc())))
        return attachment(book, XLSX_TYPE, f"{suffix}.xlsx")

    def first_table() -> bytes:
        _, header, rows = stat_tables(doc())[0]
        return csv_bytes(header, rows)

    body = made.get(("csv", province, year), first_table)
    return attachment(body, "text/csv; charset=utf-8", f"{suffix}.csv")


def _document(
    made: _Made, session: Session, clock: Clock, province: str | None, year: str | None
) -> dict[str, Any]:
    doc: dict[str, Any] = made.get(
        ("doc", province, year), lambda: document(session, clock, province, year)
    )
    return doc


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


@router.get(
    "/stats",
    summary="全国统计页面 / the public statistics page",
    response_class=HTMLResponse,
    dependencies=[_PUBLIC],
)
def stats_page(request: Request, session: SessionDep, clock: ClockDep) -> HTMLResponse:
    made = _Made.of(request, session, clock)

    def page() -> str:
        doc = national_document(session, clock)
        return templates.get_template("statistics/public.html").render(
            doc=doc, charts=chart_set(doc), pct=_pct, request=request
        )

    return HTMLResponse(made.get("page", page), headers={"Cache-Control": "public, max-age=60"})


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
    made = _Made.of(request, session, clock)
    doc = _document(made, session, clock, province, year)
    query = "&".join(f"{k}={v}" for k, v in (("province", province), ("year", year)) if v)
    return render(
        request,
        "statistics/bureau.html",
        {
            "doc": doc,
            "charts": made.get(("charts", province, year), lambda: chart_set(doc)),
            "pct": _pct,
            "province": province,
            "year": year,
            "provinces": _provinces(),
            "export_url": "/api/v1/national/stats?" + query,
        },
        principal=principal,
    )
