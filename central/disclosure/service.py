"""The public disclosure site's logic: search, a contractor's record, open-data exports.

Everything here reads; nothing writes. What the public sees is ``public_data``
(personal data already masked at ingest), the signed envelope (personal data
as salted digests) and what is derived from them; ``disclosures`` are never
read, and a tombstoned record's content is never shown.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from central.db import SessionFactory, read_only
from central.disclosure import repository
from central.disclosure.dictionary import DATASETS, Dataset, row_of
from central.disclosure.schemas import (
    ContractorRecord,
    ContractorSummary,
    LicenceStatus,
    PublicRecord,
    SearchAnswer,
    SortOrder,
)
from central.errors import InvalidInput, NotFound
from central.models import HubPublicContractor, HubRecord
from central.transparency.service import log_entries
from schemas.divisions import get_division
from schemas.enums import RecordKind
from schemas.flags import LICENCE_WARNING_DAYS, record_flags
from schemas.identifiers import validate_uscc

#: Deepest result reachable by paging (page × page_size); narrow the search beyond.
MAX_RESULT_DEPTH = repository.COUNT_CAP


def licence_status(valid_to: date | None, today: date) -> LicenceStatus:
    if valid_to is None:
        return LicenceStatus.none
    if valid_to < today:
        return LicenceStatus.expired
    if valid_to <= today + timedelta(days=LICENCE_WARNING_DAYS):
        return LicenceStatus.expiring
    return LicenceStatus.valid


def summary_of(row: HubPublicContractor | Any, today: date) -> ContractorSummary:
    """``row``: a :class:`HubPublicContractor` or a search row with its columns."""
    province = get_division(row.province_code) if row.province_code else None
    return ContractorSummary(
        uscc=row.uscc,
        name=row.name,
        province_code=row.province_code,
        province_name=province.name if province else None,
        has_basic_info=row.has_basic_info,
        qualification_grades=sorted(row.grades),
        licence_valid_to=row.licence_valid_to,
        licence_status=licence_status(row.licence_valid_to, today),
        licence_count=row.licence_count,
        project_department_count=row.project_department_count,
        accident_count=row.accident_count,
        reward_penalty_count=row.reward_penalty_count,
        last_accident_on=row.last_accident_on,
        last_penalty_on=row.last_penalty_on,
        updated_at=row.updated_at,
        url=f"/contractors/{row.uscc}",
        api_url=f"/api/v1/public/contractors/{row.uscc}",
    )


def check_province(code: str | None) -> str | None:
    if not code:
        return None
    division = get_division(code)
    if division is None or division.level != "province":
        raise InvalidInput(
            f"province：{code} 不是省级行政区划代码（如 150000）",
            f"province: {code} is not a province-level GB/T 2260 code (e.g. 150000)",
            code="invalid_province",
        )
    return code


def search(
    factory: SessionFactory,
    f: repository.SearchFilter,
    *,
    today: date,
    sort: SortOrder,
    page: int,
    page_size: int,
) -> SearchAnswer:
    if page * page_size > MAX_RESULT_DEPTH:
        raise InvalidInput(
            f"page：最多可翻阅前 {MAX_RESULT_DEPTH} 条结果，请缩小查询范围",
            f"page: only the first {MAX_RESULT_DEPTH} results can be paged through; "
            "narrow the search",
            code="page_too_deep",
        )
    check_province(f.province)
    with read_only(factory) as conn:
        rows, total, fuzzy, as_of = repository.search(
            conn, f, today=today, sort=sort.value, offset=(page - 1) * page_size, limit=page_size
        )
    return SearchAnswer(
        items=[summary_of(r, today) for r in rows],
        total=min(total, repository.COUNT_CAP),
        total_capped=total > repository.COUNT_CAP,
        fuzzy=fuzzy,
        page=page,
        page_size=page_size,
        data_as_of=as_of,
    )


def _public_record(
    record: HubRecord, publication_id: int | None, log_index: int | None, today: date
) -> PublicRecord:
    data = record.public_data or {}
    return PublicRecord(
        record_id=record.record_id,
        kind=record.kind,
        version_no=record.version_no,
        owner=record.owner,
        province_code=record.province_code,
        city_code=record.city_code,
        county_code=record.county_code,
        approved_at=record.approved_at,
        received_at=record.received_at,
        data=data,
        flags=[f.value for f in record_flags(record.kind, data, today)],
        envelope=record.envelope,
        publication_id=publication_id,
        log_index=log_index,
        verify_url=f"/verify/{record.record_id}",
    )


def _sort_key(kind: str) -> Callable[[PublicRecord], Any]:
    field = {
        RecordKind.ACCIDENT: "occurred_at",
        RecordKind.REWARD_PENALTY: "decided_on",
        RecordKind.PROJECT_DEPARTMENT: "start_month",
        RecordKind.LICENCE: "valid_to",
    }.get(RecordKind(kind), "")
    return lambda r: (str(r.data.get(field) or ""), r.record_id)


def contractor_record(session: Session, uscc: str, *, today: date) -> ContractorRecord:
    try:
        uscc = validate_uscc(uscc.strip().upper())
    except ValueError as exc:
        raise InvalidInput(
            f"uscc：{uscc} 不是有效的统一社会信用代码",
            f"uscc: {uscc} is not a valid unified social credit code (GB 32100)",
            code="invalid_uscc",
        ) from exc
    row = repository.contractor(session, uscc)
    if row is None:
        raise NotFound(
            "未找到该承包单位的公示信息",
            f"no published record of contractor {uscc}",
            code="contractor_not_found",
        )
    by_kind: dict[str, list[PublicRecord]] = {k.value: [] for k in RecordKind}
    rows = repository.contractor_records(session, uscc)
    # A publication not sequenced yet (the log's merge delay: seconds) has no index.
    indexes = log_entries(session, [p for _, p in rows if p is not None])
    for record, publication_id in rows:
        log_index = indexes.get(publication_id) if publication_id is not None else None
        by_kind.setdefault(record.kind, []).append(
            _public_record(record, publication_id, log_index, today)
        )
    for kind, records in by_kind.items():
        records.sort(key=_sort_key(kind), reverse=True)
    flags = Counter(f for records in by_kind.values() for r in records for f in r.flags)
    basic = by_kind[RecordKind.BASIC_INFO]
    return ContractorRecord(
        uscc=uscc,
        name=row.name,
        summary=summary_of(row, today),
        basic_info=basic[0] if basic else None,
        licences=by_kind[RecordKind.LICENCE],
        project_departments=by_kind[RecordKind.PROJECT_DEPARTMENT],
        accidents=by_kind[RecordKind.ACCIDENT],
        rewards_penalties=by_kind[RecordKind.REWARD_PENALTY],
        flags=dict(sorted(flags.items())),
        counts=repository.kind_counts(session, uscc),
        data_as_of=repository.data_as_of(session),
    )


# --- exports ------------------------------------------------------------------------


def dataset_of(name: str) -> Dataset:
    dataset = DATASETS.get(name)
    if dataset is None:
        raise NotFound(
            f"没有名为 {name} 的数据集（可选：{'、'.join(DATASETS)}）",
            f"no dataset {name} (one of: {', '.join(DATASETS)})",
            code="dataset_not_found",
        )
    return dataset


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def export_csv(
    session: Session, dataset: Dataset, updated_since: datetime | None
) -> Iterator[bytes]:
    """CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese), header row of
    column names, one row per record."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.name for c in dataset.columns])
    yield ("\ufeff" + buffer.getvalue()).encode()
    buffer.seek(0)
    buffer.truncate()
    for record in repository.export_rows(session, dataset.kind, updated_since):
        writer.writerow([_csv_cell(v) for v in row_of(dataset, record).values()])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def export_jsonl(
    session: Session, dataset: Dataset, updated_since: datetime | None
) -> Iterator[bytes]:
    """JSON Lines: one object per record, keys as in the data dictionary."""
    chunk: list[str] = []
    size = 0
    for record in repository.export_rows(session, dataset.kind, updated_since):
        line = json.dumps(row_of(dataset, record), ensure_ascii=False, default=str)
        chunk.append(line)
        size += len(line)
        if size > 64 * 1024:
            yield ("\n".join(chunk) + "\n").encode()
            chunk, size = [], 0
    if chunk:
        yield ("\n".join(chunk) + "\n").encode()
