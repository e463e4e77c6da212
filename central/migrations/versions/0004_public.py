"""public disclosure: the contractor search table, its triggers, export index

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 19:30:00.000000

- ``hub_public_contractor``: one row per published contractor (name n-grams,
  home province, grades, licence end, last accident and penalty, counts),
  recomputed by statement-level triggers on ``hub_record`` through
  ``hub_public_contractor_refresh(usccs, touched_at)`` (central/models/disclosure.py);
- ``hub_name_grams(text)`` / ``hub_query_grams(text)``: the n-grams of a name and
  of a search query (one definition, used by the table and by the search);
- ``ix_hub_record_kind_received``: open-data exports and ``updated_since`` in order.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spaces, punctuation and brackets (ASCII and full-width) do not distinguish names.
NORMALISE = r"""
CREATE FUNCTION hub_normalise_name(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(translate(coalesce(t, ''),
    E' \t\r\n\u3000()（）·.,，、-—_“”"''《》[]【】',
    ''))
$$
"""

NAME_GRAMS = """
CREATE FUNCTION hub_name_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g ORDER BY g), '{}')
  FROM (SELECT hub_normalise_name(t) AS n) s,
       LATERAL (
         SELECT substr(s.n, i, 1) AS g FROM generate_series(1, length(s.n)) AS i
         UNION ALL
         SELECT substr(s.n, i, 2) FROM generate_series(1, length(s.n) - 1) AS i
       ) grams
$$
"""

# A one-character query matches that character; a longer one every adjacent pair.
QUERY_GRAMS = """
CREATE FUNCTION hub_query_grams(q text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN length(s.n) = 0 THEN '{}'::text[]
    WHEN length(s.n) = 1 THEN ARRAY[s.n]
    ELSE (SELECT array_agg(DISTINCT substr(s.n, i, 2) ORDER BY substr(s.n, i, 2))
          FROM generate_series(1, length(s.n) - 1) AS i)
  END
  FROM (SELECT hub_normalise_name(q) AS n) s
$$
"""

# One row per contractor from its live records; {where} narrows hub_record.
_AGGREGATE = """
  SELECT s.uscc, s.name, hub_name_grams(s.name), s.province_code, s.has_basic_info,
         s.grades, s.licence_valid_to, s.last_accident_on, s.last_penalty_on,
         greatest(s.last_accident_on, s.last_penalty_on), s.licence_count, s.pd_count,
         s.accident_count, s.rp_count, greatest(s.received, {touched})
  FROM (
    SELECT r.contractor_uscc AS uscc,
           coalesce(max(r.public_data->>'name') FILTER (WHERE r.kind = 'basic_info'),
                    max(r.contractor_name), r.contractor_uscc) AS name,
           coalesce(max(r.public_data->>'home_province_code') FILTER (WHERE r.kind = 'basic_info'),
                    min(r.province_code)) AS province_code,
           bool_or(r.kind = 'basic_info') AS has_basic_info,
           coalesce(array_agg(DISTINCT r.public_data->>'qualification_grade')
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
      FROM hub_record r
     WHERE {where} AND r.contractor_uscc IS NOT NULL AND r.deleted_at IS NULL
     GROUP BY r.contractor_uscc
  ) s
"""

_COLUMNS = """uscc, name, name_grams, province_code, has_basic_info, grades, licence_valid_to,
      last_accident_on, last_penalty_on, last_incident_on, licence_count,
      project_department_count, accident_count, reward_penalty_count, updated_at"""

REFRESH = f"""
CREATE FUNCTION hub_public_contractor_refresh(usccs text[], touched_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM hub_public_contractor c
   WHERE c.uscc = ANY(usccs)
     AND NOT EXISTS (SELECT 1 FROM hub_record r
                      WHERE r.contractor_uscc = c.uscc AND r.deleted_at IS NULL);
  INSERT INTO hub_public_contractor AS c ({_COLUMNS})
  {_AGGREGATE.format(where="r.contractor_uscc = ANY(usccs)", touched="touched_at")}
  ON CONFLICT (uscc) DO UPDATE SET
      name = excluded.name, name_grams = excluded.name_grams,
      province_code = excluded.province_code, has_basic_info = excluded.has_basic_info,
      grades = excluded.grades, licence_valid_to = excluded.licence_valid_to,
      last_accident_on = excluded.last_accident_on, last_penalty_on = excluded.last_penalty_on,
      last_incident_on = excluded.last_incident_on, licence_count = excluded.licence_count,
      project_department_count = excluded.project_department_count,
      accident_count = excluded.accident_count,
      reward_penalty_count = excluded.reward_penalty_count,
      updated_at = greatest(c.updated_at, excluded.updated_at);
END $$
"""

# Everything at once (a bulk load, a repair): rebuilt from hub_record in one pass.
REBUILD = f"""
CREATE FUNCTION hub_public_contractor_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  DELETE FROM hub_public_contractor;
  INSERT INTO hub_public_contractor ({_COLUMNS})
  {_AGGREGATE.format(where="true", touched="'-infinity'::timestamptz")};
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$
"""

# Statement-level: a batch of 500 publications of one contractor recomputes it once.
ON_INSERT = """
CREATE FUNCTION hub_public_contractor_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  touched text[];
  at timestamptz;
BEGIN
  SELECT array_agg(DISTINCT n.contractor_uscc), max(n.received_at) INTO touched, at
    FROM new_rows n WHERE n.contractor_uscc IS NOT NULL;
  IF touched IS NOT NULL THEN
    PERFORM hub_public_contractor_refresh(touched, at);
  END IF;
  RETURN NULL;
END $$
"""

# A tombstone clears contractor_uscc: the old rows say whose record it was.
ON_UPDATE = """
CREATE FUNCTION hub_public_contractor_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  touched text[];
  at timestamptz;
BEGIN
  SELECT array_agg(DISTINCT u.uscc) INTO touched
    FROM (SELECT contractor_uscc AS uscc FROM new_rows
          UNION ALL SELECT contractor_uscc FROM old_rows) u
   WHERE u.uscc IS NOT NULL;
  SELECT max(n.received_at) INTO at FROM new_rows n;
  IF touched IS NOT NULL THEN
    PERFORM hub_public_contractor_refresh(touched, at);
  END IF;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "hub_public_contractor",
        sa.Column("uscc", sa.String(length=18, collation="C"), nullable=False),
        sa.Column("name", sa.Text(collation="C"), nullable=False),
        sa.Column("name_grams", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("province_code", sa.String(length=6, collation="C"), nullable=True),
        sa.Column("has_basic_info", sa.Boolean(), nullable=False),
        sa.Column("grades", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("licence_valid_to", sa.Date(), nullable=True),
        sa.Column("last_accident_on", sa.Date(), nullable=True),
        sa.Column("last_penalty_on", sa.Date(), nullable=True),
        sa.Column("last_incident_on", sa.Date(), nullable=True),
        sa.Column("licence_count", sa.Integer(), nullable=False),
        sa.Column("project_department_count", sa.Integer(), nullable=False),
        sa.Column("accident_count", sa.Integer(), nullable=False),
        sa.Column("reward_penalty_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uscc"),
    )
    op.create_index(
        "ix_hub_public_contractor_grams",
        "hub_public_contractor",
        ["name_grams"],
        postgresql_using="gin",
    )
    op.create_index("ix_hub_public_contractor_name", "hub_public_contractor", ["name", "uscc"])
    op.create_index(
        "ix_hub_public_contractor_province_name",
        "hub_public_contractor",
        ["province_code", "name", "uscc"],
    )
    op.create_index(
        "ix_hub_public_contractor_updated", "hub_public_contractor", ["updated_at", "uscc"]
    )
    op.create_index(
        "ix_hub_public_contractor_incident", "hub_public_contractor", ["last_incident_on"]
    )
    op.create_index(
        "ix_hub_record_kind_received", "hub_record", ["kind", "received_at", "record_id"]
    )
    for statement in (NORMALISE, NAME_GRAMS, QUERY_GRAMS, REFRESH, REBUILD, ON_INSERT, ON_UPDATE):
        op.execute(statement)
    op.execute(
        "CREATE TRIGGER hub_record_public_insert AFTER INSERT ON hub_record "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION hub_public_contractor_on_insert()"
    )
    op.execute(
        "CREATE TRIGGER hub_record_public_update AFTER UPDATE ON hub_record "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION hub_public_contractor_on_update()"
    )
    # Records published before this migration.
    op.execute("SELECT hub_public_contractor_rebuild()")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS hub_record_public_update ON hub_record")
    op.execute("DROP TRIGGER IF EXISTS hub_record_public_insert ON hub_record")
    for function in (
        "hub_public_contractor_on_update()",
        "hub_public_contractor_on_insert()",
        "hub_public_contractor_rebuild()",
        "hub_public_contractor_refresh(text[], timestamptz)",
        "hub_query_grams(text)",
        "hub_name_grams(text)",
        "hub_normalise_name(text)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_index("ix_hub_record_kind_received", table_name="hub_record")
    op.drop_table("hub_public_contractor")
