"""What every command shares: the consoles, failing with one line, the database, the actor."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from assay.services.errors import AssayError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.services.access import Actor
    from assay.settings import Settings
    from assay.store.db import Database


err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `error: message` on stderr and exit with `code`."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def current_settings() -> Settings:
    """The ASSAY_* settings, loaded when a command first needs them.

    Not at import: pydantic-settings takes about 0.1 s that `assay evaluate` and `--help` skip.
    """
    from assay.settings import get_settings

    return get_settings()


def open_database(settings: Settings) -> Database:
    """The settings' database, migrated to the current schema; label changes rescore on commit
    and background jobs run as in the server (`assay.app.wire_services`)."""
    from assay.app import wire_services
    from assay.store import migrate
    from assay.store.db import Database

    wire_services()
    db = Database.connect(settings.resolved_database_url)
    migrate.upgrade(db.engine)
    return db


def acting_actor(session: Session, email: str | None) -> Actor:
    """The user a command acts as (`users.command_line_actor`); fails when there is none."""
    from assay.services import users

    try:
        return users.command_line_actor(session, email)
    except AssayError as exc:
        fail(exc.detail)
