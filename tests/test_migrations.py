"""Every migration runs up and down on the database under test, and matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from assay.store import migrate
from assay.store.db import Database
from assay.store.models import Base
from conftest import make_temp_database


def test_upgrade_downgrade_upgrade(tmp_path):
    temp = make_temp_database(tmp_path)
    db = Database.connect(temp.url)
    try:
        migrate.upgrade(db.engine)
        assert {"users", "projects", "tasks", "annotations", "predictions"} <= set(
            inspect(db.engine).get_table_names()
        )
        migrate.downgrade(db.engine, "base")
        assert "annotations" not in inspect(db.engine).get_table_names()
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        db.dispose()
        temp.drop()


def test_sqlite_runs_in_wal_with_foreign_keys(database):
    if database.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
