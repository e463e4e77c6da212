"""public search: new records are merged into the contractor's row, not recounted

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:00:00.000000

Until now every statement writing ``hub_record`` recomputed each touched
contractor's ``hub_public_contractor`` row from *all* its live records: the
cost of publishing one record grew with the contractor's history, and at the
sync benchmark's 500-record batches that recount was most of the hub
database's time (bench/README.md, "Sync").

Every column of the row is a count, a maximum, a minimum, an ``OR`` or a set
union over the contractor's live records, so rows that are *inserted* can be
merged into it exactly. What it could not merge were the two "first this,
else that" columns (``name``: the basic information's name, else the name
the records were published under; ``province_code`` likewise), so their parts
are now kept apart (``basic_name``, ``record_name``, ``basic_province``,
``record_province``). Names and codes are compared bytewise (``COLLATE "C"``)
in the merge and in the recount alike, whatever the database's locale.

- ``AFTER INSERT``: the new rows are aggregated by contractor and merged into
  its row (one upsert, in contractor order so concurrent writers lock the
  rows in the same order);
- ``AFTER UPDATE`` (a new version, a tombstone): a recount of the touched
  contractors as before, which now first locks their rows so that a merge
  committed meanwhile is never overwritten by a recount that did not see it;
- ``hub_public_contractor_rebuild()`` recounts everything (bulk loads, repair).
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTS = ("basic_name", "record_name", "basic_province", "record_province")

# Per contractor, from a set of live records ``{source}`` narrowed by ``{where}``.
# basic_* come from basic-information records, record_* from every record.
_PARTS = """
  SELECT r.contractor_uscc AS uscc,
         max((r.public_data->>'name') COLLATE "C")
           FILTER (WHERE r.kind = 'basic_info') AS basic_name,
         max(r.contractor_name COLLATE "C") AS record_name,
         max((r.public_data->>'home_province_code') COLLATE "C")
           FILTER (WHERE r.kind = 'basic_info') AS basic_province,
         min(r.province_code COLLATE "C") AS record_province,
         bool_or(r.kind = 'basic_info') AS has_basic_info,
         coalesce(array_agg(DISTINCT (r.public_data->>'qualification_grade') COLLATE "C")
                    FILTER (WHERE r.kind = 'licence'
                            AND r.public_data->>'qualification_grade' IS NOT NULL),
                  '{{}}') AS grades,
         max((r.public_data->>'valid_to')::date)
           FILTER (WHERE r.kind = 'licence') AS licence_valid_to,
         max(((r.public_data->>'occurred_at')::timestamptz AT TIME ZONE 'Asia/Shanghai')::date)
           FILTER (WHERE r.kind = 'accident') AS last_accident_on,
         max((r.public_data->>'decided_on')::date)
           FILTER (WHERE r.kind = 'reward_penalty'
                   AND r.public_data->>'kind' = 'penalty') AS last_penalty_on,
         count(*) FILTER (WHERE r.kind = 'licence') AS licence_count,
         count(*) FILTER (WHERE r.kind = 'project_department') AS pd_count,
         count(*) FILTER (WHERE r.kind = 'accident') AS accident_count,
         count(*) FILTER (WHERE r.kind = 'reward_penalty') AS rp_count,
         max(r.received_at) AS received
    FROM {source} r
   WHERE {where} AND r.contractor_uscc IS NOT NULL AND r.deleted_at IS NULL
   GROUP BY r.contractor_uscc
"""

# The row of a contractor from its parts (``s``: a _PARTS result).
_ROW = """
  SELECT s.uscc, coalesce(s.basic_name, s.record_name, s.uscc) AS name,
         hub_name_grams(coalesce(s.basic_name, s.record_name, s.uscc)),
         coalesce(s.basic_province, s.record_province), s.has_basic_info, s.grades,
         s.licence_valid_to, s.last_accident_on, s.last_penalty_on,
         greatest(s.last_accident_on, s.last_penalty_on), s.licence_count, s.pd_count,
         s.accident_count, s.rp_count, greatest(s.received, {touched}),
         s.basic_name, s.record_name, s.basic_province, s.record_province
    FROM ({parts}) s
"""

_COLUMNS = """uscc, name, name_grams, province_code, has_basic_info, grades, licence_valid_to,
      last_accident_on, last_penalty_on, last_incident_on, licence_count,
      project_department_count, accident_count, reward_penalty_count, updated_at,
      basic_name, record_name, basic_province, record_province"""


def _row(source: str, where: str, touched: str) -> str:
    return _ROW.format(touched=touched, parts=_PARTS.format(source=source, where=where))


REFRESH = f"""
CREATE OR REPLACE FUNCTION hub_public_contractor_refresh(usccs text[], touched_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- Lock first: the recount below then sees every merge committed before it.
  PERFORM 1 FROM hub_public_contractor c WHERE c.uscc = ANY(usccs) ORDER BY c.uscc FOR UPDATE;
  DELETE FROM hub_public_contractor c
   WHERE c.uscc = ANY(usccs)
     AND NOT EXISTS (SELECT 1 FROM hub_record r
                      WHERE r.contractor_uscc = c.uscc AND r.deleted_at IS NULL);
  INSERT INTO hub_public_contractor AS c ({_COLUMNS})
  {_row("hub_record", "r.contractor_uscc = ANY(usccs)", "touched_at")}
   ORDER BY s.uscc
  ON CONFLICT (uscc) DO UPDATE SET
      name = excluded.name, name_grams = excluded.name_grams,
      province_code = excluded.province_code, has_basic_info = excluded.has_basic_info,
      grades = excluded.grades, licence_valid_to = excluded.licence_valid_to,
      last_accident_on = excluded.last_accident_on, last_penalty_on = excluded.last_penalty_on,
      last_incident_on = excluded.last_incident_on, licence_count = excluded.licence_count,
      project_department_count = excluded.project_department_count,
      accident_count = excluded.accident_count,
      reward_penalty_count = excluded.reward_penalty_count,
      updated_at = greatest(c.updated_at, excluded.updated_at),
      basic_name = excluded.basic_name, record_name = excluded.record_name,
      basic_province = excluded.basic_province, record_province = excluded.record_province;
END $$
"""

REBUILD = f"""
CREATE OR REPLACE FUNCTION hub_public_contractor_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  DELETE FROM hub_public_contractor;
  INSERT INTO hub_public_contractor ({_COLUMNS})
  {_row("hub_record", "true", "'-infinity'::timestamptz")};
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$
"""

# The merge. ``c`` is the contractor's row as it is (the latest committed
# version, under ON CONFLICT's lock), ``excluded`` what the new rows add.
_MERGED_BASIC = "greatest(c.basic_name, excluded.basic_name)"
_MERGED_RECORD = "greatest(c.record_name, excluded.record_name)"
_MERGED_NAME = f"coalesce({_MERGED_BASIC}, {_MERGED_RECORD}, c.uscc)"

ON_INSERT = f"""
CREATE OR REPLACE FUNCTION hub_public_contractor_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hub_public_contractor AS c ({_COLUMNS})
  {_row("new_rows", "true", "'-infinity'::timestamptz")}
   ORDER BY s.uscc
  ON CONFLICT (uscc) DO UPDATE SET
      name = {_MERGED_NAME},
      name_grams = CASE WHEN {_MERGED_NAME} = c.name THEN c.name_grams
                        ELSE hub_name_grams({_MERGED_NAME}) END,
      province_code = coalesce(greatest(c.basic_province, excluded.basic_province),
                               least(c.record_province, excluded.record_province)),
      has_basic_info = c.has_basic_info OR excluded.has_basic_info,
      grades = CASE WHEN excluded.grades <@ c.grades THEN c.grades
                    ELSE (SELECT array_agg(DISTINCT g COLLATE "C" ORDER BY g COLLATE "C")
                            FROM unnest(c.grades || excluded.grades) AS u(g)) END,
      licence_valid_to = greatest(c.licence_valid_to, excluded.licence_valid_to),
      last_accident_on = greatest(c.last_accident_on, excluded.last_accident_on),
      last_penalty_on = greatest(c.last_penalty_on, excluded.last_penalty_on),
      last_incident_on = greatest(c.last_incident_on, excluded.last_incident_on),
      licence_count = c.licence_count + excluded.licence_count,
      project_department_count = c.project_department_count
                                 + excluded.project_department_count,
      accident_count = c.accident_count + excluded.accident_count,
      reward_penalty_count = c.reward_penalty_count + excluded.reward_penalty_count,
      updated_at = greatest(c.updated_at, excluded.updated_at),
      basic_name = {_MERGED_BASIC},
      record_name = {_MERGED_RECORD},
      basic_province = greatest(c.basic_province, excluded.basic_province),
      record_province = least(c.record_province, excluded.record_province);
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    for name in PARTS:
        length = 6 if name.endswith("province") else None
        op.add_column(
            "hub_public_contractor",
            sa.Column(
                name,
                sa.String(length=length, collation="C") if length else sa.Text(collation="C"),
                nullable=True,
            ),
        )
    for statement in (REFRESH, REBUILD, ON_INSERT):
        op.execute(statement)
    op.execute("SELECT hub_public_contractor_rebuild()")


def _revision_0004():  # type: ignore[no-untyped-def]
    path = Path(__file__).with_name("0004_public.py")
    spec = importlib.util.spec_from_file_location("minefed_hub_migration_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    before = _revision_0004()
    for statement in (before.REFRESH, before.REBUILD, before.ON_INSERT):
        op.execute(statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    for name in PARTS:
        op.drop_column("hub_public_contractor", name)
    op.execute("SELECT hub_public_contractor_rebuild()")
