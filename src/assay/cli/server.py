"""Running assay: serve, demo, worker, migrate."""

from __future__ import annotations

import gc
from typing import Any

import typer
from typer.core import TyperCommand

from assay.cli.common import current_settings, err, fail, open_database, out

SERVE_HELP = "Run the web server and API."


def settings_help() -> str:
    """Every setting as `ASSAY_NAME: description`, for `assay serve --help`."""
    from assay.settings import Settings

    lines = [f"ASSAY_{name.upper()}: {f.description}" for name, f in Settings.model_fields.items()]
    return "Settings (environment variables):\n\n" + "\n\n".join(lines)


class ServeCommand(TyperCommand):
    """`assay serve`, whose help ends with every setting: read when the help is shown, so that
    building the command line does not load the settings (see `common.current_settings`)."""

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # click's HelpFormatter
        self.help = f"{SERVE_HELP}\n\n{settings_help()}"
        super().format_help(ctx, formatter)


def serve(
    host: str = typer.Option(None, help="Listen address (default ASSAY_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default ASSAY_PORT or 8080)."),
    workers: int = typer.Option(1, help="Worker processes."),
) -> None:
    import uvicorn

    from assay.app import create_app

    settings = current_settings()
    host = host or settings.host
    port = port or settings.port
    application = create_app(settings)
    # Long-lived objects (modules, the app) out of the collector's way: JSON-heavy requests
    # otherwise trigger full collections that walk them all (2-3x slower imports and lists).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    err.print(f"assay serving at http://{host}:{port} (API docs: /api/docs)", highlight=False)
    uvicorn.run(
        application,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        log_level="warning",
        proxy_headers=False,  # the app believes proxies itself, as ASSAY_TRUSTED_PROXIES says
    )


def demo(
    serve_after: bool = typer.Option(
        True, "--serve/--no-serve", help="Serve the demo after building it."
    ),
    host: str = typer.Option(None, help="Listen address (default ASSAY_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default ASSAY_PORT or 8080)."),
) -> None:
    """Build the demo project (aerial survey: three annotators, a reviewer, one model, ten
    honeypots and a new job for ana), then serve it."""
    from assay.services.demo import build_demo

    settings = current_settings()
    db = open_database(settings)
    with err.status("building the demo project") as status, db.session() as s:
        info = build_demo(s, settings.resolved_media_root, progress=lambda m: status.update(m))
    state = "built" if info.created else "already there"
    out.print(f"demo project {info.project_id} {state}")
    out.print(f"log in with any of these, password [bold]{info.password}[/bold]:")
    for email, role in info.logins:
        out.print(f"  {email:<22} {role}")
    if serve_after:
        serve(host=host, port=port, workers=1)


def worker() -> None:
    """Run background jobs from PostgreSQL's queue (procrastinate) until stopped (Ctrl-C).

    Any number of workers on any machines may share one database; `assay serve` runs one
    itself unless ASSAY_EMBEDDED_WORKER=false.
    """
    from assay.services import background

    settings = current_settings()
    db = open_database(settings)
    try:
        background.use_queue(db, "procrastinate")
    except ValueError as exc:
        fail(str(exc))
    background.use_stalled_after(settings.stalled_after_s)
    err.print("assay worker: waiting for background jobs (Ctrl-C stops)", highlight=False)
    background.run_worker(db)


def migrate() -> None:
    """Apply database migrations (serve does this on start too)."""
    open_database(current_settings())
    out.print("database is up to date")
