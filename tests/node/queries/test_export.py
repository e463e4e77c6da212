"""``GET /api/v1/records/export.csv``: Excel-ready CSV, streamed, capped, audited."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func
from sqlmodel import select

from node.models import AuditEvent
from node.queries.export import HEADER, csv_chunks, safe_cell

URL = "/api/v1/records/export.csv"


def export(client, province, who="province", **params):
    response = client.get(URL, headers=province.headers[who], params=params)
    assert response.status_code == 200, response.text
    return response


def parse(response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def audit_count(session) -> int:
    return session.exec(select(func.count()).select_from(AuditEvent)).one()


def test_the_csv_has_a_bom_a_chinese_header_and_every_row(client, province):
    response = export(client, province)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="records-20260615.csv"')
    assert "filename*=UTF-8''" in disposition
    rows = parse(response)
    assert rows[0] == list(HEADER)
    assert rows[0][:8] == ["类型", "状态", "名称", "承包单位", "统一社会信用代码", "省", "市", "县"]
    assert len(rows) == 1 + 14
    assert {r[-1] for r in rows[1:]} == province.in_province()


def test_rows_read_as_people_read_them(client, province):
    rows = {r[-1]: dict(zip(HEADER, r, strict=True)) for r in parse(export(client, province))[1:]}
    accident = rows[str(province.records["acc_203"].id)]
    assert accident["类型"] == "事故情况" and accident["状态"] == "已通过"
    assert accident["承包单位"] == "包头宏达铁矿建设有限公司"
    assert accident["统一社会信用代码"] == province.contractors["b"].uscc
    assert (accident["省"], accident["市"], accident["县"]) == (
        "内蒙古自治区",
        "包头市",
        "昆都仑区",
    )
    assert accident["行政区划代码"] == "150203"
    assert accident["日期"] == "2026-05-20" and accident["事故等级"] == "较大"
    assert accident["死亡人数"] == "3"
    # Instants in Beijing time: created 25 days before 2026-06-15 10:00 (+08:00).
    assert accident["创建时间"] == "2026-05-21 10:00:00"
    department = rows[str(province.records["b_pd_203"].id)]
    assert department["预警"] == "半年内未检查项目部；未书面报告当地监管部门"
    licence = rows[str(province.records["a_lic_expired"].id)]
    assert licence["有效期至"] == "2026-06-01" and licence["预警"] == "安全生产许可证已过期"
    assert licence["县"] == "" and licence["省"] == "内蒙古自治区"
    draft = rows[str(province.records["a_pd_draft"].id)]
    assert draft["公示时间"] == "" and draft["状态"] == "草稿"


def test_formulas_are_defused(client, province):
    rows = {r[-1]: r for r in parse(export(client, province))[1:]}
    title = HEADER.index("名称")
    assert rows[str(province.records["b_pd_formula"].id)][title] == (
        '\'=HYPERLINK("http://x","点击")'
    )
    assert rows[str(province.records["c_pd_203"].id)][title] == "'@SUM(1+1)石灰石矿项目部"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+86 471", "'+86 471"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("某铁矿=1", "某铁矿=1"),
        ("", ""),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_the_export_follows_the_filters_sort_and_jurisdiction(client, province):
    listed = client.get(
        "/api/v1/records",
        headers=province.headers["province"],
        params={"kind": "licence", "sort": "title"},
    ).json()
    rows = parse(export(client, province, kind="licence", sort="title"))[1:]
    assert [r[-1] for r in rows] == [i["id"] for i in listed["items"]]
    county = parse(export(client, province, "county_103", kind="project_department"))[1:]
    assert [r[-1] for r in county] == [str(province.records["a_pd_103"].id)]


def test_an_export_is_audited_with_its_filters_and_row_count(client, session, province):
    before = audit_count(session)
    export(client, province, kind="project_department", q="铁矿", published="true")
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "queries.exported")).all()
    assert audit_count(session) == before + 1 and len(events) == 1
    (audit,) = events
    assert audit.actor_role == "provincial_regulator"
    assert audit.detail == {
        "format": "csv",
        "filters": {"kind": "project_department", "q": "铁矿", "published": True},
        "sort": "-updated_at",
        "rows": 3,
    }


def test_more_rows_than_the_cap_is_422_and_nothing_is_audited(
    client, app, session, province, settings
):
    app.state.settings = settings.model_copy(update={"export_max_rows": 3})
    before = audit_count(session)
    refused = client.get(URL, headers=province.headers["province"])
    assert refused.status_code == 422
    body = refused.json()
    assert body["error"] == "export_too_large"
    assert body["matched"] == 14 and body["limit"] == 3
    assert "请缩小查询条件" in body["detail"] and "narrow the filters" in body["detail"]
    assert audit_count(session) == before
    # Exactly at the cap is fine.
    rows = parse(export(client, province, kind="licence"))
    assert len(rows) == 1 + 3


def test_the_cap_is_a_setting():
    from node.config import NodeSettings

    assert NodeSettings.model_fields["export_max_rows"].default == 100_000
    assert NodeSettings(export_max_rows=5).export_max_rows == 5


def test_rows_come_from_a_server_side_cursor(client, connection, province):
    cursors: list[str] = []

    def seen(conn, cursor, statement, *args):
        if "JOIN contractor" in statement and "LIMIT" in statement:
            cursors.append(type(cursor).__name__)

    event.listen(connection, "before_cursor_execute", seen)
    try:
        export(client, province)
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    assert cursors == ["ServerCursor"]


def test_contractors_and_other_roles_do_not_export(client, session, province):
    before = audit_count(session)
    for who in ("contractor_a", "national"):
        refused = client.get(URL, headers=province.headers[who])
        assert refused.status_code == 403, who
    assert audit_count(session) == before


def test_bad_filters_are_refused_before_anything_is_written(client, session, province):
    before = audit_count(session)
    refused = client.get(URL, headers=province.headers["province"], params={"flag": "x"})
    assert refused.status_code == 422
    assert audit_count(session) == before


def _row(n: int) -> SimpleNamespace:
    return SimpleNamespace(
        id=f"id-{n}",
        kind="licence",
        state="approved",
        title=f"证{n}",
        contractor_name="某公司",
        contractor_uscc="X",
        province_code="150000",
        city_code=None,
        county_code=None,
        event_on=None,
        valid_to=None,
        grade=None,
        deaths=None,
        published_at=None,
        created_at=None,
        updated_at=None,
        **{f"flag_{c}": False for c in ("licence_expired", "licence_expiring")},
        **{
            f"flag_{c}": False
            for c in ("agreement_not_signed", "inspection_overdue", "no_written_report")
        },
    )


def test_chunks_are_written_as_rows_are_read():
    read: list[int] = []

    def rows():
        for n in range(5):
            read.append(n)
            yield _row(n)

    chunks = csv_chunks(rows(), rows_per_chunk=2)
    first = next(chunks)
    assert first.startswith("\ufeff类型,") and "证1" in first and "证2" not in first
    assert read == [0, 1]  # nothing beyond the first chunk has been read yet
    rest = list(chunks)
    assert len(rest) == 2 and "证4" in rest[-1]
    assert read == [0, 1, 2, 3, 4]


def test_an_empty_export_still_has_its_header(client, province):
    rows = parse(export(client, province, q="没有这样的名称"))
    assert rows == [list(HEADER)]
