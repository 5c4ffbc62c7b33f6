"""`assay backup` and `assay restore`: the whole server (database, media, snapshot exports) in
one file and back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from assay.cli.common import current_settings, err, fail, out
from assay.services.errors import AssayError

if TYPE_CHECKING:
    from assay.settings import Settings


def _folders(settings: Settings) -> dict[str, Path]:
    return {"media": settings.resolved_media_root, "exports": settings.resolved_export_root}


def backup(
    path: Path = typer.Argument(..., help="The backup file to write (a tar file)."),
) -> None:
    """Write a backup of the database, the media and the snapshot exports; the server may run
    meanwhile (SQLite's online backup, or pg_dump)."""
    from assay.services import backup as backups
    from assay.store.db import Database

    settings = current_settings()
    db = Database.connect(settings.resolved_database_url)
    try:
        with err.status(f"writing {path}") as status:
            info = backups.backup(
                db, path, _folders(settings), on_file=lambda name: status.update(name)
            )
    except AssayError as exc:
        fail(exc.detail)
    finally:
        db.dispose()
    out.print(
        f"backup of the {info.database} database (revision {info.revision}) and "
        f"{info.files} files ({info.bytes} bytes) written to {path}"
    )


def restore(
    path: Path = typer.Argument(..., help="A backup file written by `assay backup`."),
    force: bool = typer.Option(
        False, "--force", help="Replace a database and folders that are not empty."
    ),
) -> None:
    """Restore a backup into this server's database and data folders (empty ones unless
    --force), then migrate the database to this version of assay."""
    from assay.services import backup as backups
    from assay.store.db import Database

    if not path.is_file():
        fail(f"{path} does not exist")
    settings = current_settings()
    db = Database.connect(settings.resolved_database_url)
    try:
        with err.status(f"restoring {path}"):
            info = backups.restore(db, path, _folders(settings), force=force)
    except AssayError as exc:
        fail(exc.detail)
    finally:
        db.dispose()
    out.print(
        f"restored the {info.database} database of {info.created_at} and {info.files} files; "
        "the database is up to date"
    )
