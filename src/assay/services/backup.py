"""Backups of a whole assay: its database, its media and its snapshot exports, in one tar file,
and their restore onto an empty server.

A backup holds `manifest.json` (what it is: the database kind, its migration revision, the
number of files and bytes), the database (`database.sqlite3`, a copy made with SQLite's online
backup API while the server may run; or `database.pgdump`, PostgreSQL's custom format written
by `pg_dump`), and the files under `media/` and `exports/`. The secret key is not in it: a
restored server signs new sessions with its own (users sign in again; API tokens live in the
database and keep working).

A restore goes only into an empty database and empty folders unless forced, never into a
database of the other kind, and migrates the database to this version afterwards, so a backup
of an older assay restores into a newer one.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from assay.services.errors import Invalid
from assay.store import migrate
from assay.store.db import Database

FORMAT = "assay-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
FOLDERS = ("media", "exports")


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds (its manifest)."""

    database: str  # "sqlite" or "postgresql"
    revision: str | None  # the database's migration revision
    files: int  # media and export files
    bytes: int  # their size
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **self.__dict__}


def backup(
    db: Database,
    out: Path,
    folders: dict[str, Path],
    on_file: Callable[[str], None] | None = None,
) -> BackupInfo:
    """Write the backup of `db` and the `folders` ("media", "exports" -> their paths) to `out`.

    Written to a temporary file beside `out` and renamed when complete, so a failed backup
    never leaves a file that looks whole.
    """
    kind = db.engine.dialect.name
    out.parent.mkdir(parents=True, exist_ok=True)
    files = [
        (f"{name}/{path.relative_to(root).as_posix()}", path)
        for name, root in folders.items()
        if root.is_dir()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    ]
    info = BackupInfo(
        database=kind,
        revision=_revision(db),
        files=len(files),
        bytes=sum(path.stat().st_size for _, path in files),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    partial = out.with_name(out.name + ".partial")
    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        dump = Path(scratch) / (SQLITE_FILE if kind == "sqlite" else PG_FILE)
        if kind == "sqlite":
            _sqlite_copy(db, dump)
        else:
            _pg_dump(db, dump)
        with tarfile.open(partial, "w") as tar:
            manifest = json.dumps(info.as_dict(), indent=2).encode()
            entry = tarfile.TarInfo(MANIFEST)
            entry.size = len(manifest)
            tar.addfile(entry, io.BytesIO(manifest))
            tar.add(dump, arcname=dump.name)
            for name, path in files:
                tar.add(path, arcname=name)
                if on_file is not None:
                    on_file(name)
    partial.replace(out)
    return info


def read_manifest(source: Path) -> BackupInfo:
    """The manifest of a backup file; Invalid naming the file when it is not one."""
    try:
        with tarfile.open(source, "r") as tar:
            member = tar.extractfile(MANIFEST)
            data = json.loads(member.read()) if member else None
    except (tarfile.TarError, KeyError, OSError, ValueError) as exc:
        raise Invalid.field("backup", f"{source} is not an assay backup ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise Invalid.field("backup", f"{source} is not an assay backup (no assay manifest)")
    if data.get("version") != VERSION:
        raise Invalid.field("backup", f"{source} is backup version {data.get('version')}")
    return BackupInfo(
        database=data["database"],
        revision=data.get("revision"),
        files=data["files"],
        bytes=data["bytes"],
        created_at=data["created_at"],
    )


def restore(
    db: Database, source: Path, folders: dict[str, Path], *, force: bool = False
) -> BackupInfo:
    """Restore a backup into `db` and the `folders`, then migrate the database to this version.

    Refuses (Invalid) a database of the other kind, and unless `force` a database that holds
    tables or folders that hold files: a restore replaces what is there.
    """
    info = read_manifest(source)
    kind = db.engine.dialect.name
    if info.database != kind:
        raise Invalid.field(
            "backup", f"{source} is a {info.database} backup; this server uses {kind}"
        )
    if not force:
        if _has_tables(db):
            raise Invalid.field(
                "database", "is not empty: restore into a new database, or use --force"
            )
        for name, root in folders.items():
            if root.is_dir() and any(root.iterdir()):
                raise Invalid.field(name, f"{root} is not empty: restore into a new data dir, "
                                    "or use --force")  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch, tarfile.open(source, "r") as tar:
        tar.extractall(scratch, filter="data")
        unpacked = Path(scratch)
        if kind == "sqlite":
            _sqlite_restore(db, unpacked / SQLITE_FILE)
        else:
            _pg_restore(db, unpacked / PG_FILE)
        for name, root in folders.items():
            if (unpacked / name).is_dir():
                if force and root.is_dir():
                    shutil.rmtree(root)
                root.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(unpacked / name, root, dirs_exist_ok=True)
    migrate.upgrade(db.engine)
    return info


# -- databases -------------------------------------------------------------------------------


def _revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _has_tables(db: Database) -> bool:
    with db.engine.connect() as conn:
        return bool(inspect(conn).get_table_names())


def _sqlite_path(db: Database) -> Path:
    path = make_url(str(db.engine.url)).database
    if not path or path == ":memory:":
        raise Invalid.field("database", "an in-memory SQLite database has nothing to back up")
    return Path(path)


def _sqlite_copy(db: Database, dest: Path) -> None:
    """SQLite's online backup: a consistent copy while other connections read and write."""
    source = sqlite3.connect(_sqlite_path(db))
    target = sqlite3.connect(dest)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()


def _sqlite_restore(db: Database, dump: Path) -> None:
    """Copy the backup into the database file, page by page (the backup API again), so open
    connections of this process see a whole database."""
    db.engine.dispose()
    source = sqlite3.connect(dump)
    target = sqlite3.connect(_sqlite_path(db))
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()


def _libpq_url(db: Database) -> str:
    """The database's URL as pg_dump and pg_restore read it (no SQLAlchemy driver name)."""
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str], what: str) -> None:
    if shutil.which(command[0]) is None:
        raise Invalid.field("database", f"{command[0]} is not installed: it {what}")
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ}, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise Invalid.field("database", f"{command[0]} failed: {last}")


def _pg_dump(db: Database, dest: Path) -> None:
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-acl", f"--file={dest}",
          f"--dbname={_libpq_url(db)}"], "writes PostgreSQL backups")  # fmt: skip


def _pg_restore(db: Database, dump: Path) -> None:
    db.engine.dispose()
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-acl", "--exit-on-error",
          f"--dbname={_libpq_url(db)}", str(dump)], "restores PostgreSQL backups")  # fmt: skip
