"""CSV export of records, written as it is read: never the whole result in memory.

The file opens correctly in Excel: UTF-8 with a byte-order mark, a Chinese
header row, CRLF line ends. A cell that a spreadsheet would take for a formula
(starting with ``= + - @``, or a tab or carriage return) is prefixed with ``'``,
so a contractor cannot plant a formula in a regulator's spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from node.principal import CHINA_TZ
from schemas.divisions import get_division
from schemas.enums import AccidentGrade, FlagCode, RecordKind, ReviewState

BOM = "\ufeff"
HEADER = (
    "类型",
    "状态",
    "名称",
    "承包单位",
    "统一社会信用代码",
    "省",
    "市",
    "县",
    "行政区划代码",
    "日期",
    "有效期至",
    "事故等级",
    "死亡人数",
    "预警",
    "公示时间",
    "创建时间",
    "更新时间",
    "记录编号",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _label(enum: Any, value: str | None) -> str:
    if value is None:
        return ""
    try:
        return str(enum(value).label_zh)
    except ValueError:
        return value


def _division(code: str | None) -> str:
    if not code:
        return ""
    division = get_division(code)
    return division.name if division else code


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _instant(value: datetime | None) -> str:
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def csv_row(row: Any) -> list[str]:
    """One record as the cells of a row under :data:`HEADER`."""
    flags = [code.label_zh for code in FlagCode if getattr(row, f"flag_{code.value}")]
    location = row.county_code or row.city_code or row.province_code
    cells = [
        _label(RecordKind, row.kind),
        _label(ReviewState, row.state),
        row.title or "",
        row.contractor_name or "",
        row.contractor_uscc or "",
        _division(row.province_code),
        _division(row.city_code),
        _division(row.county_code),
        location or "",
        _day(row.event_on),
        _day(row.valid_to),
        _label(AccidentGrade, row.grade),
        "" if row.deaths is None else str(row.deaths),
        "；".join(flags),
        _instant(row.published_at),
        _instant(row.created_at),
        _instant(row.updated_at),
        str(row.id),
    ]
    return [safe_cell(c) for c in cells]


def csv_chunks(rows: Iterable[Any], rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV text in chunks: BOM and header first, then ``rows_per_chunk`` rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(HEADER)
    pending = 0
    for row in rows:
        writer.writerow(csv_row(row))
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()
