"""CSV and XLSX of the national queries and statistics.

CSV opens in Excel: UTF-8 with a byte-order mark, a Chinese header row. In both
formats a cell a spreadsheet would take for a formula (starting with
``= + - @``, a tab or a carriage return) is prefixed with ``'``, so nobody can
plant a formula in a regulator's spreadsheet through a record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

from central.queries.schemas import AccidentsElsewhere, ConcurrentRoles, ContractorRecords

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Table = tuple[str, Sequence[str], list[list[Any]]]


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def table_of(result: ContractorRecords | AccidentsElsewhere | ConcurrentRoles) -> Table:
    if isinstance(result, ContractorRecords):
        return (
            f"contractor-{result.uscc}",
            ("记录编号", "类型", "省份", "名称", "版本", "公示时间", "所属节点"),
            [
                [
                    r.record_id,
                    r.kind_label,
                    r.province_name,
                    r.title,
                    r.version_no,
                    r.approved_at.isoformat() if r.approved_at else "",
                    r.owner,
                ]
                for r in result.records
            ],
        )
    if isinstance(result, AccidentsElsewhere):
        return (
            "accidents-elsewhere",
            (
                "统一社会信用代码",
                "承包单位",
                "注册地省份",
                "外省事故起数",
                "死亡人数",
                "事故发生省份",
            ),
            [
                [
                    r.uscc,
                    r.name,
                    r.home_province_code,
                    r.accidents,
                    r.deaths,
                    "、".join(r.accident_provinces),
                ]
                for r in result.rows
            ],
        )
    header = (
        "人员编号",
        "姓名",
        "公民身份号码",
        "项目部A",
        "省份A",
        "角色A",
        "承包单位A",
        "期间A",
        "项目部B",
        "省份B",
        "角色B",
        "承包单位B",
        "期间B",
        "井下作业",
    )
    rows = []
    for r in result.rows:
        rows.append(
            [
                r.person_ref,
                r.a.name,
                r.a.resident_id,
                r.a.project_name,
                r.a.province_name,
                r.a.role,
                r.a.contractor_name,
                f"{r.a.start_month}～{r.a.end_month}",
                r.b.project_name,
                r.b.province_name,
                r.b.role,
                r.b.contractor_name,
                f"{r.b.start_month}～{r.b.end_month}",
                r.a.underground or r.b.underground,
            ]
        )
    return ("concurrent-roles", header, rows)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(_text(c)) for c in row])
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return xlsx_book([(title, header, [list(r) for r in rows])])


def xlsx_book(tables: Sequence[Table]) -> bytes:
    """A workbook with one sheet per table (write-only mode: rows are not kept)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, header, rows in tables:
        sheet = book.create_sheet(title[:31] or "sheet")
        sheet.append(list(header))
        for row in rows:
            sheet.append([safe_cell(_text(c)) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def attachment(body: bytes, media: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


def file_response(table: Table, fmt: str) -> Response:
    title, header, rows = table
    if fmt == "xlsx":
        body, media, ext = xlsx_bytes(title, header, rows), XLSX_TYPE, "xlsx"
    else:
        body, media, ext = csv_bytes(header, rows), "text/csv; charset=utf-8", "csv"
    return attachment(body, media, f"{title}.{ext}")
