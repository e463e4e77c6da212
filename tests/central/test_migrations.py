"""The migrations and the table models describe the same schema; append-only tables hold."""

from __future__ import annotations

import hashlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

import central.models  # noqa: F401 - registers the hub's tables
from central.audit.service import Actor, record_event
from tests.central.support import NOW


def _table_of(change) -> str | None:
    """The table a diff entry is about (entries are tuples, or lists of tuples)."""
    entry = change[0] if isinstance(change, list) else change
    for part in entry[1:]:
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        name = getattr(part, "name", None)
        if isinstance(name, str):
            return name
        if isinstance(part, str):
            return part
    return None


def test_models_match_the_migrated_database(hub_engine):
    with hub_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # The node's tables share the metadata when both apps are imported in one run;
    # the hub's database holds only hub_* and sync_* tables.
    own = [d for d in diff if (_table_of(d) or "").startswith(("hub_", "sync_"))]
    assert own == []
    tables = {
        r[0]
        for r in hub_engine.connect().execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
    }
    assert tables - {"alembic_version"} == {
        "hub_account",
        "hub_audit_event",
        "hub_credential",
        "hub_enrollment_token",
        "hub_node",
        "hub_node_key",
        "hub_province_quota",
        "hub_public_contractor",
        "hub_publication",
        "hub_record",
        "hub_uscc_claim",
        "hub_user",
        "sync_cursor",
        "sync_nonce",
        "sync_outbox",
        "sync_peer",
        "sync_quarantine",
    }


def _refused(session, sql: str, **params) -> str:
    with pytest.raises(DBAPIError) as refused, session.begin_nested():
        session.execute(text(sql), params)
    return str(refused.value)


def test_the_audit_trail_is_append_only(session):
    event = record_event(session, Actor("cli:test"), "node.enrolled", "node", "node:150000", NOW)
    session.flush()
    assert "append-only" in _refused(session, "UPDATE hub_audit_event SET actor = 'x'")
    assert "append-only" in _refused(session, "DELETE FROM hub_audit_event")
    assert "append-only" in _refused(session, "TRUNCATE hub_audit_event")
    assert event.id is not None


def test_the_publication_log_is_append_only_but_its_content_can_be_deleted(session):
    digest = hashlib.sha256(b"x").hexdigest()
    session.execute(
        text(
            "INSERT INTO hub_publication (node_id, record_id, kind, record_kind, version_no, "
            "envelope, envelope_sha256, leaf_hash, received_at) VALUES ('node:150000', 'r', "
            "'record.publish', 'licence', 1, '{\"a\": 1}', :d, :h, :t)"
        ),
        {"d": digest, "h": b"\x00" * 32, "t": NOW},
    )
    assert "append-only" in _refused(session, "UPDATE hub_publication SET version_no = 2")
    assert "append-only" in _refused(
        session, "UPDATE hub_publication SET envelope = NULL, envelope_sha256 = 'y'"
    )
    assert "append-only" in _refused(session, "UPDATE hub_publication SET envelope = '{}'")
    assert "append-only" in _refused(session, "DELETE FROM hub_publication")
    assert "append-only" in _refused(session, "TRUNCATE hub_publication")
    session.execute(text("UPDATE hub_publication SET envelope = NULL"))
    row = session.execute(text("SELECT envelope, envelope_sha256 FROM hub_publication")).one()
    assert row == (None, digest)


def test_the_schema_downgrades_and_upgrades_cleanly(pg_server_url, worker_id_suffix):
    from central.migrate import downgrade, upgrade
    from tests.support import postgres

    name = f"minefed_test_hub_mig_{worker_id_suffix}"
    url = postgres.recreate_database(pg_server_url, name)
    try:
        upgrade(url)
        downgrade(url, "base")
        upgrade(url)
    finally:
        postgres.drop_database(pg_server_url, name)
