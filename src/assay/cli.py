"""The `assay` command: serve, user, import, demo. Thin: each command calls services."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

from assay.settings import Settings, get_settings

app = typer.Typer(
    help="assay: ground truth and annotation quality for CV labeling.", no_args_is_help=True
)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(user_app, name="user")
err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _database(settings: Settings):
    from assay.store import migrate
    from assay.store.db import Database

    db = Database.connect(settings.resolved_database_url)
    migrate.upgrade(db.engine)
    return db


def _settings_help() -> str:
    lines = [f"ASSAY_{name.upper()}: {f.description}" for name, f in Settings.model_fields.items()]
    return "Settings (environment variables):\n\n" + "\n\n".join(lines)


@app.command(help="Run the web server and API.\n\n" + _settings_help())
def serve(
    host: str = typer.Option(None, help="Listen address (default ASSAY_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default ASSAY_PORT or 8080)."),
    workers: int = typer.Option(1, help="Worker processes."),
) -> None:
    import uvicorn

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    from assay.api.app import create_app

    application = create_app(settings)
    err.print(f"assay serving at http://{host}:{port} (API docs: /api/docs)", highlight=False)
    uvicorn.run(
        application,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        log_level="warning",
    )


@app.command()
def migrate() -> None:
    """Apply database migrations (serve does this on start too)."""
    _database(get_settings())
    out.print("database is up to date")


@user_app.command("add")
def user_add(
    email: str,
    role: str = typer.Option("annotator", help="admin, lead, reviewer or annotator."),
    password: str = typer.Option(None, help="Password for the web login (8+ characters)."),
    token: str = typer.Option(None, help="Use this API token instead of a generated one."),
) -> None:
    """Add a user and print its API token (shown only now)."""
    from assay.services import users
    from assay.services.errors import AssayError

    db = _database(get_settings())
    try:
        with db.session() as s:
            user, tok = users.create_user(s, email, role, password=password, token=token)
            uid = user.id
    except AssayError as exc:
        fail(exc.detail)
    out.print(f"user {uid} {email} ({role})")
    out.print(f"token: {tok}")


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
