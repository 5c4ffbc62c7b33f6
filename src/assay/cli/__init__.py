"""The `assay` command: serve, demo, worker, migrate, user, project, import, export, recompute,
evaluate, backup, restore.

Thin: each command turns its options into service calls and prints the result; every rule it
needs is a service's (who a command acts as, what an export writes, when an import refreshes
statistics, which projects a recompute covers). One module per command group. A command
imports the services and the server when it runs, so `assay --help` and `assay evaluate` start
in a fraction of a second.
"""

from __future__ import annotations

import sys

import typer

from assay.cli import backup, evaluate, io, project, quality, server, user

app = typer.Typer(
    help="assay: ground truth and annotation quality for CV labeling.", no_args_is_help=True
)
app.add_typer(user.app, name="user")
app.add_typer(project.app, name="project")
app.command(cls=server.ServeCommand, help=server.SERVE_HELP)(server.serve)
app.command()(server.demo)
app.command()(server.worker)
app.command()(server.migrate)
app.command("import")(io.import_)
app.command("recompute")(quality.recompute)
app.command()(io.export)
app.command()(evaluate.evaluate)
app.command()(backup.backup)
app.command()(backup.restore)


def main() -> None:  # pragma: no cover
    sys.exit(app())
