"""`assay backup` / `assay restore` (#16): a round trip gives back every row of every table and
every media and export file, byte for byte, on the database under test (SQLite's online backup,
or pg_dump/pg_restore); a restore refuses a database or folder that is not empty unless forced,
and a file that is not a backup."""

from __future__ import annotations

import io
import os
import tarfile

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from assay.cli import app as cli_app
from assay.services import backup, projects, tasks, users
from assay.services.access import Actor, Role
from assay.services.errors import Invalid
from assay.settings import get_settings
from assay.store import (
    bookkeeping,  # noqa: F401 (its tables join Base's metadata)
    diagnosis_models,  # noqa: F401
    drift_models,  # noqa: F401
    guideline_models,  # noqa: F401
    migrate,
    suspect_models,  # noqa: F401
)
from assay.store.base import Base
from assay.store.db import Database
from assay.store.models import User
from builders import RECT_CONFIG, box, make_temp_database


@pytest.fixture
def source(tmp_path):
    """A migrated database of its own with a project, tasks, annotations; and its folders."""
    temp = make_temp_database(tmp_path)
    db = Database.connect(temp.url)
    migrate.upgrade(db.engine)
    with db.session() as s:
        lead, _ = users.create_user(s, "lead@example.com", "lead", password="lead-password-1")
        actor = Actor(lead.id, Role.LEAD, lead.email)
        pid = projects.create_project(s, actor, title="Herds", label_config=RECT_CONFIG).id
        tasks.import_tasks(
            s, actor, pid,
            [{"data": {"image": f"/data/media/project-{pid}/herd #{i}.png"},
              "annotations": [{"result": [box(10 + i, 10, 20, 20)], "ground_truth": i == 0}]}
             for i in range(5)],
        )  # fmt: skip
    folders = {"media": tmp_path / "src" / "media", "exports": tmp_path / "src" / "exports"}
    for i in range(5):
        path = folders["media"] / f"project-{pid}" / f"herd #{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(100 + i))
    (folders["exports"] / "project-1").mkdir(parents=True)
    (folders["exports"] / "project-1" / "snapshot.json").write_text("[]")
    yield db, folders
    db.dispose()
    temp.drop()


def _rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of every assay table, in primary key order."""
    out = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            out[table.name] = [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))
            ]
    return out


def _files(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_round_trip_gives_back_every_row_and_file(source, tmp_path):
    db, folders = source
    out = tmp_path / "backup.tar"
    info = backup.backup(db, out, folders)
    assert (info.database, info.files) == (db.engine.dialect.name, 6)
    assert info.revision is not None
    with tarfile.open(out) as tar:
        assert "manifest.json" in tar.getnames()

    temp = make_temp_database(tmp_path)
    target = Database.connect(temp.url)
    restored = {"media": tmp_path / "dst" / "media", "exports": tmp_path / "dst" / "exports"}
    try:
        backup.restore(target, out, restored)
        assert _rows(target) == _rows(db)
        assert sum(len(rows) for rows in _rows(target).values()) > 15
        for name in folders:
            assert _files(restored[name]) == _files(folders[name])
        with target.engine.connect() as conn:  # migrated and usable
            assert conn.execute(text("SELECT count(*) FROM tasks")).scalar() == 5
        # a second restore refuses what is no longer empty, and replaces it when forced
        with pytest.raises(Invalid, match="database: is not empty"):
            backup.restore(target, out, restored)
        (restored["media"] / "stray.txt").write_text("x")
        backup.restore(target, out, restored, force=True)
        assert _files(restored["media"]) == _files(folders["media"])
        assert _rows(target) == _rows(db)
    finally:
        target.dispose()
        temp.drop()


def test_what_is_not_a_backup_of_this_kind_is_refused(source, tmp_path):
    db, folders = source
    not_tar = tmp_path / "notes.tar"
    not_tar.write_text("hello")
    with pytest.raises(Invalid, match="is not an assay backup"):
        backup.restore(db, not_tar, folders)
    out = tmp_path / "backup.tar"
    backup.backup(db, out, folders)
    with tarfile.open(out) as tar:
        manifest = tar.extractfile("manifest.json").read()
    other = b'"sqlite"' if db.engine.dialect.name != "sqlite" else b'"postgresql"'
    forged = tmp_path / "other.tar"
    with tarfile.open(forged, "w") as tar:
        data = manifest.replace(f'"{db.engine.dialect.name}"'.encode(), other)
        entry = tarfile.TarInfo("manifest.json")
        entry.size = len(data)
        tar.addfile(entry, io.BytesIO(data))
    with pytest.raises(Invalid, match="backup; this server uses"):
        backup.restore(db, forged, folders)


def test_the_cli_backs_up_and_restores_a_data_dir(tmp_path, monkeypatch):
    """SQLite end to end, as an operator runs it: one data dir backed up, another restored."""
    runner = CliRunner()
    first, second = tmp_path / "first", tmp_path / "second"
    monkeypatch.setenv("ASSAY_DATA_DIR", str(first))
    monkeypatch.delenv("ASSAY_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    r = runner.invoke(cli_app, ["user", "add", "admin@example.com", "--role", "admin",
                                "--password", "a-long-admin-password"])  # fmt: skip
    assert r.exit_code == 0, r.output
    (first / "media").mkdir(exist_ok=True)
    (first / "media" / "a.png").write_bytes(b"png")
    r = runner.invoke(cli_app, ["backup", str(tmp_path / "b.tar")])
    assert r.exit_code == 0, r.output
    assert "1 files" in r.output
    monkeypatch.setenv("ASSAY_DATA_DIR", str(second))
    get_settings.cache_clear()
    r = runner.invoke(cli_app, ["restore", str(tmp_path / "b.tar")])
    assert r.exit_code == 0, r.output
    assert (second / "media" / "a.png").read_bytes() == b"png"
    restored = Database.connect(f"sqlite:///{second / 'assay.db'}")
    try:
        with restored.session() as s:
            assert s.scalar(select(User.role).where(User.email == "admin@example.com")) == "admin"
    finally:
        restored.dispose()
    r = runner.invoke(cli_app, ["restore", str(tmp_path / "b.tar")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "is not empty" in r.output
    r = runner.invoke(cli_app, ["restore", str(tmp_path / "missing.tar")])
    assert r.exit_code == 1 and "does not exist" in r.output
    get_settings.cache_clear()
