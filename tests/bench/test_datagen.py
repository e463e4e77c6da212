"""The benchmark's data generator must keep producing what the node would have written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlmodel import Session, col, create_engine, select

from bench import datagen
from node.auth.passwords import verify_password
from node.filing.indexing import apply_index
from node.filing.routing import review_division
from node.migrate import upgrade
from node.models import Contractor, Record, RecordVersion
from schemas.enums import RecordKind, ReviewState, Role
from schemas.forms import FORMS
from schemas.identifiers import validate_uscc
from tests.node.factories import NOW
from tests.support import postgres

DEPARTMENTS = 200
ACCOUNTS = 10


@pytest.fixture(scope="module")
def loaded(pg_server_url: str, worker_id_suffix: str) -> Iterator[tuple[str, Any]]:
    name = f"minefed_test_bench_{worker_id_suffix}"
    url = postgres.recreate_database(pg_server_url, name)
    upgrade(url)
    summary = datagen.generate_and_load(
        url, DEPARTMENTS, contractor_accounts=ACCOUNTS, now=NOW, log=lambda *_: None
    )
    yield url, summary
    postgres.drop_database(pg_server_url, name)


def _count(url: str, table: str) -> int:
    with psycopg.connect(datagen.conninfo(url)) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        assert row is not None
        return int(row[0])


def test_row_counts(loaded: tuple[str, Any]) -> None:
    url, summary = loaded
    firms = max(ACCOUNTS, DEPARTMENTS // datagen.DEPARTMENTS_PER_CONTRACTOR)
    regulators = 1 + 12 + len(datagen.counties())  # province, its 12 cities, its counties
    assert _count(url, "contractor") == firms
    assert _count(url, "user_account") == regulators + ACCOUNTS == len(summary.users)
    assert _count(url, "record") == DEPARTMENTS + 2 * firms  # + basic info and licence each
    assert _count(url, "record_version") == summary.rows["record_version"]
    assert _count(url, "record_version") >= _count(url, "record")
    assert _count(url, "audit_event") == 0


def test_every_version_validates_and_every_index_matches(loaded: tuple[str, Any]) -> None:
    url, _ = loaded
    engine = create_engine(url)
    states: Counter[str] = Counter()
    with Session(engine) as session:
        firms = {c.id: c for c in session.exec(select(Contractor))}
        for firm in firms.values():
            validate_uscc(firm.uscc)
        versions: dict[Any, list[RecordVersion]] = {}
        for v in session.exec(select(RecordVersion).order_by(col(RecordVersion.version_no))):
            versions.setdefault(v.record_id, []).append(v)
        for record in session.exec(select(Record)):
            chain = versions[record.id]
            for v in chain:  # what a contractor would have had to file
                FORMS[RecordKind(record.kind)][0].model_validate(v.data, context={"now": NOW})
            assert [v.version_no for v in chain] == list(range(1, record.latest_version_no + 1))
            assert chain[-1].state == record.state
            states[record.state] += 1
            firm = firms[record.contractor_id]
            for v in chain:
                assert v.review_division == review_division(record.kind, v.data, firm)
            indexed = chain[(record.current_version_no or record.latest_version_no) - 1]
            stored = record.model_dump()
            apply_index(record, indexed.data, firm)
            assert record.model_dump() == stored, record.id
        session.rollback()
    engine.dispose()
    assert states[ReviewState.APPROVED] > DEPARTMENTS / 2
    assert states[ReviewState.SUBMITTED] > 0


def test_accounts_share_the_bench_password(loaded: tuple[str, Any]) -> None:
    url, summary = loaded
    roles = Counter(u.role for u in summary.users)
    assert roles[Role.CONTRACTOR] == ACCOUNTS
    assert roles[Role.COUNTY_REGULATOR] == len(datagen.counties())
    with psycopg.connect(datagen.conninfo(url)) as conn:
        hashes = {r[0] for r in conn.execute("SELECT password_hash FROM user_account")}
    assert len(hashes) == 1
    assert verify_password(hashes.pop(), summary.password)
