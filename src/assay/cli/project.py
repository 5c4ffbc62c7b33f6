"""`assay project`: create projects and list them."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from assay.cli.common import acting_actor, current_settings, fail, open_database, out
from assay.formats.label_config import BUILD_CONTROLS, LabelSpec, split_labels
from assay.services.errors import AssayError

app = typer.Typer(help="Create and list projects.", no_args_is_help=True)


@app.command("create")
def project_create(
    title: str = typer.Option(..., help="The project's title."),
    labels: str = typer.Option(
        None, help="The label set, comma-separated: car,person,bus (colours from the palette)."
    ),
    shape: str = typer.Option(
        "rectangle", help=f"What the labels draw: {', '.join(BUILD_CONTROLS)}."
    ),
    description: str = typer.Option(None, help="A description shown on the project page."),
    label_config: Path = typer.Option(
        None, help="A Label Studio XML config file, instead of --labels and --shape."
    ),
    user: str = typer.Option(
        None, "--user", help="Email of the user to create as (default: the first active admin)."
    ),
) -> None:
    """Create a project from a label set and a shape type (or a config) and print its id."""
    from assay.services import projects

    if label_config is None and not labels:
        fail("give --labels a,b,c (with --shape) or --label-config FILE")
    xml = None
    if label_config is not None:
        if not label_config.is_file():
            fail(f"{label_config} is not a file")
        xml = label_config.read_text(encoding="utf-8")
    specs = [LabelSpec(name) for name in split_labels(labels or "")]
    db = open_database(current_settings())
    try:
        with db.session() as s:
            actor = acting_actor(s, user)
            config = projects.label_config_for(specs, shape, xml)
            project = projects.create_project(
                s, actor, title=title, description=description, label_config=config
            )
            pid, names = project.id, projects.label_config_of(project).labels
    except AssayError as exc:
        fail(exc.detail)
    out.print(f"project {pid} {title!r}: {len(names)} labels ({', '.join(names)})")


@app.command("list")
def project_list(
    user: str = typer.Option(
        None, "--user", help="Email of the user whose projects to list (default: first admin)."
    ),
) -> None:
    """List projects: id, title, tasks, annotations, predictions, created."""
    from assay.services import projects, tasks

    db = open_database(current_settings())
    try:
        with db.session(write=False) as s:
            actor = acting_actor(s, user)
            rows, _ = projects.list_projects(s, actor, 1, 10_000)
            counts = tasks.counts_seen_by(s, actor, [p.id for p in rows])
            lines = [
                (p.id, p.title, counts[p.id], p.created_at.strftime("%Y-%m-%d %H:%M")) for p in rows
            ]
    except AssayError as exc:
        fail(exc.detail)
    table = Table(title=f"{len(lines)} projects")
    for column in ("id", "title", "tasks", "annotations", "predictions", "created"):
        table.add_column(column)
    for pid, title, c, created in lines:
        table.add_row(
            str(pid), title, str(c.task_number), str(c.total_annotations_number),
            str(c.total_predictions_number), created,
        )  # fmt: skip
    out.print(table)
