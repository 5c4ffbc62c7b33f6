"""background job params; procrastinate's queue schema on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 16:15:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "params",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'{}'"),
                nullable=False,
            )
        )
    if op.get_bind().dialect.name == "postgresql":
        # procrastinate (pinned in pyproject) keeps its jobs in tables of its own; its schema
        # file is applied as it ships. A procrastinate upgrade brings its own SQL migrations.
        from importlib.resources import files

        _run_sql(files("procrastinate.sql").joinpath("schema.sql").read_text())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _run_sql(
            """
            DO $$
            DECLARE r record;
            BEGIN
              FOR r IN SELECT tablename FROM pg_tables
                       WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'
              LOOP EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename); END LOOP;
              FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
                       JOIN pg_namespace n ON n.oid = p.pronamespace
                       WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
              LOOP EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.f); END LOOP;
              FOR r IN SELECT t.typname FROM pg_type t
                       JOIN pg_namespace n ON n.oid = t.typnamespace
                       WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
                         AND t.typtype IN ('e', 'c')
              LOOP EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname); END LOOP;
            END $$;
            """
        )
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        batch_op.drop_column("params")


def _run_sql(sql: str) -> None:
    """Plain SQL through the driver, in the migration's transaction (no bind-parameter or
    percent parsing on the way)."""
    op.get_bind().connection.driver_connection.execute(sql)
