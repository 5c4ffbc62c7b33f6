"""A started server holds no library that only some requests need (issue #20, memory).

The app is built in a fresh interpreter on a migrated database, answers GET /health and
GET /login, and lists what it has imported: none of the libraries below may be there. Each
one is loaded by the code path that uses it (docs/architecture.md, "Memory at start").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import assay
from assay.store import migrate
from assay.store.db import Database
from builders import make_temp_database

LAZY = ("scipy", "shapely", "PIL", "yaml", "alembic", "cleanlab", "sklearn", "pandas")

CHILD = """
import json, sys
from starlette.testclient import TestClient
from assay.app import create_app
from assay.settings import get_settings

with TestClient(create_app(get_settings())) as client:
    codes = [client.get("/health").status_code, client.get("/login").status_code]
print(json.dumps({"codes": codes, "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_server_starts_without_the_libraries_only_some_requests_need(tmp_path):
    temp = make_temp_database(tmp_path)
    db = Database.connect(temp.url)
    try:
        migrate.upgrade(db.engine)  # the child must not need Alembic: its database is at head
        db.dispose()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
        env |= {
            "ASSAY_DATABASE_URL": temp.url,
            "ASSAY_DATA_DIR": str(tmp_path / "data"),
            "PYTHONPATH": str(Path(assay.__file__).resolve().parents[1]),
        }
        done = subprocess.run(
            [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        db.dispose()
        temp.drop()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["codes"] == [200, 200]
    assert "assay" in report["loaded"] and "numpy" in report["loaded"]
    assert [m for m in LAZY if m in report["loaded"]] == []


def test_the_command_line_loads_no_settings_database_or_numpy_until_a_command_needs_them():
    """`assay evaluate` and `--help` start in a fraction of a second (docs/cli.md)."""
    env = {**os.environ, "PYTHONPATH": str(Path(assay.__file__).resolve().parents[1])}
    code = "import json, sys, assay.cli; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert "typer" in loaded
    assert loaded.isdisjoint({"pydantic", "pydantic_settings", "sqlalchemy", "numpy", "fastapi"})
